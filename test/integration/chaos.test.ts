import assert from 'node:assert/strict';
import { test } from 'node:test';
import { type ChaosOptions, runChaos } from '../support/chaos.js';

/** The scaled run both tests share: 16 shards, a live event stream, a fault every ~200 ms. */
const SCALED = {
  shards: 16,
  guilds: 64,
  faultEveryMs: 200,
  eventsPerSecond: 150,
  heartbeatIntervalMs: 1_000,
  identifyWindowMs: 300,
  maxConcurrency: 4,
  settleTimeoutMs: 60_000,
} as const satisfies Partial<ChaosOptions>;

test('sixteen shards survive every fault kind with every sequenced dispatch delivered exactly once', async () => {
  const report = await runChaos({ ...SCALED, seed: 9, durationMs: 12_000 });
  // Every kind of the schedule was injected at least once (seeded: the schedule is the same every run).
  for (const kind of [
    'drop',
    'zombie',
    'reconnect',
    'invalid-session:true',
    'invalid-session:false',
    'close',
    'corrupt',
    'split',
    'delay',
    'request-heartbeat',
  ]) {
    assert.ok(
      (report.faults[kind] ?? 0) > 0,
      `no ${kind} fault was injected: ${JSON.stringify(report.faults)}`,
    );
  }
  assert.deepEqual(report.failures, []);
  assert.equal(report.ready, 16);
  assert.ok(report.sessionsChecked >= 16);
  assert.deepEqual(report.violations, {});
  assert.deepEqual(report.fatalCloses, {});
  assert.deepEqual(report.unhandled, []);
  assert.equal(report.tokenLeaks, 0);
  assert.ok(report.linesPrinted > 0);
});

test('the same chaos over json + zstd-stream loses nothing either', async () => {
  const report = await runChaos({
    ...SCALED,
    seed: 4,
    durationMs: 6_000,
    encoding: 'json',
    compression: 'zstd-stream',
  });
  assert.deepEqual(report.failures, []);
  assert.equal(report.ready, 16);
  assert.ok(Object.values(report.faults).reduce((a, b) => a + b, 0) >= 10, JSON.stringify(report.faults));
  assert.equal(report.tokenLeaks, 0);
});

test('the same chaos with the shards in two threads, a thread killed every ~1.5 s, loses nothing', async () => {
  const report = await runChaos({
    ...SCALED,
    seed: 5,
    durationMs: 6_000,
    encoding: 'json',
    compression: 'zlib-stream',
    threads: 2,
    threadKillEveryMs: 1_500,
  });
  assert.deepEqual(report.failures, []);
  assert.equal(report.ready, 16);
  const kills = (report.faults['thread-terminate'] ?? 0) + (report.faults['thread-crash'] ?? 0);
  assert.ok(kills >= 2, JSON.stringify(report.faults));
  assert.equal(report.errorsByCode.THREAD_CRASHED, kills);
  assert.equal(report.tokenLeaks, 0);
});
