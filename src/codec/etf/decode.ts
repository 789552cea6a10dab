/**
 * ETF decoder: bytes (version 131 + one term) → plain JS values shaped like the JSON form of the payload.
 *
 * Mapping: integers → numbers; bignums → number when within ±(2^53−1), otherwise a decimal string (or a
 * BigInt for every bignum with `bigint: 'bigint'`); floats → numbers; atoms `true`/`false` → booleans,
 * `nil`/`null` → null, other atoms → their name, whichever of the four atom tags carries them; BINARY →
 * UTF-8 string (a leading U+FEFF is kept); tuples, lists → arrays; NIL → []; STRING_EXT → array of byte
 * numbers (as erlpack); MAP → object with string keys: a key decodes as a value would, then becomes a property
 * name as erlpack's does (atom `nil` → "null", `true` → "true", a container → its JSON text, bounded); a
 * `__proto__` key becomes an own property, never a prototype. BIT_BINARY → ETF_INVALID (Discord never sends
 * bitstrings); COMPRESSED → inflated, only as the top-level term.
 *
 * Limits are on by default: `maxDepth` nesting (capped at MAX_ETF_DECODE_DEPTH, what the stack holds),
 * `maxBytes` input and inflated size, `maxElements` decoded items per document; every container length is
 * checked against the bytes left and the elements left before anything is allocated. Every failure is a
 * `CodecError`, and no failure (not even a stack overflow) leaves the shared caches inconsistent or holding
 * the failed document's values.
 */
import { Buffer } from 'node:buffer';
import { inflateSync } from 'node:zlib';
import { CodecError, type CodecErrorCode, ConfigError } from '../../errors.js';
import { ETF_VERSION, FLOAT_EXT_BYTES, Tag, tagName } from './tags.js';

export interface EtfDecodeOptions {
  /** How bignums (SMALL_BIG/LARGE_BIG) decode: `'string'` (default: number if safe, else decimal string) or `'bigint'`. */
  readonly bigint?: 'string' | 'bigint';
  /** Maximum nesting of containers (default 256, at most MAX_ETF_DECODE_DEPTH). */
  readonly maxDepth?: number;
  /** Maximum input size, and maximum inflated size of a COMPRESSED term, in bytes (default 64 MiB). */
  readonly maxBytes?: number;
  /** Maximum digit bytes of one bignum (default 1024, i.e. 8192 bits); bigger → ETF_TOO_LARGE. */
  readonly maxBigBytes?: number;
  /**
   * Maximum decoded elements per document: list and tuple items, map entries, STRING_EXT bytes, and
   * 4 + n²/64 per bignum of n > 8 bytes (its decimal conversion is quadratic). Default 2,500,000: gateway
   * payloads run at about 20 bytes per element, so a 10 MB GUILD_CREATE has about 500,000. Bounds the heap
   * and time a small (or compressed) input can cost: an empty list is one byte on the wire but tens on the heap.
   */
  readonly maxElements?: number;
}

/**
 * The deepest `maxDepth` accepted. The decoder recurses once to three times per level; on Node's default
 * stack (984 KiB) the costliest nesting (maps keyed by tuples holding maps) ran out near 1,000 levels, and at
 * this depth a decode uses at most about half the stack, leaving the other half to the caller.
 */
export const MAX_ETF_DECODE_DEPTH = 512;

export const DEFAULT_ETF_DECODE_OPTIONS = {
  bigint: 'string',
  maxDepth: 256,
  maxBytes: 64 * 1024 * 1024,
  maxBigBytes: 1024,
  maxElements: 2_500_000,
} as const satisfies Required<EtfDecodeOptions>;

// ---- decoder state (module level: decoding is synchronous; COMPRESSED saves and restores it) ----
let bytes: Uint8Array = new Uint8Array(0);
let pos = 0;
let end = 0;
let maxDepth = 256;
let bigAsBigInt = false;
let maxBigBytes = 1024;
let maxBytes = 64 * 1024 * 1024;
/** Elements (container items) the current document may still decode. */
let elementsLeft = 0;
let maxElements = 0;
/**
 * A DataView over the input's whole ArrayBuffer, kept while consecutive inputs share that buffer (pooled
 * Buffers, our encoder's slabs) since creating a view costs more than decoding a small key; `viewBase` is the
 * input's byteOffset within it.
 */
let inputView: DataView = new DataView(new ArrayBuffer(8));
let viewBuffer: ArrayBufferLike | undefined;
let viewBase = 0;
/** Buffers larger than this are not kept referenced between calls. */
const VIEW_KEEP_BYTES = 1 << 20;

function useView(input: Uint8Array): void {
  if (input.buffer !== viewBuffer) {
    // Both assignments after the view exists: an exception in between must not pair a buffer with another view.
    const view = new DataView(input.buffer);
    viewBuffer = input.buffer;
    inputView = view;
  }
  viewBase = input.byteOffset;
}

const MAX_SAFE = Number.MAX_SAFE_INTEGER;
const TWO_32 = 4294967296;

