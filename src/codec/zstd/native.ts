/**
 * Node's built-in zstd (node:zlib, Node ≥ 22.15 / 23.8), driven SYNCHRONOUSLY, one message at a time.
 *
 * Node only offers zstd as an asynchronous stream (or one-shot `zstdDecompressSync`, which cannot keep a
 * window across messages). Its zlib streams are driven in sync mode by an internal handle whose
 * `writeSync(flush, in, inOff, inLen, out, outOff, outLen)` fills `_writeState` = [availOut, availIn];
 * Node's own `*Sync` functions work that way. We use that handle directly, so this path depends on a
 * Node internal: it is feature-checked at load AND proven by a self-test (a two-message stream with a
 * cross-message back-reference from our encoder); if either fails, `nativeZstdAvailable` is false and the
 * TypeScript decoder is used. Nothing here runs on Node 20 (no zstd in node:zlib).
 */
import { Buffer } from 'node:buffer';
import * as zlib from 'node:zlib';
import { DecompressError } from '../../errors.js';
import type { ZstdDecoderLimits } from './decoder.js';
import { ZstdEncoderCore } from './encoder.js';

interface ZstdHandle {
  writeSync(
    flush: number,
    input: Uint8Array,
    inOff: number,
    inLen: number,
    out: Uint8Array,
    outOff: number,
    outLen: number,
  ): void;
  onerror: (message: string, errno: number, code?: string) => void;
  close(): void;
}
interface ZstdEngine {
  _handle: ZstdHandle | null;
  _writeState: Uint32Array;
  on(event: 'error', listener: (err: Error) => void): unknown;
  close(): void;
}
type CreateZstdDecompress = (options?: { params?: Record<number, number>; chunkSize?: number }) => ZstdEngine;

const zlibWithZstd = zlib as unknown as {
  createZstdDecompress?: CreateZstdDecompress;
  constants: Record<string, number | undefined>;
};
const createZstdDecompress = zlibWithZstd.createZstdDecompress;
const WINDOW_LOG_MAX_PARAM = zlibWithZstd.constants.ZSTD_d_windowLogMax;
const FLUSH_CONTINUE = zlibWithZstd.constants.ZSTD_e_continue ?? 0;
const OUT_CHUNK_BYTES = 64 * 1024;
/**
 * One output chunk for every context: push() is synchronous and copies each chunk out before the next
 * write, so a per-connection chunk would only cost 64 KiB per idle shard.
 */
let sharedOut: Buffer | undefined;

type ScanState = 'header' | 'block' | 'content' | 'checksum' | 'skip';

/**
 * Follows the frame/block structure (headers only; content is skipped) so the native path knows, like
 * the TypeScript decoder, whether a message ended on a block boundary and how many blocks it held, and
 * rejects the same structural errors (reserved bits and block type, oversized blocks) up front.
 */
class BlockScanner {
  #state: ScanState = 'header';
  #need = 0;
  #carry = new Uint8Array(18);
  #carried = 0;
  #checksum = false;
  #lastBlock = false;
  #blockMax = 0;
  /** Blocks completed since the counter was last taken. */
  blocks = 0;

