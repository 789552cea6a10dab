import assert from 'node:assert/strict';
import { test } from 'node:test';
import { CODEC_FALLBACKS, codecFallbackNotice } from '../../src/codec/fallbacks.js';
import { createShard, startSim } from '../support/shard-harness.js';

// Which fast paths pass their self-test depends on the Node binary (Node 20 has no built-in zstd), so the
// expectation comes from the same self-test result the shard reads: a notice exactly when a fallback runs.
for (const compression of ['zlib-stream', 'zstd-stream'] as const) {
  test(`a shard says once, as a debug line, when ${compression} decodes through a slower fallback`, async (t) => {
    const sim = await startSim(t);
    const rec = createShard(t, sim, { compression });
    await rec.shard.connect();
    const expected = codecFallbackNotice(compression);
    const notices = rec.debug.filter((m) => m.includes('(slower)'));
    if (expected === null) {
      assert.equal(
        CODEC_FALLBACKS.some((f) => f.compression === compression),
        false,
      );
      assert.deepEqual(notices, []);
    } else {
      assert.deepEqual(notices, [expected]);
    }
  });
}
