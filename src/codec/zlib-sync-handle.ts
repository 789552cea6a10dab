/**
 * The ONE place where Shardline touches a Node.js internal: the native handle behind `zlib.Inflate` /
 * `zlib.Deflate` objects, driven synchronously.
 *
 * Why: Node has no public synchronous *streaming* zlib API. `zlib.inflateSync` creates and frees a whole
 * context per call (so no shared window across messages), and the stream API is asynchronous. Node's own
 * `zlib.inflateSync` works by calling `engine._handle.writeSync(flush, in, inOff, inLen, out, outOff,
 * outLen)` and reading the results from `engine._writeState` (`[availOutAfter, availInAfter]`), with errors
 * reported synchronously through `handle.onerror(message, errno, code)` (see `processChunkSync` in Node's
 * lib/zlib.js, unchanged in shape from Node 12 to 24). We do the same, on a context we keep open.
 *
 * Safety: the native side CHECK-aborts the process on bad arguments, so this module only ever passes
 * Uint8Arrays with in-bounds offsets, never writes after `close()`, and is only enabled when
 *   1. the objects have the expected shape (`_handle.writeSync`, `_handle.close`, `_writeState`), and
 *   2. a self-test at load round-trips a sample through two handles (once with an output buffer too
 *      small, so the avail-in/avail-out bookkeeping is exercised) and sees a corrupt input reported
 *      through `onerror`.
 * The self-test is the whole gate, not a list of Node versions: a new Node that keeps the internal keeps
 * the fast path, one that changes it fails the test. Otherwise `SYNC_HANDLE_AVAILABLE` is false, callers
 * use their public-API fallback, and `SYNC_HANDLE_UNAVAILABLE_REASON` says why.
 */
import zlib from 'node:zlib';

/** zlib's smallest allowed `chunkSize`; the stream object's own output buffer is never used by us. */
const MIN_CHUNK = zlib.constants.Z_MIN_CHUNK;

/** Set once by the load-time self-test below; true while the self-test itself runs. */
let enabled = true;

/** A zlib error reported by the native side (`message` from zlib, `code` such as `'Z_DATA_ERROR'`). */
export interface ZlibCallError {
  readonly message: string;
  readonly errno: number;
  readonly code: string;
}

interface NativeHandle {
  writeSync(
    flush: number,
    input: Uint8Array,
    inOff: number,
    inLen: number,
    out: Uint8Array,
    outOff: number,
    outLen: number,
  ): void;
  close(): void;
  onerror: (message: string, errno: number, code: string) => void;
}

interface EngineShape {
  _handle?: unknown;
  _writeState?: unknown;
}

export interface SyncInflateOptions {
  /** 0 = take the window size from the zlib header (the smallest window that decodes the stream). */
  readonly windowBits: number;
}

export interface SyncDeflateOptions {
  readonly level: number;
  readonly windowBits: number;
  readonly memLevel: number;
}

/**
 * One open zlib context driven synchronously. `write()` runs one zlib call; afterwards `availOut` and
 * `availIn` tell how much output space and input remain, and `error` holds a zlib error if the call
 * failed (the context is then unusable). After `close()` the object must not be used.
 */
export class SyncZlibHandle {
  #handle: NativeHandle | null;
  readonly #state: Uint32Array;
  #error: ZlibCallError | null = null;

  private constructor(handle: NativeHandle, state: Uint32Array) {
    this.#handle = handle;
    this.#state = state;
    handle.onerror = (message, errno, code) => {
      this.#error = { message: String(message), errno: Number(errno), code: String(code) };
    };
  }

  /** Opens an inflate context, or returns null when the internal is unavailable. */
  static inflate(options: SyncInflateOptions): SyncZlibHandle | null {
    if (!enabled) return null;
    return SyncZlibHandle.#open(new zlib.Inflate({ windowBits: options.windowBits, chunkSize: MIN_CHUNK }));
  }

  /** Opens a deflate (zlib-wrapped) context, or returns null when the internal is unavailable. */
  static deflate(options: SyncDeflateOptions): SyncZlibHandle | null {
    if (!enabled) return null;
    return SyncZlibHandle.#open(
      new zlib.Deflate({
        level: options.level,
        windowBits: options.windowBits,
        memLevel: options.memLevel,
        chunkSize: MIN_CHUNK,
      }),
    );
  }

  static #open(engine: object): SyncZlibHandle | null {
    const shape = engine as EngineShape;
    const handle = shape._handle;
    const state = shape._writeState;
    if (!isNativeHandle(handle) || !(state instanceof Uint32Array) || state.length < 2) return null;
    // The handle points back at its stream object (`handle[owner_symbol]`), which only the asynchronous
    // write path reads. Dropping that link lets the stream object (its Readable/Writable state, listeners,
    // output buffer: ~1 KiB) be collected; we keep the handle and the write-state array the native side
    // writes into. The self-test below runs through this same path.
    for (const symbol of Object.getOwnPropertySymbols(handle)) {
      // Assigned, not deleted: a delete would turn the handle into a slow dictionary-mode object.
      if (symbol.description === 'owner_symbol')
        (handle as unknown as Record<symbol, unknown>)[symbol] = null;
    }
    return new SyncZlibHandle(handle, state);
  }

  /** Output space left after the last `write()`. */
  get availOut(): number {
    return this.#state[0]!;
  }

  /** Input bytes left unconsumed after the last `write()`. */
  get availIn(): number {
    return this.#state[1]!;
  }

  /** The zlib error of the last `write()`, or null. */
  get error(): ZlibCallError | null {
    return this.#error;
  }

  get closed(): boolean {
    return this.#handle === null;
  }

  /**
   * One zlib call. Bounds are checked here because the native side aborts the process on bad ones.
   * Returns false when zlib reported an error (see `error`).
   */
  write(
    flush: number,
    input: Uint8Array,
    inOff: number,
    inLen: number,
    out: Uint8Array,
    outOff: number,
    outLen: number,
  ): boolean {
    const handle = this.#handle;
    if (handle === null) throw new Error('zlib handle used after close()');
    if (this.#error !== null) return false;
    // Written so that NaN, negatives and overflows all fail; the native side truncates to uint32, which
    // only makes in-bounds ranges smaller.
    if (
      !(inOff >= 0 && inLen >= 0 && inOff + inLen <= input.byteLength) ||
      !(outOff >= 0 && outLen >= 0 && outOff + outLen <= out.byteLength) ||
      !ArrayBuffer.isView(input) ||
      !ArrayBuffer.isView(out)
    ) {
      throw new RangeError('zlib handle write out of bounds');
    }
    handle.writeSync(flush, input, inOff, inLen, out, outOff, outLen);
    return this.#error === null;
  }

  /** Frees the native context (idempotent). */
  close(): void {
    const handle = this.#handle;
    this.#handle = null;
    if (handle !== null) handle.close();
  }
}

