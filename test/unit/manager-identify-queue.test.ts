import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ManagerError } from '../../src/errors.js';
import { BucketIdentifyQueue, type IdentifyLease, startupBoundMs } from '../../src/manager/identify-queue.js';
import { ManualClock } from '../../src/util/clock.js';

const flush = () => new Promise<void>((r) => setImmediate(r));

function recorder(queue: BucketIdentifyQueue, shardIds: number[]) {
  const grants: { shardId: number; at: number; lease: IdentifyLease }[] = [];
  for (const id of shardIds) {
    void queue.acquire(id).then((lease) => grants.push({ shardId: id, at: lease.grantedAt, lease }));
  }
  return grants;
}

test('grants one identify per bucket per window and runs all buckets in parallel', async () => {
  const clock = new ManualClock();
  const queue = new BucketIdentifyQueue({ maxConcurrency: 4, windowMs: 5000, marginMs: 0, clock });
  const grants = recorder(
    queue,
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

test('never grants two leases of one bucket less than a window plus margin apart', async () => {
  const clock = new ManualClock();
  const queue = new BucketIdentifyQueue({ maxConcurrency: 3, windowMs: 1000, marginMs: 50, clock });
  const ids = [5, 0, 7, 3, 1, 2, 4, 8, 6, 9, 10, 11];
  const grants = recorder(queue, ids);
  for (let i = 0; i < 20; i++) {
    clock.advance(250);
    await flush();
  }
  assert.equal(grants.length, ids.length);
  const byBucket = new Map<number, number[]>();
  for (const g of grants) byBucket.set(g.shardId % 3, [...(byBucket.get(g.shardId % 3) ?? []), g.at]);
  for (const times of byBucket.values()) {
    for (let i = 1; i < times.length; i++) assert.ok(times[i]! - times[i - 1]! >= 1050);
  }
});

test('serves the waiting shards of one bucket lowest id first', async () => {
  const clock = new ManualClock();
  const queue = new BucketIdentifyQueue({ maxConcurrency: 2, windowMs: 100, marginMs: 0, clock });
  await queue.acquire(8);
  const grants = recorder(queue, [6, 2, 4, 0, 2]);
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

test('a released lease frees its bucket at once for the next shard', async () => {
  const clock = new ManualClock();
  const queue = new BucketIdentifyQueue({ maxConcurrency: 1, windowMs: 5000, clock });
  const grants = recorder(queue, [0, 1]);
  await flush();
  assert.equal(grants.length, 1);
  clock.advance(10);
  grants[0]!.lease.release();
  await flush();
  assert.equal(grants.length, 2);
  assert.equal(grants[1]!.shardId, 1);
  assert.equal(grants[1]!.at, 10);
  grants[0]!.lease.release();
  assert.equal(queue.granted, 2, 'a second release of the same lease changes nothing');
});

test('a release after the next lease was granted does not reopen the bucket', async () => {
  const clock = new ManualClock();
  const queue = new BucketIdentifyQueue({ maxConcurrency: 1, windowMs: 1000, marginMs: 0, clock });
  const grants = recorder(queue, [0, 1, 2]);
  await flush();
  clock.advance(1000);
  await flush();
  assert.equal(grants.length, 2);
  grants[0]!.lease.release();
  await flush();
  assert.equal(grants.length, 2);
});

test('an aborted waiter leaves the queue with IDENTIFY_ABORTED and the next shard moves up', async () => {
  const clock = new ManualClock();
  const queue = new BucketIdentifyQueue({ maxConcurrency: 1, windowMs: 1000, marginMs: 0, clock });
  const first = await queue.acquire(0);
  assert.equal(first.shardId, 0);
  const controller = new AbortController();
  const aborted = queue.acquire(1, controller.signal);
  const third = queue.acquire(2);
  controller.abort();
  await assert.rejects(
    aborted,
    (err: unknown) => err instanceof ManagerError && err.code === 'IDENTIFY_ABORTED',
  );
  clock.advance(1000);
  assert.equal((await third).shardId, 2);
  assert.equal(queue.waiting, 0);
});

test('destroy rejects every waiter and refuses new requests', async () => {
  const clock = new ManualClock();
  const queue = new BucketIdentifyQueue({ maxConcurrency: 1, clock });
  await queue.acquire(0);
  const waiting = queue.acquire(1);
  queue.destroy();
  await assert.rejects(waiting, { code: 'IDENTIFY_ABORTED' });
  await assert.rejects(queue.acquire(2), { code: 'IDENTIFY_ABORTED' });
  assert.equal(clock.pending, 0);
});

test('re-keying to a new max_concurrency keeps order and waits for the old windows', async () => {
  const clock = new ManualClock();
  const queue = new BucketIdentifyQueue({ maxConcurrency: 1, windowMs: 1000, marginMs: 0, clock });
  const grants = recorder(queue, [0, 1, 2, 3]);
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
  assert.throws(() => new BucketIdentifyQueue({ maxConcurrency: 0 }), { code: 'CONFIG_INVALID' });
  assert.throws(() => new BucketIdentifyQueue({ windowMs: -1 }), { code: 'CONFIG_INVALID' });
  const queue = new BucketIdentifyQueue({ clock: new ManualClock() });
  await assert.rejects(queue.acquire(-1), { code: 'CONFIG_INVALID' });
  await assert.rejects(queue.acquire(1.5), { code: 'CONFIG_INVALID' });
});

test('the startup bound is ceil(N / max_concurrency) windows', () => {
  assert.equal(startupBoundMs(16, 4, 5000), 20_000);
  assert.equal(startupBoundMs(17, 4, 5000), 25_000);
  assert.equal(startupBoundMs(1, 16), 5000);
});

test('waitForIdentify rejects with the abort reason, as the shard contract says', async () => {
  const clock = new ManualClock();
  const queue = new BucketIdentifyQueue({ maxConcurrency: 1, clock });
  await queue.waitForIdentify(0, new AbortController().signal);
  const controller = new AbortController();
  const waiting = queue.waitForIdentify(1, controller.signal);
  const reason = new Error('shard destroyed');
  controller.abort(reason);
  await assert.rejects(waiting, (err) => err === reason);
});
