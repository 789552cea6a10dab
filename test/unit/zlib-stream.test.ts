import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import zlib from 'node:zlib';
import {
  type ResolvedZlibEngine,
  ZLIB_SUFFIX,
  ZlibStreamDecoder,
  ZlibStreamEncoder,
} from '../../src/codec/zlib-stream.js';
import { SYNC_HANDLE_AVAILABLE } from '../../src/codec/zlib-sync-handle.js';
import { ConfigError, DecompressError } from '../../src/errors.js';
import { seededRandom } from '../../src/util/clock.js';
import { jsonMessage, syncFlushChunks } from '../support/zlib-streams.js';

const ENGINES: readonly ResolvedZlibEngine[] = SYNC_HANDLE_AVAILABLE ? ['handle', 'portable'] : ['portable'];

const SMALL_MESSAGES: readonly Buffer[] = [
  Buffer.from('{"op":10,"d":{"heartbeat_interval":41250}}'),
  Buffer.alloc(0),
  jsonMessage(300, 1),
  Buffer.from('{"op":11}'),
  jsonMessage(1_500, 2),
  jsonMessage(300, 1), // repeats an earlier message: back-references across messages
];

function isDecompressError(code: string): (err: unknown) => boolean {
  return (err) => {
    assert.ok(err instanceof DecompressError, `expected a DecompressError, got ${String(err)}`);
    assert.equal(err.code, code);
    return true;
  };
}

/** Decodes `frames`; asserts a message comes out exactly at each message's last frame. */
function decodeFrames(decoder: ZlibStreamDecoder, frames: readonly Uint8Array[]): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (const frame of frames) {
    const message = decoder.push(frame);
    if (message !== null) out.push(message);
  }
  return out;
}

function assertMessages(actual: readonly Uint8Array[], expected: readonly Uint8Array[]): void {
  assert.equal(actual.length, expected.length);
  actual.forEach((message, i) => {
    assert.ok(Buffer.from(message).equals(expected[i]!), `message ${i} differs`);
  });
}