function isNativeHandle(value: unknown): value is NativeHandle {
  if (typeof value !== 'object' || value === null) return false;
  const h = value as Record<string, unknown>;
  return typeof h.writeSync === 'function' && typeof h.close === 'function' && 'onerror' in h;
}

/** Runs the internal once on known data; any surprise disables it. */
function selfTest(): string | null {
  if (typeof zlib.Inflate !== 'function' || typeof zlib.Deflate !== 'function') return 'zlib classes missing';
  const sample = new TextEncoder().encode(
    '{"op":0,"t":"MESSAGE_CREATE","d":{"content":"self-test self-test self-test"}}',
  );
  const deflate = SyncZlibHandle.deflate({ level: 6, windowBits: 15, memLevel: 8 });
  const inflate = SyncZlibHandle.inflate({ windowBits: 0 });
  const piecewise = SyncZlibHandle.inflate({ windowBits: 0 });
  const broken = SyncZlibHandle.inflate({ windowBits: 0 });
  try {
    if (deflate === null || inflate === null || piecewise === null || broken === null)
      return 'unexpected zlib object shape';
    const compressed = new Uint8Array(1024);
    if (!deflate.write(zlib.constants.Z_SYNC_FLUSH, sample, 0, sample.length, compressed, 0, 1024)) {
      return 'deflate self-test failed';
    }
    const clen = 1024 - deflate.availOut;
    if (deflate.availIn !== 0 || clen < 6) return 'deflate self-test produced unexpected state';
    const tail = compressed.subarray(clen - 4, clen);
    if (tail[0] !== 0 || tail[1] !== 0 || tail[2] !== 0xff || tail[3] !== 0xff) return 'no sync-flush marker';
    const plain = new Uint8Array(1024);
    if (!inflate.write(zlib.constants.Z_SYNC_FLUSH, compressed, 0, clen, plain, 0, 1024)) {
      return 'inflate self-test failed';
    }
    const plen = 1024 - inflate.availOut;
    if (inflate.availIn !== 0 || plen !== sample.length) return 'inflate self-test produced unexpected state';
    for (let i = 0; i < plen; i++) if (plain[i] !== sample[i]) return 'inflate self-test mismatch';
    // Again into 16-byte output windows: each call must report the input left and the output space used.
    const pieces = new Uint8Array(sample.length + 16);
    let inOff = 0;
    let outOff = 0;
    for (let calls = 0; calls < 64 && outOff < sample.length; calls++) {
      if (
        !piecewise.write(zlib.constants.Z_SYNC_FLUSH, compressed, inOff, clen - inOff, pieces, outOff, 16)
      ) {
        return 'piecewise inflate self-test failed';
      }
      const used = 16 - piecewise.availOut;
      const read = clen - inOff - piecewise.availIn;
      if (used < 0 || read < 0 || used + read === 0) return 'piecewise inflate made no progress';
      outOff += used;
      inOff += read;
    }
    if (outOff !== sample.length) return 'piecewise inflate self-test produced unexpected length';
    for (let i = 0; i < outOff; i++)
      if (pieces[i] !== sample[i]) return 'piecewise inflate self-test mismatch';
    const garbage = new Uint8Array([0x78, 0x9c, 0xff, 0xff, 0xff, 0xff, 0x00, 0x00, 0xff, 0xff]);
    if (broken.write(zlib.constants.Z_SYNC_FLUSH, garbage, 0, garbage.length, plain, 0, 1024)) {
      return 'corrupt input was not reported through onerror';
    }
    return null;
  } catch (err) {
    return `self-test threw: ${err instanceof Error ? err.message : String(err)}`;
  } finally {
    deflate?.close();
    inflate?.close();
    piecewise?.close();
    broken?.close();
  }
}

/** Why the internal is disabled (null when it is enabled). */
export const SYNC_HANDLE_UNAVAILABLE_REASON: string | null = selfTest();
enabled = SYNC_HANDLE_UNAVAILABLE_REASON === null;
/** True when the synchronous native-handle path passed its load-time checks. */
export const SYNC_HANDLE_AVAILABLE: boolean = enabled;
