/**
 * ETF encoder: JS values → bytes (version 131 + one term), in the shape Discord's gateway accepts.
 *
 * Mapping: strings → BINARY_EXT (UTF-8); integers by size → SMALL_INTEGER_EXT (0–255), INTEGER_EXT (int32),
 * SMALL_BIG_EXT up to ±2^53 (never a float for a safe integer); other finite numbers (fractions, and
 * doubles beyond ±2^53, which are not exact integers) → NEW_FLOAT_EXT, so decode(encode(x)) is x;
 * BigInt → SMALL_BIG_EXT / LARGE_BIG_EXT; true/false → atoms, null and undefined → atom `nil`; arrays →
 * LIST_EXT (NIL_EXT when empty); plain objects (prototype Object.prototype or null) → MAP_EXT with BINARY_EXT
 * keys, or atom keys with `atomKeys: true` (every map) / `atomKeys: 'envelope'` (only the outermost map, as
 * Discord is observed to send `op/d/s/t`); Uint8Array (and Buffer) → BINARY_EXT of its bytes.
 * Object properties whose value is undefined are skipped, like JSON.stringify does.
 *
 * Atoms are written as SMALL_ATOM_EXT (115, Latin-1) when their name is ASCII — the tag erlpack writes and
 * every ETF reader accepts — and as SMALL_ATOM_UTF8_EXT (119) otherwise.
 *
 * Unencodable values (functions, symbols, NaN, ±Infinity, cycles, Map/Set/Date/class instances, atom keys
 * longer than 255 characters) throw CodecError `ETF_UNENCODABLE`; nesting beyond `maxDepth` throws
 * `ETF_DEPTH_EXCEEDED`. No partial output is ever returned.
 */
import { Buffer } from 'node:buffer';
import { CodecError, ConfigError } from '../../errors.js';
import { ETF_VERSION, Tag } from './tags.js';

export interface EtfEncodeOptions {
  /**
   * Write map keys as atoms instead of binaries. Only for server → client envelopes (the simulator);
   * a client sending atom keys is closed by Discord with 4002.
   */
  readonly atomKeys?: boolean | 'envelope';
  /** Maximum nesting of arrays and objects (default 256). */
  readonly maxDepth?: number;
}

export const DEFAULT_ETF_ENCODE_OPTIONS = {
  atomKeys: false,
  maxDepth: 256,
} as const satisfies Required<EtfEncodeOptions>;

/**
 * Output is written straight into a slab and returned as a subarray of it (no copy), like Node's Buffer pool:
 * consecutive results share one ArrayBuffer until the slab is used up.
 */
const SLAB_BYTES = 64 * 1024;
/** A new slab is started when less than this is left. */
const SLAB_MIN_FREE = 1024;

let buf = newSlab(SLAB_BYTES);
let view = new DataView(buf.buffer);
/** Where the document being encoded starts in `buf`. */
let start = 0;
let pos = 0;
/** 0: binary keys, 1: atom keys everywhere, 2: atom keys in the outermost map only. */
let atomKeys = 0;
let encoding = false;
/** Whether Object.prototype has enumerable properties (polluted), so for-in needs an own-property check. */
let inheritedKeys = false;

function hasEnumerable(o: object): boolean {
  for (const _ in o) return true;
  return false;
}
let maxDepth = 256;
const stack: unknown[] = [];

interface Utf8WriteBuffer extends Uint8Array {
  utf8Write(s: string, offset: number, length: number): number;
}

/** Slabs are Node Buffers so long strings can use the native `utf8Write`. */
function newSlab(size: number): Utf8WriteBuffer {
  return Buffer.allocUnsafeSlow(size) as unknown as Utf8WriteBuffer;
}

/** Moves the document being written to a new slab with room for `need` more bytes. Offsets shift by -start. */
function grow(need: number): void {
  const used = pos - start;
  let cap = SLAB_BYTES;
  while (cap < used + need + SLAB_MIN_FREE) cap *= 2;
  const next = newSlab(cap);
  next.set(buf.subarray(start, pos));
  buf = next;
  view = new DataView(buf.buffer);
  start = 0;
  pos = used;
}