for (const engine of ENGINES) {
  describe(`ZlibStreamDecoder (${engine} engine)`, () => {
    test('decodes a node:zlib stream with the message split at every byte boundary', async () => {
      const chunks = await syncFlushChunks(SMALL_MESSAGES);
      const decoder = new ZlibStreamDecoder({ engine });
      assert.equal(decoder.engine, engine);
      for (let m = 0; m < chunks.length; m++) {
        const chunk = chunks[m]!;
        for (let cut = 1; cut < chunk.length; cut++) {
          decoder.reset();
          const frames = chunks.flatMap((c, i) => (i === m ? [c.subarray(0, cut), c.subarray(cut)] : [c]));
          assertMessages(decodeFrames(decoder, frames), SMALL_MESSAGES);
        }
      }
    });

    test('decodes a stream fed one byte per frame, returning null until each message ends', async () => {
      const chunks = await syncFlushChunks(SMALL_MESSAGES);
      const decoder = new ZlibStreamDecoder({ engine });
      chunks.forEach((chunk, i) => {
        for (let b = 0; b < chunk.length - 1; b++) assert.equal(decoder.push(chunk.subarray(b, b + 1)), null);
        const message = decoder.push(chunk.subarray(chunk.length - 1));
        assert.ok(message !== null && Buffer.from(message).equals(SMALL_MESSAGES[i]!));
        assert.equal(decoder.pendingBytes, 0);
      });
    });

    test('decodes a 2 MB message split at random points, then small messages after it', async () => {
      const big = jsonMessage(2 * 1024 * 1024, 7);
      const messages = [SMALL_MESSAGES[0]!, big, SMALL_MESSAGES[2]!, big.subarray(0, 40_000)];
      const chunks = await syncFlushChunks(messages);
      const random = seededRandom(42);
      for (let round = 0; round < 3; round++) {
        const frames: Uint8Array[] = [];
        for (const chunk of chunks) {
          let at = 0;
          while (at < chunk.length) {
            const size = 1 + Math.floor(random() * 80_000);
            frames.push(chunk.subarray(at, at + size));
            at += size;
          }
        }
        assertMessages(decodeFrames(new ZlibStreamDecoder({ engine }), frames), messages);
      }
    });

    test('decodes streams made with other levels and a small window', async () => {
      for (const options of [{ level: 1 }, { level: 9 }, { level: 0 }, { windowBits: 9, memLevel: 1 }]) {
        const chunks = await syncFlushChunks(SMALL_MESSAGES, options);
        assertMessages(decodeFrames(new ZlibStreamDecoder({ engine }), chunks), SMALL_MESSAGES);
      }
    });

    test('returns messages that later pushes do not overwrite, also across interleaved decoders', async () => {
      const a = await syncFlushChunks(SMALL_MESSAGES);
      const b = await syncFlushChunks([...SMALL_MESSAGES].reverse());
      const da = new ZlibStreamDecoder({ engine });
      const db = new ZlibStreamDecoder({ engine });
      const outA: Uint8Array[] = [];
      const outB: Uint8Array[] = [];
      for (let i = 0; i < a.length; i++) {
        outA.push(da.push(a[i]!)!);
        outB.push(db.push(b[i]!)!);
      }
      assertMessages(outA, SMALL_MESSAGES);
      assertMessages(outB, [...SMALL_MESSAGES].reverse());
    });

    test('decodes a new stream after reset()', async () => {
      const chunks = await syncFlushChunks(SMALL_MESSAGES);
      const decoder = new ZlibStreamDecoder({ engine });
      decodeFrames(decoder, chunks.slice(0, 3));
      assert.equal(decoder.push(chunks[3]!.subarray(0, 2)), null);
      decoder.reset();
      assert.equal(decoder.pendingBytes, 0);
      assertMessages(decodeFrames(decoder, chunks), SMALL_MESSAGES);
    });

    test('rejects corrupt data with ZLIB_INVALID, then every later push until reset()', async () => {
      const chunks = await syncFlushChunks(SMALL_MESSAGES);
      const decoder = new ZlibStreamDecoder({ engine });
      decoder.push(chunks[0]!);
      const bad = Buffer.from(chunks[2]!);
      bad.fill(0xff, 0, 6); // a run of 1-bits: an invalid block type
      assert.throws(() => decoder.push(bad), isDecompressError('ZLIB_INVALID'));
      assert.throws(
        () => decoder.push(chunks[3]!),
        (err) => {
          assert.ok(err instanceof DecompressError && err.code === 'DECOMPRESSOR_FAILED');
          assert.ok(err.cause instanceof DecompressError && err.cause.code === 'ZLIB_INVALID');
          return true;
        },
      );
      decoder.reset();
      assertMessages(decodeFrames(decoder, chunks), SMALL_MESSAGES);
    });

    test('rejects a stream that does not start with a zlib header (first frames lost)', async () => {
      const chunks = await syncFlushChunks(SMALL_MESSAGES);
      const decoder = new ZlibStreamDecoder({ engine });
      assert.throws(() => decoder.push(chunks[2]!), isDecompressError('ZLIB_INVALID'));
      const withDictionary = Buffer.from([0x78, 0xbb, 0, 0, 0, 1, 0, 0, 0xff, 0xff]);
      decoder.reset();
      assert.throws(() => decoder.push(withDictionary), isDecompressError('ZLIB_INVALID'));
    });

    test('rejects a back-reference beyond the data seen so far', () => {
      // Fixed-Huffman block whose first symbol is a match (length 3, distance 1) with no prior output.
      const decoder = new ZlibStreamDecoder({ engine });
      const frame = Buffer.concat([Buffer.from([0x78, 0x9c, 0x02, 0x02, 0x00]), Buffer.from(ZLIB_SUFFIX)]);
      assert.throws(() => decoder.push(frame), isDecompressError('ZLIB_INVALID'));
    });

    test('reports a stream cut inside a message as ZLIB_TRUNCATED on end()', async () => {
      const chunks = await syncFlushChunks(SMALL_MESSAGES);
      const decoder = new ZlibStreamDecoder({ engine });
      decoder.push(chunks[0]!);
      decoder.end(); // nothing pending: fine
      assert.equal(decoder.push(chunks[2]!.subarray(0, 10)), null);
      assert.equal(decoder.pendingBytes, 10);
      assert.throws(() => decoder.end(), isDecompressError('ZLIB_TRUNCATED'));
      assert.throws(() => decoder.push(chunks[2]!), isDecompressError('DECOMPRESSOR_FAILED'));
    });

    test('rejects input after the end of a finished zlib stream', () => {
      const ended = zlib.deflateSync(Buffer.from('{"op":11}'));
      const decoder = new ZlibStreamDecoder({ engine });
      const extra = Buffer.concat([ended, Buffer.from([0x02, 0x00]), Buffer.from(ZLIB_SUFFIX)]);
      assert.throws(() => decoder.push(extra), isDecompressError('ZLIB_INVALID'));
    });

    test('answers randomly corrupted streams with messages or a DecompressError, never anything else', async () => {
      const chunks = await syncFlushChunks(SMALL_MESSAGES);
      const random = seededRandom(7);
      const decoder = new ZlibStreamDecoder({ engine, maxMessageBytes: 64 * 1024 });
      for (let round = 0; round < 300; round++) {
        decoder.reset();
        const frames = chunks.map((c) => Buffer.from(c));
        const flips = 1 + Math.floor(random() * 4);
        for (let f = 0; f < flips; f++) {
          const frame = frames[Math.floor(random() * frames.length)]!;
          frame[Math.floor(random() * frame.length)] = Math.floor(random() * 256);
        }
        try {
          for (const frame of frames) {
            const message = decoder.push(frame);
            if (message !== null) assert.ok(message.byteLength <= 64 * 1024);
          }
        } catch (err) {
          assert.ok(err instanceof DecompressError, `round ${round}: ${String(err)}`);
        }
      }
    });

    test('stops a decompression bomb with PAYLOAD_TOO_LARGE', async () => {
      const [bomb] = await syncFlushChunks([Buffer.alloc(64 * 1024 * 1024)]);
      assert.ok(bomb!.length < 100_000);
      const decoder = new ZlibStreamDecoder({ engine, maxMessageBytes: 1024 * 1024 });
      assert.throws(() => decoder.push(bomb!), isDecompressError('PAYLOAD_TOO_LARGE'));
      assert.throws(() => decoder.push(bomb!), isDecompressError('DECOMPRESSOR_FAILED'));
    });

    test('accepts a message of exactly maxMessageBytes and rejects one byte more', async () => {
      const limit = 100_000;
      const chunks = await syncFlushChunks([Buffer.alloc(limit, 1), Buffer.alloc(limit + 1, 1)]);
      const decoder = new ZlibStreamDecoder({ engine, maxMessageBytes: limit });
      assert.equal(decoder.push(chunks[0]!)?.length, limit);
      assert.throws(() => decoder.push(chunks[1]!), isDecompressError('PAYLOAD_TOO_LARGE'));
    });

    test('rejects pending input that grows past maxMessageBytes without a message end', () => {
      const decoder = new ZlibStreamDecoder({ engine, maxMessageBytes: 1000 });
      const frame = Buffer.alloc(400, 0x41);
      assert.equal(decoder.push(frame), null);
      assert.equal(decoder.push(frame), null);
      assert.throws(() => decoder.push(frame), isDecompressError('PAYLOAD_TOO_LARGE'));
      assert.equal(decoder.pendingBytes, 0);
    });

    test('throws after close() and works again after reset()', async () => {
      const chunks = await syncFlushChunks(SMALL_MESSAGES);
      const decoder = new ZlibStreamDecoder({ engine });
      decoder.push(chunks[0]!);
      decoder.close();
      decoder.close();
      assert.throws(() => decoder.push(chunks[1]!), isDecompressError('DECOMPRESSOR_FAILED'));
      decoder.reset();
      assertMessages(decodeFrames(decoder, chunks), SMALL_MESSAGES);
    });

    test('rejects a frame that is not a Uint8Array without failing the context', async () => {
      const chunks = await syncFlushChunks(SMALL_MESSAGES);
      const decoder = new ZlibStreamDecoder({ engine });
      assert.throws(
        () => decoder.push(new ArrayBuffer(8) as unknown as Uint8Array),
        isDecompressError('DECOMPRESSOR_FAILED'),
      );
      assertMessages(decodeFrames(decoder, chunks), SMALL_MESSAGES);
    });
  });

  describe(`ZlibStreamEncoder (${engine} engine)`, () => {
    test('emits sync-flushed chunks that node:zlib and both decoder engines read as one stream', () => {
      const encoder = new ZlibStreamEncoder({ engine });
      const messages = [...SMALL_MESSAGES, jsonMessage(300_000, 3), ...SMALL_MESSAGES];
      const chunks = messages.map((m) => encoder.encode(m));
      assert.deepEqual([...chunks[0]!.subarray(0, 2)], [0x78, 0x9c]);
      for (const chunk of chunks) assert.deepEqual([...chunk.subarray(-4)], ZLIB_SUFFIX);
      const all = Buffer.concat(chunks);
      const reference = zlib.inflateSync(all, { finishFlush: zlib.constants.Z_SYNC_FLUSH });
      assert.ok(reference.equals(Buffer.concat(messages)));
      for (const decoderEngine of ENGINES) {
        assertMessages(decodeFrames(new ZlibStreamDecoder({ engine: decoderEngine }), chunks), messages);
      }
    });

    test('honours level, window and memory settings and starts a new stream after reset()', () => {
      const encoder = new ZlibStreamEncoder({ engine, level: 1, windowBits: 9, memLevel: 1 });
      const first = [encoder.encode(SMALL_MESSAGES[2]!), encoder.encode(SMALL_MESSAGES[4]!)];
      assert.deepEqual([...first[0]!.subarray(0, 2)], [0x18, 0x19]);
      encoder.reset();
      const second = [encoder.encode(SMALL_MESSAGES[4]!)];
      const decoder = new ZlibStreamDecoder();
      assertMessages(decodeFrames(decoder, first), [SMALL_MESSAGES[2]!, SMALL_MESSAGES[4]!]);
      decoder.reset();
      assertMessages(decodeFrames(decoder, second), [SMALL_MESSAGES[4]!]);
      encoder.close();
      assert.throws(() => encoder.encode(SMALL_MESSAGES[0]!), isDecompressError('COMPRESSOR_FAILED'));
    });
  });
}

