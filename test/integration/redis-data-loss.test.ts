import assert from 'node:assert/strict';
import { test } from 'node:test';
import { closeClient, createRedisClient, eventStreamKey } from '../../src/redis/index.js';
import { RedisServerProcess, redisFixture, redisServerAvailable, waitFor } from '../support/redis.js';
import {
  collect,
  eventFlow,
  shardWorker,
  simSessions,
  streamBySession,
  WORKER_SIM,
} from '../support/shard-worker.js';
import { simulator } from '../support/sim-helpers.js';

test('Redis restarted EMPTY under running workers: every event emitted after the loss reaches the stream, in order, and the loss is reported', async (t) => {
  if (!redisServerAvailable()) {
    t.skip('redis-server is not installed');
    return;
  }
  const server = await RedisServerProcess.create(t);
  const redis = createRedisClient(server.url, { redisOptions: { retryStrategy: () => 50 } });
  t.after(() => closeClient(redis));
  const prefix = 'shardline-test:loss:';
  const SHARDS = 4;
  // Leases have history: earlier owners took the fencing tokens up to 40 before the data was lost.
  for (let shard = 0; shard < SHARDS; shard++) await redis.set(`${prefix}lease:${shard}:fence`, 40);
  const sim = await simulator(t, { ...WORKER_SIM, shards: SHARDS });
  const client = (): typeof redis => {
    const c = createRedisClient(server.url, { redisOptions: { retryStrategy: () => 50 } });
    t.after(() => closeClient(c));
    return c;
  };
  const common = { prefix, shardCount: SHARDS, leaseTtlMs: 1_500, retryMaxMs: 200 } as const;
  const a = shardWorker(t, sim, { ...common, redis: client(), shardIds: [0, 1], ownerId: 'a' });
  const b = shardWorker(t, sim, { ...common, redis: client(), shardIds: [2, 3], ownerId: 'b' });
  const readyA = collect(a, 'ready', 2);
  const readyB = collect(b, 'ready', 2);
  await Promise.all([a.connect(), b.connect()]);
  await Promise.all([readyA, readyB]);
  const flow = eventFlow(t, sim, SHARDS, 20);
  await waitFor(
    async () => {
      const stream = await streamBySession(redis, prefix);
      return stream.size === SHARDS && [...stream.values()].every((seqs) => seqs.length > 10);
    },
    { what: 'events of every shard in the stream' },
  );

  await server.stop();
  // What the gateway had sent when Redis died: anything later cannot have been published before the loss.
  const atLoss = simSessions(sim);
  await server.restartEmpty();
  const lastAtLoss = Math.max(...atLoss.values());
  await waitFor(() => Math.min(...[...simSessions(sim).values()]) > lastAtLoss + 20, {
    what: 'events after the restart',
    timeoutMs: 20_000,
  });
  flow.stop();
  const dump = (): string => [...a.lines.map((l) => `a ${l}`), ...b.lines.map((l) => `b ${l}`)].join('\n');
  await waitFor(
    async () => {
      const stream = await streamBySession(redis, prefix);
      for (const [session, last] of simSessions(sim)) {
        if (last > (atLoss.get(session) ?? 0) && stream.get(session)?.at(-1) !== last) return false;
      }
      return true;
    },
    { what: 'every event emitted after the loss in the stream', timeoutMs: 30_000, everyMs: 100 },
  ).catch((err: Error) => {
    throw new Error(`${err.message}\n${dump()}`);
  });

  const stream = await streamBySession(redis, prefix);
  for (const [session, last] of simSessions(sim)) {
    const seqs = stream.get(session) ?? [];
    const before = atLoss.get(session);
    if (before === undefined) {
      assert.deepEqual(
        seqs,
        Array.from({ length: last }, (_, i) => i + 1),
        `${session}: a new session, all of it`,
      );
      continue;
    }
    if (last === before) continue; // nothing emitted after the loss
    const first = seqs[0]!;
    assert.ok(first <= before + 1, `${session}: the run starts by ${before + 1}, got ${first}\n${dump()}`);
    assert.deepEqual(
      seqs,
      Array.from({ length: last - first + 1 }, (_, i) => first + i),
      `${session}: every event from ${first} to ${last} once, in order\n${dump()}`,
    );
  }
  // Each worker notices the loss at its next lease renewal (about a third of the TTL): the events can all be
  // in the stream before the second one has renewed.
  await waitFor(() => [a, b].every((w) => w.lines.some((l) => /^warn: Redis lost its data/.test(l))), {
    what: 'both workers to report the data loss',
    timeoutMs: 30_000,
  }).catch((err: Error) => {
    throw new Error(`${err.message}\n${dump()}`);
  });
  for (const w of [a, b]) {
    assert.match(await w.collectMetrics(), /^shardline_worker_redis_data_losses_total 1$/m);
  }
  await Promise.all([a.destroy(), b.destroy()]); // before the private Redis goes away with the after hooks
});

