/**
 * The one place the client reaches the codecs: payload encode/decode per encoding and one stream
 * decompressor per connection. Everything else in transport/ and shard/ goes through these functions.
 */
import { ConfigError, ShardError } from '../errors.js';

export type Encoding = 'json' | 'etf';
export type Compression = 'zlib-stream' | 'zstd-stream' | 'none';

/** One decompression context for the lifetime of one connection. */
export interface StreamDecompressor {
  /** Feeds one WebSocket message; returns a whole payload, or null while one is incomplete. */
  push(frame: Uint8Array): Uint8Array | null;
  close(): void;
}

export function createDecompressor(
  compression: Compression,
  _maxMessageBytes: number,
): StreamDecompressor | null {
  if (compression === 'none') return null;
  throw new ConfigError('compression', `${compression} is not available in this build yet`);
}

const textDecoder = new TextDecoder('utf-8', { fatal: true });

export function bytesToText(bytes: Uint8Array): string {
  return textDecoder.decode(bytes);
}

export function decodeJsonText(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch (cause) {
    throw new ShardError('PROTOCOL_VIOLATION', 'the gateway sent invalid JSON', { cause });
  }
}

export function decodeEtfBytes(_bytes: Uint8Array): unknown {
  throw new ConfigError('encoding', 'etf is not available in this build yet');
}

/** Serializes a payload for the wire: JSON text or ETF bytes. */
export function encodePayload(encoding: Encoding, value: unknown): string | Uint8Array {
  if (encoding === 'etf') throw new ConfigError('encoding', 'etf is not available in this build yet');
  return JSON.stringify(value);
}