function unencodable(message: string): never {
  throw new CodecError('ETF_UNENCODABLE', message);
}

/** Writes UTF-8 of `s` at `pos` (capacity for 3 bytes per UTF-16 unit must be ensured). Returns byte length. */
function writeUtf8(s: string): number {
  const len = s.length;
  const at = pos;
  if (len < 24) {
    const b = buf;
    for (let i = 0; i < len; i++) {
      const c = s.charCodeAt(i);
      if (c >= 0x80) return buf.utf8Write(s, at, buf.length - at);
      b[at + i] = c;
    }
    return len;
  }
  return buf.utf8Write(s, at, buf.length - at);
}

function writeString(s: string): void {
  const len = s.length;
  if (pos + 5 + len * 3 > buf.length) grow(5 + len * 3);
  const b = buf;
  b[pos] = Tag.BINARY;
  const lenAt = pos + 1;
  pos += 5;
  const n = writeUtf8(s);
  pos += n;
  b[lenAt] = n >>> 24;
  b[lenAt + 1] = (n >>> 16) & 0xff;
  b[lenAt + 2] = (n >>> 8) & 0xff;
  b[lenAt + 3] = n & 0xff;
}

function writeAtom(name: string): void {
  const len = name.length;
  if (len > 255) unencodable(`atom ${JSON.stringify(name.slice(0, 32))}… is longer than 255 characters`);
  if (pos + 3 + len * 3 > buf.length) grow(3 + len * 3);
  const b = buf;
  const at = pos;
  pos += 2;
  const n = writeUtf8(name);
  if (n === len) {
    b[at] = Tag.SMALL_ATOM;
    b[at + 1] = n;
    pos += n;
  } else if (n <= 255) {
    b[at] = Tag.SMALL_ATOM_UTF8;
    b[at + 1] = n;
    pos += n;
  } else {
    // ATOM_UTF8_EXT: two length bytes; move the text one byte right.
    b.copyWithin(at + 3, at + 2, at + 2 + n);
    b[at] = Tag.ATOM_UTF8;
    b[at + 1] = n >>> 8;
    b[at + 2] = n & 0xff;
    pos += n + 1;
  }
}

function writeSmallAtom(a: number, b1: number, b2: number, b3: number, b4: number, len: number): void {
  if (pos + 7 > buf.length) grow(7);
  const b = buf;
  b[pos] = Tag.SMALL_ATOM;
  b[pos + 1] = len;
  b[pos + 2] = a;
  b[pos + 3] = b1;
  b[pos + 4] = b2;
  if (len > 3) b[pos + 5] = b3;
  if (len > 4) b[pos + 6] = b4;
  pos += 2 + len;
}

const writeNil = () => writeSmallAtom(0x6e, 0x69, 0x6c, 0, 0, 3);

function writeNumber(v: number): void {
  if (pos + 11 > buf.length) grow(11);
  const b = buf;
  if (Number.isInteger(v)) {
    if (v >= 0 && v <= 255) {
      b[pos] = Tag.SMALL_INTEGER;
      b[pos + 1] = v;
      pos += 2;
      return;
    }
    if (v >= -2147483648 && v <= 2147483647) {
      b[pos] = Tag.INTEGER;
      b[pos + 1] = (v >>> 24) & 0xff;
      b[pos + 2] = (v >>> 16) & 0xff;
      b[pos + 3] = (v >>> 8) & 0xff;
      b[pos + 4] = v & 0xff;
      pos += 5;
      return;
    }
    const m = v < 0 ? -v : v;
    if (m <= 9007199254740992) {
      let lo = m % 4294967296;
      let hi = (m - lo) / 4294967296;
      b[pos] = Tag.SMALL_BIG;
      b[pos + 2] = v < 0 ? 1 : 0;
      let n = 0;
      const at = pos + 3;
      while (lo > 0 || hi > 0) {
        b[at + n] = lo & 0xff;
        n++;
        lo = (lo - (lo & 0xff)) / 256;
        if (n === 4) {
          lo = hi;
          hi = 0;
        }
      }
      b[pos + 1] = n;
      pos = at + n;
      return;
    }
    // Above 2^53 a double is no longer an exact integer: it stays a float (pass a BigInt for exact values).
  } else if (!Number.isFinite(v)) unencodable(`${v} has no ETF representation`);
  b[pos] = Tag.NEW_FLOAT;
  view.setFloat64(pos + 1, v, false);
  pos += 9;
}

