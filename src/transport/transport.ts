/**
 * One gateway WebSocket: opens it, decompresses and decodes every message into a `GatewayEnvelope`, and
 * reports open / payload / close / error to its handlers. The only client-side importer of `ws`.
 * Guarantees: an `'error'` listener is attached before anything else; `onClose` is called exactly once;
 * nothing is reported after `onClose`; `send` never writes to a socket that is not open.
 */
import { GatewayVersion } from 'discord-api-types/v10';
import WebSocket from 'ws';
import type { Compression, Encoding } from '../codec/formats.js';
import { ShardError, type ShardlineError } from '../errors.js';
import type { GatewayEnvelope } from './envelope.js';
import { FrameDecoder } from './frame-decoder.js';

/** The gateway version asked for (`v=`), as discord-api-types/v10 names it. */
export const GATEWAY_API_VERSION = Number(GatewayVersion);

export interface TransportOptions {
  /** Gateway base URL; `v`, `encoding` and `compress` query parameters are set from the options. */
  readonly url: string;
  readonly encoding: Encoding;
  readonly compression: Compression;
  /** Largest (decompressed) message accepted, in bytes. */
  readonly maxPayloadBytes: number;
  /** When set, dispatches whose type it rejects may be reported `skipped`, without decoding `d`. */
  readonly wantDispatch?: ((t: string) => boolean) | undefined;
  /**
   * JSON only: dispatches whose type it accepts are returned as their validated text (`raw`) without
   * `JSON.parse`, for a shard thread that hands the parsing to the main thread.
   */
  readonly rawDispatch?: ((t: string) => boolean) | undefined;
  /** How long a closing handshake may take before the socket is terminated. Default 5000 ms. */
  readonly closeTimeoutMs?: number;
}

export interface TransportHandlers {
  onOpen(): void;
  onPayload(payload: GatewayEnvelope): void;
  onClose(code: number, reason: string): void;
  onError(error: ShardlineError): void;
}

/** The URL to connect to: `url` with `v=10`, `encoding` and (unless none) `compress`. */
export function gatewayConnectUrl(url: string, encoding: Encoding, compression: Compression): string {
  const u = new URL(url);
  u.searchParams.set('v', String(GATEWAY_API_VERSION));
  u.searchParams.set('encoding', encoding);
  if (compression === 'none') u.searchParams.delete('compress');
  else u.searchParams.set('compress', compression);
  return u.toString();
}

function bytesOf(data: WebSocket.RawData): Uint8Array {
  if (Array.isArray(data)) return Buffer.concat(data);
  if (data instanceof ArrayBuffer) return new Uint8Array(data);
  return data;
}

const SEND_TEXT = Object.freeze({ binary: false });
const SEND_BINARY = Object.freeze({ binary: true });

export class Transport {
  readonly #options: TransportOptions;
  readonly #handlers: TransportHandlers;
  readonly #ws: WebSocket;
  readonly #decoder: FrameDecoder;
  #closed = false;
  #paused = false;
  /** Messages ws had already taken off the socket when reading was paused; delivered on resume. */
  #held: [data: WebSocket.RawData, isBinary: boolean][] = [];
  #closeTimer: NodeJS.Timeout | undefined;
  readonly #closedPromise: Promise<void>;
  #resolveClosed!: () => void;

