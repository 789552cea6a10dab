import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { CODEC_FALLBACKS, codecFallbackNotice } from '../../src/codec/fallbacks.js';
import { ZlibStreamDecoder } from '../../src/codec/zlib-stream.js';
import { SYNC_HANDLE_AVAILABLE, SYNC_HANDLE_UNAVAILABLE_REASON } from '../../src/codec/zlib-sync-handle.js';
import { nativeZstdAvailable } from '../../src/codec/zstd-stream.js';

test('the synchronous zlib handle passes its self-test on this Node, whatever its major version', () => {
  assert.equal(SYNC_HANDLE_UNAVAILABLE_REASON, null, `fallback active: ${SYNC_HANDLE_UNAVAILABLE_REASON}`);
  assert.equal(SYNC_HANDLE_AVAILABLE, true);
  assert.equal(new ZlibStreamDecoder().engine, 'handle');
});

test('the fast path is gated on the self-test, never on a list of Node versions', () => {
  const source = readFileSync(new URL('../../src/codec/zlib-sync-handle.js', import.meta.url), 'utf8');
  assert.doesNotMatch(source, /process\.versions?\.node|process\.version\b/);
});

test('active codec fallbacks are listed with a reason, and the notice names exactly those', () => {
  assert.equal(
    CODEC_FALLBACKS.some((f) => f.compression === 'zlib-stream'),
    !SYNC_HANDLE_AVAILABLE,
  );
  assert.equal(
    CODEC_FALLBACKS.some((f) => f.compression === 'zstd-stream'),
    !nativeZstdAvailable,
  );
  for (const f of CODEC_FALLBACKS) {
    assert.ok(f.reason.length > 0);
    assert.match(codecFallbackNotice(f.compression) ?? '', new RegExp(`^${f.compression} decodes with`));
  }
  assert.equal(codecFallbackNotice('none'), null);
  if (SYNC_HANDLE_AVAILABLE) assert.equal(codecFallbackNotice('zlib-stream'), null);
  if (nativeZstdAvailable) assert.equal(codecFallbackNotice('zstd-stream'), null);
  else assert.match(codecFallbackNotice('zstd-stream') ?? '', /TypeScript zstd decoder/);
});