function fail(code: CodecErrorCode, message: string, at: number): never {
  throw new CodecError(code, message, { offset: at, bytes });
}

function truncated(at: number, what: string): never {
  fail('ETF_TRUNCATED', `input ends inside ${what}`, at);
}

// ---- strings ----

/** Interned short ASCII strings (map keys and atoms), keyed by a hash of their bytes. */
const INTERN_SIZE = 4096;
const INTERN_MASK = INTERN_SIZE - 1;
const INTERN_MAX_LEN = 32;
const internTable: (string | undefined)[] = new Array<string | undefined>(INTERN_SIZE).fill(undefined);
const internLen = new Uint8Array(INTERN_SIZE).fill(0xff);
const internBytes = new Uint8Array(INTERN_SIZE * INTERN_MAX_LEN);

function shortAscii(start: number, len: number): string {
  let s = '';
  for (let i = start; i < start + len; i++) s += String.fromCharCode(bytes[i]!);
  return s;
}

/** Strings up to this many bytes go through the intern table too (ids of statuses, locales, names…). */
const SHORT_STRING = 16;
/** Intern-table slot of the string `internedText` just returned, or -1 when it was not interned. */
let lastSlot = -1;

// Node's native Buffer slicers work on any Uint8Array receiver, so no Buffer view is created per document.
type Slicer = (this: Uint8Array, start: number, end: number) => string;
const utf8Slice = (Buffer.prototype as unknown as { utf8Slice: Slicer }).utf8Slice;
const latin1Slice = (Buffer.prototype as unknown as { latin1Slice: Slicer }).latin1Slice;

/** UTF-8 text of bytes[start, start+len). Short ASCII is built by hand, the rest natively. */
function utf8(start: number, len: number): string {
  if (len <= SHORT_STRING) return internedText(start, len, false);
  return utf8Slice.call(bytes, start, start + len);
}

/**
 * A map key or atom: short ASCII names come from the intern table (already-internalized strings make
 * property stores cheap); anything else is decoded normally. `latin1` selects Latin-1 decoding for
 * ATOM_EXT/SMALL_ATOM_EXT.
 */
function internedText(start: number, len: number, latin1: boolean): string {
  lastSlot = -1;
  if (len <= INTERN_MAX_LEN && len > 0) {
    // Cheap hash of a few bytes (first two, middle, last two); the full comparison follows.
    const last = start + len - 1;
    const h =
      (len * 0x9e3779b1) ^
      (bytes[start]! << 3) ^
      (bytes[start + (len >> 1)]! << 7) ^
      (bytes[last]! << 11) ^
      (bytes[start + 1 < last ? start + 1 : start]! << 15) ^
      (bytes[last - 1 > start ? last - 1 : last]! << 19);
    const slot = (h ^ (h >>> 13)) & INTERN_MASK;
    if (internLen[slot] === len) {
      // Compare against the bytes kept for the slot (typed-array loads, no string access).
      const off = slot * INTERN_MAX_LEN - start;
      let i = start;
      while (i <= last && internBytes[off + i] === bytes[i]) i++;
      if (i > last) {
        lastSlot = slot;
        return internTable[slot]!;
      }
    }
    for (let i = start; i <= last; i++) {
      if (bytes[i]! >= 0x80) {
        return latin1
          ? latin1Slice.call(bytes, start, start + len)
          : utf8Slice.call(bytes, start, start + len);
      }
    }
    const s = len < 8 ? shortAscii(start, len) : latin1Slice.call(bytes, start, start + len);
    // Invalidate, fill, then commit the length last: whatever interrupts this (a stack overflow in a
    // call), the slot is either unusable or complete, never the new text under the old bytes.
    internLen[slot] = 0xff;
    internTable[slot] = s;
    const to = slot * INTERN_MAX_LEN - start;
    for (let i = start; i <= last; i++) internBytes[to + i] = bytes[i]!;
    internLen[slot] = len;
    lastSlot = slot;
    return s;
  }
  return latin1 ? latin1Slice.call(bytes, start, start + len) : utf8Slice.call(bytes, start, start + len);
}

function atomValue(start: number, len: number, latin1: boolean): string | boolean | null {
  if (len === 4) {
    const b0 = bytes[start];
    if (b0 === 0x74 && bytes[start + 1] === 0x72 && bytes[start + 2] === 0x75 && bytes[start + 3] === 0x65)
      return true;
    if (b0 === 0x6e && bytes[start + 1] === 0x75 && bytes[start + 2] === 0x6c && bytes[start + 3] === 0x6c)
      return null;
  } else if (len === 5) {
    if (
      bytes[start] === 0x66 &&
      bytes[start + 1] === 0x61 &&
      bytes[start + 2] === 0x6c &&
      bytes[start + 3] === 0x73 &&
      bytes[start + 4] === 0x65
    )
      return false;
  } else if (len === 3) {
    if (bytes[start] === 0x6e && bytes[start + 1] === 0x69 && bytes[start + 2] === 0x6c) return null;
  }
  return internedText(start, len, latin1);
}

// ---- numbers ----

