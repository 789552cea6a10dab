/**
 * Reads `op`, `s` and `t` of an ETF gateway envelope without decoding `d`, so a shard with a dispatch
 * filter can skip unwanted events cheaply. Discord (and the simulator) write the envelope map as
 * `{t, s, op, d}`; the peek only succeeds when those three keys come first, `d` is the fourth and last (so no
 * duplicate key can override what was read), and they hold the simple terms
 * the gateway uses (small integers, atoms, binaries). Anything else returns undefined and the caller
 * decodes the whole payload, so the peek is never wrong, only sometimes unhelpful.
 */
import { Buffer } from 'node:buffer';
import { ETF_VERSION, Tag } from '../codec/etf/tags.js';
import type { PeekedEnvelope } from './json-peek.js';

// The decoder's own text decoding (Node's native slicers), so the peek and the decoder agree on every byte:
// BINARY and the UTF-8 atom tags as UTF-8, ATOM_EXT and SMALL_ATOM_EXT as Latin-1.
type Slicer = (this: Uint8Array, start: number, end: number) => string;
const utf8Slice = (Buffer.prototype as unknown as { utf8Slice: Slicer }).utf8Slice;
const latin1Slice = (Buffer.prototype as unknown as { latin1Slice: Slicer }).latin1Slice;

export function peekEtfEnvelope(bytes: Uint8Array): PeekedEnvelope | undefined {
  const n = bytes.length;
  if (n < 6 || bytes[0] !== ETF_VERSION || bytes[1] !== Tag.MAP) return undefined;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const arity = view.getUint32(2);
  let pos = 6;

  /** A string-like term (atom or binary) at `pos`: [text, isAtom], or undefined. */
  const readText = (maxLen: number): [string, boolean] | undefined => {
    if (pos >= n) return undefined;
    const tag = bytes[pos]!;
    let len: number;
    let head: number;
    if (tag === Tag.SMALL_ATOM || tag === Tag.SMALL_ATOM_UTF8) {
      if (pos + 2 > n) return undefined;
      len = bytes[pos + 1]!;
      head = 2;
    } else if (tag === Tag.ATOM || tag === Tag.ATOM_UTF8) {
      if (pos + 3 > n) return undefined;
      len = view.getUint16(pos + 1);
      head = 3;
    } else if (tag === Tag.BINARY) {
      if (pos + 5 > n) return undefined;
      len = view.getUint32(pos + 1);
      head = 5;
    } else return undefined;
    if (len > maxLen || pos + head + len > n) return undefined;
    const start = pos + head;
    pos = start + len;
    const latin1 = tag === Tag.ATOM || tag === Tag.SMALL_ATOM;
    return [(latin1 ? latin1Slice : utf8Slice).call(bytes, start, pos), tag !== Tag.BINARY];
  };

  /** A small integer at `pos`, or undefined. */
  const readInt = (): number | undefined => {
    if (pos >= n) return undefined;
    const tag = bytes[pos]!;
    if (tag === Tag.SMALL_INTEGER && pos + 2 <= n) {
      pos += 2;
      return bytes[pos - 1]!;
    }
    if (tag === Tag.INTEGER && pos + 5 <= n) {
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
      // The atoms true and false decode as booleans: not an event name the peek can judge.
      if (text[1] && (text[0] === 'true' || text[0] === 'false')) return undefined;
      t = text[1] && (text[0] === 'nil' || text[0] === 'null') ? null : text[0];
    } else {
      // `d` (or any other key) before we know op, s and t: give up rather than skip an arbitrary term.
      return undefined;
    }
    if (op !== undefined && s !== undefined && t !== undefined) {
      // The decoder keeps the last of duplicate keys: only answer when the one pair left is `d`, so no later
      // `t` (or `op`, `s`) can contradict what the peek read.
      if (arity - i - 1 !== 1) return undefined;
      const last = readText(1);
      return last?.[0] === 'd' ? { op, s, t } : undefined;
    }
  }
  return undefined;
}
