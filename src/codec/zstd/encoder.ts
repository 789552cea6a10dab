/**
 * A small streaming Zstandard compressor in plain TypeScript, for the simulator's `zstd-stream`: one frame
 * per connection (window descriptor only: no content size, no checksum), each message flushed as
 * complete blocks with `Last_Block = 0`. Blocks are compressed with a greedy single-slot hash matcher
 * over the whole window (so messages refer back into earlier ones), repeat offsets, Huffman-coded
 * literals when they pay, and the predefined FSE tables for sequences; a block that does not shrink is
 * sent raw, a one-byte run as RLE. Written from RFC 8878; no code taken from other projects.
 */
import {
  BLOCK_SIZE_MAX,
  highBit,
  LL_BASE,
  LL_BITS,
  LL_DEFAULT_LOG,
  LL_DEFAULT_NORM,
  ML_BASE,
  ML_BITS,
  ML_DEFAULT_LOG,
  ML_DEFAULT_NORM,
  OF_DEFAULT_LOG,
  OF_DEFAULT_NORM,
  ZSTD_MAGIC,
} from './tables.js';

const HASH_LOG = 15;
const MIN_MATCH = 4;
const MIN_BLOCK_TO_COMPRESS = 16;

/** FSE encoding table (tANS) built from a normalized distribution. */
interface FseEncodeTable {
  readonly log: number;
  readonly stateTable: Uint16Array;
  readonly deltaNbBits: Int32Array;
  readonly deltaFindState: Int32Array;
}

function buildFseEncodeTable(norm: Int16Array, log: number): FseEncodeTable {
  const size = 1 << log;
  const symbols = norm.length;
  const tableSymbol = new Uint8Array(size);
  const cumul = new Int32Array(symbols + 1);
  let high = size - 1;
  for (let s = 0; s < symbols; s++) {
    const n = norm[s]!;
    if (n === -1) {
      cumul[s + 1] = cumul[s]! + 1;
      tableSymbol[high--] = s;
    } else cumul[s + 1] = cumul[s]! + n;
  }
  const step = (size >> 1) + (size >> 3) + 3;
  const mask = size - 1;
  let pos = 0;
  for (let s = 0; s < symbols; s++) {
    for (let i = 0; i < norm[s]!; i++) {
      tableSymbol[pos] = s;
      do pos = (pos + step) & mask;
      while (pos > high);
    }
  }
  const stateTable = new Uint16Array(size);
  const next = cumul.slice();
  for (let u = 0; u < size; u++) {
    const s = tableSymbol[u]!;
    stateTable[next[s]!++] = size + u;
  }
  const deltaNbBits = new Int32Array(symbols);
  const deltaFindState = new Int32Array(symbols);
  let total = 0;
  for (let s = 0; s < symbols; s++) {
    const n = norm[s]!;
    if (n === 0) {
      deltaNbBits[s] = ((log + 1) << 16) - size;
    } else if (n === -1 || n === 1) {
      deltaNbBits[s] = (log << 16) - size;
      deltaFindState[s] = total - 1;
      total++;
    } else {
      const maxBitsOut = log - highBit(n - 1);
      const minStatePlus = n << maxBitsOut;
      deltaNbBits[s] = (maxBitsOut << 16) - minStatePlus;
      deltaFindState[s] = total - n;
      total += n;
    }
  }
  return { log, stateTable, deltaNbBits, deltaFindState };
}

const LL_ENC = buildFseEncodeTable(LL_DEFAULT_NORM, LL_DEFAULT_LOG);
const ML_ENC = buildFseEncodeTable(ML_DEFAULT_NORM, ML_DEFAULT_LOG);
const OF_ENC = buildFseEncodeTable(OF_DEFAULT_NORM, OF_DEFAULT_LOG);

function codeFor(base: Int32Array, value: number): number {
  let c = 0;
  while (c + 1 < base.length && base[c + 1]! <= value) c++;
  return c;
}
const LL_CODE_SMALL = Uint8Array.from({ length: 64 }, (_, i) => codeFor(LL_BASE, i));
const ML_CODE_SMALL = Uint8Array.from({ length: 128 }, (_, i) => codeFor(ML_BASE, i + 3));