function writeBigInt(v: bigint): void {
  const negative = v < 0n;
  const m = negative ? -v : v;
  if (m < 18446744073709551616n) {
    if (pos + 11 > buf.length) grow(11);
    let lo = Number(m & 0xffffffffn);
    let hi = Number(m >> 32n);
    const b = buf;
    b[pos] = Tag.SMALL_BIG;
    b[pos + 2] = negative ? 1 : 0;
    const at = pos + 3;
    let n = 0;
    while (lo > 0 || hi > 0) {
      b[at + n] = lo & 0xff;
      n++;
      lo = lo >>> 8;
      if (n === 4) {
        lo = hi;
        hi = 0;
      }
    }
    b[pos + 1] = n;
    pos = at + n;
    return;
  }
  let hex = m.toString(16);
  if (hex.length & 1) hex = `0${hex}`;
  const n = hex.length >>> 1;
  if (pos + 6 + n > buf.length) grow(6 + n);
  const b = buf;
  let at: number;
  if (n <= 255) {
    b[pos] = Tag.SMALL_BIG;
    b[pos + 1] = n;
    b[pos + 2] = negative ? 1 : 0;
    at = pos + 3;
  } else {
    b[pos] = Tag.LARGE_BIG;
    b[pos + 1] = n >>> 24;
    b[pos + 2] = (n >>> 16) & 0xff;
    b[pos + 3] = (n >>> 8) & 0xff;
    b[pos + 4] = n & 0xff;
    b[pos + 5] = negative ? 1 : 0;
    at = pos + 6;
  }
  for (let i = 0; i < n; i++) b[at + i] = Number.parseInt(hex.substr(hex.length - 2 - 2 * i, 2), 16);
  pos = at + n;
}

function writeBytes(v: Uint8Array): void {
  const n = v.length;
  if (pos + 5 + n > buf.length) grow(5 + n);
  const b = buf;
  b[pos] = Tag.BINARY;
  b[pos + 1] = n >>> 24;
  b[pos + 2] = (n >>> 16) & 0xff;
  b[pos + 3] = (n >>> 8) & 0xff;
  b[pos + 4] = n & 0xff;
  b.set(v, pos + 5);
  pos += 5 + n;
}

function tooDeep(value: unknown, depth: number): never {
  for (let i = 0; i < depth; i++) {
    if (stack[i] === value) unencodable('cyclic structure');
  }
  for (let i = 0; i < depth; i++) {
    for (let j = i + 1; j < depth; j++) if (stack[i] === stack[j]) unencodable('cyclic structure');
  }
  throw new CodecError('ETF_DEPTH_EXCEEDED', `nesting deeper than maxDepth ${maxDepth}`);
}

function writeArray(v: unknown[], depth: number): void {
  const n = v.length;
  if (n === 0) {
    if (pos + 1 > buf.length) grow(1);
    buf[pos++] = Tag.NIL;
    return;
  }
  if (depth >= maxDepth) tooDeep(v, depth);
  stack[depth] = v;
  if (pos + 5 > buf.length) grow(5);
  const b = buf;
  b[pos] = Tag.LIST;
  b[pos + 1] = n >>> 24;
  b[pos + 2] = (n >>> 16) & 0xff;
  b[pos + 3] = (n >>> 8) & 0xff;
  b[pos + 4] = n & 0xff;
  pos += 5;
  for (let i = 0; i < n; i++) writeValue(v[i], depth + 1);
  if (pos + 1 > buf.length) grow(1);
  buf[pos++] = Tag.NIL;
  stack[depth] = undefined;
}