function u32(at: number): number {
  return ((bytes[at]! << 24) | (bytes[at + 1]! << 16) | (bytes[at + 2]! << 8) | bytes[at + 3]!) >>> 0;
}

function pad6(n: number): string {
  const s = `${n}`;
  return s.length >= 6 ? s : '000000'.slice(s.length) + s;
}

/** Magnitude hi·2^32+lo (hi, lo < 2^32) as a decimal string, without BigInt. */
function uint64ToDecimal(hi: number, lo: number): string {
  const D = 1_000_000;
  const rHi = hi % D;
  const qHi = (hi - rHi) / D;
  const rest = rHi * TWO_32 + lo; // < 1e6·2^32 < 2^53: exact
  let qLo = Math.floor(rest / D);
  let r = rest - qLo * D;
  if (r < 0) {
    qLo -= 1;
    r += D;
  } else if (r >= D) {
    qLo += 1;
    r -= D;
  }
  const q = qHi * TWO_32 + qLo; // < 2^45: exact
  return q === 0 ? `${r}` : `${q}${pad6(r)}`;
}

// Recently decoded 64-bit bignums (snowflakes repeat: guild, channel and user ids) and their decimal strings.
// 4,096 slots (about 100 KiB, plus the strings): with 1,024 the ids of a few thousand members and channels
// evicted each other and ETF decode of the e2e bench's events was about 6 % slower.
const BIG_CACHE_BITS = 12;
const BIG_CACHE_SHIFT = 32 - BIG_CACHE_BITS;
const bigCacheLo = new Float64Array(1 << BIG_CACHE_BITS).fill(-1);
const bigCacheHi = new Float64Array(1 << BIG_CACHE_BITS);
const bigCacheNeg = new Uint8Array(1 << BIG_CACHE_BITS);
const bigCacheStr: string[] = new Array<string>(1 << BIG_CACHE_BITS).fill('');

function readBig(start: number, n: number, negative: boolean): number | string | bigint {
  if (n > maxBigBytes)
    fail('ETF_TOO_LARGE', `bignum of ${n} bytes exceeds maxBigBytes ${maxBigBytes}`, start);
  if (n > 8) {
    // Beyond 64 bits the decimal conversion costs about n² / 64 element-decodes: charge it as elements.
    const cost = 4 + ((n * n) >>> 6);
    if (cost > elementsLeft)
      fail('ETF_TOO_LARGE', `bignum of ${n} bytes takes the document over maxElements ${maxElements}`, start);
    elementsLeft -= cost;
  }
  if (n <= 8 && !bigAsBigInt) {
    let lo = 0;
    let hi = 0;
    const loBytes = Math.min(n, 4);
    for (let i = loBytes - 1; i >= 0; i--) lo = lo * 256 + bytes[start + i]!;
    for (let i = n - 1; i >= 4; i--) hi = hi * 256 + bytes[start + i]!;
    if (hi < 0x200000) {
      const v = hi * TWO_32 + lo;
      if (v <= MAX_SAFE) return negative ? (v === 0 ? 0 : -v) : v;
    }
    const slot = (Math.imul(lo, 0x9e3779b1) ^ hi) >>> BIG_CACHE_SHIFT;
    if (bigCacheLo[slot] === lo && bigCacheHi[slot] === hi && bigCacheNeg[slot] === (negative ? 1 : 0)) {
      return bigCacheStr[slot]!;
    }
    const digits = uint64ToDecimal(hi, lo);
    const s = negative ? `-${digits}` : digits;
    // Invalidate, fill, commit the key (lo) last, as for the intern table.
    bigCacheLo[slot] = -1;
    bigCacheHi[slot] = hi;
    bigCacheNeg[slot] = negative ? 1 : 0;
    bigCacheStr[slot] = s;
    bigCacheLo[slot] = lo;
    return s;
  }
  let hex = '';
  for (let i = start + n - 1; i >= start; i--) {
    const b = bytes[i]!;
    hex += (b < 16 ? '0' : '') + b.toString(16);
  }
  const big = n === 0 ? 0n : BigInt(`0x${hex}`);
  const value = negative ? -big : big;
  if (bigAsBigInt) return value;
  if (value <= 9007199254740991n && value >= -9007199254740991n) return Number(value);
  return value.toString();
}

function legacyFloat(at: number): number {
  let text = '';
  for (let i = at; i < at + FLOAT_EXT_BYTES; i++) {
    const b = bytes[i]!;
    if (b === 0) break;
    text += String.fromCharCode(b);
  }
  const trimmed = text.trim();
  const value = Number(trimmed);
  if (trimmed === '' || !Number.isFinite(value))
    fail('ETF_INVALID', `FLOAT_EXT text ${JSON.stringify(text)} is not a finite number`, at);
  return value;
}

// ---- terms ----