function llCode(ll: number): number {
  return ll < 64 ? LL_CODE_SMALL[ll]! : highBit(ll) + 19;
}
function mlCode(ml: number): number {
  const base = ml - 3;
  return base < 128 ? ML_CODE_SMALL[base]! : highBit(base) + 36;
}

/** Little-endian bit writer into a byte array (forward; the decoder reads it backward). */
class BitWriter {
  out: Uint8Array;
  o: number;
  acc = 0;
  nb = 0;
  constructor(out: Uint8Array, o: number) {
    this.out = out;
    this.o = o;
  }
  add(value: number, n: number): void {
    if (n === 0) return;
    if (n > 24) {
      this.add(value & 0xffff, 16);
      this.add(Math.floor(value / 65536), n - 16);
      return;
    }
    this.acc |= (value & ((1 << n) - 1)) << this.nb;
    this.nb += n;
    while (this.nb >= 8) {
      this.out[this.o++] = this.acc & 255;
      this.acc >>>= 8;
      this.nb -= 8;
    }
  }
  /** Adds the end marker and pads to a byte; returns the end offset. */
  close(): number {
    this.add(1, 1);
    if (this.nb > 0) this.out[this.o++] = this.acc & 255;
    this.acc = 0;
    this.nb = 0;
    return this.o;
  }
}

/** Huffman code lengths limited to `maxBits`: a plain Huffman merge, then lengths clamped and rebalanced. */
function huffmanLengths(freq: Uint32Array, maxBits: number, lengths: Uint8Array): number {
  // Build a standard Huffman tree with a simple O(n^2) merge (n ≤ 256), then limit depths.
  const symbols: number[] = [];
  for (let s = 0; s < 256; s++) if (freq[s]) symbols.push(s);
  lengths.fill(0);
  if (symbols.length < 2) return symbols.length;
  const nodes: { w: number; syms: number[] }[] = symbols.map((s) => ({ w: freq[s]!, syms: [s] }));
  while (nodes.length > 1) {
    nodes.sort((a, b) => a.w - b.w);
    const a = nodes.shift()!;
    const b = nodes.shift()!;
    for (const s of a.syms) lengths[s]!++;
    for (const s of b.syms) lengths[s]!++;
    nodes.push({ w: a.w + b.w, syms: a.syms.concat(b.syms) });
  }
  // Limit lengths to maxBits, then repair the Kraft sum by lengthening the cheapest codes.
  let kraft = 0;
  const unit = 1 << maxBits;
  for (const s of symbols) {
    if (lengths[s]! > maxBits) lengths[s] = maxBits;
    kraft += unit >> lengths[s]!;
  }
  if (kraft > unit) {
    const bySmallFreq = symbols.slice().sort((a, b) => freq[a]! - freq[b]!);
    while (kraft > unit) {
      for (const s of bySmallFreq) {
        if (kraft <= unit) break;
        if (lengths[s]! < maxBits) {
          kraft -= unit >> (lengths[s]! + 1);
          lengths[s]!++;
        }
      }
    }
  }
  return symbols.length;
}

const SCRATCH = new Uint8Array(4 * BLOCK_SIZE_MAX + 1024);
const LITS = new Uint8Array(BLOCK_SIZE_MAX);
const SEQ_LL = new Int32Array(BLOCK_SIZE_MAX / MIN_MATCH + 1);
const SEQ_ML = new Int32Array(BLOCK_SIZE_MAX / MIN_MATCH + 1);
const SEQ_OF = new Int32Array(BLOCK_SIZE_MAX / MIN_MATCH + 1);
const FREQ = new Uint32Array(256);
const LENGTHS = new Uint8Array(256);
const CODES = new Uint16Array(256);

export class ZstdEncoderCore {
  readonly #windowLog: number;
  readonly #windowSize: number;
  #started = false;
  #buf: Uint8Array = new Uint8Array(0);
  #pos = 0;
  readonly #hash = new Int32Array(1 << HASH_LOG);
  readonly #rep = Int32Array.of(1, 4, 8);
  readonly #blockMax: number;
  // Scratch shared by all encoders (encoding is synchronous), so a connection costs only its window.
  readonly #scratch = SCRATCH;
  readonly #lits = LITS;
  readonly #seqLL = SEQ_LL;
  readonly #seqML = SEQ_ML;
  readonly #seqOF = SEQ_OF;
  readonly #freq = FREQ;
  readonly #lengths = LENGTHS;
  readonly #codes = CODES;

