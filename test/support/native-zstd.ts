/**
 * The reference zstd inside node:zlib (Node >= 22.15) for the TypeScript decoder's differential tests: streams
 * compressed the way Discord sends zstd-stream (one frame never ended, windowLog 18, a ZSTD_e_flush after every
 * message), and the skip reason where node:zlib has no zstd.
 */
import * as zlib from 'node:zlib';

interface ZstdCompressStream {
  write(chunk: Uint8Array): boolean;
  flush(kind: number, callback: () => void): void;
  on(event: 'data', listener: (chunk: Buffer) => void): void;
  close(): void;
}
type ZlibWithZstd = {
  createZstdCompress?: (options: { params: Record<number, number> }) => ZstdCompressStream;
  constants: Record<string, number>;
};
const z = zlib as unknown as ZlibWithZstd;

/** `false` where node:zlib compresses zstd, else the reason to skip (for `test(name, { skip }, …)`). */
export const nativeZstdSkip: false | string =
  typeof z.createZstdCompress === 'function'
    ? false
    : `node:zlib has no zstd on Node ${process.versions.node} (needs >= 22.15)`;

/** Each message compressed and flushed on one never-ending frame: one Uint8Array per message. */
export async function nativeZstdStream(
  messages: readonly Uint8Array[],
  level: number,
): Promise<Uint8Array[]> {
  const c = z.createZstdCompress!({
    params: {
      [z.constants.ZSTD_c_windowLog!]: 18,
      [z.constants.ZSTD_c_compressionLevel!]: level,
    },
  });
  let chunks: Buffer[] = [];
  c.on('data', (d) => chunks.push(d));
  const frames: Uint8Array[] = [];
  for (const m of messages) {
    c.write(m);
    await new Promise<void>((resolve) => c.flush(z.constants.ZSTD_e_flush!, resolve));
    frames.push(Buffer.concat(chunks));
    chunks = [];
  }
  c.close();
  return frames;
}