// ---- maps ----
//
// Two tricks make maps cheap:
// 1. Shape prediction. A shape is a key sequence, remembered with the exact encoded bytes of its keys (tag,
//    length, text) and keyed by (first key, arity). After reading a map's first key, the predicted shape's
//    remaining keys are checked by one byte comparison each — no header parsing, hashing or lookups.
// 2. Per-shape factories: once a shape repeats, a tiny generated function returns an object literal
//    `{ "k0": v[b], "k1": v[b + 1], … }`, which clones a boilerplate with the final hidden class at once instead
//    of one megamorphic keyed store and map transition per property. Keys are embedded with JSON.stringify;
//    only short ASCII keys qualify, and `__proto__` never takes this path.

type ObjectFactory = (values: unknown[], base: number) => Record<string, unknown>;

interface Shape {
  readonly keys: string[];
  /** Encoded bytes of every key (tag + length + text), concatenated. */
  readonly keyBytes: Uint8Array;
  /** Offsets into keyBytes: key i spans [keyOffsets[i], keyOffsets[i + 1]). */
  readonly keyOffsets: Int32Array;
  readonly keyView: DataView;
  hits: number;
  factory: ObjectFactory | undefined;
}

const SHAPE_TABLE_SIZE = 8192;
const SHAPE_MASK = SHAPE_TABLE_SIZE - 1;
const MAX_SHAPE_KEYS = 64;
/** Predicted (matched) this many times before a factory is generated: one-off shapes cost no compilation. */
const SHAPE_HITS_BEFORE_FACTORY = 2;
/** At most this many factories are generated per document, so hostile input cannot force endless compiles. */
const FACTORIES_PER_DOCUMENT = 64;
/**
 * And at most this many per second over all documents: a stream of ever-new shapes (each factory costs about
 * 20 µs to compile and is then never used) stays near the cost of the generic path.
 */
export const DEFAULT_FACTORIES_PER_SECOND = 256;
let factoryBudget = FACTORIES_PER_DOCUMENT;
let factoriesPerSecond = DEFAULT_FACTORIES_PER_SECOND;
let compileNow: () => number = () => performance.now();
let compileWindowStart = Number.NEGATIVE_INFINITY;
let compiledInWindow = 0;
let compiledTotal = 0;
const shapeTable: (Shape | undefined)[] = new Array<Shape | undefined>(SHAPE_TABLE_SIZE).fill(undefined);

/** Takes one factory compilation from the per-document and per-second budgets, or says there is none left. */
function takeCompileBudget(): boolean {
  if (factoryBudget <= 0) return false;
  const now = compileNow();
  if (!(now - compileWindowStart < 1000)) {
    compileWindowStart = now;
    compiledInWindow = 0;
  }
  if (compiledInWindow >= factoriesPerSecond) return false;
  compiledInWindow++;
  factoryBudget--;
  compiledTotal++;
  return true;
}

export interface EtfShapeCompilerOptions {
  /** Factories compiled per second at most, over all documents (default DEFAULT_FACTORIES_PER_SECOND). */
  readonly factoriesPerSecond?: number;
  /** The clock of that window, in milliseconds (default `performance.now`); tests pass a manual one. */
  readonly now?: () => number;
}

/** Sets the compile budget of the decoder's per-shape factories (process-wide, as the shape cache is). */
export function configureEtfShapeCompiler(options: EtfShapeCompilerOptions = {}): void {
  const perSecond = options.factoriesPerSecond ?? DEFAULT_FACTORIES_PER_SECOND;
  if (!(Number.isInteger(perSecond) && perSecond >= 0))
    throw new ConfigError('factoriesPerSecond', `must be a non-negative integer, got ${String(perSecond)}`);
  factoriesPerSecond = perSecond;
  compileNow = options.now ?? (() => performance.now());
  compileWindowStart = Number.NEGATIVE_INFINITY;
  compiledInWindow = 0;
}

/** Size of the decoder's process-wide caches, for tests and diagnostics. */
export function etfShapeCacheStats(): { shapes: number; factories: number; compiledTotal: number } {
  let shapes = 0;
  let factories = 0;
  for (const shape of shapeTable) {
    if (shape === undefined) continue;
    shapes++;
    if (shape.factory !== undefined) factories++;
  }
  return { shapes, factories, compiledTotal };
}

// Scratch stacks of the maps being read (nested maps push above their parent): keys, values, key positions.
const scratchKeys: string[] = [];
const scratchValues: unknown[] = [];
let scratchKeyStart = new Int32Array(1024);
let scratchTop = 0;
/** Highest scratchTop of the current document: the slots to clear when it ends. */
let scratchHigh = 0;

function makeFactory(keys: readonly string[]): ObjectFactory {
  const fields = keys.map((k, i) => `${JSON.stringify(k)}: v[b + ${i}]`).join(', ');
  return new Function('v', 'b', `return { ${fields} };`) as ObjectFactory;
}

