/**
 * zlib-stream transport compression (`?compress=zlib-stream`): one zlib stream per connection; every
 * gateway payload ends with a Z_SYNC_FLUSH, so a message is complete when the accumulated input ends with
 * `00 00 ff ff`. A message may span several frames; several messages never share a frame.
 *
 * Two engines, same bytes:
 * - `'handle'`: one native zlib context kept open and driven synchronously (the internal lives in
 *   ./zlib-sync-handle.ts, feature-checked at load).
 * - `'portable'`: public `node:zlib` APIs only. After a sync flush the only state a deflate stream carries
 *   is its window (the last 32 KiB of output), so each message is inflated on its own with
 *   `inflateRawSync(message, { dictionary: last32KiB })` (the 2-byte zlib header skipped on the first one).
 *   The encoder mirrors it with `deflateRawSync(message, { dictionary: last 2^windowBits input bytes })`,
 *   which only emits back-references into bytes the peer's inflate window holds, so the chunks form one
 *   valid zlib stream (header prepended to the first chunk; no final block, as Discord's never-ending stream).
 * `'auto'` (default) picks `'handle'` when it passed its self-test.
 *
 * Limits of the protocol itself (shared with every zlib-stream client): a message is recognised by its last
 * four bytes only, so compressed bytes that happen to end a frame with `00 00 ff ff` mid-message are taken
 * as a message end; and zlib cannot tell a message cut inside a block from a complete one, so truncation
 * shows up as `ZLIB_INVALID` when zlib notices, as `ZLIB_TRUNCATED` from `end()` when a partial message is
 * pending, or as a payload the JSON/ETF decoder then rejects.
 */
import zlib from 'node:zlib';
import { ConfigError, DecompressError, type DecompressErrorCode } from '../errors.js';
import { SYNC_HANDLE_AVAILABLE, SYNC_HANDLE_UNAVAILABLE_REASON, SyncZlibHandle } from './zlib-sync-handle.js';

/** The Z_SYNC_FLUSH marker that ends every zlib-stream message. */
export const ZLIB_SUFFIX: readonly number[] = [0x00, 0x00, 0xff, 0xff];

export const ZLIB_ENGINES = ['auto', 'handle', 'portable'] as const;
export type ZlibEngine = (typeof ZLIB_ENGINES)[number];
export type ResolvedZlibEngine = Exclude<ZlibEngine, 'auto'>;

/** The largest deflate window (and the dictionary the portable engine keeps). */
const MAX_WINDOW_BYTES = 32 * 1024;
const { Z_SYNC_FLUSH } = zlib.constants;

export interface ZlibStreamDecoderOptions {
  /** Largest decompressed message; inflating stops (`PAYLOAD_TOO_LARGE`) once it is passed. Default 16 MiB. */
  maxMessageBytes?: number;
  /** Largest compressed input of one message held while waiting for its end. Default: `maxMessageBytes`. */
  maxPendingBytes?: number;
  /**
   * Most frames one message may wait in before its end (`TOO_MANY_FRAGMENTS` past it). Default 4096: a
   * 64 MiB message in 16 KiB frames. Pending frames share one buffer, so a frame costs its bytes only.
   */
  maxPendingFrames?: number;
  /** Which engine decodes; default `'auto'`. */
  engine?: ZlibEngine;
  /**
   * For callers that decode each message before the next `push()` (as the shard's receive path does): a
   * message of up to 64 KiB is then a view of one buffer that every transient decoder of the thread reuses,
   * valid only until the next `push()` of any such decoder. Saves allocating a fresh slab every ~100
   * messages. Default false (a message stays valid, see `push`). Only the `'handle'` engine reuses memory.
   */
  transientOutput?: boolean;
}

export const DEFAULT_ZLIB_STREAM_DECODER_OPTIONS = {
  maxMessageBytes: 16 * 1024 * 1024,
  maxPendingFrames: 4096,
  engine: 'auto',
  transientOutput: false,
} as const satisfies Required<Omit<ZlibStreamDecoderOptions, 'maxPendingBytes'>>;