  /** Scans `chunk`; returns true when it ends on a block (or frame) boundary. */
  scan(chunk: Uint8Array): boolean {
    let p = 0;
    const end = chunk.length;
    while (p < end) {
      const state = this.#state;
      if (state === 'content' || state === 'checksum' || state === 'skip') {
        const n = Math.min(this.#need, end - p);
        p += n;
        this.#need -= n;
        if (this.#need === 0) this.#finishSkip();
        continue;
      }
      this.#carry[this.#carried++] = chunk[p++]!;
      const c = this.#carry;
      const have = this.#carried;
      if (state === 'block') {
        if (have < 3) continue;
        const h = c[0]! | (c[1]! << 8) | (c[2]! << 16);
        this.#carried = 0;
        const type = (h >>> 1) & 3;
        const size = h >>> 3;
        if (type === 3) throw scanCorrupt('reserved block type');
        if (size > this.#blockMax) throw scanCorrupt(`block size ${size} exceeds ${this.#blockMax}`);
        this.#lastBlock = (h & 1) === 1;
        this.#need = type === 1 ? 1 : size;
        this.#state = 'content';
        if (this.#need === 0) this.#finishSkip();
        continue;
      }
      // Frame header.
      if (have < 4) continue;
      const magic = (c[0]! | (c[1]! << 8) | (c[2]! << 16) | (c[3]! << 24)) >>> 0;
      if ((magic & 0xfffffff0) >>> 0 === 0x184d2a50) {
        if (have < 8) continue;
        this.#need = (c[4]! | (c[5]! << 8) | (c[6]! << 16) | (c[7]! << 24)) >>> 0;
        this.#carried = 0;
        this.#state = 'skip';
        if (this.#need === 0) this.#state = 'header';
        continue;
      }
      if (magic !== 0xfd2fb528) throw scanCorrupt(`bad frame magic 0x${magic.toString(16)}`);
      if (have < 5) continue;
      const fhd = c[4]!;
      if (fhd & 8) throw scanCorrupt('reserved frame header bit set');
      const single = (fhd >>> 5) & 1;
      const fcsFlag = fhd >>> 6;
      const dictFlag = fhd & 3;
      const fcsBytes = fcsFlag === 0 ? single : 1 << fcsFlag;
      const size = 5 + (single ? 0 : 1) + (dictFlag === 3 ? 4 : dictFlag) + fcsBytes;
      if (have < size) continue;
      let windowSize: number;
      if (single) {
        let fcs = 0;
        for (let i = 0; i < fcsBytes; i++) fcs += c[size - fcsBytes + i]! * 2 ** (8 * i);
        windowSize = fcsBytes === 2 ? fcs + 256 : fcs;
      } else {
        const wd = c[5]!;
        const base = 2 ** (10 + (wd >>> 3));
        windowSize = base + (base / 8) * (wd & 7);
      }
      this.#blockMax = Math.min(windowSize, 128 * 1024);
      this.#checksum = ((fhd >>> 2) & 1) === 1;
      this.#carried = 0;
      this.#state = 'block';
    }
    return this.#carried === 0 && (this.#state === 'block' || this.#state === 'header');
  }

  #finishSkip(): void {
    if (this.#state === 'content') {
      this.blocks++;
      if (!this.#lastBlock) this.#state = 'block';
      else if (this.#checksum) {
        this.#state = 'checksum';
        this.#need = 4;
      } else this.#state = 'header';
    } else this.#state = 'header';
  }
}

function scanCorrupt(message: string): DecompressError {
  return new DecompressError('ZSTD_CORRUPT', `zstd: ${message}`);
}

/** One decompression context backed by node:zlib's zstd. Throws DecompressError; unusable after one. */
export class NativeZstdDecoder {
  readonly #limits: ZstdDecoderLimits;
  readonly #engine: ZstdEngine;
  readonly #handle: ZstdHandle;
  #error: { message: string; code: string | undefined } | null = null;
  readonly #scanner = new BlockScanner();
  /** Output of the unfinished message in [0, #total): one buffer grown by doubling, whatever the pushes. */
  #acc: Uint8Array | null = null;
  #total = 0;

  constructor(limits: ZstdDecoderLimits) {
    if (!createZstdDecompress || WINDOW_LOG_MAX_PARAM === undefined)
      throw new DecompressError('ZSTD_UNSUPPORTED', 'zstd: node:zlib has no zstd in this Node version');
    this.#limits = limits;
    const windowLogMax = Math.max(10, Math.floor(Math.log2(limits.maxWindowBytes)));
    this.#engine = createZstdDecompress({ params: { [WINDOW_LOG_MAX_PARAM]: windowLogMax } });
    // Errors surface through the handle's callback during writeSync; the stream's own 'error' event
    // (emitted later by destroy) is swallowed here since push() already threw.
    this.#engine.on('error', () => {});
    const handle = this.#engine._handle;
    if (
      !handle ||
      typeof handle.writeSync !== 'function' ||
      !(this.#engine._writeState instanceof Uint32Array)
    )
      throw new DecompressError('ZSTD_UNSUPPORTED', 'zstd: node:zlib internals are not as expected');
    this.#handle = handle;
    const original = handle.onerror;
    handle.onerror = (message: string, errno: number, code?: string) => {
      this.#error = { message, code };
      original.call(handle, message, errno, code);
    };
  }

  /** What we hold between pushes (an unfinished message); the DCtx's own window is not counted. */
  get retainedBytes(): number {
    return this.#acc?.length ?? 0;
  }

  push(frame: Uint8Array): Uint8Array | null {
    const atBoundary = this.#scanner.scan(frame);
    let acc = this.#acc;
    let total = this.#total;
    let inOff = 0;
    let inLen = frame.length;
    const state = this.#engine._writeState;
    sharedOut ??= Buffer.allocUnsafe(OUT_CHUNK_BYTES);
    const out = sharedOut;
    for (let guard = 0; ; guard++) {
      this.#handle.writeSync(FLUSH_CONTINUE, frame, inOff, inLen, out, 0, out.length);
      if (this.#error) throw mapError(this.#error);
      const availOut = state[0]!;
      const availIn = state[1]!;
      const produced = out.length - availOut;
      if (produced > 0) {
        total += produced;
        if (total > this.#limits.maxMessageBytes)
          throw new DecompressError(
            'PAYLOAD_TOO_LARGE',
            `zstd: message inflates past maxMessageBytes (${this.#limits.maxMessageBytes})`,
          );
        if (acc === null || total > acc.length) {
          // The first chunk is sized exactly (most messages are one chunk); later ones double.
          const size =
            acc === null ? total : Math.min(Math.max(total, 2 * acc.length), this.#limits.maxMessageBytes);
          const grown = new Uint8Array(size);
          if (acc !== null) grown.set(acc.subarray(0, total - produced));
          acc = grown;
          this.#acc = acc;
        }
        acc.set(out.subarray(0, produced), total - produced);
      }
      const consumed = inLen - availIn;
      inOff += consumed;
      inLen = availIn;
      if (availOut !== 0 && (availIn === 0 || (consumed === 0 && produced === 0))) break;
      if (guard > 1_000_000) throw new DecompressError('DECOMPRESSOR_FAILED', 'zstd: no progress');
    }
    this.#total = total;
    // Same contract as the TypeScript decoder: a message is returned once it ends on a block boundary.
    if (!atBoundary || this.#scanner.blocks === 0) return null;
    this.#scanner.blocks = 0;
    this.#acc = null;
    this.#total = 0;
    if (acc === null) return new Uint8Array(0);
    if (acc.length === total) return acc;
    // Hand out a view when little is wasted, else an exact copy.
    return acc.length - total <= total >>> 2 ? acc.subarray(0, total) : acc.slice(0, total);
  }

  close(): void {
    try {
      this.#engine.close();
    } catch {
      // Already closed after an error.
    }
  }
}

function mapError(err: { message: string; code: string | undefined }): DecompressError {
  const code = err.code ?? '';
  const unsupported = /windowTooLarge|frameParameter_unsupported|dictionary|version_unsupported/.test(code);
  return new DecompressError(
    unsupported ? 'ZSTD_UNSUPPORTED' : 'ZSTD_CORRUPT',
    `zstd (node:zlib): ${err.message}${code ? ` (${code})` : ''}`,
  );
}

/** Runs the native path once on known data; returns why it cannot be used, or null. */
function selfTest(): string | null {
  if (!createZstdDecompress || WINDOW_LOG_MAX_PARAM === undefined)
    return `node:zlib has no zstd in Node ${process.versions.node} (it needs >= 22.15)`;
  try {
    const text = new TextEncoder().encode(
      '{"op":0,"t":"MESSAGE_CREATE","d":{"content":"native zstd self-test, native zstd self-test"}}',
    );
    const encoder = new ZstdEncoderCore(18);
    const a = encoder.encode(text);
    const b = encoder.encode(text); // refers back into the first message
    const decoder = new NativeZstdDecoder({ maxMessageBytes: 1 << 20, maxWindowBytes: 1 << 23 });
    const ra = decoder.push(a);
    const rb = decoder.push(b);
    decoder.close();
    const ok =
      ra !== null &&
      rb !== null &&
      Buffer.from(ra.buffer, ra.byteOffset, ra.length).equals(text) &&
      Buffer.from(rb.buffer, rb.byteOffset, rb.length).equals(text);
    return ok ? null : 'the node:zlib zstd self-test decoded wrong bytes';
  } catch (err) {
    return `the node:zlib zstd self-test threw: ${err instanceof Error ? err.message : String(err)}`;
  }
}

/** Why node:zlib's zstd is not used here (null when it is). */
export const NATIVE_ZSTD_UNAVAILABLE_REASON: string | null = selfTest();
/** True when node:zlib has zstd and the synchronous per-message path passed its self-test. */
export const nativeZstdAvailable: boolean = NATIVE_ZSTD_UNAVAILABLE_REASON === null;
