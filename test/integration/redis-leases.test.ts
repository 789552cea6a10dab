import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { RedisError } from '../../src/errors.js';
import { ShardLeases } from '../../src/redis/index.js';
import {
  extraClient,
  RedisServerProcess,
  redisFixture,
  redisServerAvailable,
  waitFor,
} from '../support/redis.js';

test('two workers racing for one shard: exactly one gets it', async (t) => {
  const { prefix } = await redisFixture(t);
  const workers = Array.from(
    { length: 6 },
    (_, i) => new ShardLeases({ redis: extraClient(t), prefix, ownerId: `w${i}` }),
  );
  const results = await Promise.all(workers.map((w) => w.acquire(7)));
  assert.equal(results.filter((r) => r !== null).length, 1);
  const winner = workers[results.findIndex((r) => r !== null)]!;
  assert.deepEqual(winner.held(), [7]);
  // acquiring again is idempotent for the owner and refused for everyone else
  assert.equal((await winner.acquire(7))?.token, results.find((r) => r)?.token);
  for (const w of workers) if (w !== winner) assert.equal(await w.acquire(7), null);
});

test('fencing tokens grow with every new owner, so a stale owner can tell', async (t) => {
  const { redis, prefix } = await redisFixture(t);
  const a = new ShardLeases({ redis, prefix, ownerId: 'a' });
  const b = new ShardLeases({ redis, prefix, ownerId: 'b' });
  const first = await a.acquire(0);
  assert.ok(first);
  assert.equal(await a.isCurrent(0, first.token), true);
  assert.equal(await a.release(0), true);
  const second = await b.acquire(0);
  assert.ok(second && second.token > first.token);
  assert.equal(await a.isCurrent(0, first.token), false);
  // a release by the old owner does not touch the new lease
  assert.equal(await a.release(0), false);
  assert.equal(await b.isCurrent(0, second.token), true);
});

test('a dead worker loses its leases after the TTL and another takes the shard over', async (t) => {
  const { prefix } = await redisFixture(t);
  const dead = new ShardLeases({ redis: extraClient(t), prefix, ownerId: 'dead', ttlMs: 300 });
  const heir = new ShardLeases({ redis: extraClient(t), prefix, ownerId: 'heir', ttlMs: 300 });
  const old = await dead.acquire(1);
  assert.ok(old);
  // `dead` never renews: it is gone
  let taken: Awaited<ReturnType<ShardLeases['acquire']>> = null;
  await waitFor(
    async () => {
      taken = await heir.acquire(1);
      return taken !== null;
    },
    { what: 'the lease to expire', timeoutMs: 15_000, everyMs: 25 },
  );
  assert.ok(taken !== null && (taken as { token: number }).token > old.token);
});

test('renewal keeps a lease alive well past its TTL', async (t) => {
  const { prefix } = await redisFixture(t);
  const lost: number[] = [];
  const owner = new ShardLeases({
    redis: extraClient(t),
    prefix,
    ownerId: 'owner',
    ttlMs: 1_000,
    renewIntervalMs: 100,
    onLost: (id) => lost.push(id),
  });
  const rival = new ShardLeases({ redis: extraClient(t), prefix, ownerId: 'rival', ttlMs: 1_000 });
  assert.ok(await owner.acquire(2));
  owner.start();
  t.after(() => owner.close());
  const until = Date.now() + 2_500; // 2.5 TTLs
  while (Date.now() < until) {
    assert.equal(await rival.acquire(2), null);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  assert.deepEqual(lost, []);
  assert.deepEqual(owner.held(), [2]);
});

test('reports LEASE_LOST when another worker took the shard over', async (t) => {
  const { redis, prefix } = await redisFixture(t);
  const lost: RedisError[] = [];
  const a = new ShardLeases({
    redis,
    prefix,
    ownerId: 'a',
    ttlMs: 1_000,
    onLost: (_id, err) => lost.push(err),
  });
  assert.ok(await a.acquire(3));
  // as if `a` had been paused past its TTL and `b` took over meanwhile
  await redis.del(`${prefix}lease:3`);
  const b = new ShardLeases({ redis, prefix, ownerId: 'b' });
  assert.ok(await b.acquire(3));
  await a.renew();
  assert.equal(lost.length, 1);
  assert.equal(lost[0]!.code, 'LEASE_LOST');
  assert.equal(lost[0]!.shardId, 3);
  assert.deepEqual(a.held(), []);
});

test('lists free shards and owners for --shard-ids auto', async (t) => {
  const { redis, prefix } = await redisFixture(t);
  const a = new ShardLeases({ redis, prefix, ownerId: 'a' });
  const b = new ShardLeases({ redis, prefix, ownerId: 'b' });
  await a.acquire(0);
  await a.acquire(2);
  await b.acquire(3);
  assert.deepEqual(await a.freeShards(6), [1, 4, 5]);
  assert.deepEqual(
    [...(await b.owners(6))].sort(([x], [y]) => x - y),
    [
      [0, 'a'],
      [2, 'a'],
      [3, 'b'],
    ],
  );
  await a.close();
  assert.deepEqual(await b.freeShards(6), [0, 1, 2, 4, 5]);
});

test('workers started with --shard-ids auto split the free shards without overlap', async (t) => {
  const { prefix } = await redisFixture(t);
  const workers = [0, 1, 2].map(
    (i) => new ShardLeases({ redis: extraClient(t), prefix, ownerId: `auto${i}` }),
  );
  const claimed = await Promise.all(workers.map((w) => w.claimFree(12, 4)));
  const all = claimed.flat().map((l) => l.shardId);
  assert.equal(all.length, 12);
  assert.equal(new Set(all).size, 12);
  assert.deepEqual(await workers[0]!.freeShards(12), []);
});

test('gives its shards up before the TTL when Redis stops answering', async (t) => {
  if (!redisServerAvailable()) {
    t.skip('redis-server is not on PATH');
    return;
  }
  const server = await RedisServerProcess.create(t);
  const lost: number[] = [];
  const leases = new ShardLeases({
    redis: extraClient(t, server.url),
    ownerId: 'w',
    ttlMs: 600,
    renewIntervalMs: 150,
    onLost: (id) => lost.push(id),
  });
  assert.ok(await leases.acquire(0));
  assert.ok(await leases.acquire(1));
  leases.start();
  t.after(() => leases.stop());
  await server.stop();
  await waitFor(() => lost.length === 2, { what: 'both leases to be given up' });
  assert.deepEqual(lost.sort(), [0, 1]);
  assert.deepEqual(leases.held(), []);
});

test('two live processes started with the same owner id never both hold a shard', async (t) => {
  // e.g. `--owner` copied between two services: the second must wait, not take the first one's lease.
  const { prefix } = await redisFixture(t);
  const first = new ShardLeases({ redis: extraClient(t), prefix, ownerId: 'same' });
  const second = new ShardLeases({ redis: extraClient(t), prefix, ownerId: 'same' });
  assert.ok(await first.acquire(3));
  assert.equal(await second.acquire(3), null, 'the other process with the same owner id is refused');
  assert.equal((await first.owners(4)).get(3), 'same', 'owners() still reports the owner id');
  assert.ok(await first.acquire(3), 'the holder re-acquires its own lease');
  await first.release(3);
  assert.ok(await second.acquire(3), 'free again: the other one takes it');
});
