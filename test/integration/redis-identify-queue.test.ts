import assert from 'node:assert/strict';
import { test } from 'node:test';
import { RedisError } from '../../src/errors.js';
import { RedisIdentifyQueue } from '../../src/redis/index.js';
import { extraClient, redisFixture, unreachableClient, waitFor } from '../support/redis.js';

const WINDOW_MS = 400;

test('grants at most one identify per bucket per window across processes sharing the Redis', async (t) => {
  const { redis, prefix } = await redisFixture(t);
  // three "processes": three clients, three queues
  const queues = [0, 1, 2].map(
    () =>
      new RedisIdentifyQueue({
        redis: extraClient(t),
        prefix,
        maxConcurrency: 2,
        windowMs: WINDOW_MS,
        marginMs: 0,
      }),
  );
  // grant times on Redis's clock: server time minus the part of the window already elapsed
  const grants: { shard: number; at: number }[] = [];
  await Promise.all(
    Array.from({ length: 6 }, async (_, shard) => {
      await queues[shard % 3]!.acquire(shard);
      const [[, time], [, pttl]] = (await redis
        .multi()
        .time()
        .pttl(`${prefix}identify:${shard % 2}:slot`)
        .exec()) as [[null, [string, string]], [null, number]];
      const now = Number(time[0]) * 1000 + Number(time[1]) / 1000;
      grants.push({ shard, at: now - (WINDOW_MS - pttl) });
    }),
  );
  assert.equal(grants.length, 6);
  for (const bucket of [0, 1]) {
    const times = grants
      .filter((g) => g.shard % 2 === bucket)
      .map((g) => g.at)
      .sort((a, b) => a - b);
    assert.equal(times.length, 3);
    for (let i = 1; i < times.length; i++) {
      assert.ok(
        times[i]! - times[i - 1]! >= WINDOW_MS - 2,
        `bucket ${bucket} gap ${times[i]! - times[i - 1]!}`,
      );
    }
  }
});

test('implements the shard contract: waitForIdentify rejects with the signal’s reason', async (t) => {
  const { redis, prefix } = await redisFixture(t);
  const queue = new RedisIdentifyQueue({ redis, prefix, maxConcurrency: 1, windowMs: 600_000 });
  await queue.waitForIdentify(0, new AbortController().signal);
  const abort = new AbortController();
  const reason = new Error('shard destroyed');
  const waiting = queue.waitForIdentify(1, abort.signal).catch((e: unknown) => e);
  await waitFor(async () => (await redis.zcard(`${prefix}identify:0:queue`)) === 1, {
    what: 'the waiter to queue',
  });
  abort.abort(reason);
  assert.equal(await waiting, reason);
});

test('serves waiters of a bucket in arrival order', async (t) => {
  const { redis, prefix } = await redisFixture(t);
  const queue = new RedisIdentifyQueue({ redis, prefix, maxConcurrency: 1, windowMs: 150 });
  const order: number[] = [];
  const waits: Promise<void>[] = [];
  for (const shard of [5, 3, 9, 1]) {
    const before = await redis.zcard(`${prefix}identify:0:queue`);
    waits.push(queue.acquire(shard).then(() => void order.push(shard)));
    // wait until this waiter holds its ticket (or was granted at once) before the next one arrives
    await waitFor(async () => order.length > 0 || (await redis.zcard(`${prefix}identify:0:queue`)) > before, {
      what: `shard ${shard} to queue`,
    });
  }
  await Promise.all(waits);
  assert.deepEqual(order, [5, 3, 9, 1]);
});

test('skips a waiter whose process stopped polling after waiterTtlMs', async (t) => {
  const { redis, prefix } = await redisFixture(t);
  const dead = extraClient(t);
  const deadQueue = new RedisIdentifyQueue({
    redis: dead,
    prefix,
    maxConcurrency: 1,
    windowMs: 100,
    pollIntervalMs: 50,
    waiterTtlMs: 400,
  });
  const live = new RedisIdentifyQueue({
    redis,
    prefix,
    maxConcurrency: 1,
    windowMs: 100,
    pollIntervalMs: 50,
    waiterTtlMs: 400,
  });
  // occupy the slot so the next waiter has to queue
  await live.acquire(0);
  const abort = new AbortController();
  const deadWait = deadQueue.acquire(1, abort.signal).catch((err: unknown) => err);
  await waitFor(async () => (await redis.zcard(`${prefix}identify:0:queue`)) === 1, {
    what: 'dead waiter to queue',
  });
  dead.disconnect(false); // the process is gone: it never polls again
  const granted = live.acquire(2).then(() => 'granted');
  assert.equal(await granted, 'granted');
  abort.abort();
  const err = await deadWait;
  assert.ok(err instanceof RedisError);
  assert.equal(err.code, 'REDIS_ABORTED');
});

