/**
 * The client's receive path for one connection, without the socket: WebSocket message bytes in,
 * `GatewayEnvelope` out (decompress with the connection's stream context, then decode). Used by
 * `Transport`, and by the benchmarks to measure the same path end to end.
 */
import type { Compression, Encoding } from '../codec/formats.js';
import { ShardError } from '../errors.js';
import {
  assertJsonWithinLimits,
  bytesToText,
  createDecompressor,
  decodeEtfBytes,
  parseJsonText,
  type StreamDecompressor,
} from './codecs.js';
import type { GatewayEnvelope } from './envelope.js';
import { peekEtfEnvelope } from './etf-peek.js';
import { peekUnwantedJsonDispatch } from './json-peek.js';

export interface FrameDecoderOptions {
  readonly encoding: Encoding;
  readonly compression: Compression;
  /** Largest (decompressed) message accepted, in bytes. */
  readonly maxPayloadBytes: number;
  /** When set, dispatches whose type it rejects may come back `skipped`, without decoding `d` (JSON and ETF). */
  readonly wantDispatch?: ((t: string) => boolean) | undefined;
  /** JSON only: dispatches left as validated text (`raw`), see `TransportOptions.rawDispatch`. */
  readonly rawDispatch?: ((t: string) => boolean) | undefined;
}

function toEnvelope(value: unknown): GatewayEnvelope {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new ShardError('PROTOCOL_VIOLATION', 'gateway payload is not an object');
  }
  const v = value as Record<string, unknown>;
  if (typeof v.op !== 'number' || !Number.isInteger(v.op)) {
    throw new ShardError('PROTOCOL_VIOLATION', 'gateway payload has no integer op');
  }
  // Any other value is kept as it came: the machine refuses it as a protocol violation. Turned into null it
  // would read as "no sequence" and the dispatch would reach the application unsequenced.
  const s =
    v.s === undefined || v.s === null
      ? null
      : typeof v.s === 'string' && /^\d+$/.test(v.s)
        ? Number(v.s)
        : (v.s as number);
  return { op: v.op, d: v.d ?? null, s, t: typeof v.t === 'string' ? v.t : null };
}

export class FrameDecoder {
  readonly #options: FrameDecoderOptions;
  readonly #decompressor: StreamDecompressor | null;

  constructor(options: FrameDecoderOptions) {
    this.#options = options;
    this.#decompressor = createDecompressor(options.compression, options.maxPayloadBytes);
  }

  /**
   * Decodes one WebSocket message. Returns undefined while a compressed payload is still incomplete.
   * Throws `CodecError` / `DecompressError` / `ShardError('PROTOCOL_VIOLATION')` on bad input.
   */
  decode(bytes: Uint8Array, isBinary: boolean): GatewayEnvelope | undefined {
    let payload: Uint8Array | null = bytes;
    if (this.#decompressor) {
      if (!isBinary) throw new ShardError('PROTOCOL_VIOLATION', 'text frame on a compressed connection');
      payload = this.#decompressor.push(bytes);
      if (payload === null) return undefined;
    }
    const want = this.#options.wantDispatch;
    if (this.#options.encoding === 'etf') {
      if (want) {
        const peek = peekEtfEnvelope(payload);
        if (peek && peek.op === 0 && peek.t !== null && !want(peek.t)) {
          return { op: 0, t: peek.t, s: peek.s, d: undefined, skipped: true };
        }
      }
      return toEnvelope(decodeEtfBytes(payload, this.#options.maxPayloadBytes));
    }
    const text = bytesToText(payload);
    // Checked before the peek, so a skipped dispatch and a decoded one are refused alike.
    assertJsonWithinLimits(text);
    if (want) {
      const peek = peekUnwantedJsonDispatch(text, want);
      if (peek) return { op: 0, t: peek.t, s: peek.s, d: undefined, skipped: true };
    }
    const value = parseJsonText(text);
    const raw = this.#options.rawDispatch;
    if (raw) {
      // Validated by JSON.parse itself, so the other thread's JSON.parse of the same text cannot fail and
      // sees the same op, s and t. Measured: a JavaScript scan of the whole document (json-peek) costs
      // about twice JSON.parse here, and nothing cheaper agrees with JSON.parse on hostile input.
      const v = value as { op?: unknown; s?: unknown; t?: unknown } | null;
      if (
        typeof v === 'object' &&
        v !== null &&
        !Array.isArray(v) &&
        Object.is(v.op, 0) &&
        typeof v.t === 'string' &&
        (v.s === null || v.s === undefined || (Number.isSafeInteger(v.s) && (v.s as number) >= 0)) &&
        raw(v.t)
      ) {
        return { op: 0, t: v.t, s: (v.s as number | null | undefined) ?? null, d: undefined, raw: text };
      }
    }
    return toEnvelope(value);
  }

  close(): void {
    this.#decompressor?.close();
  }
}