  constructor(options: TransportOptions, handlers: TransportHandlers) {
    this.#options = options;
    this.#handlers = handlers;
    this.#closedPromise = new Promise((resolve) => {
      this.#resolveClosed = resolve;
    });
    this.#decoder = new FrameDecoder(options);
    this.#ws = new WebSocket(gatewayConnectUrl(options.url, options.encoding, options.compression), {
      perMessageDeflate: false,
      maxPayload: options.maxPayloadBytes,
      handshakeTimeout: undefined,
    });
    const ws = this.#ws;
    // The error listener goes first: an unhandled 'error' would crash the process.
    ws.on('error', (err) => this.#onSocketError(err));
    ws.on('open', () => {
      if (this.#closed) return;
      // ws ignores pause() before the socket is open: apply it now.
      if (this.#paused) ws.pause();
      this.#handlers.onOpen();
    });
    ws.on('message', (data, isBinary) => this.#onMessage(data, isBinary));
    ws.on('close', (code, reason) => this.#finish(code, reason.toString('utf8')));
  }

  /** The URL connected to (`gatewayConnectUrl` of the options); ws keeps the one copy. */
  get url(): string {
    return this.#ws.url;
  }

  get isOpen(): boolean {
    return !this.#closed && this.#ws.readyState === WebSocket.OPEN;
  }

  /** Resolves once the socket is fully closed. */
  get closed(): Promise<void> {
    return this.#closedPromise;
  }

  /** Writes one payload; returns false (and writes nothing) when the socket is not open. */
  send(data: string | Uint8Array): boolean {
    if (!this.isOpen) return false;
    this.#ws.send(data, typeof data === 'string' ? SEND_TEXT : SEND_BINARY);
    return true;
  }

  /** Whether reading is paused (`pause()`). */
  get isPaused(): boolean {
    return this.#paused;
  }

  /**
   * Stops reading the socket (TCP backpressure reaches the server; writes such as heartbeats still go
   * out). No payload is reported until `resume()`; a close is still reported at once.
   */
  pause(): void {
    if (this.#paused || this.#closed) return;
    this.#paused = true;
    this.#ws.pause();
  }

  /** Reports the payloads held back since `pause()`, in order, then reads the socket again. */
  resume(): void {
    if (!this.#paused) return;
    this.#paused = false;
    const held = this.#held;
    this.#held = [];
    for (const [data, isBinary] of held) {
      if (this.#paused || this.#closed) {
        this.#held.push([data, isBinary]);
        continue;
      }
      this.#onMessage(data, isBinary);
    }
    if (!this.#paused && !this.#closed) this.#ws.resume();
  }

  /** Closes with `code` (terminating if the handshake does not finish in time). */
  close(code: number, reason = ''): Promise<void> {
    const ws = this.#ws;
    if (ws.readyState === WebSocket.CLOSED) return this.#closedPromise;
    if (ws.readyState === WebSocket.CONNECTING) {
      ws.terminate();
      return this.#closedPromise;
    }
    if (ws.readyState === WebSocket.OPEN) {
      try {
        ws.close(code, Buffer.from(reason).subarray(0, 123).toString());
      } catch {
        ws.terminate();
      }
    }
    if (!this.#closeTimer) {
      this.#closeTimer = setTimeout(() => ws.terminate(), this.#options.closeTimeoutMs ?? 5_000);
      this.#closeTimer.unref();
    }
    return this.#closedPromise;
  }

  #onSocketError(err: Error): void {
    if (this.#closed) return;
    this.#handlers.onError(
      new ShardError('SOCKET_ERROR', `gateway socket error: ${err.message}`, { cause: err }),
    );
  }

  #onMessage(data: WebSocket.RawData, isBinary: boolean): void {
    if (this.#closed) return;
    if (this.#paused) {
      this.#held.push([data, isBinary]);
      return;
    }
    let payload: GatewayEnvelope | undefined;
    try {
      payload = this.#decoder.decode(bytesOf(data), isBinary);
    } catch (err) {
      const error =
        err instanceof Error && 'code' in err
          ? (err as ShardlineError)
          : new ShardError('PROTOCOL_VIOLATION', 'could not decode a gateway message', { cause: err });
      this.#handlers.onError(error);
      return;
    }
    if (payload) this.#handlers.onPayload(payload);
  }

  #finish(code: number, reason: string): void {
    if (this.#closeTimer) clearTimeout(this.#closeTimer);
    this.#decoder.close();
    if (this.#closed) return;
    this.#closed = true;
    // Unread payloads die with the connection; the gateway replays them on RESUME.
    this.#held = [];
    this.#resolveClosed();
    this.#handlers.onClose(code, reason);
  }
}