/*
 * Objects are written by one of two copies of the same loop, so that each for-in keeps its own type feedback.
 * V8 enumerates a dictionary-mode object (a prototype-less one, one that had a property deleted, or one that
 * got ~20 properties by computed-key stores, as `out[k] = v` builds) without its enum cache, and a single such
 * object at a for-in site turns that site generic for the rest of the process: every later `v[key]` there is a
 * megamorphic keyed load instead of a field load by enum-cache index. Encoding the bench's 10,000-event corpus
 * once made identify 1.3–1.5× slower that way. So objects likely to be dictionary-mode or to have elements —
 * no prototype, more than COMPACT_OBJECT_KEYS keys, or an integer-like first key — take writeLooseObject, and
 * the small object literals that client payloads are made of keep writeObject's fast path.
 * Both copies write the same bytes; which one runs is invisible in the output. Not covered: a small object that
 * had a property deleted is dictionary-mode too but looks compact (only V8 internals tell), so it still makes
 * writeObject's loop generic, as before this split.
 */

/** Objects with more enumerable keys than this are written by writeLooseObject. */
const COMPACT_OBJECT_KEYS = 16;

/** Whether `v` stays in writeObject's loop: at most COMPACT_OBJECT_KEYS keys and no integer keys (elements). */
function isCompact(v: object): boolean {
  let n = 0;
  for (const key in v) {
    if (n === 0) {
      // Integer keys (elements) come first in enumeration order.
      const c = key.charCodeAt(0);
      if (c <= 0x39 && c >= 0x30) return false;
    }
    if (++n > COMPACT_OBJECT_KEYS) return false;
  }
  return true;
}

/** An object with prototype Object.prototype: compact ones here, the others in writeLooseObject. */
function writeObject(v: Record<string, unknown>, depth: number): void {
  if (!isCompact(v)) {
    writeLooseObject(v, depth);
    return;
  }
  if (depth >= maxDepth) tooDeep(v, depth);
  stack[depth] = v;
  if (pos + 5 > buf.length) grow(5);
  // Relative to `start`: the slab may move while the children are written.
  const headerRel = pos - start;
  buf[pos] = Tag.MAP;
  pos += 5;
  let count = 0;
  for (const key in v) {
    const value = v[key];
    if (value === undefined || (inheritedKeys && !Object.hasOwn(v, key))) continue;
    if (atomKeys === 1 || (atomKeys === 2 && depth === 0)) writeAtom(key);
    else writeString(key);
    writeValue(value, depth + 1);
    count++;
  }
  const b = buf;
  const headerAt = start + headerRel;
  b[headerAt + 1] = count >>> 24;
  b[headerAt + 2] = (count >>> 16) & 0xff;
  b[headerAt + 3] = (count >>> 8) & 0xff;
  b[headerAt + 4] = count & 0xff;
  stack[depth] = undefined;
}

/** The same loop as writeObject, kept apart for its type feedback (see above). No prototype, or not compact. */
function writeLooseObject(v: Record<string, unknown>, depth: number): void {
  if (depth >= maxDepth) tooDeep(v, depth);
  stack[depth] = v;
  if (pos + 5 > buf.length) grow(5);
  // Relative to `start`: the slab may move while the children are written.
  const headerRel = pos - start;
  buf[pos] = Tag.MAP;
  pos += 5;
  let count = 0;
  for (const key in v) {
    const value = v[key];
    if (value === undefined || (inheritedKeys && !Object.hasOwn(v, key))) continue;
    if (atomKeys === 1 || (atomKeys === 2 && depth === 0)) writeAtom(key);
    else writeString(key);
    writeValue(value, depth + 1);
    count++;
  }
  const b = buf;
  const headerAt = start + headerRel;
  b[headerAt + 1] = count >>> 24;
  b[headerAt + 2] = (count >>> 16) & 0xff;
  b[headerAt + 3] = (count >>> 8) & 0xff;
  b[headerAt + 4] = count & 0xff;
  stack[depth] = undefined;
}