function readKey(depth: number): string {
  const keyAt = pos;
  if (pos + 1 > end) truncated(pos, 'MAP_EXT key');
  const kt = bytes[pos]!;
  if (kt === Tag.BINARY) {
    if (pos + 5 > end) truncated(keyAt, 'BINARY_EXT header');
    const len = u32(pos + 1);
    pos += 5;
    if (len > end - pos) truncated(keyAt, 'BINARY_EXT key');
    const key = internedText(pos, len, false);
    pos += len;
    return key;
  }
  let len: number;
  if (kt === Tag.SMALL_ATOM_UTF8 || kt === Tag.SMALL_ATOM) {
    if (pos + 2 > end) truncated(keyAt, 'atom header');
    len = bytes[pos + 1]!;
    pos += 2;
  } else if (kt === Tag.ATOM_UTF8 || kt === Tag.ATOM) {
    if (pos + 3 > end) truncated(keyAt, 'atom header');
    len = (bytes[pos + 1]! << 8) | bytes[pos + 2]!;
    pos += 3;
  } else {
    // Any other term: decoded as a value, then named as a property would be (`String(v)`, JSON for containers).
    const key = keyString(readTerm(depth + 1));
    lastSlot = -1;
    // A container key is JSON text; a map key inside a key is escaped again, doubling per level: bound it.
    if (key.length > 6 * (pos - keyAt) + 64)
      fail(
        'ETF_TOO_LARGE',
        `a map key of ${pos - keyAt} bytes names a ${key.length}-character property`,
        keyAt,
      );
    return key;
  }
  if (len > end - pos) truncated(keyAt, 'atom key');
  if (len === 3 && bytes[pos] === 0x6e && bytes[pos + 1] === 0x69 && bytes[pos + 2] === 0x6c) {
    // The atom `nil` is null, and null names the property "null" (as with erlpack), whatever the tag.
    pos += 3;
    lastSlot = -1;
    return 'null';
  }
  const key = internedText(pos, len, kt === Tag.SMALL_ATOM || kt === Tag.ATOM);
  pos += len;
  return key;
}

function setProperty(obj: Record<string, unknown>, key: string, value: unknown): void {
  if (key === '__proto__') {
    Object.defineProperty(obj, key, { value, writable: true, enumerable: true, configurable: true });
  } else {
    obj[key] = value;
  }
}

function readMap(depth: number, at: number): Record<string, unknown> {
  if (pos + 4 > end) truncated(at, 'MAP_EXT header');
  const arity = u32(pos);
  pos += 4;
  if (arity * 2 > end - pos)
    fail('ETF_TRUNCATED', `MAP_EXT claims ${arity} pairs but only ${end - pos} bytes remain`, at);
  if (depth >= maxDepth) fail('ETF_DEPTH_EXCEEDED', `nesting deeper than maxDepth ${maxDepth}`, at);
  if (arity > elementsLeft) tooManyElements(at, 'MAP_EXT', arity);
  elementsLeft -= arity;
  if (arity === 0) return {};
  if (arity > MAX_SHAPE_KEYS) {
    const obj: Record<string, unknown> = {};
    for (let i = 0; i < arity; i++) {
      const key = readKey(depth);
      setProperty(obj, key, readTerm(depth + 1));
    }
    return obj;
  }
  const base = scratchTop;
  scratchTop = base + arity;
  if (scratchTop > scratchHigh) scratchHigh = scratchTop;
  if (scratchTop + 1 > scratchKeyStart.length) {
    const grown = new Int32Array(scratchKeyStart.length * 2 + arity);
    grown.set(scratchKeyStart);
    scratchKeyStart = grown;
  }
  // First key, read normally; it selects the predicted shape.
  scratchKeyStart[base] = pos;
  const key0 = readKey(depth);
  let shaped = lastSlot >= 0 && key0 !== '__proto__';
  const slotIdx = shaped ? (lastSlot * 67 + arity) & SHAPE_MASK : 0;
  scratchKeys[base] = key0;
  scratchValues[base] = readTerm(depth + 1);
  let i = 1;
  const shape = shaped ? shapeTable[slotIdx] : undefined;
  if (shape !== undefined && shape.keys.length === arity && shape.keys[0] === key0) {
    const kb = shape.keyBytes;
    const kv = shape.keyView;
    const iv = inputView;
    const vb = viewBase;
    const offs = shape.keyOffsets;
    for (; i < arity; i++) {
      const ks = offs[i]!;
      const n = offs[i + 1]! - ks;
      if (n > end - pos) break;
      const d = ks - pos;
      let j = pos;
      const stop = pos + n;
      // Four bytes at a time, then the tail.
      while (j + 4 <= stop && iv.getInt32(vb + j, true) === kv.getInt32(d + j, true)) j += 4;
      while (j < stop && kb[d + j] === bytes[j]) j++;
      if (j !== stop) break;
      pos = stop;
      scratchValues[base + i] = readTerm(depth + 1);
    }
    if (i === arity) {
      scratchTop = base;
      let obj: Record<string, unknown>;
      const factory = shape.factory;
      if (factory !== undefined) {
        obj = factory(scratchValues, base);
      } else {
        if (++shape.hits >= SHAPE_HITS_BEFORE_FACTORY && takeCompileBudget()) {
          shape.factory = makeFactory(shape.keys);
        }
        obj = {};
        const keys = shape.keys;
        for (let k = 0; k < arity; k++) obj[keys[k]!] = scratchValues[base + k];
      }
      // The slots are not cleared here: the next map overwrites them, and the document's end clears them all.
      return obj;
    }
    // Mispredicted at key i: the keys before it are the shape's.
    for (let k = 1; k < i; k++) {
      scratchKeys[base + k] = shape.keys[k]!;
      scratchKeyStart[base + k] = offs[k]!; // marks "unknown position"; this map is not recorded
    }
    shaped = false;
  }
  for (; i < arity; i++) {
    scratchKeyStart[base + i] = pos;
    const key = readKey(depth);
    if (lastSlot < 0 || key === '__proto__') shaped = false;
    scratchKeys[base + i] = key;
    scratchValues[base + i] = readTerm(depth + 1);
  }
  scratchTop = base;
  const obj: Record<string, unknown> = {};
  for (let k = 0; k < arity; k++) setProperty(obj, scratchKeys[base + k]!, scratchValues[base + k]);
  if (shaped) recordShape(slotIdx, base, arity);
  return obj;
}

