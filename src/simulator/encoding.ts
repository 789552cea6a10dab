import type { Encoding } from '../codec/formats.js';
import type { TransportCompressor } from './compression.js';
import { deflateSegment } from './compression.js';
import {
  type Dispatch,
  SLOT_JSON_BODY,
  SLOT_JSON_TEXT,
  SLOT_ZLIB_ETF,
  SLOT_ZLIB_JSON,
  type Variant,
} from './dispatch.js';
import { decodeEtfPayload, etfBody, etfDispatch, etfDispatchPrefix, etfPayload } from './etf-wire.js';

/**
 * The encodings this server accepts. Its own list on purpose (the simulator is an independent peer: what
 * it accepts must not widen when the client's list does); only the type name is shared with the client.
 */
export const ENCODINGS = ['json', 'etf'] as const satisfies readonly Encoding[];
export type { Encoding };

/** A gateway payload as the client sent it, after decoding. */
export interface ClientPayload {
  readonly op: unknown;
  readonly d: unknown;
}

/** Settings of the ETF output (see `SimulatorOptions.etfAtomKeys` / `etfBigintSnowflakes`). */
export interface EtfOutputOptions {
  readonly atomKeys: boolean;
  readonly bigintSnowflakes: boolean;
}

/**
 * Turns server payloads into frames for one encoding: a string is a text frame, bytes a binary frame.
 * Dispatch bodies are encoded (and compressed) once per dispatch and shared by every session.
 */
export interface WireEncoder {
  readonly encoding: Encoding;
  dispatch(dispatch: Dispatch, variant: Variant, seq: number): string | Uint8Array;
  dispatchCompressed(dispatch: Dispatch, variant: Variant, seq: number, c: TransportCompressor): Uint8Array;
  /** JSON dispatches come back as UTF-8 bytes to send in a TEXT frame (`textBytes` is true). */
  readonly textBytes: boolean;
  /**
   * Encodes the dispatch body for `variant` into its cache now; throws when this encoding cannot carry it
   * (so an event is refused before it takes a sequence number, never when it is sent or replayed).
   */
  prepare(dispatch: Dispatch, variant: Variant): void;
  /** A non-dispatch payload: `s` and `t` are null. */
  payload(op: number, d: unknown): string | Uint8Array;
  /** Decodes one client frame; throws on undecodable input (the caller closes with 4002). */
  decode(frame: Buffer, isBinary: boolean): ClientPayload;
}

const utf8 = new TextEncoder();

function jsonText(dispatch: Dispatch, variant: Variant): string {
  const slot = SLOT_JSON_TEXT + variant;
  let s = dispatch.cache[slot] as string | undefined;
  if (s === undefined) {
    s = JSON.stringify(dispatch.data(variant)) ?? 'null';
    dispatch.cache[slot] = s;
  }
  return s;
}

function jsonBody(dispatch: Dispatch, variant: Variant): Uint8Array {
  const slot = SLOT_JSON_BODY + variant;
  let b = dispatch.cache[slot] as Uint8Array | undefined;
  if (b === undefined) {
    b = utf8.encode(`${jsonText(dispatch, variant)}}`);
    dispatch.cache[slot] = b;
  }
  return b;
}

function cachedDeflate(dispatch: Dispatch, slot: number, body: Uint8Array): Uint8Array {
  let b = dispatch.cache[slot] as Uint8Array | undefined;
  if (b === undefined) {
    b = deflateSegment(body);
    dispatch.cache[slot] = b;
  }
  return b;
}

function jsonPrefix(dispatch: Dispatch, seq: number): string {
  return `{"t":"${dispatch.t}","s":${seq},"op":0,"d":`;
}

