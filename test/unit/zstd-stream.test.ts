import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { test } from 'node:test';
import {
  nativeZstdAvailable,
  ZstdStreamDecoder,
  type ZstdStreamDecoderOptions,
  ZstdStreamEncoder,
} from '../../src/codec/zstd-stream.js';
import { CodecError, ConfigError, DecompressError } from '../../src/errors.js';
import { seededRandom } from '../../src/util/clock.js';
import { discordLikeMessages, readZstdFixture as readFixture } from '../support/zstd-corpus.js';

const sha256 = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');

function randomBytes(random: () => number, length: number, alphabet = 256): Uint8Array {
  const out = new Uint8Array(length);
  for (let i = 0; i < length; i++) out[i] = Math.floor(random() * alphabet);
  return out;
}

function concat(parts: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

function assertDecompressError(fn: () => unknown, code: DecompressError['code']): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(err instanceof DecompressError, `expected DecompressError, got ${String(err)}`);
    assert.equal(err.code, code);
    return true;
  });
}

const HEADER = Uint8Array.of(0x28, 0xb5, 0x2f, 0xfd, 0x00, 0x40);
/** Block header bytes: Last_Block, Block_Type (0 raw, 1 RLE, 2 compressed), Block_Size. */
function blockHeader(last: 0 | 1, type: number, size: number): Uint8Array {
  const h = last | (type << 1) | (size << 3);
  return Uint8Array.of(h & 255, (h >>> 8) & 255, h >>> 16);
}

// Every decoder test runs against each implementation this Node has: ours always, node:zlib's zstd on
// Node >= 22.15 (the default there).
const IMPLEMENTATIONS = nativeZstdAvailable ? (['typescript', 'native'] as const) : (['typescript'] as const);

test('implementation auto picks node:zlib zstd exactly when it is available', () => {
  assert.equal(new ZstdStreamDecoder().implementation, nativeZstdAvailable ? 'native' : 'typescript');
  assert.equal(new ZstdStreamDecoder({ implementation: 'typescript' }).implementation, 'typescript');
  if (!nativeZstdAvailable)
    assert.throws(() => new ZstdStreamDecoder({ implementation: 'native' }), ConfigError);
});

