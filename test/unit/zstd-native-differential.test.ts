/**
 * Differential: our TypeScript zstd decoder against streams made by the reference zstd inside node:zlib
 * (Node >= 22.15), compressed the way Discord sends zstd-stream: one frame never ended, window 256 KiB
 * (windowLog 18), a ZSTD_e_flush after every message. Skipped, with the reason, where node:zlib has no zstd.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import * as zlib from 'node:zlib';
import { ZstdStreamDecoder } from '../../src/codec/zstd-stream.js';
import { discordLikeMessages } from '../support/zstd-corpus.js';

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
const skip =
  typeof z.createZstdCompress === 'function'
    ? false
    : `node:zlib has no zstd on Node ${process.versions.node} (needs >= 22.15)`;

/** Each message compressed and flushed on one never-ending frame: one Uint8Array per message. */
async function nativeStream(messages: readonly Uint8Array[], level: number): Promise<Uint8Array[]> {
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

for (const level of [1, 3, 12]) {
  test(`TypeScript decoder = node:zlib zstd, flushed stream, level ${level}`, { skip }, async () => {
    const messages = discordLikeMessages(1500 + level, 400);
    const frames = await nativeStream(messages, level);
    const compressed = frames.reduce((n, f) => n + f.length, 0);
    const raw = messages.reduce((n, m) => n + m.length, 0);
    assert.ok(compressed < raw / 2, `really compressed (${compressed} of ${raw} bytes)`);
    const d = new ZstdStreamDecoder({ implementation: 'typescript' });
    for (let i = 0; i < frames.length; i++) {
      const out = d.push(frames[i]!);
      assert.ok(out !== null, `message ${i} came out`);
      assert.ok(Buffer.from(out).equals(messages[i]!), `message ${i} byte-equal`);
    }
  });
}
