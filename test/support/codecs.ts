/** The codecs the raw test client uses: our shared codecs (src/codec), never the simulator's framing. */
import { decodeEtf, encodeEtf } from '../../src/codec/etf/index.js';
import { ZstdStreamDecoder } from '../../src/codec/zstd-stream.js';

export interface ZstdLike {
  push(frame: Uint8Array): Uint8Array | null;
}

export function decodeClientTerm(bytes: Uint8Array): unknown {
  return decodeEtf(bytes);
}

export function encodeClientTerm(value: unknown): Uint8Array {
  return encodeEtf(value);
}

export async function newZstdDecoder(): Promise<ZstdLike> {
  return new ZstdStreamDecoder();
}