/** Remembers the key sequence just read (keys at scratchKeyStart positions of the current input). */
function recordShape(slotIdx: number, base: number, arity: number): void {
  const offsets = new Int32Array(arity + 1);
  let total = 0;
  for (let k = 0; k < arity; k++) {
    offsets[k] = total;
    total += keyEncodedLength(scratchKeyStart[base + k]!);
  }
  offsets[arity] = total;
  const keyBytes = new Uint8Array(total);
  for (let k = 0; k < arity; k++) {
    const from = scratchKeyStart[base + k]!;
    keyBytes.set(bytes.subarray(from, from + (offsets[k + 1]! - offsets[k]!)), offsets[k]!);
  }
  shapeTable[slotIdx] = {
    keys: scratchKeys.slice(base, base + arity),
    keyBytes,
    keyOffsets: offsets,
    keyView: new DataView(keyBytes.buffer),
    hits: 0,
    factory: undefined,
  };
}

/** Encoded length of the (already validated) BINARY or atom key at `at`. */
function keyEncodedLength(at: number): number {
  const tag = bytes[at];
  if (tag === Tag.BINARY) return 5 + u32(at + 1);
  if (tag === Tag.SMALL_ATOM || tag === Tag.SMALL_ATOM_UTF8) return 2 + bytes[at + 1]!;
  return 3 + ((bytes[at + 1]! << 8) | bytes[at + 2]!);
}

function tooManyElements(at: number, what: string, count: number): never {
  fail(
    'ETF_TOO_LARGE',
    `${what} of ${count} elements takes the document over maxElements ${maxElements}`,
    at,
  );
}

function keyString(key: unknown): string {
  if (typeof key === 'string') return key;
  if (typeof key === 'number' || typeof key === 'bigint' || typeof key === 'boolean') return `${key}`;
  if (key === null) return 'null';
  return JSON.stringify(key, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v));
}

function readList(depth: number, at: number, count: number, what: string, withTail: boolean): unknown[] {
  // Each element takes at least one byte (plus one for the tail of a LIST_EXT).
  if (count + (withTail ? 1 : 0) > end - pos)
    fail('ETF_TRUNCATED', `${what} claims ${count} elements but only ${end - pos} bytes remain`, at);
  if (depth >= maxDepth) fail('ETF_DEPTH_EXCEEDED', `nesting deeper than maxDepth ${maxDepth}`, at);
  if (count > elementsLeft) tooManyElements(at, what, count);
  elementsLeft -= count;
  const arr: unknown[] = new Array(count);
  for (let i = 0; i < count; i++) arr[i] = readTerm(depth + 1);
  if (withTail) {
    if (pos >= end) truncated(pos, 'LIST_EXT tail');
    if (bytes[pos] !== Tag.NIL) fail('ETF_IMPROPER_LIST', 'improper list (tail is not NIL_EXT)', pos);
    pos++;
  }
  return arr;
}