test('events refused for a stale fence are reported, the shard is given up and resumed under a higher fence, and nothing is lost', async (t) => {
  const { redis, prefix } = await redisFixture(t);
  const SHARDS = 2;
  const sim = await simulator(t, { ...WORKER_SIM, shards: SHARDS });
  const worker = shardWorker(t, sim, {
    redis,
    prefix,
    shardIds: [0, 1],
    shardCount: SHARDS,
    leaseTtlMs: 1_500,
  });
  const ready = collect(worker, 'ready', SHARDS);
  await worker.connect();
  await ready;
  const flow = eventFlow(t, sim, SHARDS, 20);
  await waitFor(async () => (await streamBySession(redis, prefix)).size === SHARDS, {
    what: 'events in the stream',
  });
  // Redis holds a fence above the worker's lease for shard 1 (as events from before a data loss, stamped
  // by a lease whose counter was further along, would leave it): every publish of that lease is refused.
  const token = (await redis.get(`${prefix}lease:1`))!.split(':').at(-1)!;
  const stored = Number(token) * 2;
  await redis.hset(`${eventStreamKey(prefix, 0)}:last`, '1:fence', stored);
  await waitFor(() => worker.lines.some((l) => /event\(s\) of shard 1 refused/.test(l)), {
    what: 'the refusal',
  });
  await waitFor(() => worker.lines.some((l) => /shard 1 resumed/.test(l)), { what: 'shard 1 to be resumed' });
  await waitFor(async () => Number((await redis.get(`${prefix}lease:1`))?.split(':').at(-1)) > stored, {
    what: 'a higher fence',
  });
  const after = simSessions(sim);
  await waitFor(
    () => [...simSessions(sim)].every(([session, last]) => last > (after.get(session) ?? 0) + 5),
    { what: 'events after the resume' },
  );
  flow.stop();
  await waitFor(
    async () => {
      const stream = await streamBySession(redis, prefix);
      return [...simSessions(sim)].every(([session, last]) => stream.get(session)?.at(-1) === last);
    },
    { what: 'the stream to catch up' },
  ).catch((err: Error) => {
    throw new Error(`${err.message}\n${worker.lines.join('\n')}`);
  });
  const stream = await streamBySession(redis, prefix);
  for (const [session, last] of simSessions(sim)) {
    assert.deepEqual(
      stream.get(session),
      Array.from({ length: last }, (_, i) => i + 1),
      `${session}: every event once, in order\n${worker.lines.join('\n')}`,
    );
  }
  assert.ok(worker.lines.some((l) => /^warn: gave up shard 1: its lease cannot publish/.test(l)));
  assert.match(await worker.collectMetrics(), /^shardline_worker_events_refused_total [1-9]\d*$/m);
  assert.equal(sim.stats().identifies, SHARDS, 'resumed, never identified again');
  await worker.destroy();
});