export interface ResolvedZlibStreamDecoderOptions {
  readonly maxMessageBytes: number;
  readonly maxPendingBytes: number;
  readonly maxPendingFrames: number;
  readonly engine: ResolvedZlibEngine;
  readonly transientOutput: boolean;
}

export interface ZlibStreamEncoderOptions {
  /** Compression level 0–9; default 6 (zlib's default). */
  level?: number;
  /** Window size as log2, 9–15; default 15 (32 KiB window). Smaller saves memory in both peers. */
  windowBits?: number;
  /** Deflate memory level 1–9; default 8. Lower saves memory (about 2^(memLevel+9) bytes). */
  memLevel?: number;
  engine?: ZlibEngine;
}

export const DEFAULT_ZLIB_STREAM_ENCODER_OPTIONS = {
  level: 6,
  windowBits: 15,
  memLevel: 8,
  engine: 'auto',
} as const satisfies Required<ZlibStreamEncoderOptions>;

export interface ResolvedZlibStreamEncoderOptions {
  readonly level: number;
  readonly windowBits: number;
  readonly memLevel: number;
  readonly engine: ResolvedZlibEngine;
}

function resolveEngine(engine: unknown): ResolvedZlibEngine {
  if (!ZLIB_ENGINES.includes(engine as ZlibEngine)) {
    throw new ConfigError('engine', `expected one of ${ZLIB_ENGINES.join(', ')}, got ${String(engine)}`);
  }
  if (engine === 'portable') return 'portable';
  if (engine === 'handle' && !SYNC_HANDLE_AVAILABLE) {
    throw new ConfigError(
      'engine',
      `the synchronous zlib handle is unavailable here (${SYNC_HANDLE_UNAVAILABLE_REASON}); use 'auto' or 'portable'`,
    );
  }
  return SYNC_HANDLE_AVAILABLE ? 'handle' : 'portable';
}

function integerIn(option: string, value: unknown, min: number, max: number): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    throw new ConfigError(option, `expected an integer from ${min} to ${max}, got ${String(value)}`);
  }
  return value;
}

export function resolveZlibStreamDecoderOptions(
  options: ZlibStreamDecoderOptions = {},
): ResolvedZlibStreamDecoderOptions {
  const merged = { ...DEFAULT_ZLIB_STREAM_DECODER_OPTIONS, ...options };
  // Buffer's own limit (2^32 on Node 20 64-bit) is far above anything sane; 1 GiB is the ceiling here.
  const maxMessageBytes = integerIn('maxMessageBytes', merged.maxMessageBytes, 1, 2 ** 30);
  return Object.freeze({
    maxMessageBytes,
    maxPendingBytes: integerIn('maxPendingBytes', merged.maxPendingBytes ?? maxMessageBytes, 1, 2 ** 30),
    maxPendingFrames: integerIn('maxPendingFrames', merged.maxPendingFrames, 1, 2 ** 30),
    engine: resolveEngine(merged.engine),
    transientOutput: resolveFlag('transientOutput', merged.transientOutput),
  });
}

function resolveFlag(option: string, value: unknown): boolean {
  if (typeof value !== 'boolean') throw new ConfigError(option, `expected a boolean, got ${String(value)}`);
  return value;
}

export function resolveZlibStreamEncoderOptions(
  options: ZlibStreamEncoderOptions = {},
): ResolvedZlibStreamEncoderOptions {
  const merged = { ...DEFAULT_ZLIB_STREAM_ENCODER_OPTIONS, ...options };
  return Object.freeze({
    level: integerIn('level', merged.level, 0, 9),
    windowBits: integerIn('windowBits', merged.windowBits, 9, 15),
    memLevel: integerIn('memLevel', merged.memLevel, 1, 9),
    engine: resolveEngine(merged.engine),
  });
}

