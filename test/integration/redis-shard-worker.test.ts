import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { test } from 'node:test';
import { RedisError } from '../../src/errors.js';
import { closeClient, createRedisClient, RedisSessionStore, ShardLeases } from '../../src/redis/index.js';
import { type Clock, systemClock } from '../../src/util/clock.js';
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
  // every shard and the worker's own waits run on the injected clock
  let clockTimers = 0;
  const clock: Clock = {
    now: () => systemClock.now(),
    setTimeout: (fn, ms) => {
      clockTimers++;
      return systemClock.setTimeout(fn, ms);
    },
    clearTimeout: (h) => systemClock.clearTimeout(h),
    random: () => systemClock.random(),
  };
  const a = shardWorker(t, sim, { ...common, ownerId: 'a', clock, identifyMarginMs: 20 });
  const ready = collect(a, 'ready', SHARDS);
  // The Shard events, forwarded with shardId last (and `log` lines naming the shard they are about).
  const seen = { status: new Set<string>(), close: [] as number[], heartbeat: new Set<number>() };
  const debug = new Set<number | null>();
  const logIds = new Set<number | null>();
  a.on('status', (status, previous, shardId) => seen.status.add(`${shardId}:${previous}->${status}`));
  a.on('close', (info, shardId) => {
    assert.equal(info.byClient, true);
    seen.close.push(shardId);
  });
  a.on('heartbeat', (info, shardId) => {
    assert.equal(typeof info.latencyMs, 'number');
    seen.heartbeat.add(shardId);
  });
  a.on('debug', (message, shardId) => {
    assert.equal(typeof message, 'string');
    debug.add(shardId);
  });
  a.on('log', (_level, message, shardId) => {
    if (/^owns shard \d+/.test(message)) logIds.add(shardId);
  });
  const connecting = a.connect();
  // a second connect(), while the first runs or after it, is a typed refusal that leaves the first alone
  await assert.rejects(a.connect(), { name: 'ManagerError', code: 'SHARD_ALREADY_STARTED' });
  await connecting;
  await assert.rejects(a.connect(), { name: 'ManagerError', code: 'SHARD_ALREADY_STARTED' });
  assert.deepEqual(await ready, [0, 1], a.lines.join('\n'));
  assert.deepEqual(a.shardIds, [0, 1]);
  const snap = a.snapshot();
  assert.equal(snap.state, 'ready');
  assert.equal(snap.shardCount, SHARDS);
  assert.deepEqual(snap.shardIds, [0, 1]);
  assert.equal(snap.ownerId, 'a');
  assert.equal(snap.readsPaused, false);
  assert.deepEqual(
    snap.shards.map((s) => [s.shardId, s.shardCount, s.role, s.status]),
    [
      [0, SHARDS, 'active', 'ready'],
      [1, SHARDS, 'active', 'ready'],
    ],
  );
  for (const s of snap.shards) {
    assert.ok(s.guilds > 0, `shard ${s.shardId} counts the guilds of its READY`);
    assert.ok(s.sequence !== null && s.sequence > 0, `shard ${s.shardId} has a sequence`);
    assert.equal(s.reconnects, 0);
  }

  const events = eventFlow(t, sim, SHARDS, 20);
  await waitFor(async () => ((await streamByShard(redis, prefix)).get(1)?.length ?? 0) > 10, {
    what: 'events in the stream',
  });
  await waitFor(() => seen.heartbeat.size === SHARDS, { what: 'a heartbeat event of each shard' });
  assert.ok(clockTimers > 0, 'the injected clock was used');
  assert.match(a.metricsContentType, /^text\/plain/);
  const metrics = await a.collectMetrics();
  assert.match(metrics, /shardline_worker_shards_owned 2/);
  assert.equal('metrics' in a, false, 'the metrics recorder is private');
  assert.ok(
    seen.status.has('0:identifying->ready') && seen.status.has('1:identifying->ready'),
    [...seen.status].join(' '),
  );
  assert.ok(debug.has(0) && debug.has(1), "each shard's debug is forwarded with its id");
  assert.deepEqual([...logIds].sort(), [0, 1], '`log` names the shard a line is about');
  // stop while events flow: whatever a had read is flushed to the stream, and its sequence persisted
  await a.destroy();
  events.stop();
  assert.deepEqual(seen.close.sort(), [0, 1], 'a close event per shard, with its id');
  await assert.rejects(a.connect(), { name: 'ManagerError', code: 'MANAGER_DESTROYED' });
  assert.deepEqual(a.shardIds, []);
  assert.deepEqual(
    { ...a.snapshot(), ownerId: '' },
    { state: 'destroyed', shardCount: SHARDS, shardIds: [], shards: [], ownerId: '', readsPaused: false },
  );
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
