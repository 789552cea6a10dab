import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { test } from 'node:test';
import { RedisError } from '../../src/errors.js';
import { closeClient, createRedisClient, RedisSessionStore, ShardLeases } from '../../src/redis/index.js';
import {
  closedPort,
  RedisServerProcess,
  redisFixture,
  redisServerAvailable,
  waitFor,
} from '../support/redis.js';
import {
  assertStreamComplete,
  collect,
  eventFlow,
  sessionsByShard,
  shardWorker,
  streamByShard,
  streamCaughtUp,
  WORKER_SIM,
} from '../support/shard-worker.js';
import { simulator } from '../support/sim-helpers.js';

test('ShardWorker in process: events reach the stream, stop() releases the leases, a second worker RESUMEs the shards', async (t) => {
  const { redis, prefix } = await redisFixture(t);
  const SHARDS = 2;
  const sim = await simulator(t, { ...WORKER_SIM, shards: SHARDS });
  const common = { redis, prefix, shardIds: [0, 1], shardCount: SHARDS, leaseTtlMs: 1_500 } as const;
  const a = shardWorker(t, sim, { ...common, ownerId: 'a' });
  const ready = collect(a, 'ready', SHARDS);
  await a.connect();
  assert.deepEqual(await ready, [0, 1], a.lines.join('\n'));
  assert.deepEqual(a.shardIds, [0, 1]);

  const events = eventFlow(t, sim, SHARDS, 20);
  await waitFor(async () => ((await streamByShard(redis, prefix)).get(1)?.length ?? 0) > 10, {
    what: 'events in the stream',
  });
  // stop while events flow: whatever a had read is flushed to the stream, and its sequence persisted
  await a.destroy();
  events.stop();
  assert.deepEqual(a.shardIds, []);
  const leases = new ShardLeases({ redis, prefix });
  assert.equal((await leases.owners(SHARDS)).size, 0, 'stop() released every lease');
  assert.equal(await redis.zscore(`${prefix}workers`, 'a'), null, 'and left the registry');
  // A clean stop persists the session at the stream's head: the next owner replays nothing twice.
  const stream = await streamByShard(redis, prefix);
  const store = new RedisSessionStore({ redis, prefix });
  for (let shard = 0; shard < SHARDS; shard++) {
    assert.equal((await store.load(shard))?.sequence, stream.get(shard)?.at(-1), `shard ${shard} sequence`);
  }
  assert.deepEqual(
    [...sessionsByShard(sim).values()].map((s) => s.some((x) => x.connected)),
    [false, false],
    'a closed its gateway connections',
  );

  const b = shardWorker(t, sim, { ...common, ownerId: 'b' });
  const resumed = collect(b, 'resumed', SHARDS);
  await b.connect();
  assert.deepEqual(await resumed, [0, 1], b.lines.join('\n'));
  const after = eventFlow(t, sim, SHARDS, 20);
  const last = sessionsByShard(sim).get(0)![0]!.lastSeq;
  await waitFor(() => sessionsByShard(sim).get(0)![0]!.lastSeq >= last + 5, {
    what: 'events after the takeover',
  });
  after.stop();
  await waitFor(() => streamCaughtUp(redis, prefix, sim, SHARDS), { what: 'the stream to catch up again' });
  const stats = sim.stats();
  assert.equal(stats.identifies, SHARDS, 'b resumed, never identified');
  assert.equal(stats.resumes, SHARDS);
  await assertStreamComplete(redis, prefix, sim, SHARDS, b.lines.join('\n'));
  const owners = await leases.owners(SHARDS);
  assert.deepEqual([...owners.values()], ['b', 'b']);
  await b.destroy();
  assert.equal((await leases.owners(SHARDS)).size, 0);
});