export const jsonEncoder: WireEncoder = {
  encoding: 'json',
  textBytes: true,
  prepare(dispatch, variant) {
    jsonBody(dispatch, variant);
  },
  dispatch(dispatch, variant, seq) {
    // The envelope prefix is ASCII (event names are [A-Z0-9_]); the body bytes are cached per dispatch,
    // so a frame costs one small write and one memcpy, with no per-frame string building.
    const prefix = jsonPrefix(dispatch, seq);
    const body = jsonBody(dispatch, variant);
    const out = Buffer.allocUnsafe(prefix.length + body.length);
    out.write(prefix, 0, 'latin1');
    out.set(body, prefix.length);
    return out;
  },
  dispatchCompressed(dispatch, variant, seq, c) {
    const body = jsonBody(dispatch, variant);
    return c.parts(utf8.encode(jsonPrefix(dispatch, seq)), body, () =>
      cachedDeflate(dispatch, SLOT_ZLIB_JSON + variant, body),
    );
  },
  payload(op, d) {
    return `{"t":null,"s":null,"op":${op},"d":${JSON.stringify(d) ?? 'null'}}`;
  },
  decode(frame) {
    // Text and binary frames both carry UTF-8 JSON for encoding=json.
    const value: unknown = JSON.parse(frame.toString('utf8'));
    if (typeof value !== 'object' || value === null || Array.isArray(value)) {
      throw new TypeError('a gateway payload is a JSON object');
    }
    return value as ClientPayload;
  },
};

export function etfEncoder(options: EtfOutputOptions): WireEncoder {
  return {
    encoding: 'etf',
    textBytes: false,
    prepare(dispatch, variant) {
      etfBody(dispatch, variant, options);
    },
    dispatch: (dispatch, variant, seq) => etfDispatch(dispatch, variant, seq, options),
    dispatchCompressed(dispatch, variant, seq, c) {
      const body = etfBody(dispatch, variant, options);
      return c.parts(etfDispatchPrefix(dispatch, seq, options), body, () =>
        cachedDeflate(dispatch, SLOT_ZLIB_ETF + variant, body),
      );
    },
    payload: (op, d) => etfPayload(op, d, options),
    decode(frame, isBinary) {
      if (!isBinary) throw new TypeError('encoding=etf expects binary frames');
      return decodeEtfPayload(frame);
    },
  };
}

/**
 * A JSON dispatch as one complete server WebSocket TEXT frame (RFC 6455 header + payload) in a single
 * buffer: the hot path of fan-out, with no intermediate payload buffer.
 */
/** Header bytes of an unmasked server WebSocket frame (RFC 6455 §5.2) carrying `len` payload bytes. */
export function wsFrameHeadBytes(len: number): number {
  return len < 126 ? 2 : len < 65536 ? 4 : 10;
}

/**
 * A buffer for one unmasked, unfragmented server WebSocket frame (text, or binary) of `len` payload bytes,
 * with its header written; the caller writes the payload at `wsFrameHeadBytes(len)`.
 */
export function allocWsFrame(len: number, binary: boolean): Buffer {
  const head = wsFrameHeadBytes(len);
  const out = Buffer.allocUnsafe(head + len);
  out[0] = binary ? 0x82 : 0x81;
  if (head === 2) out[1] = len;
  else if (head === 4) {
    out[1] = 126;
    out.writeUInt16BE(len, 2);
  } else {
    out[1] = 127;
    out.writeUInt32BE(Math.floor(len / 2 ** 32), 2);
    out.writeUInt32BE(len >>> 0, 6);
  }
  return out;
}

export function jsonDispatchWsFrame(dispatch: Dispatch, variant: Variant, seq: number): Buffer {
  const prefix = jsonPrefix(dispatch, seq);
  const body = jsonBody(dispatch, variant);
  const len = prefix.length + body.length;
  const head = wsFrameHeadBytes(len);
  const out = allocWsFrame(len, false);
  out.write(prefix, head, 'latin1');
  out.set(body, head + prefix.length);
  return out;
}

/** Bytes of a frame produced by an encoder (text frames as UTF-8). */
export function frameBytes(frame: string | Uint8Array): Uint8Array {
  return typeof frame === 'string' ? utf8.encode(frame) : frame;
}
