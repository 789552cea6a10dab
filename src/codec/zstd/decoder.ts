/**
 * A streaming Zstandard decompressor in plain TypeScript (RFC 8878), built for Discord's `zstd-stream`:
 * one context per connection, one frame that never ends, each message a flushed run of complete blocks.
 * The window lives in one growing-then-sliding buffer, so back-references reach across messages and a
 * message costs no copy of the window (the slide moves at most one window per window of output).
 * Written from the specification; no code taken from other projects.
 */
import { Buffer } from 'node:buffer';
import { DecompressError } from '../../errors.js';
import {
  BLOCK_SIZE_MAX,
  buildFseDecodeTable,
  buildSeqDecodeTable,
  buildSeqRleTable,
  corrupt,
  FseDecodeTable,
  highBit,
  LL_BASE,
  LL_BITS,
  LL_DEFAULT_LOG,
  LL_DEFAULT_NORM,
  LL_MAX_LOG,
  LL_MAX_SYMBOL,
  ML_BASE,
  ML_BITS,
  ML_DEFAULT_LOG,
  ML_DEFAULT_NORM,
  ML_MAX_LOG,
  ML_MAX_SYMBOL,
  OF_BITS,
  OF_DEFAULT_LOG,
  OF_DEFAULT_NORM,
  OF_MAX_LOG,
  OF_MAX_SYMBOL,
  predefinedSeqTable,
  readFseDescription,
  SEQ_NEXT_MASK,
  SeqDecodeTable,
  ZSTD_MAGIC,
} from './tables.js';

const LL_PREDEFINED = predefinedSeqTable(LL_DEFAULT_NORM, LL_DEFAULT_LOG, LL_BITS);
const ML_PREDEFINED = predefinedSeqTable(ML_DEFAULT_NORM, ML_DEFAULT_LOG, ML_BITS);
const OF_PREDEFINED = predefinedSeqTable(OF_DEFAULT_NORM, OF_DEFAULT_LOG, OF_BITS);

const HUF_MAX_BITS = 11;
// Scratch shared by every context: decoding is synchronous, never nests, and nothing in these outlives the
// header or block that fills them.
/**
 * Sequence execution copies literals and non-overlapping matches 8 bytes at a time through DataViews (two
 * 32-bit loads and stores; a byte loop costs 1.5–2 ns a byte on Node 20, `copyWithin` ≈ 35–45 ns a call). Such
 * a copy may write up to WILD_COPY_SLACK - 1 bytes past its end, which the next copy overwrites; it runs only
 * where the output buffer has that slack, and reads literals from this scratch, which has it too.
 */
const WILD_COPY_SLACK = 8;
/** Matches at least this long (and not overlapping themselves) are copied with `copyWithin`. */
const MATCH_COPY_WITHIN_BYTES = 64;
/** Literal runs at least this long are copied with `set`. */
const LITERAL_SET_BYTES = 256;
const SHARED_LITERALS = new Uint8Array(BLOCK_SIZE_MAX + WILD_COPY_SLACK);
const SHARED_LITERALS_VIEW = new DataView(SHARED_LITERALS.buffer);
/**
 * The sequences bitstream of the current block, copied with 4 bytes of padding so that every read of up to
 * 25 bits is one in-bounds 32-bit DataView load. Grown on demand (sequence sections are usually small).
 */
let seqBits = new Uint8Array(1024);
let seqBitsView = new DataView(seqBits.buffer);
const SHARED_NORM = new Int16Array(256);
const SHARED_DESCR = new Int32Array(3);
const SHARED_WEIGHTS = new Uint8Array(256);
const SHARED_RANK_START = new Int32Array(HUF_MAX_BITS + 2);
/**
 * The window buffer starts this small and doubles as output needs room (up to window + 2 blocks): an idle
 * connection (READY, a guild, heartbeat ACKs) keeps a few KiB, not a 128 KiB block reservation.
 */
const MIN_BUFFER_BYTES = 4 * 1024;
/** `reset()` drops a buffer larger than this, so a reconnect bounds memory again. */
const RESET_KEEP_BYTES = 256 * 1024;

export interface ZstdDecoderLimits {
  readonly maxMessageBytes: number;
  readonly maxWindowBytes: number;
}

type FrameState = 'header' | 'block' | 'checksum' | 'skip';

/** Backward bit reader over `[start, end)`: the last byte holds a 1-bit end marker (RFC 8878 §4.1). */
class BackwardBits {
  src: Uint8Array = new Uint8Array(0);
  start = 0;
  /** Bits still unread below the read position. Negative once the stream is overread. */
  pos = 0;

  init(src: Uint8Array, start: number, end: number): void {
    if (end <= start) throw corrupt('empty bitstream');
    const last = src[end - 1]!;
    if (last === 0) throw corrupt('bitstream without end marker');
    this.src = src;
    this.start = start;
    this.pos = (end - start - 1) * 8 + highBit(last);
  }

  read(n: number): number {
    if (n === 0) return 0;
    const p = this.pos - n;
    this.pos = p;
    if (p >= 0 && n <= 24) {
      const s = this.src;
      const i = this.start + (p >>> 3);
      const v = (s[i]! | (s[i + 1]! << 8) | (s[i + 2]! << 16) | (s[i + 3]! << 24)) >>> (p & 7);
      return v & ((1 << n) - 1);
    }
    return this.readSlow(p, n);
  }