// ---------------------------------------------------------------------------------------------------------
// Output memory shared by every context of this thread (push()/encode() are synchronous and never nest), so
// contexts hold no output buffer of their own:
// - the decoder inflates small messages straight into a shared slab and hands out views of it, like Node's
//   Buffer pool: no copy; a slab is replaced once less than SLAB_MIN_FREE bytes remain;
// - the encoder deflates into a shared scratch buffer and copies each chunk out.

const SLAB_BYTES = 64 * 1024;
const SLAB_MIN_FREE = 16 * 1024;
let slab: Buffer | null = null;
let slabOffset = 0;

/** A slab with at least SLAB_MIN_FREE bytes free from `slabOffset`. */
function currentSlab(): Buffer {
  if (slab === null || slab.length - slabOffset < SLAB_MIN_FREE) {
    slab = Buffer.allocUnsafeSlow(SLAB_BYTES);
    slabOffset = 0;
  }
  return slab;
}

/** The output buffer of transient decoders (`transientOutput`), reused for every message. */
const TRANSIENT_BYTES = 64 * 1024;
let transient: Buffer | null = null;

function transientBuffer(): Buffer {
  transient ??= Buffer.allocUnsafeSlow(TRANSIENT_BYTES);
  return transient;
}

const SCRATCH_BYTES = 64 * 1024;
let scratch: Buffer | null = null;

function sharedScratch(): Buffer {
  scratch ??= Buffer.allocUnsafeSlow(SCRATCH_BYTES);
  return scratch;
}

/** Copies `used` bytes of `buf` into an exactly sized result, or hands out a view when little is wasted. */
function takeOutput(buf: Buffer, used: number): Buffer {
  if (buf !== scratch && buf.length - used <= used >>> 2) return buf.subarray(0, used);
  const out = Buffer.allocUnsafe(used);
  buf.copy(out, 0, 0, used);
  return out;
}

function decompressError(code: DecompressErrorCode, message: string, cause?: unknown): DecompressError {
  return new DecompressError(code, message, cause === undefined ? undefined : { cause });
}

function fromZlib(code: string, message: string, cause?: unknown): DecompressError {
  if (code === 'Z_DATA_ERROR' || code === 'Z_NEED_DICT') {
    return decompressError('ZLIB_INVALID', `invalid zlib-stream data: ${message}`, cause);
  }
  if (code === 'Z_BUF_ERROR')
    return decompressError('ZLIB_TRUNCATED', `truncated zlib-stream: ${message}`, cause);
  return decompressError('DECOMPRESSOR_FAILED', `zlib failed: ${message} (${code})`, cause);
}

function tooLarge(max: number): DecompressError {
  return decompressError('PAYLOAD_TOO_LARGE', `zlib-stream message exceeds maxMessageBytes (${max})`);
}

const afterEnd = (): DecompressError =>
  decompressError('ZLIB_INVALID', 'invalid zlib-stream data: input after the end of the zlib stream');

// ---------------------------------------------------------------------------------------------------------
// Engines

interface Inflater {
  /**
   * Inflates one complete message (its compressed bytes end with the sync-flush marker); with `reuse`, a
   * small one into the thread's transient buffer.
   */
  inflate(input: Uint8Array, maxBytes: number, reuse: boolean): Uint8Array;
  close(): void;
}

/** Inputs at least this large inflate straight into a buffer sized from the expected ratio (no scratch). */
const LARGE_INPUT_BYTES = 8 * 1024;

class HandleInflater implements Inflater {
  #z: SyncZlibHandle | null = null;
  /** Output/input ratio of the last large message, to size the next one's buffer (JSON ≈ 7, ETF less). */
  #ratio = 8;