test('both decoder engines give the same bytes for the same stream', async (t) => {
  if (!SYNC_HANDLE_AVAILABLE) {
    t.skip('the synchronous handle is unavailable on this Node; only the portable engine runs');
    return;
  }
  const messages = [...SMALL_MESSAGES, jsonMessage(200_000, 5), ...SMALL_MESSAGES];
  const chunks = await syncFlushChunks(messages);
  const viaHandle = decodeFrames(new ZlibStreamDecoder({ engine: 'handle' }), chunks);
  const viaPortable = decodeFrames(new ZlibStreamDecoder({ engine: 'portable' }), chunks);
  assertMessages(viaHandle, messages);
  assertMessages(viaPortable, viaHandle);
});

test('transientOutput: each message is right when read before the next push, across interleaved decoders', async () => {
  // Two connections of one thread share the transient buffer; sizes cross the 64 KiB buffer and the
  // large-input path, so every way out of the inflate loop is taken.
  const a = [...SMALL_MESSAGES, jsonMessage(70_000, 3), jsonMessage(600_000, 4), ...SMALL_MESSAGES];
  const b = [jsonMessage(900, 7), jsonMessage(65_536, 8), ...SMALL_MESSAGES, jsonMessage(20, 9)];
  const chunksA = await syncFlushChunks(a);
  const chunksB = await syncFlushChunks(b);
  for (const engine of ENGINES) {
    const da = new ZlibStreamDecoder({ engine, transientOutput: true });
    const db = new ZlibStreamDecoder({ engine, transientOutput: true });
    assert.equal(da.options.transientOutput, true);
    const kept: Uint8Array[] = [];
    for (let i = 0; i < Math.max(a.length, b.length); i++) {
      for (const [decoder, chunks, messages] of [
        [da, chunksA, a],
        [db, chunksB, b],
      ] as const) {
        if (i >= chunks.length) continue;
        const message = decoder.push(chunks[i]!);
        assert.ok(message !== null);
        assert.ok(Buffer.from(message).equals(messages[i]!), `${engine}: message ${i} differs`);
        kept.push(message);
      }
    }
    if (engine === 'handle') {
      // The point of the option: small messages are views of one reused buffer (so old ones are overwritten).
      const small = kept.filter((m) => m.byteLength > 0 && m.byteLength < 16 * 1024);
      assert.ok(small.length > 4);
      assert.ok(small.every((m) => m.buffer === small[0]!.buffer && m.byteOffset === 0));
    }
  }
  // Default: every message stays valid after later pushes.
  const decoder = new ZlibStreamDecoder();
  assert.equal(decoder.options.transientOutput, false);
  assertMessages(decodeFrames(decoder, chunksA), a);
});

