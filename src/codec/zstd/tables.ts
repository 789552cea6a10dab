/**
 * Constant tables of the Zstandard format (RFC 8878 §3.1.1.3.2) and FSE table construction shared by the
 * decoder and the encoder. Written from the specification; no code taken from other projects.
 */
import { DecompressError } from '../../errors.js';

export const ZSTD_MAGIC = 0xfd2fb528;
export const BLOCK_SIZE_MAX = 128 * 1024;

/** Literals-length codes 0..35: baseline and number of extra bits. */
export const LL_BASE = Int32Array.of(
  0,
  1,
  2,
  3,
  4,
  5,
  6,
  7,
  8,
  9,
  10,
  11,
  12,
  13,
  14,
  15,
  16,
  18,
  20,
  22,
  24,
  28,
  32,
  40,
  48,
  64,
  128,
  256,
  512,
  1024,
  2048,
  4096,
  8192,
  16384,
  32768,
  65536,
);
export const LL_BITS = Uint8Array.of(
  0,
  0,
  0,
  0,
  0,
  0,
  0,
  0,
  0,
  0,
  0,
  0,
  0,
  0,
  0,
  0,
  1,
  1,
  1,
  1,
  2,
  2,
  3,
  3,
  4,
  6,
  7,
  8,
  9,
  10,
  11,
  12,
  13,
  14,
  15,
  16,
);
/** Match-length codes 0..52: baseline and number of extra bits. */
export const ML_BASE = Int32Array.of(
  3,
  4,
  5,
  6,
  7,
  8,
  9,
  10,
  11,
  12,
  13,
  14,
  15,
  16,
  17,
  18,
  19,
  20,
  21,
  22,
  23,
  24,
  25,
  26,
  27,
  28,
  29,
  30,
  31,
  32,
  33,
  34,
  35,
  37,
  39,
  41,
  43,
  47,
  51,
  59,
  67,
  83,
  99,
  131,
  259,
  515,
  1027,
  2051,
  4099,
  8195,
  16387,
  32771,
  65539,
);
export const ML_BITS = Uint8Array.of(
  0,
  0,
  0,
  0,
  0,
  0,
  0,
  0,
  0,
  0,
  0,
  0,
  0,
  0,
  0,
  0,
  0,
  0,
  0,
  0,
  0,
  0,
  0,
  0,
  0,
  0,
  0,
  0,
  0,
  0,
  0,
  0,
  1,
  1,
  1,
  1,
  2,
  2,
  3,
  3,
  4,
  4,
  5,
  7,
  8,
  9,
  10,
  11,
  12,
  13,
  14,
  15,
  16,
);

/** Predefined normalized distributions (`-1` = "less than one"). */
export const LL_DEFAULT_NORM = Int16Array.of(
  4,
  3,
  2,
  2,
  2,
  2,
  2,
  2,
  2,
  2,
  2,
  2,
  2,
  1,
  1,
  1,
  2,
  2,
  2,
  2,
  2,
  2,
  2,
  2,
  2,
  3,
  2,
  1,
  1,
  1,
  1,
  1,
  -1,
  -1,
  -1,
  -1,
);
export const ML_DEFAULT_NORM = Int16Array.of(
  1,
  4,
  3,
  2,
  2,
  2,
  2,
  2,
  2,
  1,
  1,
  1,
  1,
  1,
  1,
  1,
  1,
  1,
  1,
  1,
  1,
  1,
  1,
  1,
  1,
  1,
  1,
  1,
  1,
  1,
  1,
  1,
  1,
  1,
  1,
  1,
  1,
  1,
  1,
  1,
  1,
  1,
  1,
  1,
  1,
  1,
  -1,
  -1,
  -1,
  -1,
  -1,
  -1,
  -1,
);
export const OF_DEFAULT_NORM = Int16Array.of(
  1,
  1,
  1,
  1,
  1,
  1,
  2,
  2,
  2,
  1,
  1,
  1,
  1,
  1,
  1,
  1,
  1,
  1,
  1,
  1,
  1,
  1,
  1,
  1,
  -1,
  -1,
  -1,
  -1,
  -1,
);
export const LL_DEFAULT_LOG = 6;
export const ML_DEFAULT_LOG = 6;
export const OF_DEFAULT_LOG = 5;