test('refuses with IDENTIFY_BUDGET_EXHAUSTED once the daily session-start budget is spent', async (t) => {
  const { redis, prefix } = await redisFixture(t);
  const queue = new RedisIdentifyQueue({ redis, prefix, maxConcurrency: 16, windowMs: 1_000 });
  await queue.setSessionStartLimit({ total: 1000, remaining: 2, resetAfterMs: 3_600_000, maxConcurrency: 1 });
  await queue.acquire(0);
  await queue.acquire(1);
  const err = await queue.acquire(2).catch((e: unknown) => e);
  assert.ok(err instanceof RedisError);
  assert.equal(err.code, 'IDENTIFY_BUDGET_EXHAUSTED');
  assert.equal(err.shardId, 2);
  assert.ok(err.retryAfterMs !== undefined && err.retryAfterMs > 3_000_000);
  const budget = await queue.sessionStartBudget();
  assert.equal(budget?.remaining, 0);
  // the refused waiter left the queue: the bucket is not blocked
  assert.equal(await redis.zcard(`${prefix}identify:2:queue`), 0);
});

test('refills the budget to total after the reset time', async (t) => {
  const { redis, prefix } = await redisFixture(t);
  const queue = new RedisIdentifyQueue({ redis, prefix, maxConcurrency: 4, windowMs: 1_000 });
  await queue.setSessionStartLimit({ total: 10, remaining: 0, resetAfterMs: 100, maxConcurrency: 1 });
  const err = await queue.acquire(0).catch((e: unknown) => e);
  assert.equal((err as RedisError).code, 'IDENTIFY_BUDGET_EXHAUSTED');
  await waitFor(async () => (await queue.sessionStartBudget())?.resetAfterMs === 0, {
    what: 'the reset time',
  });
  await queue.acquire(0);
  assert.equal((await queue.sessionStartBudget())?.remaining, 9);
});

test('release gives the slot back early and refunds the session start', async (t) => {
  const { redis, prefix } = await redisFixture(t);
  const queue = new RedisIdentifyQueue({ redis, prefix, maxConcurrency: 1, windowMs: 600_000 });
  await queue.setSessionStartLimit({ total: 100, remaining: 5, resetAfterMs: 3_600_000, maxConcurrency: 1 });
  const release = await queue.acquire(0);
  assert.equal((await queue.sessionStartBudget())?.remaining, 4);
  await release();
  assert.equal((await queue.sessionStartBudget())?.remaining, 5);
  // without the release this would wait ten minutes
  await queue.acquire(1);
});

test('an aborted waiter rejects with REDIS_ABORTED and leaves the queue', async (t) => {
  const { redis, prefix } = await redisFixture(t);
  const queue = new RedisIdentifyQueue({ redis, prefix, maxConcurrency: 1, windowMs: 600_000 });
  await queue.acquire(0);
  const abort = new AbortController();
  const waiting = queue.acquire(1, abort.signal).catch((e: unknown) => e);
  await waitFor(async () => (await redis.zcard(`${prefix}identify:0:queue`)) === 1, {
    what: 'the waiter to queue',
  });
  abort.abort();
  const err = await waiting;
  assert.ok(err instanceof RedisError);
  assert.equal(err.code, 'REDIS_ABORTED');
  assert.equal(await redis.zcard(`${prefix}identify:0:queue`), 0);
});

test('never grants while Redis is unreachable, and stops waiting on abort', async (t) => {
  const queue = new RedisIdentifyQueue({
    redis: await unreachableClient(t),
    maxConcurrency: 1,
    pollIntervalMs: 20,
    waiterTtlMs: 100,
  });
  const abort = new AbortController();
  const waiting = queue.acquire(0, abort.signal).then(
    () => 'granted',
    (e: unknown) => e,
  );
  setTimeout(() => abort.abort(), 300);
  const result = await waiting;
  assert.ok(result instanceof RedisError);
  assert.equal(result.code, 'REDIS_ABORTED');
});

test('rejects bad options with ConfigError', () => {
  assert.throws(
    () => new RedisIdentifyQueue({ redis: undefined as never, maxConcurrency: 0 }),
    (err: Error & { code?: string }) =>
      err.code === 'CONFIG_INVALID' && err.message.includes('maxConcurrency'),
  );
});