test('auto picks the synchronous handle when it passed its self-test', () => {
  assert.equal(new ZlibStreamDecoder().engine, SYNC_HANDLE_AVAILABLE ? 'handle' : 'portable');
  assert.equal(new ZlibStreamEncoder().engine, SYNC_HANDLE_AVAILABLE ? 'handle' : 'portable');
});

test('rejects bad options with ConfigError naming the option', () => {
  const cases: [() => unknown, string][] = [
    [() => new ZlibStreamDecoder({ maxMessageBytes: 0 }), 'maxMessageBytes'],
    [() => new ZlibStreamDecoder({ maxMessageBytes: 1.5 }), 'maxMessageBytes'],
    [() => new ZlibStreamDecoder({ engine: 'fast' as 'auto' }), 'engine'],
    [() => new ZlibStreamDecoder({ transientOutput: 1 as unknown as boolean }), 'transientOutput'],
    [() => new ZlibStreamEncoder({ level: 10 }), 'level'],
    [() => new ZlibStreamEncoder({ windowBits: 8 }), 'windowBits'],
    [() => new ZlibStreamEncoder({ memLevel: 0 }), 'memLevel'],
  ];
  for (const [make, option] of cases) {
    assert.throws(make, (err) => err instanceof ConfigError && err.option === option);
  }
});
