/**
 * Reads `op`, `s` and `t` of an ETF gateway envelope without decoding `d`, so a shard with a dispatch
 * filter can skip unwanted events cheaply. Discord (and the simulator) write the envelope map as
 * `{t, s, op, d}`; the peek only succeeds when those three keys come before `d` and hold the simple terms
 * the gateway uses (small integers, atoms, binaries). Anything else returns undefined and the caller
 * decodes the whole payload, so the peek is never wrong, only sometimes unhelpful.
 */
import type { PeekedEnvelope } from './json-peek.js';

const VERSION = 131;
const SMALL_INTEGER_EXT = 97;
const INTEGER_EXT = 98;
const ATOM_EXT = 100;
const BINARY_EXT = 109;
const SMALL_ATOM_EXT = 115;
const MAP_EXT = 116;
const ATOM_UTF8_EXT = 118;
const SMALL_ATOM_UTF8_EXT = 119;

const utf8 = new TextDecoder('utf-8', { fatal: false });

export function peekEtfEnvelope(bytes: Uint8Array): PeekedEnvelope | undefined {
  const n = bytes.length;
  if (n < 6 || bytes[0] !== VERSION || bytes[1] !== MAP_EXT) return undefined;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const arity = view.getUint32(2);
  let pos = 6;

  /** A string-like term (atom or binary) at `pos`: [text, isAtom], or undefined. */
  const readText = (maxLen: number): [string, boolean] | undefined => {
    if (pos >= n) return undefined;
    const tag = bytes[pos]!;
    let len: number;
    let head: number;
    if (tag === SMALL_ATOM_EXT || tag === SMALL_ATOM_UTF8_EXT) {
      if (pos + 2 > n) return undefined;
      len = bytes[pos + 1]!;
      head = 2;
    } else if (tag === ATOM_EXT || tag === ATOM_UTF8_EXT) {
      if (pos + 3 > n) return undefined;
      len = view.getUint16(pos + 1);
      head = 3;
    } else if (tag === BINARY_EXT) {
      if (pos + 5 > n) return undefined;
      len = view.getUint32(pos + 1);
      head = 5;
    } else return undefined;
    if (len > maxLen || pos + head + len > n) return undefined;
    const start = pos + head;
    pos = start + len;
    return [utf8.decode(bytes.subarray(start, start + len)), tag !== BINARY_EXT];
  };

  /** A small integer at `pos`, or undefined. */
  const readInt = (): number | undefined => {
    if (pos >= n) return undefined;
    const tag = bytes[pos]!;
    if (tag === SMALL_INTEGER_EXT && pos + 2 <= n) {
      pos += 2;
      return bytes[pos - 1]!;
    }
    if (tag === INTEGER_EXT && pos + 5 <= n) {
      const v = view.getInt32(pos + 1);
      pos += 5;
      return v;
    }
    return undefined;
  };

  let op: number | undefined;
  let s: number | null | undefined;
  let t: string | null | undefined;
  for (let i = 0; i < arity; i++) {
    const key = readText(2);
    if (!key) return undefined;
    const name = key[0];
    if (name === 'op') {
      op = readInt();
      if (op === undefined || op < 0) return undefined;
    } else if (name === 's') {
      const at = pos;
      const v = readInt();
      if (v !== undefined && v >= 0) s = v;
      else {
        pos = at;
        const atom = readText(4);
        if (!atom?.[1] || (atom[0] !== 'nil' && atom[0] !== 'null')) return undefined;
        s = null;
      }
    } else if (name === 't') {
      const text = readText(64);
      if (!text) return undefined;
      t = text[1] && (text[0] === 'nil' || text[0] === 'null') ? null : text[0];
    } else {
      // `d` (or any other key) before we know op, s and t: give up rather than skip an arbitrary term.
      return undefined;
    }
    if (op !== undefined && s !== undefined && t !== undefined) return { op, s, t };
  }
  return undefined;
}