function writeValue(v: unknown, depth: number): void {
  switch (typeof v) {
    case 'string':
      writeString(v);
      return;
    case 'number':
      writeNumber(v);
      return;
    case 'object':
      if (v === null) {
        writeNil();
        return;
      }
      if (Array.isArray(v)) {
        writeArray(v, depth);
        return;
      }
      {
        const proto = Object.getPrototypeOf(v);
        if (proto === Object.prototype) {
          writeObject(v as Record<string, unknown>, depth);
          return;
        }
        if (proto === null) {
          writeLooseObject(v as Record<string, unknown>, depth);
          return;
        }
      }
      if (v instanceof Uint8Array) {
        writeBytes(v);
        return;
      }
      unencodable(`cannot encode ${describe(v)}: only plain objects, arrays and Uint8Array`);
      return;
    case 'boolean':
      if (v) writeSmallAtom(0x74, 0x72, 0x75, 0x65, 0, 4);
      else writeSmallAtom(0x66, 0x61, 0x6c, 0x73, 0x65, 5);
      return;
    case 'bigint':
      writeBigInt(v);
      return;
    case 'undefined':
      writeNil();
      return;
    default:
      unencodable(`cannot encode a ${typeof v}`);
  }
}

function describe(v: object): string {
  const name = (v as { constructor?: { name?: unknown } }).constructor?.name;
  return typeof name === 'string' && name !== '' ? `a ${name}` : 'a non-plain object';
}

/**
 * Encodes a value as one ETF document (version byte 131 + term). The result is a fresh Uint8Array.
 * @throws CodecError `ETF_UNENCODABLE` or `ETF_DEPTH_EXCEEDED`; nothing is returned on failure.
 */
export function encodeEtf(value: unknown, options?: EtfEncodeOptions): Uint8Array {
  const ak = options?.atomKeys;
  atomKeys = ak === true ? 1 : ak === 'envelope' ? 2 : 0;
  if (ak !== undefined && ak !== true && ak !== false && ak !== 'envelope')
    throw new ConfigError('atomKeys', `must be true, false or 'envelope', got ${String(ak)}`);
  maxDepth = options?.maxDepth ?? DEFAULT_ETF_ENCODE_OPTIONS.maxDepth;
  if (!(Number.isInteger(maxDepth) && maxDepth > 0))
    throw new ConfigError('maxDepth', `must be a positive integer, got ${String(options?.maxDepth)}`);
  if (encoding) {
    // A getter or Proxy trap called encodeEtf while we were encoding: the shared state would be clobbered.
    throw new CodecError(
      'ETF_UNENCODABLE',
      'encodeEtf was called re-entrantly (from a getter or Proxy trap)',
    );
  }
  if (buf.length - pos < SLAB_MIN_FREE) {
    buf = newSlab(SLAB_BYTES);
    view = new DataView(buf.buffer);
    pos = 0;
  }
  start = pos;
  inheritedKeys = hasEnumerable(Object.prototype);
  buf[pos++] = ETF_VERSION;
  encoding = true;
  try {
    writeValue(value, 0);
  } catch (err) {
    stack.length = 0;
    pos = start;
    if (err instanceof CodecError) throw err;
    // Safety net (e.g. a stack overflow under a huge custom maxDepth).
    throw new CodecError('ETF_UNENCODABLE', `cannot encode: ${(err as Error).message}`, {}, { cause: err });
  } finally {
    encoding = false;
  }
  const out = new Uint8Array(buf.buffer, buf.byteOffset + start, pos - start);
  if (buf.length > SLAB_BYTES) {
    // A slab grown for a big document is left to that document alone.
    buf = newSlab(SLAB_BYTES);
    view = new DataView(buf.buffer);
    pos = 0;
  } else {
    pos = Math.min(buf.length, (pos + 7) & ~7); // 8-byte aligned start for the next document
  }
  return out;
}