function readTerm(depth: number): unknown {
  const at = pos;
  if (at >= end) truncated(at, 'a term (no tag byte)');
  const tag = bytes[at]!;
  pos = at + 1;
  switch (tag) {
    case Tag.BINARY: {
      if (pos + 4 > end) truncated(at, 'BINARY_EXT header');
      const len = u32(pos);
      pos += 4;
      if (len > end - pos) truncated(at, `BINARY_EXT of ${len} bytes`);
      const s = utf8(pos, len);
      pos += len;
      return s;
    }
    case Tag.MAP:
      return readMap(depth, at);
    case Tag.SMALL_INTEGER:
      if (pos + 1 > end) truncated(at, 'SMALL_INTEGER_EXT');
      return bytes[pos++]!;
    case Tag.INTEGER: {
      if (pos + 4 > end) truncated(at, 'INTEGER_EXT');
      const v = (bytes[pos]! << 24) | (bytes[pos + 1]! << 16) | (bytes[pos + 2]! << 8) | bytes[pos + 3]!;
      pos += 4;
      return v;
    }
    case Tag.SMALL_ATOM_UTF8:
    case Tag.SMALL_ATOM: {
      if (pos + 1 > end) truncated(at, 'atom header');
      const len = bytes[pos]!;
      pos += 1;
      if (len > end - pos) truncated(at, 'atom');
      const v = atomValue(pos, len, tag === Tag.SMALL_ATOM);
      pos += len;
      return v;
    }
    case Tag.ATOM_UTF8:
    case Tag.ATOM: {
      if (pos + 2 > end) truncated(at, 'atom header');
      const len = (bytes[pos]! << 8) | bytes[pos + 1]!;
      pos += 2;
      if (len > end - pos) truncated(at, 'atom');
      const v = atomValue(pos, len, tag === Tag.ATOM);
      pos += len;
      return v;
    }
    case Tag.NIL:
      return [];
    case Tag.LIST: {
      if (pos + 4 > end) truncated(at, 'LIST_EXT header');
      const count = u32(pos);
      pos += 4;
      return readList(depth, at, count, 'LIST_EXT', true);
    }
    case Tag.SMALL_BIG: {
      if (pos + 2 > end) truncated(at, 'SMALL_BIG_EXT header');
      const n = bytes[pos]!;
      const sign = bytes[pos + 1]!;
      pos += 2;
      if (n > end - pos) truncated(at, 'SMALL_BIG_EXT digits');
      const v = readBig(pos, n, sign !== 0);
      pos += n;
      return v;
    }
    case Tag.LARGE_BIG: {
      if (pos + 5 > end) truncated(at, 'LARGE_BIG_EXT header');
      const n = u32(pos);
      const sign = bytes[pos + 4]!;
      pos += 5;
      if (n > end - pos) truncated(at, 'LARGE_BIG_EXT digits');
      const v = readBig(pos, n, sign !== 0);
      pos += n;
      return v;
    }
    case Tag.NEW_FLOAT: {
      if (pos + 8 > end) truncated(at, 'NEW_FLOAT_EXT');
      const v = inputView.getFloat64(viewBase + pos, false);
      pos += 8;
      return v;
    }
    case Tag.SMALL_TUPLE: {
      if (pos + 1 > end) truncated(at, 'SMALL_TUPLE_EXT header');
      const count = bytes[pos]!;
      pos += 1;
      return readList(depth, at, count, 'SMALL_TUPLE_EXT', false);
    }
    case Tag.LARGE_TUPLE: {
      if (pos + 4 > end) truncated(at, 'LARGE_TUPLE_EXT header');
      const count = u32(pos);
      pos += 4;
      return readList(depth, at, count, 'LARGE_TUPLE_EXT', false);
    }
    case Tag.STRING: {
      if (pos + 2 > end) truncated(at, 'STRING_EXT header');
      const len = (bytes[pos]! << 8) | bytes[pos + 1]!;
      pos += 2;
      if (len > end - pos) truncated(at, 'STRING_EXT');
      if (len > elementsLeft) tooManyElements(at, 'STRING_EXT', len);
      elementsLeft -= len;
      const arr: number[] = new Array(len);
      for (let i = 0; i < len; i++) arr[i] = bytes[pos + i]!;
      pos += len;
      return arr;
    }
    case Tag.FLOAT: {
      if (pos + FLOAT_EXT_BYTES > end) truncated(at, 'FLOAT_EXT');
      const v = legacyFloat(pos);
      pos += FLOAT_EXT_BYTES;
      return v;
    }
    case Tag.BIT_BINARY:
      return fail('ETF_INVALID', 'BIT_BINARY_EXT (a bitstring) is not supported: Discord never sends it', at);
    case Tag.COMPRESSED:
      return fail('ETF_INVALID', 'COMPRESSED term is only allowed as the whole document', at);
    default:
      return fail('ETF_UNKNOWN_TAG', `unknown or unsupported ${tagName(tag)}`, at);
  }
}

function readCompressed(): unknown {
  const at = pos;
  if (pos + 5 > end) truncated(at, 'COMPRESSED header');
  const size = u32(pos + 1);
  pos += 5;
  if (size > maxBytes)
    fail('ETF_TOO_LARGE', `COMPRESSED term declares ${size} bytes, over maxBytes ${maxBytes}`, at);
  let inflated: Uint8Array;
  try {
    inflated = inflateSync(bytes.subarray(pos, end), { maxOutputLength: Math.max(1, size) });
  } catch (cause) {
    const tooBig =
      (cause as { code?: string }).code === 'ERR_BUFFER_TOO_LARGE' || cause instanceof RangeError;
    throw new CodecError(
      tooBig ? 'ETF_TOO_LARGE' : 'ETF_INVALID',
      tooBig
        ? `COMPRESSED term inflates beyond its declared ${size} bytes`
        : 'COMPRESSED term is not valid zlib data',
      { offset: at, bytes },
      { cause },
    );
  }
  if (inflated.length !== size)
    fail('ETF_INVALID', `COMPRESSED term inflated to ${inflated.length} bytes, declared ${size}`, at);
  const outer = bytes;
  bytes = inflated;
  pos = 0;
  end = inflated.length;
  useView(inflated);
  let value: unknown;
  try {
    value = readTerm(0);
    if (pos !== end) fail('ETF_TRAILING_BYTES', `${end - pos} bytes after the term inside COMPRESSED`, pos);
  } catch (err) {
    if (err instanceof CodecError)
      throw new CodecError(
        err.code,
        `inside COMPRESSED term: ${err.message}`,
        { offset: at, bytes: outer },
        { cause: err },
      );
    throw err;
  }
  bytes = outer;
  pos = end = outer.length;
  return value;
}