  inflate(input: Uint8Array, maxBytes: number, reuse: boolean): Uint8Array {
    // windowBits 0: the window size comes from the zlib header, so a small-window stream costs less.
    this.#z ??= SyncZlibHandle.inflate({ windowBits: 0 });
    const z = this.#z;
    if (z === null)
      throw decompressError('DECOMPRESSOR_FAILED', 'the synchronous zlib handle could not open');
    const large = input.byteLength >= LARGE_INPUT_BYTES;
    let out = large
      ? Buffer.allocUnsafe(Math.min(Math.ceil(input.byteLength * this.#ratio * 1.0625) + 4096, maxBytes + 1))
      : reuse
        ? transientBuffer()
        : currentSlab();
    let start = large || reuse ? 0 : slabOffset; // output of this message is out[start, outOff)
    let outOff = start;
    let inOff = 0;
    let inLen = input.byteLength;
    for (;;) {
      const outLen = out.length - outOff;
      if (!z.write(Z_SYNC_FLUSH, input, inOff, inLen, out, outOff, outLen)) {
        const e = z.error!;
        throw fromZlib(e.code, e.message);
      }
      const availOut = z.availOut;
      const availIn = z.availIn;
      outOff += outLen - availOut;
      inOff += inLen - availIn;
      inLen = availIn;
      const used = outOff - start;
      if (used > maxBytes) throw tooLarge(maxBytes);
      if (availOut !== 0) {
        // Output space left but input unread: inflate stopped at the end of the zlib stream.
        if (availIn !== 0) throw afterEnd();
        if (out === slab) {
          slabOffset = (outOff + 7) & ~7; // hand out [start, outOff); the next message starts aligned
          return out.subarray(start, outOff);
        }
        // A plain view: cheaper to make than a Buffer one, and transient output goes to decoders only.
        if (out === transient) return new Uint8Array(out.buffer, out.byteOffset, outOff);
        if (large) this.#ratio = Math.max(1, used / input.byteLength);
        return takeOutput(out, used);
      }
      // Output full: grow geometrically, never past maxBytes + 1 (enough to detect an oversize message).
      const grown = Buffer.allocUnsafe(Math.min(Math.max(used * 2, input.byteLength * 8), maxBytes + 1));
      out.copy(grown, 0, start, outOff);
      out = grown;
      start = 0;
      outOff = used;
    }
  }

  close(): void {
    this.#z?.close();
    this.#z = null;
  }
}

/** zlib header check (RFC 1950 §2.2); returns an error message or null. */
function zlibHeaderProblem(cmf: number, flg: number): string | null {
  if ((cmf & 0x0f) !== 8) return 'unknown compression method';
  if ((cmf * 256 + flg) % 31 !== 0) return 'incorrect header check';
  if (cmf >> 4 > 7) return 'invalid window size';
  if ((flg & 0x20) !== 0) return 'preset dictionary not supported';
  return null;
}

/** Keeps the last `size` bytes of `window` + `data` (a fresh copy). */
function slideWindow(window: Buffer | null, data: Uint8Array, size: number): Buffer | null {
  if (data.byteLength === 0) return window;
  if (data.byteLength >= size || window === null) {
    return Buffer.from(data.subarray(Math.max(0, data.byteLength - size)));
  }
  const keep = Math.min(window.length, size - data.byteLength);
  const next = Buffer.allocUnsafe(keep + data.byteLength);
  window.copy(next, 0, window.length - keep);
  next.set(data, keep);
  return next;
}

function isNodeError(err: unknown): err is Error & { code?: unknown } {
  return err instanceof Error;
}

class PortableInflater implements Inflater {
  #window: Buffer | null = null;
  #started = false;
  #ended = false;

  inflate(input: Uint8Array, maxBytes: number, _reuse: boolean): Uint8Array {
    if (this.#ended) throw afterEnd();
    let body = input;
    if (!this.#started) {
      const problem =
        input.byteLength < 2 ? 'incorrect header check' : zlibHeaderProblem(input[0]!, input[1]!);
      if (problem !== null) throw decompressError('ZLIB_INVALID', `invalid zlib-stream data: ${problem}`);
      body = input.subarray(2);
      this.#started = true;
    }
    let result: { buffer: Buffer; engine: { bytesWritten: number } };
    try {
      const options: zlib.ZlibOptions & { info: true } = {
        finishFlush: Z_SYNC_FLUSH,
        maxOutputLength: maxBytes,
        windowBits: 15,
        info: true,
      };
      if (this.#window !== null) options.dictionary = this.#window;
      result = zlib.inflateRawSync(body, options) as unknown as typeof result;
    } catch (err) {
      if (isNodeError(err) && err.code === 'ERR_BUFFER_TOO_LARGE') throw tooLarge(maxBytes);
      if (isNodeError(err) && typeof err.code === 'string') throw fromZlib(err.code, err.message, err);
      throw decompressError('DECOMPRESSOR_FAILED', 'zlib failed', err);
    }
    const rest = body.byteLength - result.engine.bytesWritten;
    if (rest > 0) {
      // The final block was reached: at most the 4-byte Adler-32 trailer may follow, then nothing.
      if (rest > 4) throw afterEnd();
      this.#ended = true;
    }
    const out = result.buffer;
    if (out.length > maxBytes) throw tooLarge(maxBytes);
    this.#window = slideWindow(this.#window, out, MAX_WINDOW_BYTES);
    return out;
  }

  close(): void {
    this.#window = null;
  }
}

/** Whether `bytes[0, n)` ends with the sync-flush marker. */
function endsWithSuffix(bytes: Uint8Array, n = bytes.byteLength): boolean {
  return n >= 4 && bytes[n - 1] === 0xff && bytes[n - 2] === 0xff && bytes[n - 3] === 0 && bytes[n - 4] === 0;
}

function tooManyFragments(max: number): DecompressError {
  return decompressError(
    'TOO_MANY_FRAGMENTS',
    `zlib-stream message still unfinished after maxPendingFrames (${max}) frames`,
  );
}

function pendingTooLarge(max: number): DecompressError {
  return decompressError(
    'PAYLOAD_TOO_LARGE',
    `zlib-stream message still unfinished after maxPendingBytes (${max}) compressed bytes`,
  );
}

// ---------------------------------------------------------------------------------------------------------

/**
 * Decodes one connection's zlib-stream. `push(frame)` returns the complete decompressed message, or `null`
 * while a message is still incomplete. Any error leaves the context unusable (every later `push` throws
 * `DECOMPRESSOR_FAILED`) until `reset()`, which is what a reconnect calls anyway.
 */
export class ZlibStreamDecoder {
  readonly options: ResolvedZlibStreamDecoderOptions;
  #inflater: Inflater | null = null;
  /** Compressed bytes of an unfinished message in [0, #pendingBytes), all its frames in one buffer. */
  #pending: Buffer | null = null;
  #pendingBytes = 0;
  #pendingFrames = 0;
  #failure: DecompressError | null = null;
  #closed = false;

  constructor(options: ZlibStreamDecoderOptions = {}) {
    this.options = resolveZlibStreamDecoderOptions(options);
  }

  /** `'handle'` or `'portable'`. */
  get engine(): ResolvedZlibEngine {
    return this.options.engine;
  }

  /** Compressed bytes of an incomplete message waiting for more frames. */
  get pendingBytes(): number {
    return this.#pendingBytes;
  }

  /**
   * Feeds one WebSocket frame. Returns the complete message, or null while more frames are needed. A small
   * message may be a view into a shared 64 KiB slab (as Node's Buffer pool does): copy it to keep it long.
   */
  push(frame: Uint8Array): Uint8Array | null {
    if (this.#failure !== null) {
      throw new DecompressError(
        'DECOMPRESSOR_FAILED',
        `zlib-stream context failed earlier (${this.#failure.code}); reset() it for a new connection`,
        { cause: this.#failure },
      );
    }
    if (this.#closed) throw new DecompressError('DECOMPRESSOR_FAILED', 'zlib-stream decoder is closed');
    if (!(frame instanceof Uint8Array)) {
      throw new DecompressError('DECOMPRESSOR_FAILED', 'push() expects a Uint8Array frame');
    }
    const max = this.options.maxMessageBytes;
    let input: Uint8Array;
    if (this.#pendingFrames === 0 && endsWithSuffix(frame)) {
      if (frame.byteLength > max) return this.#fail(tooLarge(max));
      input = frame;
    } else {
      // Checked before anything is kept: an endless message costs at most the limits, then fails.
      const { maxPendingBytes, maxPendingFrames } = this.options;
      if (this.#pendingBytes + frame.byteLength > maxPendingBytes)
        return this.#fail(pendingTooLarge(maxPendingBytes));
      this.#keep(frame);
      const pending = this.#pending;
      if (pending === null || !endsWithSuffix(pending, this.#pendingBytes)) {
        if (++this.#pendingFrames > maxPendingFrames) return this.#fail(tooManyFragments(maxPendingFrames));
        return null;
      }
      input = pending.subarray(0, this.#pendingBytes);
      this.#pending = null;
      this.#pendingBytes = 0;
      this.#pendingFrames = 0;
    }
    this.#inflater ??= this.options.engine === 'handle' ? new HandleInflater() : new PortableInflater();
    try {
      return this.#inflater.inflate(input, max, this.options.transientOutput);
    } catch (err) {
      return this.#fail(
        err instanceof DecompressError ? err : decompressError('DECOMPRESSOR_FAILED', 'zlib failed', err),
      );
    }
  }

  /**
   * Declares the end of the connection's stream. Throws `ZLIB_TRUNCATED` (and fails the context) when a
   * partial message is pending, i.e. the stream was cut inside a message. Optional; `reset()` does not throw.
   */
  end(): void {
    if (this.#failure === null && this.#pendingBytes > 0) {
      this.#fail(
        decompressError(
          'ZLIB_TRUNCATED',
          `truncated zlib-stream: ${this.#pendingBytes} bytes of an unfinished message at the end of the stream`,
        ),
      );
    }
  }

  /** Starts over for a new connection (new zlib stream); also clears a failure and reopens after close(). */
  reset(): void {
    this.#release();
    this.#failure = null;
    this.#closed = false;
  }

  /** Frees the zlib context and buffers; `push` throws until `reset()`. */
  close(): void {
    this.#release();
    this.#closed = true;
  }

  /** Appends a copy of `frame` (the caller may reuse its buffer) to the one pending buffer, grown by doubling. */
  #keep(frame: Uint8Array): void {
    const used = this.#pendingBytes;
    const need = used + frame.byteLength;
    if (need === 0) return;
    let pending = this.#pending;
    if (pending === null || need > pending.length) {
      const size = Math.min(Math.max(need, 2 * (pending?.length ?? 0), 1024), this.options.maxPendingBytes);
      const grown = Buffer.allocUnsafe(size);
      if (pending !== null) pending.copy(grown, 0, 0, used);
      this.#pending = pending = grown;
    }
    pending.set(frame, used);
    this.#pendingBytes = need;
  }

  #release(): void {
    this.#inflater?.close();
    this.#inflater = null;
    this.#pending = null;
    this.#pendingBytes = 0;
    this.#pendingFrames = 0;
  }

  #fail(err: DecompressError): never {
    this.#release();
    this.#failure = err;
    throw err;
  }
}

interface Deflater {
  deflate(message: Uint8Array): Uint8Array;
  close(): void;
}

/** A non-final empty stored block: valid at any block boundary, produces no output, ends with the suffix. */
const EMPTY_STORED_BLOCK: readonly number[] = [0x00, ...ZLIB_SUFFIX];

class HandleDeflater implements Deflater {
  readonly #options: ResolvedZlibStreamEncoderOptions;
  #z: SyncZlibHandle | null = null;

  constructor(options: ResolvedZlibStreamEncoderOptions) {
    this.#options = options;
  }

  deflate(message: Uint8Array): Uint8Array {
    this.#z ??= SyncZlibHandle.deflate(this.#options);
    const z = this.#z;
    if (z === null) throw decompressError('COMPRESSOR_FAILED', 'the synchronous zlib handle could not open');
    let out = sharedScratch();
    let outOff = 0;
    let inOff = 0;
    let inLen = message.byteLength;
    for (;;) {
      const outLen = out.length - outOff;
      if (!z.write(Z_SYNC_FLUSH, message, inOff, inLen, out, outOff, outLen)) {
        const e = z.error!;
        throw decompressError('COMPRESSOR_FAILED', `zlib deflate failed: ${e.message} (${e.code})`);
      }
      const availOut = z.availOut;
      const availIn = z.availIn;
      outOff += outLen - availOut;
      inOff += inLen - availIn;
      inLen = availIn;
      if (availOut !== 0) {
        // zlib emits nothing for an empty message right after a flush; the chunk still needs a marker.
        return outOff === 0 ? Buffer.from(EMPTY_STORED_BLOCK) : takeOutput(out, outOff);
      }
      const grown = Buffer.allocUnsafe(out.length * 2);
      out.copy(grown, 0, 0, outOff);
      out = grown;
    }
  }

  close(): void {
    this.#z?.close();
    this.#z = null;
  }
}

/** The 2-byte zlib header zlib itself writes for these settings (RFC 1950 §2.2). */
function zlibHeader(level: number, windowBits: number): Buffer {
  const cmf = ((windowBits - 8) << 4) | 8;
  const flevel = level < 2 ? 0 : level < 6 ? 1 : level === 6 ? 2 : 3;
  let flg = flevel << 6;
  flg += 31 - ((cmf * 256 + flg) % 31);
  return Buffer.from([cmf, flg]);
}

class PortableDeflater implements Deflater {
  readonly #options: ResolvedZlibStreamEncoderOptions;
  #dictionary: Buffer | null = null;
  #started = false;

  constructor(options: ResolvedZlibStreamEncoderOptions) {
    this.#options = options;
  }

  deflate(message: Uint8Array): Uint8Array {
    const { level, windowBits, memLevel } = this.#options;
    let raw: Buffer;
    try {
      const options: zlib.ZlibOptions = { level, windowBits, memLevel, finishFlush: Z_SYNC_FLUSH };
      if (this.#dictionary !== null) options.dictionary = this.#dictionary;
      raw = zlib.deflateRawSync(message, options);
    } catch (err) {
      throw decompressError('COMPRESSOR_FAILED', 'zlib deflate failed', err);
    }
    this.#dictionary = slideWindow(this.#dictionary, message, 1 << windowBits);
    if (this.#started) return raw;
    this.#started = true;
    return Buffer.concat([zlibHeader(level, windowBits), raw]);
  }

  close(): void {
    this.#dictionary = null;
  }
}

/**
 * Produces one connection's zlib-stream (for the simulator): `encode(message)` returns one chunk that ends
 * with the Z_SYNC_FLUSH marker; the chunks of one encoder decode through one inflate context.
 */
export class ZlibStreamEncoder {
  readonly options: ResolvedZlibStreamEncoderOptions;
  #deflater: Deflater | null = null;
  #closed = false;

  constructor(options: ZlibStreamEncoderOptions = {}) {
    this.options = resolveZlibStreamEncoderOptions(options);
  }

  get engine(): ResolvedZlibEngine {
    return this.options.engine;
  }

  encode(message: Uint8Array): Uint8Array {
    if (this.#closed) throw new DecompressError('COMPRESSOR_FAILED', 'zlib-stream encoder is closed');
    if (!(message instanceof Uint8Array)) {
      throw new DecompressError('COMPRESSOR_FAILED', 'encode() expects a Uint8Array message');
    }
    this.#deflater ??=
      this.options.engine === 'handle'
        ? new HandleDeflater(this.options)
        : new PortableDeflater(this.options);
    return this.#deflater.deflate(message);
  }

  /** Starts a new stream (the next chunk carries a zlib header again); reopens after close(). */
  reset(): void {
    this.#deflater?.close();
    this.#deflater = null;
    this.#closed = false;
  }

  close(): void {
    this.#deflater?.close();
    this.#deflater = null;
    this.#closed = true;
  }
}
