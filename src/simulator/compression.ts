import zlib, { constants, deflateRawSync } from 'node:zlib';
import type { Compression } from '../codec/formats.js';
import { ZlibStreamEncoder } from '../codec/zlib-stream.js';
import { ZstdStreamDecoder, ZstdStreamEncoder } from '../codec/zstd-stream.js';

/**
 * Transport compression of the simulator's output, synchronous so frames leave in order, compressing for
 * real as Discord does.
 *
 * zlib-stream: one deflate stream per connection (header `78 9c` on the first message), every message
 * ending in a `Z_SYNC_FLUSH` (`00 00 ff ff`); the 32 KiB window spans messages, so a message may refer back
 * into earlier ones.
 *
 * zstd-stream: one never-ending zstd frame per connection (`28 b5 2f fd 00 40`: no checksum, 256 KiB
 * window), flushed (block boundary) after every message. The `zstdEncoder` option picks who writes it:
 * - `'native'`: node:zlib's zstd (`createZstdCompress`, windowLog 18, `ZSTD_e_flush` per message), driven
 *   synchronously through its handle; feature-checked and self-tested before first use.
 * - `'typescript'`: the shared pure-TypeScript encoder (src/codec): real ratio, more CPU.
 * - `'raw-blocks'`: each message as raw (stored) blocks: valid zstd with no ratio, cheapest.
 * - `'auto'` (default): `'native'` where this Node has it (>= 22.15), else `'raw-blocks'` with a one-line
 *   notice; `stats().compression` says which one runs and what ratio was sent.
 *
 * `COMPRESSIONS` is the server's own list of what it accepts, on purpose (independent peer); only the type
 * name is shared with the client.
 */
export const COMPRESSIONS = ['none', 'zlib-stream', 'zstd-stream'] as const satisfies readonly Compression[];
export type { Compression };

const ZLIB_HEADER = Uint8Array.of(0x78, 0x9c);
const ZSTD_FRAME_HEADER = Uint8Array.of(0x28, 0xb5, 0x2f, 0xfd, 0x00, 0x40);
const ZSTD_MAX_BLOCK = 128 * 1024;
const STORED_MAX = 0xffff;

/** Raw-deflate segment of `bytes` ending in a sync flush (`00 00 ff ff`), never a final block. */
export function deflateSegment(bytes: Uint8Array): Uint8Array {
  return deflateRawSync(bytes, { finishFlush: constants.Z_SYNC_FLUSH });
}

/** `bytes` as stored (uncompressed) deflate blocks; byte-aligned, not final. */
export function storedSegment(bytes: Uint8Array): Uint8Array {
  const blocks = Math.max(1, Math.ceil(bytes.length / STORED_MAX));
  const out = new Uint8Array(bytes.length + blocks * 5);
  let at = 0;
  for (let i = 0; i < blocks; i++) {
    const chunk = bytes.subarray(i * STORED_MAX, (i + 1) * STORED_MAX);
    out[at] = 0;
    out[at + 1] = chunk.length & 0xff;
    out[at + 2] = chunk.length >>> 8;
    out[at + 3] = ~chunk.length & 0xff;
    out[at + 4] = (~chunk.length >>> 8) & 0xff;
    out.set(chunk, at + 5);
    at += 5 + chunk.length;
  }
  return out;
}

/** `bytes` as zstd raw blocks (never the last block of the frame). */
export function zstdRawBlocks(bytes: Uint8Array): Uint8Array {
  const blocks = Math.max(1, Math.ceil(bytes.length / ZSTD_MAX_BLOCK));
  const out = new Uint8Array(bytes.length + blocks * 3);
  let at = 0;
  for (let i = 0; i < blocks; i++) {
    const chunk = bytes.subarray(i * ZSTD_MAX_BLOCK, (i + 1) * ZSTD_MAX_BLOCK);
    const header = chunk.length << 3; // Last_Block = 0, Block_Type = 0 (raw)
    out[at] = header & 0xff;
    out[at + 1] = (header >>> 8) & 0xff;
    out[at + 2] = (header >>> 16) & 0xff;
    out.set(chunk, at + 3);
    at += 3 + chunk.length;
  }
  return out;
}