  constructor(windowLog: number) {
    this.#windowLog = windowLog;
    this.#windowSize = 2 ** windowLog;
    this.#blockMax = Math.min(this.#windowSize, BLOCK_SIZE_MAX);
  }

  encode(message: Uint8Array): Uint8Array {
    const blockMax = this.#blockMax;
    const blocks = Math.max(1, Math.ceil(message.length / blockMax));
    const out = new Uint8Array(6 + message.length + 3 * blocks);
    let o = 0;
    if (!this.#started) {
      this.#started = true;
      out[0] = ZSTD_MAGIC & 255;
      out[1] = (ZSTD_MAGIC >>> 8) & 255;
      out[2] = (ZSTD_MAGIC >>> 16) & 255;
      out[3] = ZSTD_MAGIC >>> 24;
      out[4] = 0; // FHD: no content size, no checksum, no dictionary, not single-segment
      out[5] = (this.#windowLog - 10) << 3;
      o = 6;
    }
    if (message.length === 0) {
      // An empty raw block: the message boundary stays visible to the decoder.
      out[o] = 0;
      out[o + 1] = 0;
      out[o + 2] = 0;
      return out.subarray(0, o + 3);
    }
    for (let at = 0; at < message.length; at += blockMax) {
      const chunk = message.subarray(at, Math.min(message.length, at + blockMax));
      o = this.#encodeBlock(chunk, out, o);
    }
    return out.subarray(0, o);
  }

  #makeRoom(n: number): void {
    if (this.#pos + n <= this.#buf.length) return;
    const cap = this.#windowSize + 2 * this.#blockMax; // window + two blocks, as the decoder
    if (this.#buf.length < cap) {
      const grown = new Uint8Array(Math.min(cap, Math.max(this.#pos + n, this.#buf.length * 2, 65536)));
      grown.set(this.#buf.subarray(0, this.#pos));
      this.#buf = grown;
      if (this.#pos + n <= grown.length) return;
    }
    const keep = Math.min(this.#pos, this.#windowSize);
    const shift = this.#pos - keep;
    this.#buf.copyWithin(0, shift, this.#pos);
    this.#pos = keep;
    const hash = this.#hash;
    for (let i = 0; i < hash.length; i++) {
      const v = hash[i]! - shift;
      hash[i] = Math.max(v, 0);
    }
  }

  #encodeBlock(chunk: Uint8Array, out: Uint8Array, o: number): number {
    const len = chunk.length;
    this.#makeRoom(len);
    const start = this.#pos;
    this.#buf.set(chunk, start);
    this.#pos += len;
    // RLE block for a single repeated byte.
    let same = true;
    for (let i = 1; i < len && same; i++) same = chunk[i] === chunk[0];
    if (same && len > 1) {
      const h = (1 << 1) | (len << 3);
      out[o] = h & 255;
      out[o + 1] = (h >>> 8) & 255;
      out[o + 2] = h >>> 16;
      out[o + 3] = chunk[0]!;
      this.#index(start, start + len);
      return o + 4;
    }
    const saved = this.#rep.slice();
    const size = len >= MIN_BLOCK_TO_COMPRESS ? this.#compress(start, start + len) : -1;
    if (size > 0 && size < len) {
      const h = (2 << 1) | (size << 3);
      out[o] = h & 255;
      out[o + 1] = (h >>> 8) & 255;
      out[o + 2] = h >>> 16;
      out.set(this.#scratch.subarray(0, size), o + 3);
      return o + 3 + size;
    }
    this.#rep.set(saved);
    const h = len << 3;
    out[o] = h & 255;
    out[o + 1] = (h >>> 8) & 255;
    out[o + 2] = h >>> 16;
    out.set(chunk, o + 3);
    return o + 3 + len;
  }

  /** Inserts hashes for positions in [from, to) (used after RLE blocks). */
  #index(from: number, to: number): void {
    const buf = this.#buf;
    const hash = this.#hash;
    for (let i = from; i + MIN_MATCH <= to; i++) {
      const v = buf[i]! | (buf[i + 1]! << 8) | (buf[i + 2]! << 16) | (buf[i + 3]! << 24);
      hash[Math.imul(v, 0x9e3779b1) >>> (32 - HASH_LOG)] = i + 1;
    }
  }

  /** Compresses [start, end) of the history buffer into #scratch; returns the size or -1. */
  #compress(start: number, end: number): number {
    const buf = this.#buf;
    const hash = this.#hash;
    const window = this.#windowSize;
    const seqLL = this.#seqLL;
    const seqML = this.#seqML;
    const seqOF = this.#seqOF;
    const lits = this.#lits;
    let nLits = 0;
    let nSeq = 0;
    let anchor = start;
    let i = start;
    const limit = end - MIN_MATCH;
    while (i <= limit) {
      const v = buf[i]! | (buf[i + 1]! << 8) | (buf[i + 2]! << 16) | (buf[i + 3]! << 24);
      const h = Math.imul(v, 0x9e3779b1) >>> (32 - HASH_LOG);
      let cand = hash[h]! - 1;
      hash[h] = i + 1;
      if (
        cand >= 0 &&
        i - cand < window &&
        (buf[cand]! | (buf[cand + 1]! << 8) | (buf[cand + 2]! << 16) | (buf[cand + 3]! << 24)) === v
      ) {
        let m = MIN_MATCH;
        while (i + m < end && buf[cand + m] === buf[i + m]) m++;
        while (i > anchor && cand > 0 && buf[i - 1] === buf[cand - 1]) {
          i--;
          cand--;
          m++;
        }
        const ll = i - anchor;
        for (let k = anchor; k < i; k++) lits[nLits++] = buf[k]!;
        seqLL[nSeq] = ll;
        seqML[nSeq] = m;
        seqOF[nSeq] = i - cand;
        nSeq++;
        i += m;
        anchor = i;
        // Index a position inside the match so the next search sees it.
        if (i - 2 > start && i + 2 <= end) {
          const p = i - 2;
          const w = buf[p]! | (buf[p + 1]! << 8) | (buf[p + 2]! << 16) | (buf[p + 3]! << 24);
          hash[Math.imul(w, 0x9e3779b1) >>> (32 - HASH_LOG)] = p + 1;
        }
      } else {
        i += 1 + ((i - anchor) >>> 7);
      }
    }
    for (let k = anchor; k < end; k++) lits[nLits++] = buf[k]!;

    const out = this.#scratch;
    let o = this.#writeLiterals(lits, nLits, out);
    // Sequences section header.
    if (nSeq < 128) out[o++] = nSeq;
    else if (nSeq < 0x7f00) {
      out[o++] = (nSeq >>> 8) + 128;
      out[o++] = nSeq & 255;
    } else {
      out[o++] = 255;
      out[o++] = (nSeq - 0x7f00) & 255;
      out[o++] = (nSeq - 0x7f00) >>> 8;
    }
    if (nSeq === 0) return o;
    out[o++] = 0; // predefined tables for literal lengths, offsets and match lengths
    return this.#writeSequences(nSeq, out, o);
  }

  #writeLiterals(lits: Uint8Array, n: number, out: Uint8Array): number {
    const huf = n >= 64 ? this.#writeHuffmanLiterals(lits, n, out) : -1;
    if (huf > 0) return huf;
    let o = 0;
    if (n < 32) out[o++] = n << 3;
    else if (n < 4096) {
      out[o++] = (1 << 2) | ((n & 15) << 4);
      out[o++] = n >>> 4;
    } else {
      out[o++] = (3 << 2) | ((n & 15) << 4);
      out[o++] = (n >>> 4) & 255;
      out[o++] = n >>> 12;
    }
    out.set(lits.subarray(0, n), o);
    return o + n;
  }

  /** Huffman-compressed literals with a direct (4-bit) weight table; returns end offset or -1. */
  #writeHuffmanLiterals(lits: Uint8Array, n: number, out: Uint8Array): number {
    const freq = this.#freq;
    freq.fill(0);
    for (let i = 0; i < n; i++) freq[lits[i]!]!++;
    const lengths = this.#lengths;
    const maxBitsLimit = 11;
    const used = huffmanLengths(freq, maxBitsLimit, lengths);
    if (used < 2) return -1;
    let lastSym = 255;
    while (lengths[lastSym] === 0) lastSym--;
    // Direct weights need ≤ 128 listed symbols (all but the last).
    if (lastSym > 128) return -1;
    let maxBits = 0;
    for (let s = 0; s <= lastSym; s++) if (lengths[s]! > maxBits) maxBits = lengths[s]!;
    // Make the Kraft sum exactly 1: lengthen nothing, but if incomplete, shorten the longest codes.
    const unit = 1 << maxBits;
    let kraft = 0;
    for (let s = 0; s <= lastSym; s++) if (lengths[s]) kraft += unit >> lengths[s]!;
    while (kraft < unit) {
      // Shorten the longest code that keeps the sum ≤ unit.
      let best = -1;
      for (let s = 0; s <= lastSym; s++) {
        const l = lengths[s]!;
        if (l > 1 && kraft + (unit >> l) <= unit && (best < 0 || l > lengths[best]!)) best = s;
      }
      if (best < 0) return -1;
      kraft += unit >> lengths[best]!;
      lengths[best]!--;
    }
    maxBits = 0;
    for (let s = 0; s <= lastSym; s++) if (lengths[s]! > maxBits) maxBits = lengths[s]!;
    // The last symbol's weight is implied; it must be the one completing the tree (always true here).
    // Canonical codes in decoder order: by weight ascending (= length descending), then symbol.
    const codes = this.#codes;
    let next = 0;
    for (let len = maxBits; len >= 1; len--) {
      for (let s = 0; s <= lastSym; s++) {
        if (lengths[s] !== len) continue;
        codes[s] = next >>> (maxBits - len);
        next += 1 << (maxBits - len);
      }
    }
    if (next !== 1 << maxBits) return -1;
    // Header: literals type 2 (compressed), 4 streams when large enough, else 1 stream.
    const fourStreams = n > 1023;
    const headerBytes = n > 16383 ? 5 : n > 1023 ? 4 : 3;
    let o = headerBytes;
    const numWeights = lastSym; // weights for symbols 0..lastSym-1; lastSym's is implied
    out[o++] = 127 + numWeights;
    for (let s = 0; s < numWeights; s += 2) {
      const w0 = lengths[s] ? maxBits + 1 - lengths[s]! : 0;
      const w1 = s + 1 < numWeights && lengths[s + 1] ? maxBits + 1 - lengths[s + 1]! : 0;
      out[o++] = (w0 << 4) | w1;
    }
    if (numWeights === 0) return -1;
    const streamsStart = o;
    if (fourStreams) {
      const seg = (n + 3) >>> 2;
      o += 6;
      const sizes = [0, 0, 0];
      for (let k = 0; k < 4; k++) {
        const from = k * seg;
        const to = k === 3 ? n : from + seg;
        const before = o;
        o = this.#huffmanStream(lits, from, to, out, o, codes, lengths);
        if (k < 3) sizes[k] = o - before;
      }
      for (let k = 0; k < 3; k++) {
        out[streamsStart + 2 * k] = sizes[k]! & 255;
        out[streamsStart + 2 * k + 1] = sizes[k]! >>> 8;
        if (sizes[k]! > 0xffff) return -1;
      }
    } else {
      o = this.#huffmanStream(lits, 0, n, out, o, codes, lengths);
    }
    const compSize = o - headerBytes;
    if (o >= n + 3) return -1; // not worth it
    const type = 2;
    if (headerBytes === 3) {
      out[0] = type | ((fourStreams ? 1 : 0) << 2) | ((n & 15) << 4);
      out[1] = ((n >>> 4) & 63) | ((compSize & 3) << 6);
      out[2] = compSize >>> 2;
      if (compSize > 1023) return -1;
    } else if (headerBytes === 4) {
      out[0] = type | (2 << 2) | ((n & 15) << 4);
      out[1] = (n >>> 4) & 255;
      out[2] = ((n >>> 12) & 3) | ((compSize & 63) << 2);
      out[3] = compSize >>> 6;
      if (compSize > 16383) return -1;
    } else {
      out[0] = type | (3 << 2) | ((n & 15) << 4);
      out[1] = (n >>> 4) & 255;
      out[2] = ((n >>> 12) & 63) | ((compSize & 3) << 6);
      out[3] = (compSize >>> 2) & 255;
      out[4] = compSize >>> 10;
    }
    return o;
  }

  /** One Huffman stream: symbols written last-first so the decoder reads them first-first. */
  #huffmanStream(
    lits: Uint8Array,
    from: number,
    to: number,
    out: Uint8Array,
    o: number,
    codes: Uint16Array,
    lengths: Uint8Array,
  ): number {
    const w = new BitWriter(out, o);
    for (let i = to - 1; i >= from; i--) {
      const s = lits[i]!;
      w.add(codes[s]!, lengths[s]!);
    }
    return w.close();
  }

  #writeSequences(nSeq: number, out: Uint8Array, o: number): number {
    const seqLL = this.#seqLL;
    const seqML = this.#seqML;
    const seqOF = this.#seqOF;
    // Offset values with repeat offsets, mirroring the decoder's repeat-offset updates.
    const ofValues = seqOF; // overwritten in place with offset values (offBase)
    const rep = this.#rep;
    for (let k = 0; k < nSeq; k++) {
      const offset = seqOF[k]!;
      const ll = seqLL[k]!;
      let value: number;
      if (ll > 0) {
        if (offset === rep[0]) value = 1;
        else if (offset === rep[1]) value = 2;
        else if (offset === rep[2]) value = 3;
        else value = offset + 3;
      } else if (offset === rep[1]) value = 1;
      else if (offset === rep[2]) value = 2;
      else if (offset === rep[0]! - 1) value = 3;
      else value = offset + 3;
      // Update the repeat offsets exactly as the decoder will.
      if (value > 3) {
        rep[2] = rep[1]!;
        rep[1] = rep[0]!;
        rep[0] = offset;
      } else {
        const idx = ll === 0 ? value : value - 1;
        if (idx === 1) {
          rep[1] = rep[0]!;
          rep[0] = offset;
        } else if (idx >= 2) {
          rep[2] = rep[1]!;
          rep[1] = rep[0]!;
          rep[0] = offset;
        }
      }
      ofValues[k] = value;
    }
    const w = new BitWriter(out, o);
    const last = nSeq - 1;
    let llC = llCode(seqLL[last]!);
    let mlC = mlCode(seqML[last]!);
    let ofC = highBit(ofValues[last]!);
    let mlState = initState(ML_ENC, mlC);
    let ofState = initState(OF_ENC, ofC);
    let llState = initState(LL_ENC, llC);
    w.add(seqLL[last]! - LL_BASE[llC]!, LL_BITS[llC]!);
    w.add(seqML[last]! - ML_BASE[mlC]!, ML_BITS[mlC]!);
    w.add(ofValues[last]! - 2 ** ofC, ofC);
    for (let k = last - 1; k >= 0; k--) {
      llC = llCode(seqLL[k]!);
      mlC = mlCode(seqML[k]!);
      ofC = highBit(ofValues[k]!);
      ofState = encodeSymbol(OF_ENC, ofState, ofC, w);
      mlState = encodeSymbol(ML_ENC, mlState, mlC, w);
      llState = encodeSymbol(LL_ENC, llState, llC, w);
      w.add(seqLL[k]! - LL_BASE[llC]!, LL_BITS[llC]!);
      w.add(seqML[k]! - ML_BASE[mlC]!, ML_BITS[mlC]!);
      w.add(ofValues[k]! - 2 ** ofC, ofC);
    }
    w.add(mlState, ML_ENC.log);
    w.add(ofState, OF_ENC.log);
    w.add(llState, LL_ENC.log);
    return w.close();
  }
}

function initState(t: FseEncodeTable, symbol: number): number {
  const nbBitsOut = (t.deltaNbBits[symbol]! + (1 << 15)) >> 16;
  const value = (nbBitsOut << 16) - t.deltaNbBits[symbol]!;
  return t.stateTable[(value >> nbBitsOut) + t.deltaFindState[symbol]!]!;
}

function encodeSymbol(t: FseEncodeTable, state: number, symbol: number, w: BitWriter): number {
  const nbBitsOut = (state + t.deltaNbBits[symbol]!) >> 16;
  w.add(state, nbBitsOut);
  return t.stateTable[(state >> nbBitsOut) + t.deltaFindState[symbol]!]!;
}