  private readSlow(p: number, n: number): number {
    if (p + n <= 0) return 0;
    if (p < 0) return this.bitsAt(0, n + p) * 2 ** -p;
    return this.bitsAt(p, n);
  }

  /** n ≤ 32 bits at bit position p ≥ 0, as a non-negative number; bytes past the array read as 0. */
  private bitsAt(p: number, n: number): number {
    if (n > 24) return this.bitsAt(p + 16, n - 16) * 65536 + this.bitsAt(p, 16);
    const s = this.src;
    const i = this.start + (p >>> 3);
    const v =
      ((s[i] ?? 0) | ((s[i + 1] ?? 0) << 8) | ((s[i + 2] ?? 0) << 16) | ((s[i + 3] ?? 0) << 24)) >>> (p & 7);
    return v & ((1 << n) - 1);
  }
}

/**
 * The `n` ≤ 9 bits at bit `p` of the backward stream starting at byte `base`; bits below the start read as 0
 * (an overread, which the caller detects from `p < 0`). Two bytes hold them; the second lies inside the
 * stream whenever the bits reach into it (otherwise it is masked off, and past the array reads as 0).
 */
function lowBits(src: Uint8Array, base: number, p: number, n: number): number {
  if (p >= 0) {
    const i = base + (p >>> 3);
    return ((src[i]! | (src[i + 1]! << 8)) >>> (p & 7)) & ((1 << n) - 1);
  }
  const have = p + n;
  if (have <= 0) return 0;
  return (src[base]! & ((1 << have) - 1)) << -p;
}

/** Decodes one Huffman-coded stream of `count` literals into `out` at `o` (table entry = sym << 4 | bits). */
function decodeHuffmanStream(
  src: Uint8Array,
  start: number,
  end: number,
  table: Uint16Array,
  maxBits: number,
  out: Uint8Array,
  o: number,
  count: number,
): void {
  if (end <= start) throw corrupt('empty Huffman stream');
  const last = src[end - 1]!;
  if (last === 0) throw corrupt('Huffman stream without end marker');
  let pos = (end - start - 1) * 8 + highBit(last);
  const mask = (1 << maxBits) - 1;
  const stop = o + count;
  while (o < stop) {
    const p = pos - maxBits;
    let idx: number;
    if (p >= 0) {
      const i = start + (p >>> 3);
      idx = ((src[i]! | (src[i + 1]! << 8) | (src[i + 2]! << 16)) >>> (p & 7)) & mask;
    } else {
      if (pos <= 0) throw corrupt('Huffman stream overread');
      const v = (src[start]! | ((src[start + 1] ?? 0) << 8)) & ((1 << pos) - 1);
      idx = v << -p;
    }
    const e = table[idx]!;
    out[o++] = e >>> 4;
    pos -= e & 15;
  }
  if (pos !== 0) throw corrupt('Huffman stream size mismatch');
}

const SHARED_BITS = new BackwardBits();

/**
 * Messages are carved out of a shared slab (like Node's Buffer pool, without a Buffer object per message
 * and with a larger slab): a message up to OUT_SLAB_MAX costs one view, no zero-fill. A kept message keeps
 * its slab alive, as a pooled Buffer keeps Node's pool. Larger messages get their own unzeroed buffer.
 */
const OUT_SLAB_BYTES = 32 * 1024;
const OUT_SLAB_MAX = 4 * 1024;
let outSlab = new ArrayBuffer(0);
let outSlabPos = 0;

function outputBytes(length: number): Uint8Array {
  if (length > OUT_SLAB_MAX) {
    const own = Buffer.allocUnsafeSlow(length);
    return new Uint8Array(own.buffer, own.byteOffset, length);
  }
  if (outSlabPos + length > outSlab.byteLength) {
    outSlab = Buffer.allocUnsafeSlow(OUT_SLAB_BYTES).buffer as ArrayBuffer;
    outSlabPos = 0;
  }
  const out = new Uint8Array(outSlab, outSlabPos, length);
  outSlabPos = (outSlabPos + length + 7) & ~7;
  return out;
}
const SHARED_WEIGHT_TABLE = new FseDecodeTable(6);

export class ZstdDecoderCore {
  readonly #limits: ZstdDecoderLimits;

  // Frame state.
  #state: FrameState = 'header';
  #skipRemaining = 0;
  #checksumFlag = false;
  #windowSize = 0;
  #blockMax = BLOCK_SIZE_MAX;
  readonly #rep = new Int32Array(3);

  // Window / output buffer: history of the frame in [#histStart, #pos), unreturned output in [#msgStart, #pos).
  #buf: Uint8Array = new Uint8Array(0);
  #view = new DataView(this.#buf.buffer);
  #pos = 0;
  #histStart = 0;
  #msgStart = 0;
  #pending: Uint8Array[] = [];
  #pendingBytes = 0;
  #blocksSinceReturn = 0;

  // Unconsumed input (an incomplete header or block).
  #leftover: Uint8Array | null = null;
  #leftoverLength = 0;

