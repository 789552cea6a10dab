/**
 * The one place the simulator reaches the ETF codec (src/codec/etf), so the wire framing in etf-wire.ts
 * does not depend on the codec's option names.
 */
import { decodeEtf, encodeEtf } from '../codec/etf/index.js';

/** Client payloads are at most a few KiB; refuse anything that inflates beyond this. */
const MAX_CLIENT_TERM_BYTES = 1 << 20;

/** Encodes a term with binary map keys (BigInt → 64-bit integer); the result starts with the version byte. */
export function encodeEtfTerm(value: unknown): Uint8Array {
  return encodeEtf(value);
}

/** Decodes a client term (bignums → strings, as a gateway reads snowflakes); throws CodecError. */
export function decodeEtfTerm(bytes: Uint8Array): unknown {
  return decodeEtf(bytes, { maxBytes: MAX_CLIENT_TERM_BYTES, maxDepth: 32 });
}