/**
 * Decodes one ETF document (version byte 131 followed by exactly one term).
 * @throws CodecError with `offset` and a hex excerpt on malformed, truncated or oversized input.
 */
export function decodeEtf(input: Uint8Array, options?: EtfDecodeOptions): unknown {
  if (!(input instanceof Uint8Array)) throw new CodecError('ETF_INVALID', 'decodeEtf expects a Uint8Array');
  const o = options ?? DEFAULT_ETF_DECODE_OPTIONS;
  if (options !== undefined) checkDecodeOptions(options);
  maxDepth = o.maxDepth ?? DEFAULT_ETF_DECODE_OPTIONS.maxDepth;
  maxBytes = o.maxBytes ?? DEFAULT_ETF_DECODE_OPTIONS.maxBytes;
  maxBigBytes = o.maxBigBytes ?? DEFAULT_ETF_DECODE_OPTIONS.maxBigBytes;
  maxElements = o.maxElements ?? DEFAULT_ETF_DECODE_OPTIONS.maxElements;
  elementsLeft = maxElements;
  bigAsBigInt = o.bigint === 'bigint';
  bytes = input;
  pos = 0;
  end = input.length;
  scratchTop = 0;
  scratchHigh = 0;
  lastSlot = -1;
  factoryBudget = FACTORIES_PER_DOCUMENT;
  useView(input);
  try {
    if (end > maxBytes) fail('ETF_TOO_LARGE', `input of ${end} bytes exceeds maxBytes ${maxBytes}`, 0);
    if (end === 0) truncated(0, 'the version byte (empty input)');
    if (input[0] !== ETF_VERSION) fail('ETF_BAD_VERSION', `expected version byte 131, got ${input[0]}`, 0);
    pos = 1;
    const value = pos < end && input[pos] === Tag.COMPRESSED ? readCompressed() : readTerm(0);
    if (pos !== end) fail('ETF_TRAILING_BYTES', `${end - pos} bytes after the term`, pos);
    return value;
  } catch (err) {
    if (err instanceof CodecError) throw err;
    // Not one of ours (a stack overflow from a deep caller, say): it may have cut a cache update short in a
    // way the ordering of the updates does not cover, so start the caches afresh. Never leak a RangeError.
    resetSharedCaches();
    const code: CodecErrorCode = err instanceof RangeError ? 'ETF_DEPTH_EXCEEDED' : 'ETF_INVALID';
    throw new CodecError(
      code,
      `cannot decode: ${(err as Error).message}`,
      { offset: pos, bytes: input },
      { cause: err },
    );
  } finally {
    bytes = EMPTY;
    // Nothing of this document stays reachable from the scratch stacks, whether it decoded or failed.
    for (let i = 0; i < scratchHigh; i++) {
      scratchValues[i] = undefined;
      scratchKeys[i] = '';
    }
    scratchHigh = 0;
    if (viewBuffer !== undefined && viewBuffer.byteLength > VIEW_KEEP_BYTES) {
      viewBuffer = undefined;
      inputView = EMPTY_VIEW;
    }
  }
}

const EMPTY = new Uint8Array(0);
const EMPTY_VIEW = new DataView(new ArrayBuffer(8));

/** Forgets every cached key, shape, bignum and view. */
function resetSharedCaches(): void {
  internLen.fill(0xff);
  internTable.fill(undefined);
  shapeTable.fill(undefined);
  bigCacheLo.fill(-1);
  bigCacheStr.fill('');
  viewBuffer = undefined;
  inputView = EMPTY_VIEW;
}

function checkPositiveInteger(name: string, v: number | undefined): void {
  if (v !== undefined && !(Number.isInteger(v) && v > 0))
    throw new ConfigError(name, `must be a positive integer, got ${String(v)}`);
}

/** Runs on every call that passes options (the shard's receive path does): named loads, no allocation. */
function checkDecodeOptions(o: EtfDecodeOptions): void {
  checkPositiveInteger('maxDepth', o.maxDepth);
  checkPositiveInteger('maxBytes', o.maxBytes);
  checkPositiveInteger('maxBigBytes', o.maxBigBytes);
  checkPositiveInteger('maxElements', o.maxElements);
  if (o.maxDepth !== undefined && o.maxDepth > MAX_ETF_DECODE_DEPTH)
    throw new ConfigError(
      'maxDepth',
      `must be at most ${MAX_ETF_DECODE_DEPTH} (deeper nesting would overflow the call stack), got ${o.maxDepth}`,
    );
  if (o.bigint !== undefined && o.bigint !== 'string' && o.bigint !== 'bigint')
    throw new ConfigError('bigint', `must be 'string' or 'bigint', got ${String(o.bigint)}`);
}
