import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ConfigError } from '../../src/errors.js';
import { MemoryIdentifyQueue } from '../../src/shard/identify-queue.js';
import { ManualClock } from '../../src/util/clock.js';

async function flush(): Promise<void> {
  for (let i = 0; i < 5; i++) await Promise.resolve();
}

test('grants one identify per bucket per window, in arrival order', async () => {
  const clock = new ManualClock(0);
  const q = new MemoryIdentifyQueue({ maxConcurrency: 1, windowMs: 5_000, clock });
  const granted: [number, number][] = [];
  const signal = new AbortController().signal;
  for (const id of [0, 1, 2]) void q.waitForIdentify(id, signal).then(() => granted.push([id, clock.now()]));
  await flush();
  assert.deepEqual(granted, [[0, 0]]);
  clock.advance(4_999);
  await flush();
  assert.equal(granted.length, 1);
  clock.advance(1);
  await flush();
  clock.advance(5_000);
  await flush();
  assert.deepEqual(granted, [
    [0, 0],
    [1, 5_000],
    [2, 10_000],
  ]);
});

test('different buckets identify concurrently', async () => {
  const clock = new ManualClock(0);
  const q = new MemoryIdentifyQueue({ maxConcurrency: 2, windowMs: 5_000, clock });
  const granted: number[] = [];
  const signal = new AbortController().signal;
  for (const id of [0, 1, 2, 3]) void q.waitForIdentify(id, signal).then(() => granted.push(id));
  await flush();
  assert.deepEqual(granted, [0, 1]);
  clock.advance(5_000);
  await flush();
  assert.deepEqual(granted, [0, 1, 2, 3]);
});

test('an aborted wait rejects and frees its place', async () => {
  const clock = new ManualClock(0);
  const q = new MemoryIdentifyQueue({ windowMs: 1_000, clock });
  const signal = new AbortController().signal;
  await q.waitForIdentify(0, signal);
  const ac = new AbortController();
  const aborted = q.waitForIdentify(1, ac.signal);
  let next = false;
  void q.waitForIdentify(2, signal).then(() => {
    next = true;
  });
  ac.abort(new Error('closed'));
  await assert.rejects(aborted, /closed/);
  clock.advance(1_000);
  await flush();
  assert.ok(next);
});

test('rejects bad options with ConfigError', () => {
  assert.throws(() => new MemoryIdentifyQueue({ maxConcurrency: 0 }), ConfigError);
  assert.throws(() => new MemoryIdentifyQueue({ windowMs: Number.NaN }), ConfigError);
});
