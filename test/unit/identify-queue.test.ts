import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ConfigError } from '../../src/errors.js';
import { MemoryIdentifyQueue, startupBoundMs } from '../../src/shard/identify-queue.js';
import { ManualClock } from '../../src/util/clock.js';

const flush = () => new Promise<void>((r) => setImmediate(r));
/** Lets granted waiters record the virtual time of their grant. */
async function ticks(): Promise<void> {
  for (let i = 0; i < 5; i++) await Promise.resolve();
}
const never = new AbortController().signal;

function recorder(queue: MemoryIdentifyQueue, clock: ManualClock, shardIds: number[]) {
  const grants: { shardId: number; at: number }[] = [];
  for (const id of shardIds) {
    void queue.waitForIdentify(id, never).then(() => grants.push({ shardId: id, at: clock.now() }));
  }
  return grants;
}

test('grants one identify per bucket per window and runs all buckets in parallel', async () => {
  const clock = new ManualClock();
  const queue = new MemoryIdentifyQueue({ maxConcurrency: 4, windowMs: 5000, marginMs: 0, clock });
  const grants = recorder(
    queue,
    clock,
    Array.from({ length: 16 }, (_, i) => i),
  );
  await flush();
  assert.deepEqual(
    grants.map((g) => g.shardId),
    [0, 1, 2, 3],
  );
  for (let window = 1; window < 4; window++) {
    clock.advance(4999);
    await flush();
    assert.equal(grants.length, window * 4, 'nothing is granted before the window ends');
    clock.advance(1);
    await flush();
    assert.deepEqual(
      grants.slice(window * 4).map((g) => g.shardId),
      [0, 1, 2, 3].map((b) => window * 4 + b),
    );
  }
  assert.equal(grants.at(-1)!.at, 15_000);
  assert.ok(grants.at(-1)!.at < startupBoundMs(16, 4, 5000));
});

test('never grants two identifies of one bucket less than a window plus margin apart', async () => {
  const clock = new ManualClock();
  const queue = new MemoryIdentifyQueue({ maxConcurrency: 3, windowMs: 1000, marginMs: 50, clock });
  const ids = [5, 0, 7, 3, 1, 2, 4, 8, 6, 9, 10, 11];
  const grants = recorder(queue, clock, ids);
  await ticks();
  for (let i = 0; i < 5000; i++) {
    clock.advance(1);
    await ticks();
  }
  assert.equal(grants.length, ids.length);
  const byBucket = new Map<number, number[]>();
  for (const g of grants) byBucket.set(g.shardId % 3, [...(byBucket.get(g.shardId % 3) ?? []), g.at]);
  for (const times of byBucket.values()) {
    for (let i = 1; i < times.length; i++) assert.ok(times[i]! - times[i - 1]! >= 1050);
  }
});

test('the default margin is 5 % of the window', async () => {
  const clock = new ManualClock();
  const queue = new MemoryIdentifyQueue({ windowMs: 1000, clock });
  const grants = recorder(queue, clock, [0, 1]);
  await flush();
  clock.advance(1049);
  await flush();
  assert.equal(grants.length, 1);
  clock.advance(1);
  await flush();
  assert.deepEqual(grants, [
    { shardId: 0, at: 0 },
    { shardId: 1, at: 1050 },
  ]);
  assert.equal(queue.currentMarginMs, 50, 'virtual time has no event-loop lag');
});

test('serves the waiting shards of one bucket lowest id first', async () => {
  const clock = new ManualClock();
  const queue = new MemoryIdentifyQueue({ maxConcurrency: 2, windowMs: 100, marginMs: 0, clock });
  await queue.waitForIdentify(8, never);
  const grants = recorder(queue, clock, [6, 2, 4, 0, 2]);
  for (let i = 0; i < 7; i++) {
    await flush();
    clock.advance(100);
  }
  await flush();
  assert.deepEqual(
    grants.map((g) => g.shardId),
    [0, 2, 2, 4, 6],
  );
});

test('an aborted wait rejects with the abort reason and the next shard moves up', async () => {
  const clock = new ManualClock();
  const queue = new MemoryIdentifyQueue({ windowMs: 1000, marginMs: 0, clock });
  await queue.waitForIdentify(0, never);
  const ac = new AbortController();
  const aborted = queue.waitForIdentify(1, ac.signal);
  const third = queue.waitForIdentify(2, never);
  const reason = new Error('shard destroyed');
  ac.abort(reason);
  await assert.rejects(aborted, (err) => err === reason);
  assert.equal(queue.waiting, 1);
  clock.advance(1000);
  await third;
  assert.equal(queue.waiting, 0);
});

test('destroy rejects every waiter with IDENTIFY_ABORTED, refuses new requests and leaves no timer', async () => {
  const clock = new ManualClock();
  const queue = new MemoryIdentifyQueue({ maxConcurrency: 1, clock });
  await queue.waitForIdentify(0, never);
  const waiting = queue.waitForIdentify(1, never);
  queue.destroy();
  await assert.rejects(waiting, { code: 'IDENTIFY_ABORTED' });
  await assert.rejects(queue.waitForIdentify(2, never), { code: 'IDENTIFY_ABORTED' });
  assert.equal(clock.pending, 0);
});

test('re-keying to a new max_concurrency keeps order and waits for the old windows', async () => {
  const clock = new ManualClock();
  const queue = new MemoryIdentifyQueue({ maxConcurrency: 1, windowMs: 1000, marginMs: 0, clock });
  const grants = recorder(queue, clock, [0, 1, 2, 3]);
  await flush();
  assert.equal(grants.length, 1);
  queue.setMaxConcurrency(2);
  await flush();
  assert.equal(grants.length, 1);
  clock.advance(1000);
  await flush();
  assert.deepEqual(
    grants.map((g) => g.shardId),
    [0, 1, 2],
  );
});

test('rejects bad shard ids and options with ConfigError', async () => {
  assert.throws(() => new MemoryIdentifyQueue({ maxConcurrency: 0 }), ConfigError);
  assert.throws(() => new MemoryIdentifyQueue({ windowMs: Number.NaN }), ConfigError);
  assert.throws(() => new MemoryIdentifyQueue({ windowMs: -1 }), { option: 'windowMs' });
  assert.throws(() => new MemoryIdentifyQueue({ marginMs: -1 }), { option: 'marginMs' });
  const queue = new MemoryIdentifyQueue({ clock: new ManualClock() });
  await assert.rejects(queue.waitForIdentify(-1, never), { code: 'CONFIG_INVALID' });
  await assert.rejects(queue.waitForIdentify(1.5, never), { code: 'CONFIG_INVALID' });
});

test('the startup bound is ceil(N / max_concurrency) windows', () => {
  assert.equal(startupBoundMs(16, 4, 5000), 20_000);
  assert.equal(startupBoundMs(17, 4, 5000), 25_000);
  assert.equal(startupBoundMs(1, 16), 5000);
});
