import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  DEFAULT_ZSTD_DECODER_OPTIONS,
  nativeZstdAvailable,
  ZstdStreamDecoder,
} from '../../src/codec/zstd-stream.js';
import { DecompressError } from '../../src/errors.js';

const IMPLEMENTATIONS = nativeZstdAvailable ? (['typescript', 'native'] as const) : (['typescript'] as const);

function assertDecompressError(fn: () => unknown, code: DecompressError['code']): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(err instanceof DecompressError, `expected DecompressError, got ${String(err)}`);
    assert.equal(err.code, code);
    return true;
  });
}

const HEADER = Uint8Array.of(0x28, 0xb5, 0x2f, 0xfd, 0x00, 0x40);
function blockHeader(last: 0 | 1, type: number, size: number): Uint8Array {
  const h = last | (type << 1) | (size << 3);
  return Uint8Array.of(h & 255, (h >>> 8) & 255, h >>> 16);
}

for (const impl of IMPLEMENTATIONS) {
  test(`refuses a message dribbled in more fragments than maxPendingFrames [${impl}]`, () => {
    const decoder = new ZstdStreamDecoder({ implementation: impl });
    // A raw block that claims 100 KiB, then its content one byte per push: no block ever ends.
    assert.equal(decoder.push(HEADER), null);
    assert.equal(decoder.push(blockHeader(0, 0, 100 * 1024)), null);
    const max = DEFAULT_ZSTD_DECODER_OPTIONS.maxPendingFrames;
    const byte = Uint8Array.of(0x61);
    for (let i = 2; i < max; i++) assert.equal(decoder.push(byte), null);
    assertDecompressError(() => decoder.push(byte), 'TOO_MANY_FRAGMENTS');
    assertDecompressError(() => decoder.push(byte), 'DECOMPRESSOR_FAILED');
    decoder.reset();
  });

  test(`refuses pending input over maxPendingBytes (a skippable frame that never ends) [${impl}]`, () => {
    const decoder = new ZstdStreamDecoder({ implementation: impl, maxPendingBytes: 4096 });
    // A skippable frame declaring 1 GiB: input that produces nothing and never ends a message.
    const skippable = Uint8Array.of(0x50, 0x2a, 0x4d, 0x18, 0, 0, 0, 0x40);
    assert.equal(decoder.push(skippable), null);
    assert.equal(decoder.push(new Uint8Array(4000)), null);
    assertDecompressError(() => decoder.push(new Uint8Array(200)), 'PAYLOAD_TOO_LARGE');
  });

  test(`a message in fragments within the limits decodes, and the count restarts per message [${impl}]`, () => {
    const decoder = new ZstdStreamDecoder({ implementation: impl, maxPendingFrames: 4 });
    assert.equal(decoder.push(HEADER), null);
    for (let m = 0; m < 20; m++) {
      const content = new TextEncoder().encode(`{"op":11,"n":${m}}`);
      const block = new Uint8Array(3 + content.length);
      block.set(blockHeader(0, 0, content.length));
      block.set(content, 3);
      assert.equal(decoder.push(block.subarray(0, 2)), null);
      assert.equal(decoder.push(block.subarray(2, 5)), null);
      const out = decoder.push(block.subarray(5));
      assert.ok(out !== null);
      assert.equal(new TextDecoder().decode(out), `{"op":11,"n":${m}}`);
    }
  });
}