export const LL_MAX_SYMBOL = 35;
export const ML_MAX_SYMBOL = 52;
export const OF_MAX_SYMBOL = 31;
export const LL_MAX_LOG = 9;
export const ML_MAX_LOG = 9;
export const OF_MAX_LOG = 8;

export function corrupt(message: string): DecompressError {
  return new DecompressError('ZSTD_CORRUPT', `zstd: ${message}`);
}

/** Index of the highest set bit of a positive 32-bit integer. */
export function highBit(x: number): number {
  return 31 - Math.clz32(x);
}

/** An FSE decoding table: per state, the symbol, the bits to read and the base of the next state. */
export class FseDecodeTable {
  log = 0;
  readonly symbol: Uint8Array;
  readonly nbBits: Uint8Array;
  readonly next: Uint16Array;
  constructor(maxLog: number) {
    const size = 1 << maxLog;
    this.symbol = new Uint8Array(size);
    this.nbBits = new Uint8Array(size);
    this.next = new Uint16Array(size);
  }
}

const symbolNextScratch = new Uint16Array(256);
const spreadScratch = new Uint8Array(1 << 9);

/**
 * Spreads the symbols of a normalized distribution over `1 << log` states into `sym` (RFC 8878 §4.1.1) and
 * leaves each symbol's first next-state counter in `symbolNextScratch`.
 */
function spreadSymbols(norm: Int16Array, symbolCount: number, log: number, sym: Uint8Array): void {
  const size = 1 << log;
  let high = size - 1;
  const symbolNext = symbolNextScratch;
  for (let s = 0; s < symbolCount; s++) {
    const n = norm[s]!;
    if (n === -1) {
      sym[high--] = s;
      symbolNext[s] = 1;
    } else symbolNext[s] = n;
  }
  const mask = size - 1;
  const step = (size >> 1) + (size >> 3) + 3;
  let pos = 0;
  if (high === mask) {
    // No "less than one" symbols: every step lands on a free state.
    for (let s = 0; s < symbolCount; s++) {
      for (let i = norm[s]!; i > 0; i--) {
        sym[pos] = s;
        pos = (pos + step) & mask;
      }
    }
  } else {
    for (let s = 0; s < symbolCount; s++) {
      for (let i = norm[s]!; i > 0; i--) {
        sym[pos] = s;
        do pos = (pos + step) & mask;
        while (pos > high);
      }
    }
  }
  if (pos !== 0) throw corrupt('invalid FSE distribution');
}

/** Builds `table` from a normalized distribution of `symbolCount` symbols (RFC 8878 §4.1.1). */
export function buildFseDecodeTable(
  norm: Int16Array,
  symbolCount: number,
  log: number,
  table: FseDecodeTable,
): void {
  const size = 1 << log;
  const sym = table.symbol;
  spreadSymbols(norm, symbolCount, log, sym);
  const symbolNext = symbolNextScratch;
  const nbBits = table.nbBits;
  const next = table.next;
  for (let u = 0; u < size; u++) {
    const s = sym[u]!;
    const x = symbolNext[s]!;
    symbolNext[s] = x + 1;
    const nb = log - highBit(x);
    nbBits[u] = nb;
    next[u] = (x << nb) - size;
  }
  table.log = log;
}

/**
 * A sequence-section decoding table (literal lengths, match lengths or offsets): one 32-bit entry per
 * state, so a sequence costs one load per table. Entry layout: base of the next state in bits 0–9, bits to
 * read for the next state in bits 10–14, extra bits of the value in bits 16–20, the symbol (code) in bits
 * 24–31. The value's baseline comes from the code (LL_BASE / ML_BASE, `1 << code` for offsets).
 */
export class SeqDecodeTable {
  log = 0;
  readonly info: Int32Array;
  constructor(maxLog: number) {
    this.info = new Int32Array(1 << maxLog);
  }
}

export const SEQ_NEXT_MASK = 0x3ff;

