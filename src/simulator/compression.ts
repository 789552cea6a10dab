import { constants, deflateRawSync } from 'node:zlib';
import type { Compression } from '../codec/formats.js';
import { ZstdStreamEncoder } from '../codec/zstd-stream.js';

/**
 * Transport compression of the simulator's output, synchronous so frames leave in order.
 *
 * zlib-stream: one zlib stream per connection (header `78 9c` on the first message), every message ending in
 * a `Z_SYNC_FLUSH` (`00 00 ff ff`). A dispatch is written as a stored block holding the per-session prefix
 * (it carries `s`) followed by the compressed body, which is deflated once and shared by every connection
 * (the concatenation is a valid deflate stream; the body never refers back to earlier messages).
 *
 * zstd-stream: one never-ending zstd frame per connection (`28 b5 2f fd 00 40`: no checksum, 256 KiB window),
 * every message a run of raw (stored) blocks. Valid zstd that any decoder reads; no compression ratio
 * (Node 20 has no zstd compressor). With `zstdCompress` the shared TypeScript encoder (src/codec) is used.
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
   * returns the body in this compressor's shareable form (cached by the caller).
   */
  parts(prefix: Uint8Array, body: Uint8Array, shared: () => Uint8Array): Uint8Array;
}

class ZlibStreamCompressor implements TransportCompressor {
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

class ZstdStreamCompressor implements TransportCompressor {
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
class ZstdEncoderCompressor implements TransportCompressor {
  readonly mode = 'zstd-stream' as const;
  readonly #encoder = new ZstdStreamEncoder();
  message(payload: Uint8Array): Uint8Array {
    return this.#encoder.encode(payload);
  }
  parts(prefix: Uint8Array, body: Uint8Array): Uint8Array {
    return this.#encoder.encode(concat([prefix, body]));
  }
}

/** `zstdCompress`: use the shared zstd encoder (ratio, more CPU) instead of raw blocks (cheap, no ratio). */
export function createCompressor(mode: Compression, zstdCompress = false): TransportCompressor | undefined {
  if (mode === 'zlib-stream') return new ZlibStreamCompressor();
  if (mode === 'zstd-stream') return zstdCompress ? new ZstdEncoderCompressor() : new ZstdStreamCompressor();
  return undefined;
}
