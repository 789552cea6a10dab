import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import zlib from 'node:zlib';
import {
  DEFAULT_ZLIB_STREAM_DECODER_OPTIONS,
  type ResolvedZlibEngine,
  ZlibStreamDecoder,
} from '../../src/codec/zlib-stream.js';
import { SYNC_HANDLE_AVAILABLE } from '../../src/codec/zlib-sync-handle.js';
import { DecompressError } from '../../src/errors.js';
import { syncFlushChunks } from '../support/zlib-streams.js';

const ENGINES: readonly ResolvedZlibEngine[] = SYNC_HANDLE_AVAILABLE ? ['handle', 'portable'] : ['portable'];

function isDecompressError(code: string): (err: unknown) => boolean {
  return (err) => {
    assert.ok(err instanceof DecompressError, `expected a DecompressError, got ${String(err)}`);
    assert.equal(err.code, code);
    return true;
  };
}

for (const engine of ENGINES) {
  describe(`zlib-stream limits (${engine} engine)`, () => {
    test('refuses a message dribbled in more fragments than maxPendingFrames', () => {
      const decoder = new ZlibStreamDecoder({ engine });
      const max = DEFAULT_ZLIB_STREAM_DECODER_OPTIONS.maxPendingFrames;
      const byte = Uint8Array.of(0x78);
      for (let i = 0; i < max; i++) assert.equal(decoder.push(byte), null);
      assert.throws(() => decoder.push(byte), isDecompressError('TOO_MANY_FRAGMENTS'));
      // The context stays failed until reset(); then it decodes again.
      assert.throws(() => decoder.push(byte), isDecompressError('DECOMPRESSOR_FAILED'));
      decoder.reset();
      assert.equal(decoder.pendingBytes, 0);
    });

    test('counts fragments per message: a message after many short ones still decodes', async () => {
      const messages = Array.from({ length: 50 }, (_, i) => Buffer.from(`{"op":0,"s":${i},"t":"X","d":{}}`));
      const chunks = await syncFlushChunks(messages);
      const decoder = new ZlibStreamDecoder({ engine, maxPendingFrames: 8 });
      const out: Uint8Array[] = [];
      for (const chunk of chunks) {
        // Each message in at most 8 fragments: never over the limit.
        const step = Math.ceil(chunk.length / 8);
        for (let at = 0; at < chunk.length; at += step) {
          const m = decoder.push(chunk.subarray(at, at + step));
          if (m !== null) out.push(m);
        }
      }
      assert.deepEqual(
        out.map((m) => Buffer.from(m).toString()),
        messages.map((m) => m.toString()),
      );
    });

    test('refuses pending compressed bytes over maxPendingBytes before buffering them', () => {
      const decoder = new ZlibStreamDecoder({ engine, maxPendingBytes: 1024 });
      assert.equal(decoder.push(new Uint8Array(1000)), null);
      assert.throws(() => decoder.push(new Uint8Array(100)), isDecompressError('PAYLOAD_TOO_LARGE'));
      assert.equal(decoder.pendingBytes, 0);
    });

    test('stops inflating a bomb at maxMessageBytes, not after producing it', () => {
      // 64 MiB of one byte compresses to ~64 KiB: the decoder must stop at 1 MiB of output.
      const bomb = zlib.deflateSync(Buffer.alloc(64 * 1024 * 1024, 0x6a), {
        level: 9,
        finishFlush: zlib.constants.Z_SYNC_FLUSH,
      });
      const decoder = new ZlibStreamDecoder({ engine, maxMessageBytes: 1024 * 1024 });
      const before = process.memoryUsage().arrayBuffers;
      assert.throws(() => decoder.push(bomb), isDecompressError('PAYLOAD_TOO_LARGE'));
      // Whatever was allocated for output is bounded by the limit (plus the input), not by 64 MiB.
      assert.ok(process.memoryUsage().arrayBuffers - before < 8 * 1024 * 1024);
    });
  });
}