/** Offset codes: the code is also the number of extra bits. */
export const OF_BITS = Uint8Array.from({ length: OF_MAX_SYMBOL + 1 }, (_, i) => i);

/** Builds a sequence table from a normalized distribution; `extraBits[symbol]` = extra bits of its value. */
export function buildSeqDecodeTable(
  norm: Int16Array,
  symbolCount: number,
  log: number,
  extraBits: Uint8Array,
  table: SeqDecodeTable,
): void {
  const size = 1 << log;
  const sym = spreadScratch;
  spreadSymbols(norm, symbolCount, log, sym);
  const symbolNext = symbolNextScratch;
  const info = table.info;
  for (let u = 0; u < size; u++) {
    const s = sym[u]!;
    const x = symbolNext[s]!;
    symbolNext[s] = x + 1;
    const nb = log - highBit(x);
    info[u] = ((x << nb) - size) | (nb << 10) | (extraBits[s]! << 16) | (s << 24);
  }
  table.log = log;
}

/** A one-state sequence table that always yields `symbol` (RLE mode). */
export function buildSeqRleTable(symbol: number, extraBits: Uint8Array, table: SeqDecodeTable): void {
  table.log = 0;
  table.info[0] = (extraBits[symbol]! << 16) | (symbol << 24);
}

export function predefinedSeqTable(norm: Int16Array, log: number, extraBits: Uint8Array): SeqDecodeTable {
  const table = new SeqDecodeTable(log);
  buildSeqDecodeTable(norm, norm.length, log, extraBits, table);
  return table;
}

/**
 * Reads an FSE table description (normalized counts, RFC 8878 §4.1.1) starting at `start`. Fills `norm`
 * and writes `[bytesRead, accuracyLog, symbolCount]` into `out` (no allocation on the hot path).
 */
export function readFseDescription(
  src: Uint8Array,
  start: number,
  end: number,
  maxSymbol: number,
  maxLog: number,
  norm: Int16Array,
  out: Int32Array,
): void {
  if (start >= end) throw corrupt('missing FSE table description');
  const log = (src[start]! & 15) + 5;
  if (log > maxLog) throw corrupt(`FSE accuracy log ${log} exceeds ${maxLog}`);
  let bitOff = 4;
  let remaining = (1 << log) + 1;
  let threshold = 1 << log;
  let nbBits = log + 1;
  let sym = 0;
  let previousZero = false;
  const limit = (end - start) * 8;
  while (remaining > 1 && sym <= maxSymbol) {
    if (previousZero) {
      let n0 = sym;
      for (;;) {
        if (bitOff + 2 > limit) throw corrupt('truncated FSE table description');
        const j = start + (bitOff >>> 3);
        const r = (((src[j] ?? 0) | ((src[j + 1] ?? 0) << 8)) >>> (bitOff & 7)) & 3;
        bitOff += 2;
        n0 += r;
        if (r !== 3) break;
      }
      if (n0 > maxSymbol) throw corrupt('FSE table description has too many symbols');
      while (sym < n0) norm[sym++] = 0;
    }
    const i = start + (bitOff >>> 3);
    const bits = ((src[i] ?? 0) | ((src[i + 1] ?? 0) << 8) | ((src[i + 2] ?? 0) << 16)) >>> (bitOff & 7);
    const max = 2 * threshold - 1 - remaining;
    let count: number;
    if ((bits & (threshold - 1)) < max) {
      count = bits & (threshold - 1);
      bitOff += nbBits - 1;
    } else {
      count = bits & (2 * threshold - 1);
      if (count >= threshold) count -= max;
      bitOff += nbBits;
    }
    count--;
    remaining -= count < 0 ? -count : count;
    norm[sym++] = count;
    previousZero = count === 0;
    if (remaining < 1) throw corrupt('FSE table description overflows');
    while (remaining < threshold) {
      nbBits--;
      threshold >>= 1;
    }
  }
  if (remaining !== 1) throw corrupt('FSE table description does not sum to the table size');
  if (bitOff > limit) throw corrupt('truncated FSE table description');
  out[0] = (bitOff + 7) >>> 3;
  out[1] = log;
  out[2] = sym;
}
