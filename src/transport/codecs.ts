/**
 * The one place the client reaches the codecs: payload encode/decode per encoding and one stream
 * decompressor per connection. Everything else in transport/ and shard/ goes through these functions.
 */
import { Buffer } from 'node:buffer';
import { decodeEtf, encodeEtf } from '../codec/etf/index.js';
import { codecFallbackNotice } from '../codec/fallbacks.js';
import type { Compression, Encoding } from '../codec/formats.js';
import { assertJsonWithinLimits, decodeJson, encodeJson, parseJsonText } from '../codec/json.js';
import { ZlibStreamDecoder } from '../codec/zlib-stream.js';
import { ZstdStreamDecoder } from '../codec/zstd-stream.js';

/** One decompression context for the lifetime of one connection. */
export interface StreamDecompressor {
  /** Feeds one WebSocket message; returns a whole payload, or null while one is incomplete. */
  push(frame: Uint8Array): Uint8Array | null;
  close(): void;
}

/**
 * A fresh decompressor for a new connection, or null for `none`. A message it returns is valid only until
 * the next `push()` of any connection of this thread: decode it at once.
 */
export function createDecompressor(
  compression: Compression,
  maxMessageBytes: number,
): StreamDecompressor | null {
  // Transient: FrameDecoder decodes every message before the next push, so small ones reuse one buffer.
  if (compression === 'zlib-stream') return new ZlibStreamDecoder({ maxMessageBytes, transientOutput: true });
  if (compression === 'zstd-stream') return new ZstdStreamDecoder({ maxMessageBytes });
  return null;
}

type Slicer = (this: Uint8Array, start: number, end: number) => string;
/** Node's native UTF-8 slicer (what `buf.toString('utf8')` ends in), called without the argument handling. */
const utf8Slice = (Buffer.prototype as unknown as { utf8Slice: Slicer }).utf8Slice;

export function bytesToText(bytes: Uint8Array): string {
  // The slicer reads any Uint8Array in place (ws, the frame reader and the zlib decoder hand out Buffers).
  return utf8Slice.call(bytes, 0, bytes.byteLength);
}

export { assertJsonWithinLimits, codecFallbackNotice, parseJsonText };

/** Parses JSON text; throws `CodecError('JSON_INVALID')`, or `JSON_TOO_COMPLEX` over the structure limit. */
export function decodeJsonText(text: string): unknown {
  return decodeJson(text);
}

/** Decodes one ETF term; snowflakes beyond 2^53 become decimal strings. Throws `CodecError`. */
export function decodeEtfBytes(bytes: Uint8Array, maxBytes: number): unknown {
  return decodeEtf(bytes, { bigint: 'string', maxBytes });
}

/** Serializes a payload for the wire: JSON text or ETF bytes (string keys, as the gateway requires). */
export function encodePayload(encoding: Encoding, value: unknown): string | Uint8Array {
  return encoding === 'etf' ? encodeEtf(value) : encodeJson(value);
}