  // Entropy state carried between blocks of a frame; the context's own tables are allocated the first time
  // a block describes one (a stream using the predefined tables never needs them).
  #llTable: SeqDecodeTable | null = null;
  #mlTable: SeqDecodeTable | null = null;
  #ofTable: SeqDecodeTable | null = null;
  #llCurrent: SeqDecodeTable | null = null;
  #mlCurrent: SeqDecodeTable | null = null;
  #ofCurrent: SeqDecodeTable | null = null;
  /** Huffman decoding table, 1 << #hufBits entries used; allocated (and grown) as a tree needs it. */
  #huf: Uint16Array = new Uint16Array(0);
  #hufBits = 0; // 0 = no table yet

  // Scratch, shared by every context (see SHARED_LITERALS).
  readonly #lits = SHARED_LITERALS;
  readonly #norm = SHARED_NORM;
  readonly #descr = SHARED_DESCR;
  readonly #weights = SHARED_WEIGHTS;
  readonly #rankStart = SHARED_RANK_START;
  readonly #bits = SHARED_BITS;
  readonly #weightTable = SHARED_WEIGHT_TABLE;

  constructor(limits: ZstdDecoderLimits) {
    this.#limits = limits;
  }

  /** Bytes held by this context (window buffer, tables, scratch), for memory reporting. */
  get retainedBytes(): number {
    const table = (t: SeqDecodeTable | null): number => (t === null ? 0 : t.info.byteLength);
    return (
      this.#buf.byteLength +
      this.#huf.byteLength +
      (this.#leftover?.byteLength ?? 0) +
      this.#pendingBytes +
      table(this.#llTable) +
      table(this.#mlTable) +
      table(this.#ofTable)
    );
  }

  /** Bytes of input waiting for the rest of a header or block. */
  get bufferedInputBytes(): number {
    return this.#leftoverLength;
  }

  reset(): void {
    this.#state = 'header';
    this.#skipRemaining = 0;
    this.#leftover = null;
    this.#leftoverLength = 0;
    this.#pending = [];
    this.#pendingBytes = 0;
    this.#blocksSinceReturn = 0;
    this.#pos = 0;
    this.#histStart = 0;
    this.#msgStart = 0;
    // Keep a small buffer; drop a large one so a reset bounds memory again.
    if (this.#buf.length > RESET_KEEP_BYTES) this.#setBuffer(new Uint8Array(0));
  }

  release(): void {
    this.reset();
    this.#setBuffer(new Uint8Array(0));
  }

  #setBuffer(buf: Uint8Array): void {
    this.#buf = buf;
    this.#view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  }

  push(chunk: Uint8Array): Uint8Array | null {
    let input = chunk;
    const fromStore = this.#leftoverLength > 0;
    if (fromStore) {
      // Append to the held-back input; the buffer grows by doubling, so a block dribbled in byte by
      // byte costs linear, not quadratic, copying.
      const held = this.#leftoverLength;
      let store = this.#leftover!;
      if (held + chunk.length > store.length) {
        const grown = new Uint8Array(Math.max(held + chunk.length, 2 * store.length));
        grown.set(store.subarray(0, held));
        store = grown;
        this.#leftover = grown;
      }
      store.set(chunk, held);
      input = store.subarray(0, held + chunk.length);
      this.#leftoverLength = 0;
    }
    const end = input.length;
    let p = 0;
    while (p < end) {
      const state = this.#state;
      if (state === 'block') {
        if (end - p < 3) break;
        const h = input[p]! | (input[p + 1]! << 8) | (input[p + 2]! << 16);
        const last = h & 1;
        const type = (h >>> 1) & 3;
        const size = h >>> 3;
        if (type === 3) throw corrupt('reserved block type');
        if (size > this.#blockMax) throw corrupt(`block size ${size} exceeds ${this.#blockMax}`);
        const contentBytes = type === 1 ? 1 : size;
        if (end - p - 3 < contentBytes) break;
        const start = p + 3;
        // A compressed block may inflate to #blockMax: room for that is guaranteed by sliding, but only
        // a guess is allocated now; the block grows the buffer as it writes (#ensure).
        if (type === 2) this.#beginBlock(this.#blockMax, Math.min(this.#blockMax, 4 * size + 64));
        else this.#beginBlock(size, size);
        if (type === 0) {
          this.#buf.set(input.subarray(start, start + size), this.#pos);
          this.#pos += size;
        } else if (type === 1) {
          this.#buf.fill(input[start]!, this.#pos, this.#pos + size);
          this.#pos += size;
        } else {
          this.#decodeCompressedBlock(input, start, start + size);
        }
        p = start + contentBytes;
        this.#blocksSinceReturn++;
        this.#checkMessageSize();
        if (last) this.#state = this.#checksumFlag ? 'checksum' : 'header';
      } else if (state === 'header') {
        const used = this.#readFrameHeader(input, p, end);
        if (used === 0) break;
        p += used;
      } else if (state === 'checksum') {
        if (end - p < 4) break;
        p += 4; // The content checksum (XXH64) is informative; it is not verified.
        this.#state = 'header';
      } else {
        const n = Math.min(this.#skipRemaining, end - p);
        p += n;
        this.#skipRemaining -= n;
        if (this.#skipRemaining === 0) this.#state = 'header';
      }
    }
    if (p < end) {
      const rest = end - p;
      if (fromStore) {
        this.#leftover!.copyWithin(0, p, end);
      } else {
        if (!this.#leftover || this.#leftover.length < rest)
          this.#leftover = new Uint8Array(Math.max(rest, 1024));
        this.#leftover.set(input.subarray(p, end));
      }
      this.#leftoverLength = rest;
      return null;
    }
    if (this.#blocksSinceReturn === 0) return null;
    return this.#takeMessage();
  }

  #takeMessage(): Uint8Array {
    this.#blocksSinceReturn = 0;
    const tail = this.#buf.subarray(this.#msgStart, this.#pos);
    this.#msgStart = this.#pos;
    // Buffer.allocUnsafe: no zero-fill, and small messages come from Node's pool (much cheaper than
    // slice(), which allocates a zeroed ArrayBuffer per message). Every byte is overwritten below.
    // The result is a plain Uint8Array view; a small one may share its ArrayBuffer with other messages.
    const length = this.#pendingBytes + tail.length;
    const out = outputBytes(length);
    if (this.#pending.length === 0) {
      out.set(tail);
      return out;
    }
    let o = 0;
    for (const part of this.#pending) {
      out.set(part, o);
      o += part.length;
    }
    out.set(tail, o);
    this.#pending = [];
    this.#pendingBytes = 0;
    return out;
  }

  #checkMessageSize(): void {
    const bytes = this.#pendingBytes + (this.#pos - this.#msgStart);
    if (bytes > this.#limits.maxMessageBytes)
      throw new DecompressError(
        'PAYLOAD_TOO_LARGE',
        `zstd: message inflates past maxMessageBytes (${this.#limits.maxMessageBytes})`,
      );
  }

  /** Returns the number of bytes consumed, or 0 when more input is needed. */
  #readFrameHeader(src: Uint8Array, p: number, end: number): number {
    if (end - p < 4) return 0;
    const magic = (src[p]! | (src[p + 1]! << 8) | (src[p + 2]! << 16) | (src[p + 3]! << 24)) >>> 0;
    if ((magic & 0xfffffff0) >>> 0 === 0x184d2a50) {
      if (end - p < 8) return 0;
      this.#skipRemaining =
        (src[p + 4]! | (src[p + 5]! << 8) | (src[p + 6]! << 16) | (src[p + 7]! << 24)) >>> 0;
      this.#state = this.#skipRemaining > 0 ? 'skip' : 'header';
      return 8;
    }
    if (magic !== ZSTD_MAGIC) throw corrupt(`bad frame magic 0x${magic.toString(16)}`);
    if (end - p < 5) return 0;
    const fhd = src[p + 4]!;
    const fcsFlag = fhd >>> 6;
    const singleSegment = (fhd >>> 5) & 1;
    if (fhd & 8) throw corrupt('reserved frame header bit set');
    const dictFlag = fhd & 3;
    const dictBytes = dictFlag === 3 ? 4 : dictFlag;
    const fcsBytes = fcsFlag === 0 ? singleSegment : 1 << fcsFlag;
    const headerBytes = 5 + (singleSegment ? 0 : 1) + dictBytes + fcsBytes;
    if (end - p < headerBytes) return 0;
    let q = p + 5;
    let windowSize = 0;
    if (!singleSegment) {
      const wd = src[q++]!;
      const windowLog = 10 + (wd >>> 3);
      const base = 2 ** windowLog;
      windowSize = base + (base / 8) * (wd & 7);
    }
    let dictId = 0;
    for (let i = 0; i < dictBytes; i++) dictId += src[q++]! * 2 ** (8 * i);
    if (dictId !== 0) throw new DecompressError('ZSTD_UNSUPPORTED', `zstd: frame needs dictionary ${dictId}`);
    let contentSize = 0;
    for (let i = 0; i < fcsBytes; i++) contentSize += src[q++]! * 2 ** (8 * i);
    if (fcsBytes === 2) contentSize += 256;
    if (singleSegment) windowSize = contentSize;
    if (windowSize > this.#limits.maxWindowBytes)
      throw new DecompressError(
        'ZSTD_UNSUPPORTED',
        `zstd: window of ${windowSize} bytes exceeds maxWindowBytes (${this.#limits.maxWindowBytes})`,
      );
    this.#windowSize = windowSize;
    this.#blockMax = Math.min(windowSize, BLOCK_SIZE_MAX);
    this.#checksumFlag = ((fhd >>> 2) & 1) === 1;
    this.#state = 'block';
    // A new frame starts with no history and fresh entropy state.
    this.#histStart = this.#pos;
    this.#rep[0] = 1;
    this.#rep[1] = 4;
    this.#rep[2] = 8;
    this.#llCurrent = this.#mlCurrent = this.#ofCurrent = null;
    this.#hufBits = 0;
    return headerBytes;
  }

  /**
   * Before a block that writes at most `maxBytes`: slides (keeping one window of history) when the block
   * could run past window + two blocks, then makes room for `likelyBytes`. Afterwards `#pos + maxBytes`
   * never exceeds the cap, so `#ensure` can always grow in place within the block.
   */
  #beginBlock(maxBytes: number, likelyBytes: number): void {
    // Window + two blocks: a slide (one window copied) happens at most once per block of output.
    if (this.#pos + maxBytes > this.#windowSize + 2 * this.#blockMax) this.#slide();
    if (this.#pos + likelyBytes > this.#buf.length) this.#ensure(this.#pos + likelyBytes, this.#pos);
  }

  /** Grows the buffer (doubling, up to window + two blocks) to hold `need` bytes; keeps `[0, used)`. */
  #ensure(need: number, used: number): Uint8Array {
    const cap = this.#windowSize + 2 * this.#blockMax;
    const size = Math.min(Math.max(cap, need), Math.max(need, this.#buf.length * 2, MIN_BUFFER_BYTES));
    const grown = new Uint8Array(size);
    grown.set(this.#buf.subarray(0, used));
    this.#setBuffer(grown);
    return grown;
  }

  /** Moves the last window of history to the front; output not yet returned is set aside first. */
  #slide(): void {
    const keep = Math.min(this.#pos - this.#histStart, this.#windowSize);
    if (this.#msgStart < this.#pos) {
      const part = this.#buf.slice(this.#msgStart, this.#pos);
      this.#pending.push(part);
      this.#pendingBytes += part.length;
    }
    this.#buf.copyWithin(0, this.#pos - keep, this.#pos);
    this.#pos = keep;
    this.#histStart = 0;
    this.#msgStart = keep;
  }

  #decodeCompressedBlock(src: Uint8Array, start: number, end: number): void {
    // Literals section.
    const b0 = src[start]!;
    const litType = b0 & 3;
    const sizeFormat = (b0 >>> 2) & 3;
    let p = start;
    let litSrc: Uint8Array;
    let litPos: number;
    let litSize: number;
    if (litType < 2) {
      let headerBytes: number;
      if ((sizeFormat & 1) === 0) {
        litSize = b0 >>> 3;
        headerBytes = 1;
      } else if (sizeFormat === 1) {
        if (end - p < 2) throw corrupt('truncated literals header');
        litSize = (b0 >>> 4) | (src[p + 1]! << 4);
        headerBytes = 2;
      } else {
        if (end - p < 3) throw corrupt('truncated literals header');
        litSize = (b0 >>> 4) | (src[p + 1]! << 4) | (src[p + 2]! << 12);
        headerBytes = 3;
      }
      if (litSize > this.#blockMax) throw corrupt('literals exceed the block size');
      p += headerBytes;
      if (litType === 0) {
        if (end - p < litSize) throw corrupt('truncated raw literals');
        litSrc = src;
        litPos = p;
        p += litSize;
      } else {
        if (end - p < 1) throw corrupt('truncated RLE literals');
        litSrc = this.#lits;
        litSrc.fill(src[p]!, 0, litSize);
        litPos = 0;
        p += 1;
      }
    } else {
      let headerBytes: number;
      let compSize: number;
      let streams = 4;
      if (end - p < 5) throw corrupt('truncated literals header');
      const b1 = src[p + 1]!;
      const b2 = src[p + 2]!;
      if (sizeFormat < 2) {
        if (sizeFormat === 0) streams = 1;
        litSize = (b0 >>> 4) | ((b1 & 0x3f) << 4);
        compSize = (b1 >>> 6) | (b2 << 2);
        headerBytes = 3;
      } else if (sizeFormat === 2) {
        const b3 = src[p + 3]!;
        litSize = (b0 >>> 4) | (b1 << 4) | ((b2 & 3) << 12);
        compSize = (b2 >>> 2) | (b3 << 6);
        headerBytes = 4;
      } else {
        const b3 = src[p + 3]!;
        const b4 = src[p + 4]!;
        litSize = (b0 >>> 4) | (b1 << 4) | ((b2 & 0x3f) << 12);
        compSize = (b2 >>> 6) | (b3 << 2) | (b4 << 10);
        headerBytes = 5;
      }
      if (litSize > this.#blockMax) throw corrupt('literals exceed the block size');
      p += headerBytes;
      const litEnd = p + compSize;
      if (litEnd > end) throw corrupt('truncated compressed literals');
      if (litType === 2) p = this.#readHuffmanTable(src, p, litEnd);
      else if (this.#hufBits === 0) throw corrupt('treeless literals without a previous Huffman table');
      litSrc = this.#lits;
      litPos = 0;
      const table = this.#huf;
      const maxBits = this.#hufBits;
      if (streams === 1) {
        decodeHuffmanStream(src, p, litEnd, table, maxBits, litSrc, 0, litSize);
      } else {
        if (litEnd - p < 10) throw corrupt('truncated Huffman jump table');
        const s1 = src[p]! | (src[p + 1]! << 8);
        const s2 = src[p + 2]! | (src[p + 3]! << 8);
        const s3 = src[p + 4]! | (src[p + 5]! << 8);
        const a = p + 6;
        const b = a + s1;
        const c = b + s2;
        const d = c + s3;
        if (d > litEnd) throw corrupt('Huffman jump table exceeds the literals');
        const seg = (litSize + 3) >>> 2;
        if (3 * seg > litSize) throw corrupt('too few literals for four streams');
        decodeHuffmanStream(src, a, b, table, maxBits, litSrc, 0, seg);
        decodeHuffmanStream(src, b, c, table, maxBits, litSrc, seg, seg);
        decodeHuffmanStream(src, c, d, table, maxBits, litSrc, 2 * seg, seg);
        decodeHuffmanStream(src, d, litEnd, table, maxBits, litSrc, 3 * seg, litSize - 3 * seg);
      }
      p = litEnd;
    }

    // Sequences section.
    if (p >= end) throw corrupt('missing sequences section');
    let nbSeq = src[p++]!;
    if (nbSeq >= 128) {
      if (nbSeq < 255) {
        if (p >= end) throw corrupt('truncated sequences header');
        nbSeq = ((nbSeq - 128) << 8) + src[p++]!;
      } else {
        if (end - p < 2) throw corrupt('truncated sequences header');
        nbSeq = src[p]! + (src[p + 1]! << 8) + 0x7f00;
        p += 2;
      }
    }
    const limit = this.#pos + this.#blockMax;
    if (nbSeq === 0) {
      if (p !== end) throw corrupt('trailing bytes after literals-only block');
      this.#copyLiterals(litSrc, litPos, litSize, limit);
      return;
    }
    if (p >= end) throw corrupt('truncated sequences header');
    const modes = src[p++]!;
    if (modes & 3) throw corrupt('reserved sequence mode bits set');
    p = this.#readTable(src, p, end, modes >>> 6, 'll');
    p = this.#readTable(src, p, end, (modes >>> 4) & 3, 'of');
    p = this.#readTable(src, p, end, (modes >>> 2) & 3, 'ml');
    if (litSrc !== this.#lits) {
      // Raw literals: into the scratch, whose slack the 8-byte literal copies need.
      const lits = this.#lits;
      if (litSize < 64) for (let i = 0; i < litSize; i++) lits[i] = litSrc[litPos + i]!;
      else lits.set(litSrc.subarray(litPos, litPos + litSize));
    }
    this.#executeSequences(src, p, end, nbSeq, litSize, limit);
  }

  #copyLiterals(lits: Uint8Array, from: number, count: number, limit: number): void {
    if (this.#pos + count > limit) throw corrupt('block decompresses past the block size');
    if (this.#pos + count > this.#buf.length) this.#ensure(this.#pos + count, this.#pos);
    if (count < 32) {
      const buf = this.#buf;
      let o = this.#pos;
      for (let i = 0; i < count; i++) buf[o++] = lits[from + i]!;
    } else this.#buf.set(lits.subarray(from, from + count), this.#pos);
    this.#pos += count;
  }

  #readTable(src: Uint8Array, p: number, end: number, mode: number, kind: 'll' | 'of' | 'ml'): number {
    let table: SeqDecodeTable | null;
    if (mode === 0) {
      table = kind === 'll' ? LL_PREDEFINED : kind === 'of' ? OF_PREDEFINED : ML_PREDEFINED;
    } else if (mode === 1) {
      if (p >= end) throw corrupt('truncated RLE sequence table');
      const sym = src[p++]!;
      const maxSym = kind === 'll' ? LL_MAX_SYMBOL : kind === 'of' ? OF_MAX_SYMBOL : ML_MAX_SYMBOL;
      if (sym > maxSym) throw corrupt('RLE sequence symbol out of range');
      const own = this.#ownTable(kind);
      buildSeqRleTable(sym, kind === 'll' ? LL_BITS : kind === 'of' ? OF_BITS : ML_BITS, own);
      table = own;
    } else if (mode === 2) {
      const maxSym = kind === 'll' ? LL_MAX_SYMBOL : kind === 'of' ? OF_MAX_SYMBOL : ML_MAX_SYMBOL;
      const maxLog = kind === 'll' ? LL_MAX_LOG : kind === 'of' ? OF_MAX_LOG : ML_MAX_LOG;
      readFseDescription(src, p, end, maxSym, maxLog, this.#norm, this.#descr);
      const own = this.#ownTable(kind);
      const bits = kind === 'll' ? LL_BITS : kind === 'of' ? OF_BITS : ML_BITS;
      buildSeqDecodeTable(this.#norm, this.#descr[2]!, this.#descr[1]!, bits, own);
      p += this.#descr[0]!;
      table = own;
    } else {
      table = kind === 'll' ? this.#llCurrent : kind === 'of' ? this.#ofCurrent : this.#mlCurrent;
      if (!table) throw corrupt('repeat sequence table without a previous table');
    }
    if (kind === 'll') this.#llCurrent = table;
    else if (kind === 'of') this.#ofCurrent = table;
    else this.#mlCurrent = table;
    return p;
  }

  #ownTable(kind: 'll' | 'of' | 'ml'): SeqDecodeTable {
    if (kind === 'll') {
      this.#llTable ??= new SeqDecodeTable(LL_MAX_LOG);
      return this.#llTable;
    }
    if (kind === 'of') {
      this.#ofTable ??= new SeqDecodeTable(OF_MAX_LOG);
      return this.#ofTable;
    }
    this.#mlTable ??= new SeqDecodeTable(ML_MAX_LOG);
    return this.#mlTable;
  }

  /**
   * Decodes and executes the block's sequences; the literals are in `this.#lits[0, litSize)`. Bit reads:
   * the extra bits of a sequence (offset, match length, literal length) and then its three state updates
   * are each one 32-bit load when they total ≤ 25 bits (a load shifted by up to 7 bits still holds them);
   * anything wider, or a read running below the start of the stream, goes through the slow reader, which
   * yields zeros below the start and makes the final `bp === 0` check fail. Codes need no range check: every
   * table holds only symbols its description allowed (readFseDescription's maxSymbol, the RLE check).
   */
  #executeSequences(
    src: Uint8Array,
    start: number,
    end: number,
    nbSeq: number,
    litSize: number,
    limit: number,
  ): void {
    const length = end - start;
    if (seqBits.length < length + 4) {
      seqBits = new Uint8Array(Math.max(length + 4, 2 * seqBits.length));
      seqBitsView = new DataView(seqBits.buffer);
    }
    const bits = seqBits;
    const bitsView = seqBitsView;
    if (length < 64) for (let i = 0; i < length; i++) bits[i] = src[start + i]!;
    else bits.set(src.subarray(start, end));
    const br = this.#bits;
    br.init(bits, 0, length);
    const ll = this.#llCurrent!;
    const of = this.#ofCurrent!;
    const ml = this.#mlCurrent!;
    const llInfo = ll.info;
    const ofInfo = of.info;
    const mlInfo = ml.info;
    let llState = br.read(ll.log);
    let ofState = br.read(of.log);
    let mlState = br.read(ml.log);
    let bp = br.pos;
    const rep = this.#rep;
    let rep0 = rep[0]!;
    let rep1 = rep[1]!;
    let rep2 = rep[2]!;
    let buf = this.#buf;
    let view = this.#view;
    let o = this.#pos;
    const histStart = this.#histStart;
    const lits = this.#lits;
    const litView = SHARED_LITERALS_VIEW;
    let litPos = 0;
    for (let n = 0; n < nbSeq; n++) {
      const li = llInfo[llState]!;
      const mi = mlInfo[mlState]!;
      const oi = ofInfo[ofState]!;
      const llBits = (li >>> 16) & 31;
      const mlBits = (mi >>> 16) & 31;
      const ofBits = (oi >>> 16) & 31;
      let litLen = LL_BASE[li >>> 24]!;
      let matchLen = ML_BASE[mi >>> 24]!;
      let ofValue: number;
      // Offset bits (up to 31), then match-length bits, then literal-length bits (≤ 16 each).
      const extra = llBits + mlBits + ofBits;
      if (extra <= 25 && bp >= extra) {
        bp -= extra;
        const v = bitsView.getInt32(bp >>> 3, true) >>> (bp & 7);
        litLen += v & ((1 << llBits) - 1);
        matchLen += (v >>> llBits) & ((1 << mlBits) - 1);
        ofValue = (1 << ofBits) + ((v >>> (llBits + mlBits)) & ((1 << ofBits) - 1));
      } else {
        br.pos = bp;
        ofValue = 2 ** ofBits + br.read(ofBits);
        matchLen += br.read(mlBits);
        litLen += br.read(llBits);
        bp = br.pos;
      }
      let offset: number;
      if (ofValue > 3) {
        offset = ofValue - 3;
        rep2 = rep1;
        rep1 = rep0;
        rep0 = offset;
      } else {
        const idx = litLen === 0 ? ofValue : ofValue - 1;
        if (idx === 0) offset = rep0;
        else if (idx === 1) {
          offset = rep1;
          rep1 = rep0;
          rep0 = offset;
        } else {
          offset = idx === 2 ? rep2 : rep0 - 1;
          rep2 = rep1;
          rep1 = rep0;
          rep0 = offset;
        }
      }
      if (n + 1 < nbSeq) {
        // State updates: literal length, match length, offset (≤ 9 + 9 + 8 bits).
        const lb = (li >>> 10) & 31;
        const mb = (mi >>> 10) & 31;
        const ob = (oi >>> 10) & 31;
        const total = lb + mb + ob;
        if (total <= 25 && bp >= total) {
          bp -= total;
          const v = bitsView.getInt32(bp >>> 3, true) >>> (bp & 7);
          ofState = (oi & SEQ_NEXT_MASK) + (v & ((1 << ob) - 1));
          mlState = (mi & SEQ_NEXT_MASK) + ((v >>> ob) & ((1 << mb) - 1));
          llState = (li & SEQ_NEXT_MASK) + ((v >>> (ob + mb)) & ((1 << lb) - 1));
        } else {
          br.pos = bp;
          llState = (li & SEQ_NEXT_MASK) + br.read(lb);
          mlState = (mi & SEQ_NEXT_MASK) + br.read(mb);
          ofState = (oi & SEQ_NEXT_MASK) + br.read(ob);
          bp = br.pos;
        }
      }
      // Execute: literals, then the match.
      const litStop = litPos + litLen;
      if (litStop > litSize) throw corrupt('sequence uses more literals than decoded');
      const oEnd = o + litLen + matchLen;
      if (oEnd > limit) throw corrupt('block decompresses past the block size');
      if (oEnd > buf.length) {
        buf = this.#ensure(oEnd, o);
        view = this.#view;
      }
      const wild = oEnd + WILD_COPY_SLACK <= buf.length;
      if (litLen > 0) {
        if (wild && litLen < LITERAL_SET_BYTES) {
          for (let k = 0; k < litLen; k += 8) {
            view.setInt32(o + k, litView.getInt32(litPos + k, true), true);
            view.setInt32(o + k + 4, litView.getInt32(litPos + k + 4, true), true);
          }
        } else if (litLen < 16) {
          for (let i = 0; i < litLen; i++) buf[o + i] = lits[litPos + i]!;
        } else buf.set(lits.subarray(litPos, litStop), o);
        o += litLen;
        litPos = litStop;
      }
      if (offset > o - histStart || offset <= 0) throw corrupt(`match offset ${offset} beyond the window`);
      let from = o - offset;
      if (offset >= 8 && wild && matchLen < MATCH_COPY_WITHIN_BYTES) {
        // From at least 8 bytes back, every 8 bytes read lie before the write position: already final.
        for (let k = 0; k < matchLen; k += 8) {
          view.setInt32(o + k, view.getInt32(from + k, true), true);
          view.setInt32(o + k + 4, view.getInt32(from + k + 4, true), true);
        }
        o = oEnd;
      } else if (matchLen >= 16 && offset >= matchLen) {
        buf.copyWithin(o, from, from + matchLen);
        o = oEnd;
      } else {
        while (o < oEnd) buf[o++] = buf[from++]!;
      }
    }
    if (bp !== 0) throw corrupt('sequence bitstream size mismatch');
    rep[0] = rep0;
    rep[1] = rep1;
    rep[2] = rep2;
    this.#pos = o;
    this.#copyLiterals(lits, litPos, litSize - litPos, limit);
  }

  /** Reads a Huffman tree description; returns the position after it. */
  #readHuffmanTable(src: Uint8Array, p: number, end: number): number {
    if (p >= end) throw corrupt('missing Huffman tree description');
    const header = src[p++]!;
    const weights = this.#weights;
    let count: number;
    if (header >= 128) {
      count = header - 127;
      const bytes = (count + 1) >>> 1;
      if (end - p < bytes) throw corrupt('truncated Huffman weights');
      for (let i = 0; i < count; i++) {
        const b = src[p + (i >>> 1)]!;
        weights[i] = i & 1 ? b & 15 : b >>> 4;
      }
      p += bytes;
    } else {
      const stop = p + header;
      if (header === 0 || stop > end) throw corrupt('truncated Huffman weights');
      readFseDescription(src, p, stop, 255, 6, this.#norm, this.#descr);
      const table = this.#weightTable;
      buildFseDecodeTable(this.#norm, this.#descr[2]!, this.#descr[1]!, table);
      const br = this.#bits;
      const base = p + this.#descr[0]!;
      br.init(src, base, stop);
      let s1 = br.read(table.log);
      let s2 = br.read(table.log);
      // Two interleaved states, ≤ 6 bits a read (inline: lowBits), until the stream is overread.
      let pos = br.pos;
      const symbol = table.symbol;
      const next = table.next;
      const nbBits = table.nbBits;
      count = 0;
      for (;;) {
        if (count > 253) throw corrupt('too many Huffman weights');
        weights[count++] = symbol[s1]!;
        let n = nbBits[s1]!;
        pos -= n;
        s1 = next[s1]! + lowBits(src, base, pos, n);
        if (pos < 0) {
          weights[count++] = symbol[s2]!;
          break;
        }
        weights[count++] = symbol[s2]!;
        n = nbBits[s2]!;
        pos -= n;
        s2 = next[s2]! + lowBits(src, base, pos, n);
        if (pos < 0) {
          weights[count++] = symbol[s1]!;
          break;
        }
      }
      p = stop;
    }
    // Total weight, implied last weight, max bits.
    let total = 0;
    for (let i = 0; i < count; i++) {
      const w = weights[i]!;
      if (w > HUF_MAX_BITS) throw corrupt('Huffman weight out of range');
      if (w) total += 1 << (w - 1);
    }
    if (total === 0) throw corrupt('empty Huffman weights');
    const maxBits = highBit(total) + 1;
    if (maxBits > HUF_MAX_BITS) throw corrupt('Huffman table too deep');
    const rest = (1 << maxBits) - total;
    if (rest & (rest - 1)) throw corrupt('Huffman weights do not complete a tree');
    if (count > 255) throw corrupt('too many Huffman weights');
    weights[count++] = highBit(rest) + 1;
    // Start of each weight's range: lower weights (longer codes) first, symbols in order within a weight.
    if (this.#huf.length < 1 << maxBits) this.#huf = new Uint16Array(1 << maxBits);
    const table = this.#huf;
    const rankStart = this.#rankStart;
    rankStart.fill(0);
    for (let i = 0; i < count; i++) {
      const w = weights[i]!;
      if (w) rankStart[w + 1]! += 1 << (w - 1);
    }
    for (let w = 2; w <= maxBits + 1; w++) rankStart[w]! += rankStart[w - 1]!;
    if (rankStart[maxBits + 1]! !== 1 << maxBits) throw corrupt('Huffman table incomplete');
    for (let sym = 0; sym < count; sym++) {
      const w = weights[sym]!;
      if (w === 0) continue;
      const entry = (sym << 4) | (maxBits + 1 - w);
      let at = rankStart[w]!;
      const stop = at + (1 << (w - 1));
      rankStart[w] = stop;
      if (w > 4) table.fill(entry, at, stop);
      else while (at < stop) table[at++] = entry;
    }
    this.#hufBits = maxBits;
    return p;
  }
}
