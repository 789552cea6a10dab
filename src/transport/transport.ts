/**
 * One gateway WebSocket: opens it, decompresses and decodes every message into a `GatewayEnvelope`, and
 * reports open / payload / close / error to its handlers. The only client-side importer of `ws`.
 * Guarantees: an `'error'` listener is attached before anything else; `onClose` is called exactly once;
 * nothing is reported after `onClose`; `send` never writes to a socket that is not open.
 */
import { Duplex, Writable } from 'node:stream';
import { GatewayVersion } from 'discord-api-types/v10';
import WebSocket from 'ws';
import type { Compression, Encoding } from '../codec/formats.js';
import { ShardError, type ShardlineError } from '../errors.js';
import type { GatewayEnvelope } from './envelope.js';
import { FrameDecoder } from './frame-decoder.js';
import { type FrameError, WsFrameReader } from './ws-reader.js';

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

/** What `takeOverReading` needs of ws' internals once the handshake is done. */
interface WsInternals {
  _socket?: unknown;
  _receiver?: { write?: unknown };
}

/** The socket ws opened, and its receiver, when they have the shape the take-over relies on. */
function wsInternals(ws: WebSocket): { socket: Duplex; receiver: Writable } | null {
  const { _socket: socket, _receiver: receiver } = ws as unknown as WsInternals;
  if (!(socket instanceof Duplex) || !(receiver instanceof Writable)) return null;
  if (socket.listenerCount('data') !== 1 || typeof socket.read !== 'function') return null;
  return { socket, receiver };
}

/**
 * Set `SHARDLINE_WS_READER=0` to leave reading to ws' own receiver (for comparison); any other value, or
 * none, reads frames with `WsFrameReader`.
 */
const READER_ENABLED = process.env.SHARDLINE_WS_READER !== '0';

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
  /** Our frame reader, once it took the socket over from ws' receiver (after the handshake). */
  #reader: WsFrameReader | null = null;
  #readerFailed = false;
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
      if (READER_ENABLED) this.#takeOverReading();
      // ws ignores pause() before the socket is open: apply it now.
      if (this.#paused) {
        ws.pause();
        this.#reader?.pause();
      }
      this.#handlers.onOpen();
    });
    ws.on('message', (data, isBinary) => this.#onMessage(data, isBinary));
    ws.on('close', (code, reason) => this.#finish(code, reason.toString('utf8')));
  }

  /**
   * Reads the socket with `WsFrameReader` instead of ws' receiver: ws keeps the handshake, the send path
   * and the closing handshake (control frames are handed to its receiver as they came); data frames go
   * straight from the socket read to the decoder. Runs inside ws' 'open' event, synchronously after ws
   * attached its own 'data' listener, so no byte can reach ws' receiver first. When ws' internals do not
   * have the expected shape, nothing changes and ws keeps reading.
   */
  #takeOverReading(): void {
    const internals = wsInternals(this.#ws);
    if (internals === null) return;
    const { socket, receiver } = internals;
    const reader = new WsFrameReader(
      { maxMessageBytes: this.#options.maxPayloadBytes },
      {
        message: (data, isBinary) => this.#onFrame(data, isBinary),
        // Control frames are rare: ws answers pings and runs the closing handshake, from a copy.
        control: (_opcode, _payload, frame) => {
          receiver.write(Buffer.from(frame));
        },
        error: (err) => this.#onReaderError(err),
      },
    );
    const [wsOnData] = socket.listeners('data') as ((chunk: Buffer) => void)[];
    socket.removeListener('data', wsOnData!);
    socket.on('data', (chunk: Buffer) => reader.push(chunk));
    // ws reads what is left in a paused socket into its receiver when the socket closes; take it first,
    // so a close frame behind unread data still gives the peer's close code.
    socket.prependListener('close', () => {
      const left = socket.readableLength;
      if (left > 0 && reader.isOpen) {
        const chunk = socket.read(left) as Buffer | null;
        if (chunk !== null) reader.push(chunk);
      }
      if (reader.isPaused) reader.takeClose();
    });
    this.#reader = reader;
  }

  /** A frame the reader refused: reported as that error, then closed as ws closes on its own. */
  #onReaderError(err: FrameError): void {
    this.#readerFailed = true;
    if (!this.#closed) this.#handlers.onError(err);
    const ws = this.#ws;
    if (ws.readyState !== WebSocket.OPEN) return;
    // As ws does after a receiver error: send the close frame, then end our side (nothing more is read).
    ws.close(err.closeCode);
    (ws as unknown as { _socket?: Duplex })._socket?.end();
  }

  /** Whether `WsFrameReader` reads the socket (false before the handshake, or when ws keeps reading). */
  get readsFrames(): boolean {
    return this.#reader !== null;
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
    this.#reader?.pause();
  }

  /** Reports the payloads held back since `pause()`, in order, then reads the socket again. */
  resume(): void {
    if (!this.#paused) return;
    this.#paused = false;
    if (this.#reader !== null) {
      this.#reader.resume();
      if (!this.#paused && !this.#closed) this.#ws.resume();
      return;
    }
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
    // After the reader refused a frame, that error was reported; what the socket says next is its echo.
    if (this.#closed || this.#readerFailed) return;
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
    this.#onFrame(bytesOf(data), isBinary);
  }

  /** Decodes one whole message (`bytes` need not outlive the call) and reports it. */
  #onFrame(bytes: Uint8Array, isBinary: boolean): void {
    if (this.#closed) return;
    let payload: GatewayEnvelope | undefined;
    try {
      payload = this.#decoder.decode(bytes, isBinary);
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
    this.#reader?.stop();
    if (this.#closed) return;
    this.#closed = true;
    // Unread payloads die with the connection; the gateway replays them on RESUME.
    this.#held = [];
    this.#resolveClosed();
    this.#handlers.onClose(code, reason);
  }
}
