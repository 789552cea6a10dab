import assert from 'node:assert/strict';
import { test } from 'node:test';
import { closeClient, createRedisClient, RedisSessionStore } from '../../src/redis/index.js';
import { REDIS_URL, redisFixture, waitFor } from '../support/redis.js';
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
import { sampleConnections, simulator } from '../support/sim-helpers.js';
import { TcpProxy } from '../support/tcp-proxy.js';

test('a worker cut off from Redis for longer than the lease TTL closes its shard before another worker can take it; the other RESUMEs and nothing is lost', async (t) => {
  const { redis, prefix } = await redisFixture(t);
  const proxy = await TcpProxy.create(
    t,
    Number(new URL(REDIS_URL).port || 6379),
    new URL(REDIS_URL).hostname,
  );
  const cutOff = createRedisClient(proxy.url, { redisOptions: { retryStrategy: () => 50 } });
  t.after(() => closeClient(cutOff));
  const sim = await simulator(t, { ...WORKER_SIM, shards: 1, guilds: 2 });
  const peak = sampleConnections(t, sim, 2);
  // A small buffer: while cut off, `a` fills it and pauses reading before its lease runs out.
  const common = { prefix, shardIds: [0], shardCount: 1, leaseTtlMs: 1_500, retryMaxMs: 100 } as const;
  const a = shardWorker(t, sim, { ...common, redis: cutOff, ownerId: 'a', highWaterMark: 5 });
  const aReady = collect(a, 'ready', 1);
  await a.connect();
  await aReady;
  const events = eventFlow(t, sim, 1, 10);
  const b = shardWorker(t, sim, { ...common, redis, ownerId: 'b' });
  const bResumed = collect(b, 'resumed', 1);
  await b.connect();
  await waitFor(() => b.lines.some((l) => /leased by another worker/.test(l)), {
    what: 'b waiting for the shard',
  });

  proxy.cut();
  await waitFor(() => a.readsPaused, { what: 'a to pause reading with its buffer full' });
  await bResumed;
  proxy.restore();
  const last = sessionsByShard(sim).get(0)![0]!.lastSeq;
  await waitFor(() => sessionsByShard(sim).get(0)![0]!.lastSeq >= last + 5, {
    what: 'events after the takeover',
  }).catch((err: Error) => {
    throw new Error(
      `${err.message}: ${JSON.stringify(sim.stats().sessions)}\n${a.lines.join('\n')}\n---\n${b.lines.join('\n')}`,
    );
  });
  events.stop();
  const context = (): string => `${a.lines.join('\n')}\n---\n${b.lines.join('\n')}`;
  await waitFor(() => streamCaughtUp(redis, prefix, sim, 1), {
    what: 'the stream to hold every dispatch',
  }).catch(async (err: Error) => {
    const seqs = (await streamByShard(redis, prefix)).get(0) ?? [];
    throw new Error(
      `${err.message}: sim at ${sessionsByShard(sim).get(0)?.[0]?.lastSeq}, stream ${seqs.length} entries ending ${seqs.slice(-5)}\n${context()}`,
    );
  });
  peak.stop();
  assert.ok(
    a.lines.some((l) => /gave up shard 0: lease lost/.test(l)),
    context(),
  );
  assert.equal(peak.maxOpen, 1, `never two open gateway connections\n${context()}`);
  assert.equal(peak.maxConnected, 1, 'never two live sessions');
  const stats = sim.stats();
  assert.equal(stats.identifies, 1, 'b resumed the session');
  await assertStreamComplete(redis, prefix, sim, 1, context());
  await a.destroy();
  await b.destroy();
});

test('stop() while Redis is unreachable: once it is back, the session is stored at the stream head, not behind it', async (t) => {
  const { redis, prefix } = await redisFixture(t);
  const url = new URL(REDIS_URL);
  const proxy = await TcpProxy.create(t, Number(url.port || 6379), url.hostname);
  const cutOff = createRedisClient(proxy.url, { redisOptions: { retryStrategy: () => 50 } });
  t.after(() => closeClient(cutOff));
  const sim = await simulator(t, { ...WORKER_SIM, shards: 1, guilds: 2 });
  const a = shardWorker(t, sim, {
    redis: cutOff,
    prefix,
    shardIds: [0],
    shardCount: 1,
    leaseTtlMs: 6_000,
    retryMaxMs: 100,
  });
  const ready = collect(a, 'ready', 1);
  await a.connect();
  await ready;
  const events = eventFlow(t, sim, 1, 10);
  await waitFor(async () => ((await streamByShard(redis, prefix)).get(0)?.length ?? 0) > 5, {
    what: 'events',
  });
  proxy.cut();
  const seq = sessionsByShard(sim).get(0)![0]!.lastSeq;
  // The simulator counts an event as soon as it is sequenced; wait until the worker's shard has READ five
  // more (an event sequenced but unread at the close is the gateway's to replay, never in the stream).
  const read = (): number => a.status().find((s) => s.shardId === 0)?.sequence ?? 0;
  await waitFor(() => read() >= seq + 5, { what: 'events buffered while cut off' });
  const released = new Promise((resolve) => a.once('released', resolve));
  const stopping = a.destroy();
  await released; // the shard is closed; its events wait in the publisher
  events.stop();
  proxy.restore();
  await stopping;
  const head = (await streamByShard(redis, prefix)).get(0)?.at(-1);
  assert.ok(
    head !== undefined && head >= seq + 5,
    `the events read while cut off reached the stream (head ${head}, cut at ${seq})\n${a.lines.join('\n')}`,
  );
  const stored = await new RedisSessionStore({ redis, prefix }).load(0);
  assert.equal(stored?.sequence, head, `the stored sequence is the stream head\n${a.lines.join('\n')}`);
});