function concat(parts: readonly Uint8Array[]): Uint8Array {
  let size = 0;
  for (const p of parts) size += p.length;
  const out = Buffer.allocUnsafe(size);
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** Per-connection compression context. */
export interface TransportCompressor {
  readonly mode: Exclude<Compression, 'none'>;
  /** One whole payload → one message's bytes. */
  message(payload: Uint8Array): Uint8Array;
  /**
   * A payload made of a per-connection `prefix` and a `body` shared by many connections; `shared()`
   * returns the body in a shareable form (cached by the caller) for compressors that can use one.
   */
  parts(prefix: Uint8Array, body: Uint8Array, shared: () => Uint8Array): Uint8Array;
}

/** One deflate stream per connection: the window spans messages, a sync flush ends each one. */
class ZlibStreamCompressor implements TransportCompressor {
  readonly mode = 'zlib-stream' as const;
  readonly #encoder = new ZlibStreamEncoder();
  message(payload: Uint8Array): Uint8Array {
    return this.#encoder.encode(payload);
  }
  parts(prefix: Uint8Array, body: Uint8Array): Uint8Array {
    return this.#encoder.encode(concat([prefix, body]));
  }
}

/**
 * zlib-stream whose messages never refer back: each is deflated on its own (a shared body as a stored
 * prefix plus a body deflated once for every connection). Valid, cheap to fan out, no cross-message window;
 * for test servers that splice hand-made segments into a stream.
 */
class ZlibSegmentsCompressor implements TransportCompressor {
  readonly mode = 'zlib-stream' as const;
  #started = false;
  #head(): Uint8Array[] {
    if (this.#started) return [];
    this.#started = true;
    return [ZLIB_HEADER];
  }
  message(payload: Uint8Array): Uint8Array {
    return concat([...this.#head(), deflateSegment(payload)]);
  }
  parts(prefix: Uint8Array, _body: Uint8Array, shared: () => Uint8Array): Uint8Array {
    return concat([...this.#head(), storedSegment(prefix), shared()]);
  }
}

/** zstd-stream as raw blocks: valid, no ratio (`zstdEncoder: 'raw-blocks'`). */
class ZstdRawBlocksCompressor implements TransportCompressor {
  readonly mode = 'zstd-stream' as const;
  #started = false;
  #head(): Uint8Array[] {
    if (this.#started) return [];
    this.#started = true;
    return [ZSTD_FRAME_HEADER];
  }
  message(payload: Uint8Array): Uint8Array {
    return concat([...this.#head(), zstdRawBlocks(payload)]);
  }
  parts(prefix: Uint8Array, body: Uint8Array): Uint8Array {
    return concat([...this.#head(), zstdRawBlocks(concat([prefix, body]))]);
  }
}

/** zstd-stream through the shared pure-TypeScript encoder: real compression, a window across messages. */
class ZstdTypescriptCompressor implements TransportCompressor {
  readonly mode = 'zstd-stream' as const;
  readonly #encoder = new ZstdStreamEncoder({ windowLog: ZSTD_WINDOW_LOG });
  message(payload: Uint8Array): Uint8Array {
    return this.#encoder.encode(payload);
  }
  parts(prefix: Uint8Array, body: Uint8Array): Uint8Array {
    return this.#encoder.encode(concat([prefix, body]));
  }
}

// ── node:zlib's zstd, driven synchronously ──────────────────────────────────────────────────────────

/** Discord's zstd-stream window: 256 KiB (frame header window descriptor `40`). */
const ZSTD_WINDOW_LOG = 18;
/** zstd's own default level; Discord does not publish its level (its blog describes tuning the logs). */
const ZSTD_LEVEL = 3;

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
}
interface ZstdCompressEngine {
  _handle: ZstdHandle | null;
  _writeState: Uint32Array;
  on(event: 'error', listener: (err: Error) => void): unknown;
}
type CreateZstdCompress = (options?: { params?: Record<number, number> }) => ZstdCompressEngine;

const zlibWithZstd = zlib as unknown as {
  createZstdCompress?: CreateZstdCompress;
  constants: Record<string, number | undefined>;
};
const ZSTD_CONSTANTS = zlibWithZstd.constants;
const OUT_CHUNK_BYTES = 64 * 1024;
let nativeScratch: Buffer | undefined;

/**
 * node:zlib only offers zstd compression as an asynchronous stream; its internal handle's `writeSync`
 * (what Node's own `*Sync` functions use) keeps one ZSTD_CCtx across calls, so each message is written with
 * `ZSTD_e_flush` and comes back whole, synchronously, in order. Feature-checked and self-tested before use.
 */
class ZstdNativeCompressor implements TransportCompressor {
  readonly mode = 'zstd-stream' as const;
  readonly #engine: ZstdCompressEngine;
  readonly #handle: ZstdHandle;
  #error: string | null = null;

  constructor() {
    const create = zlibWithZstd.createZstdCompress;
    const c = ZSTD_CONSTANTS;
    if (
      typeof create !== 'function' ||
      c.ZSTD_c_windowLog === undefined ||
      c.ZSTD_c_compressionLevel === undefined ||
      c.ZSTD_e_flush === undefined
    )
      throw new Error(`node:zlib has no zstd compressor in Node ${process.versions.node}`);
    this.#engine = create({
      params: { [c.ZSTD_c_windowLog]: ZSTD_WINDOW_LOG, [c.ZSTD_c_compressionLevel]: ZSTD_LEVEL },
    });
    this.#engine.on('error', () => {});
    const handle = this.#engine._handle;
    if (
      !handle ||
      typeof handle.writeSync !== 'function' ||
      !(this.#engine._writeState instanceof Uint32Array)
    )
      throw new Error('node:zlib zstd internals are not as expected');
    this.#handle = handle;
    const original = handle.onerror;
    handle.onerror = (message: string, errno: number, code?: string) => {
      this.#error = `${message}${code ? ` (${code})` : ''}`;
      original.call(handle, message, errno, code);
    };
  }

  message(payload: Uint8Array): Uint8Array {
    const flush = ZSTD_CONSTANTS.ZSTD_e_flush!;
    const state = this.#engine._writeState;
    nativeScratch ??= Buffer.allocUnsafe(OUT_CHUNK_BYTES);
    let out = nativeScratch;
    let outOff = 0;
    let inOff = 0;
    let inLen = payload.byteLength;
    for (;;) {
      const outLen = out.length - outOff;
      this.#handle.writeSync(flush, payload, inOff, inLen, out, outOff, outLen);
      if (this.#error !== null) throw new Error(`zstd compression failed: ${this.#error}`);
      const availOut = state[0]!;
      const availIn = state[1]!;
      outOff += outLen - availOut;
      inOff += inLen - availIn;
      inLen = availIn;
      // ZSTD_e_flush returns with room left in the output only once everything is flushed.
      if (availOut !== 0) break;
      const grown = Buffer.allocUnsafe(out.length * 2);
      out.copy(grown, 0, 0, outOff);
      out = grown;
    }
    const result = Buffer.allocUnsafe(outOff);
    out.copy(result, 0, 0, outOff);
    return result;
  }

  parts(prefix: Uint8Array, body: Uint8Array): Uint8Array {
    return this.message(concat([prefix, body]));
  }
}

let nativeUnavailable: string | null | undefined;

/**
 * Why node:zlib's zstd cannot compress here (null when it can): feature check plus a round trip of two
 * messages, the second referring back into the first, through our decoder. Computed once.
 */
export function nativeZstdCompressUnavailable(): string | null {
  if (nativeUnavailable !== undefined) return nativeUnavailable;
  try {
    const c = new ZstdNativeCompressor();
    const text = new TextEncoder().encode('{"op":0,"t":"SELF_TEST","d":{"text":"zstd-stream self-test"}}');
    const a = c.message(text);
    const b = c.message(text);
    const d = new ZstdStreamDecoder({ implementation: 'typescript' });
    const ra = d.push(a);
    const rb = d.push(b);
    const same = (x: Uint8Array | null) => x !== null && Buffer.from(x).equals(Buffer.from(text));
    nativeUnavailable =
      !same(ra) || !same(rb)
        ? 'the node:zlib zstd self-test decoded wrong bytes'
        : Buffer.from(a.subarray(0, 6)).equals(Buffer.from(ZSTD_FRAME_HEADER))
          ? null
          : `node:zlib zstd wrote an unexpected frame header ${Buffer.from(a.subarray(0, 6)).toString('hex')}`;
  } catch (err) {
    nativeUnavailable = err instanceof Error ? err.message : String(err);
  }
  return nativeUnavailable;
}

// ── choice, counters, factory ───────────────────────────────────────────────────────────────────────

/** Who writes the simulator's zstd-stream (see the module comment). */
export const ZSTD_ENCODERS = ['auto', 'native', 'typescript', 'raw-blocks'] as const;
export type ZstdEncoderChoice = (typeof ZSTD_ENCODERS)[number];
export type ZstdEncoder = Exclude<ZstdEncoderChoice, 'auto'>;

/** Messages and bytes one compression mode sent: `payloadBytes` before, `wireBytes` after compression. */
export interface CompressionModeStats {
  readonly messages: number;
  readonly payloadBytes: number;
  readonly wireBytes: number;
}

/** What the simulator's compression actually did (`stats().compression`). */
export interface CompressionStats {
  /** Who writes zstd-stream in this simulator. */
  readonly zstdEncoder: ZstdEncoder;
  /** Set when `'auto'` fell back to raw blocks: why zstd-stream output is not compressed. */
  readonly notice: string | null;
  readonly 'zlib-stream': CompressionModeStats;
  readonly 'zstd-stream': CompressionModeStats;
}

interface Tally {
  messages: number;
  payloadBytes: number;
  wireBytes: number;
}

let noticePrinted = false;

/** One simulator's compression settings and byte counters, shared by its connections. */
export class CompressionCounters {
  readonly zstdEncoder: ZstdEncoder;
  readonly notice: string | null;
  readonly #tallies: Record<'zlib-stream' | 'zstd-stream', Tally> = {
    'zlib-stream': { messages: 0, payloadBytes: 0, wireBytes: 0 },
    'zstd-stream': { messages: 0, payloadBytes: 0, wireBytes: 0 },
  };

  constructor(choice: ZstdEncoderChoice) {
    if (choice !== 'auto') {
      this.zstdEncoder = choice;
      this.notice = null;
      return;
    }
    const why = nativeZstdCompressUnavailable();
    this.zstdEncoder = why === null ? 'native' : 'raw-blocks';
    this.notice = why === null ? null : `zstd-stream is sent as uncompressed raw blocks (no ratio): ${why}`;
  }

  /** A new connection's compressor (undefined for `none`); counts what it sends. */
  create(mode: Compression): TransportCompressor | undefined {
    if (mode === 'none') return undefined;
    if (mode === 'zstd-stream' && this.notice !== null && !noticePrinted) {
      noticePrinted = true;
      console.warn(`shardline simulator: ${this.notice}`);
    }
    const inner = createCompressor(mode, { zstdEncoder: this.zstdEncoder });
    if (inner === undefined) return undefined;
    const tally = this.#tallies[inner.mode];
    return {
      mode: inner.mode,
      message(payload) {
        const out = inner.message(payload);
        tally.messages++;
        tally.payloadBytes += payload.byteLength;
        tally.wireBytes += out.byteLength;
        return out;
      },
      parts(prefix, body, shared) {
        const out = inner.parts(prefix, body, shared);
        tally.messages++;
        tally.payloadBytes += prefix.byteLength + body.byteLength;
        tally.wireBytes += out.byteLength;
        return out;
      },
    };
  }

  snapshot(): CompressionStats {
    return {
      zstdEncoder: this.zstdEncoder,
      notice: this.notice,
      'zlib-stream': { ...this.#tallies['zlib-stream'] },
      'zstd-stream': { ...this.#tallies['zstd-stream'] },
    };
  }
}

/**
 * A compressor for one connection. `zstdEncoder` picks who writes zstd-stream (default `'raw-blocks'`);
 * `zlibIndependent` makes every zlib-stream message stand alone (no back-references into earlier ones).
 */
export function createCompressor(
  mode: Compression,
  options: { zstdEncoder?: ZstdEncoder; zlibIndependent?: boolean } = {},
): TransportCompressor | undefined {
  if (mode === 'zlib-stream')
    return options.zlibIndependent ? new ZlibSegmentsCompressor() : new ZlibStreamCompressor();
  const zstdEncoder = options.zstdEncoder ?? 'raw-blocks';
  if (mode !== 'zstd-stream') return undefined;
  if (zstdEncoder === 'native') return new ZstdNativeCompressor();
  if (zstdEncoder === 'typescript') return new ZstdTypescriptCompressor();
  return new ZstdRawBlocksCompressor();
}