for (const impl of IMPLEMENTATIONS) {
  const newDecoder = (options: ZstdStreamDecoderOptions = {}) =>
    new ZstdStreamDecoder({ ...options, implementation: impl });

  for (const level of [-5, 3, 19]) {
    test(`decodes a never-ending zstd-stream captured from the reference zstd at level ${level}, message by message [${impl}]`, () => {
      const captured = readFixture(`napi-stream-level${level}.bin`);
      assert.deepEqual(captured[0]!.frame.subarray(0, 6), Buffer.from(HEADER));
      const decoder = newDecoder();
      let total = 0;
      for (const [i, c] of captured.entries()) {
        const out = decoder.push(c.frame);
        assert.ok(out, `message ${i} produced no output`);
        assert.equal(out.length, c.rawLength, `message ${i} length`);
        assert.equal(sha256(out), c.sha256, `message ${i} bytes`);
        total += out.length;
      }
      assert.ok(total > 256 * 1024, 'the capture spans more than one window');
    });
  }

  test(`the fixtures hold exactly the deterministic corpus [${impl}]`, () => {
    const messages = discordLikeMessages(1);
    const captured = readFixture('napi-stream-level3.bin');
    assert.deepEqual(
      captured.map((c) => c.sha256),
      messages.map(sha256),
    );
  });

  test(`decodes a complete frame from the zstd CLI (content checksum, last block), then a second frame [${impl}]`, () => {
    const [cli] = readFixture('cli-frame.bin');
    const decoder = newDecoder();
    const first = decoder.push(cli!.frame);
    assert.ok(first);
    assert.equal(sha256(first), cli!.sha256);
    // A new frame may follow in the same context; it starts with an empty window.
    const again = decoder.push(cli!.frame);
    assert.ok(again);
    assert.equal(sha256(again), cli!.sha256);
  });

  test(`a message split across pushes returns null until its last block is complete [${impl}]`, () => {
    const captured = readFixture('napi-stream-level3.bin');
    const decoder = newDecoder();
    for (const [i, c] of captured.slice(0, 20).entries()) {
      const cut = Math.max(1, c.frame.length >> 1);
      assert.equal(decoder.push(c.frame.subarray(0, cut)), null, `first half of message ${i}`);
      const out = decoder.push(c.frame.subarray(cut));
      assert.ok(out);
      assert.equal(sha256(out), c.sha256);
    }
  });

  test(`our encoder starts the frame like Discord (window 256 KiB, no content size) and never ends it [${impl}]`, () => {
    const encoder = new ZstdStreamEncoder();
    const messages = discordLikeMessages(2, 40);
    const chunks = messages.map((m) => encoder.encode(m));
    assert.deepEqual(chunks[0]!.subarray(0, 6), HEADER);
    for (const [i, chunk] of chunks.entries()) {
      let p = i === 0 ? 6 : 0;
      while (p < chunk.length) {
        const h = chunk[p]! | (chunk[p + 1]! << 8) | (chunk[p + 2]! << 16);
        assert.equal(h & 1, 0, `message ${i} has a last block`);
        const type = (h >>> 1) & 3;
        p += 3 + (type === 1 ? 1 : h >>> 3);
      }
      assert.equal(p, chunk.length, `message ${i} ends on a block boundary`);
    }
  });

  test(`encoder and decoder round-trip seeded random data, including empty and multi-block messages [${impl}]`, () => {
    const random = seededRandom(42);
    const encoder = new ZstdStreamEncoder();
    const decoder = newDecoder();
    const sizes = [0, 1, 2, 3, 17, 100, 1000, 5000, 70_000, 131_072, 131_073, 300_000, 0, 42];
    for (let round = 0; round < 3; round++) {
      for (const size of sizes) {
        const alphabet = [2, 16, 256][Math.floor(random() * 3)]!;
        const message = randomBytes(random, size, alphabet);
        const out = decoder.push(encoder.encode(message));
        assert.ok(out, `size ${size}`);
        assert.deepEqual(out, message, `size ${size}, alphabet ${alphabet}`);
      }
    }
  });

  test(`encoder and decoder round-trip a Discord-like session with real compression [${impl}]`, () => {
    const messages = discordLikeMessages(3);
    const encoder = new ZstdStreamEncoder();
    const decoder = newDecoder();
    let raw = 0;
    let compressed = 0;
    for (const m of messages) {
      const chunk = encoder.encode(m);
      raw += m.length;
      compressed += chunk.length;
      assert.deepEqual(decoder.push(chunk), m);
    }
    assert.ok(compressed < raw / 3, `ratio ${compressed}/${raw}`);
  });

  test(`back-references reach into earlier messages (the window spans messages) [${impl}]`, () => {
    const random = seededRandom(7);
    const message = randomBytes(random, 4000);
    const encoder = new ZstdStreamEncoder();
    const decoder = newDecoder();
    const first = encoder.encode(message);
    const second = encoder.encode(message);
    assert.ok(first.length > 4000, 'random data does not compress on its own');
    assert.ok(second.length < 40, `repeat costs ${second.length} bytes`);
    assert.deepEqual(decoder.push(first), message);
    assert.deepEqual(decoder.push(second), message);
    // Without the first message, the second cannot be decoded.
    const fresh = newDecoder();
    assertDecompressError(() => fresh.push(concat([HEADER, second])), 'ZSTD_CORRUPT');
  });

  test(`the reference zstd CLI decodes our stream once a final empty block ends the frame [${impl}]`, (t) => {
    const probe = spawnSync('zstd', ['--version']);
    if (probe.error || probe.status !== 0) {
      t.skip('zstd CLI not installed');
      return;
    }
    const messages = discordLikeMessages(4, 60);
    const random = seededRandom(4);
    messages.push(randomBytes(random, 200_000, 16), new Uint8Array(0), randomBytes(random, 500));
    const encoder = new ZstdStreamEncoder();
    const stream = concat([...messages.map((m) => encoder.encode(m)), blockHeader(1, 0, 0)]);
    const result = spawnSync('zstd', ['-d', '-c', '-q'], { input: stream, maxBuffer: 1 << 26 });
    assert.equal(result.status, 0, result.stderr.toString());
    assert.deepEqual(new Uint8Array(result.stdout), concat(messages));
  });

  test(`raw and RLE blocks decode, and an empty flush yields an empty message [${impl}]`, () => {
    const decoder = newDecoder();
    const raw = concat([HEADER, blockHeader(0, 0, 3), Uint8Array.of(1, 2, 3)]);
    assert.deepEqual(decoder.push(raw), Uint8Array.of(1, 2, 3));
    assert.deepEqual(
      decoder.push(concat([blockHeader(0, 1, 5), Uint8Array.of(9)])),
      new Uint8Array(5).fill(9),
    );
    assert.deepEqual(decoder.push(blockHeader(0, 0, 0)), new Uint8Array(0));
    assert.equal(decoder.push(new Uint8Array(0)), null);
  });

  test(`corrupt data fails with ZSTD_CORRUPT and the context stays failed until reset() [${impl}]`, () => {
    const decoder = newDecoder();
    assertDecompressError(() => decoder.push(Uint8Array.of(1, 2, 3, 4, 5, 6, 7, 8)), 'ZSTD_CORRUPT');
    assertDecompressError(
      () => decoder.push(concat([HEADER, blockHeader(0, 0, 1), Uint8Array.of(1)])),
      'DECOMPRESSOR_FAILED',
    );
    decoder.reset();
    assert.deepEqual(
      decoder.push(concat([HEADER, blockHeader(0, 0, 1), Uint8Array.of(1)])),
      Uint8Array.of(1),
    );
  });

  test(`a reserved block type, an oversized block and a reserved header bit are ZSTD_CORRUPT [${impl}]`, () => {
    const cases = [
      concat([HEADER, blockHeader(0, 3, 1), Uint8Array.of(0)]),
      concat([HEADER, blockHeader(0, 0, 128 * 1024 + 1)]),
      Uint8Array.of(0x28, 0xb5, 0x2f, 0xfd, 0x08, 0x40),
    ];
    for (const bytes of cases) assertDecompressError(() => newDecoder().push(bytes), 'ZSTD_CORRUPT');
  });

  test(`a truncated compressed block followed by the next message fails instead of hanging [${impl}]`, () => {
    const captured = readFixture('napi-stream-level3.bin');
    const decoder = newDecoder();
    decoder.push(captured[0]!.frame);
    const second = captured[1]!.frame;
    assert.equal(decoder.push(second.subarray(0, second.length - 5)), null);
    assert.throws(
      () => {
        for (const c of captured.slice(2, 10)) decoder.push(c.frame);
      },
      (err: unknown) => err instanceof DecompressError,
    );
  });

  test(`a window larger than maxWindowBytes and a dictionary are ZSTD_UNSUPPORTED [${impl}]`, () => {
    // Window descriptor 0x68: windowLog 23 = 8 MiB, allowed by default; 0x70 = 16 MiB is not.
    assert.equal(newDecoder().push(Uint8Array.of(0x28, 0xb5, 0x2f, 0xfd, 0x00, 0x68)), null);
    assertDecompressError(
      () => newDecoder().push(Uint8Array.of(0x28, 0xb5, 0x2f, 0xfd, 0x00, 0x70)),
      'ZSTD_UNSUPPORTED',
    );
    assertDecompressError(() => newDecoder({ maxWindowBytes: 64 * 1024 }).push(HEADER), 'ZSTD_UNSUPPORTED');
    assertDecompressError(
      () => newDecoder().push(Uint8Array.of(0x28, 0xb5, 0x2f, 0xfd, 0x01, 0x40, 0x07)),
      'ZSTD_UNSUPPORTED',
    );
  });

  test(`a decompression bomb fails with PAYLOAD_TOO_LARGE before inflating the whole message [${impl}]`, () => {
    // 40 RLE blocks of 128 KiB = 5 MiB from 166 bytes.
    const block = concat([blockHeader(0, 1, 128 * 1024), Uint8Array.of(0x41)]);
    const bomb = concat([HEADER, ...Array.from({ length: 40 }, () => block)]);
    const decoder = newDecoder({ maxMessageBytes: 1024 * 1024 });
    assertDecompressError(() => decoder.push(bomb), 'PAYLOAD_TOO_LARGE');
    assert.ok(decoder.retainedBytes < 3 * 1024 * 1024, `retained ${decoder.retainedBytes}`);
    // Many small messages of the same total are fine: the limit is per message.
    const ok = newDecoder({ maxMessageBytes: 1024 * 1024 });
    ok.push(HEADER);
    for (let i = 0; i < 40; i++) assert.equal(ok.push(block)?.length, 128 * 1024);
  });

  test(`mutated and truncated streams only ever fail with DecompressError [${impl}]`, () => {
    const captured = readFixture('napi-stream-level3.bin').slice(0, 12);
    const random = seededRandom(99);
    for (let iter = 0; iter < 600; iter++) {
      const decoder = newDecoder({ maxMessageBytes: 4 * 1024 * 1024 });
      const victim = 1 + Math.floor(random() * (captured.length - 1));
      for (const [i, c] of captured.entries()) {
        let frame: Uint8Array = c.frame;
        if (i === victim) {
          frame = frame.slice();
          const edits = 1 + Math.floor(random() * 4);
          for (let e = 0; e < edits; e++)
            frame[Math.floor(random() * frame.length)] = Math.floor(random() * 256);
          if (random() < 0.3) frame = frame.subarray(0, Math.floor(random() * frame.length));
        }
        try {
          decoder.push(frame);
        } catch (err) {
          assert.ok(err instanceof DecompressError, `iteration ${iter}: ${String(err)}`);
          break;
        }
      }
    }
  });

  test(`close() makes push fail, reset() reopens, and bad options are ConfigErrors [${impl}]`, () => {
    const decoder = newDecoder();
    decoder.close();
    assertDecompressError(() => decoder.push(HEADER), 'DECOMPRESSOR_FAILED');
    decoder.reset();
    assert.equal(decoder.push(HEADER), null);
    const encoder = new ZstdStreamEncoder();
    encoder.close();
    assert.throws(
      () => encoder.encode(Uint8Array.of(1)),
      (err: unknown) => err instanceof CodecError && err.code === 'CODEC_CLOSED',
    );
    encoder.reset();
    assert.deepEqual(encoder.encode(Uint8Array.of(1)).subarray(0, 6), HEADER);
    assert.throws(() => newDecoder({ maxMessageBytes: 0 }), ConfigError);
    assert.throws(() => newDecoder({ maxWindowBytes: 1.5 }), ConfigError);
    assert.throws(() => new ZstdStreamEncoder({ windowLog: 30 }), ConfigError);
  });

  if (impl === 'typescript') {
    test('an idle connection keeps a few KiB; the buffer grows inside a block and stays under window + 2 blocks', () => {
      const encoder = new ZstdStreamEncoder();
      const decoder = newDecoder();
      const text = new TextEncoder();
      const small = ['{"op":10,"d":{"heartbeat_interval":41250}}', '{"op":0,"t":"READY","d":{"v":10}}'];
      for (let i = 0; i < 50; i++) small.push('{"op":11,"d":null}');
      for (const m of small) assert.deepEqual(decoder.push(encoder.encode(text.encode(m))), text.encode(m));
      assert.ok(decoder.retainedBytes <= 16 * 1024, `idle context retains ${decoder.retainedBytes} bytes`);
      // One compressed block that inflates ~100× (a long repeat): the buffer grows while the block writes.
      const repeat = new Uint8Array(120 * 1024).map((_, i) => 97 + (i % 7));
      const chunk = encoder.encode(repeat);
      assert.ok(chunk.length < 2048, `repeat compressed to ${chunk.length} bytes`);
      assert.deepEqual(decoder.push(chunk), repeat);
      const captured = readFixture('napi-stream-level3.bin');
      decoder.reset();
      for (const c of captured) assert.equal(sha256(decoder.push(c.frame)!), c.sha256);
      const bound = 256 * 1024 + 2 * 128 * 1024 + 16 * 1024;
      assert.ok(decoder.retainedBytes <= bound, `retained ${decoder.retainedBytes} > ${bound}`);
    });
  }

  test(`a small window (windowLog 10) bounds blocks and offsets in both directions [${impl}]`, () => {
    const random = seededRandom(5);
    const encoder = new ZstdStreamEncoder({ windowLog: 10 });
    const decoder = newDecoder();
    for (let i = 0; i < 20; i++) {
      const message = randomBytes(random, Math.floor(random() * 5000), 4);
      assert.deepEqual(decoder.push(encoder.encode(message)), message);
    }
  });
}
