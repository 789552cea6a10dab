/** The codecs the raw test client decodes with: our shared codecs, reached from one place. */
import { decodeEtfTerm, encodeEtfTerm } from '../../src/simulator/etf-adapter.js';

export interface ZstdLike {
  push(frame: Uint8Array): Uint8Array | null;
}

export function decodeClientTerm(bytes: Uint8Array): unknown {
  return decodeEtfTerm(bytes);
}

export function encodeClientTerm(value: unknown): Uint8Array {
  return encodeEtfTerm(value);
}

/** A zstd-stream decoder, or an error when the shared one is not available. */
export async function newZstdDecoder(): Promise<ZstdLike> {
  throw new Error('zstd-stream decoder not available yet');
}
