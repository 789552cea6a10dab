/**
 * Differential: our TypeScript zstd decoder against streams made by the reference zstd inside node:zlib
 * (Node >= 22.15), compressed the way Discord sends zstd-stream: one frame never ended, window 256 KiB
 * (windowLog 18), a ZSTD_e_flush after every message. Skipped, with the reason, where node:zlib has no zstd.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ZstdStreamDecoder } from '../../src/codec/zstd-stream.js';
import { nativeZstdStream as nativeStream, nativeZstdSkip as skip } from '../support/native-zstd.js';
import { discordLikeMessages } from '../support/zstd-corpus.js';

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