test('a worker started before Redis waits for it, saying so, and runs its shards once Redis is up', async (t) => {
  if (!redisServerAvailable()) {
    t.skip('redis-server is not installed');
    return;
  }
  const server = new RedisServerProcess(await closedPort());
  t.after(async () => {
    await server.stop();
    rmSync(server.dir, { recursive: true, force: true });
  });
  const redis = createRedisClient(server.url, { redisOptions: { retryStrategy: () => 50 } });
  t.after(() => closeClient(redis));
  const prefix = 'shardline-test:late:';
  const sim = await simulator(t, { ...WORKER_SIM, shards: 1 });
  const worker = shardWorker(t, sim, { redis, prefix, shardIds: [0], shardCount: 1, leaseTtlMs: 1_500 });
  const ready = collect(worker, 'ready', 1);
  let started = false;
  const starting = worker.connect().then(() => {
    started = true;
  });
  const waiting = new RegExp(
    `^warn: waiting for Redis at redis://127\\.0\\.0\\.1:${server.port} \\(attempt 2\\): .*ECONNREFUSED`,
  );
  await waitFor(() => worker.lines.some((l) => waiting.test(l)), {
    what: 'the worker to say it waits for Redis',
  });
  assert.equal(started, false, 'start() waits');
  await server.start();
  await starting;
  assert.deepEqual(await ready, [0], worker.lines.join('\n'));
  assert.ok(worker.lines.some((l) => /Redis at redis:\/\/\S+ answered \(attempt \d+\)/.test(l)));
  await worker.destroy();
});

test('a bounded wait for Redis ends start() with REDIS_UNAVAILABLE saying how long it waited; stop() ends an unbounded one', async (t) => {
  const port = await closedPort();
  const redis = createRedisClient(`redis://127.0.0.1:${port}`, { redisOptions: { retryStrategy: () => 50 } });
  t.after(() => closeClient(redis));
  const sim = await simulator(t, { ...WORKER_SIM, shards: 1 });
  const bounded = shardWorker(t, sim, {
    redis,
    prefix: 'p:',
    shardIds: [0],
    shardCount: 1,
    redisWaitMs: 300,
  });
  const err = await bounded.connect().catch((e: unknown) => e);
  assert.ok(err instanceof RedisError, String(err));
  assert.equal(err.code, 'REDIS_UNAVAILABLE');
  assert.match(
    err.message,
    new RegExp(
      `^Redis at redis://127\\.0\\.0\\.1:${port} did not answer within \\d+ s \\(\\d+ attempts\\): .*ECONNREFUSED`,
    ),
  );
  assert.ok(!err.message.includes(sim.tokens[0]!));
  const forever = shardWorker(t, sim, { redis, prefix: 'p:', shardIds: [0], shardCount: 1 });
  const starting = forever.connect();
  await waitFor(() => forever.lines.some((l) => /waiting for Redis/.test(l)), { what: 'the wait' });
  await forever.destroy();
  await starting; // resolves: stop() came first
  assert.deepEqual(forever.shardIds, []);
});

test('while it waits for Redis the worker logs the delay its client really waits before the next attempt', async (t) => {
  const port = await closedPort();
  // ioredis spaces connection attempts by its retryStrategy; the log must say that delay, not one of its own
  const redis = createRedisClient(`redis://127.0.0.1:${port}`, {
    redisOptions: { retryStrategy: () => 345 },
  });
  t.after(() => closeClient(redis));
  const sim = await simulator(t, { ...WORKER_SIM, shards: 1 });
  const worker = shardWorker(t, sim, { redis, prefix: 'p:', shardIds: [0], shardCount: 1 });
  const starting = worker.connect();
  const waits = (): string[] => worker.lines.filter((l) => /waiting for Redis/.test(l));
  await waitFor(() => waits().length >= 4, { what: 'four failed attempts' });
  await worker.destroy();
  await starting;
  const lines = waits();
  lines.forEach((line, i) => {
    assert.match(line, new RegExp(`\\(attempt ${i + 1}\\): .*ECONNREFUSED.*; retrying in 345 ms$`), line);
  });
});
