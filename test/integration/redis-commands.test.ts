import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ConfigError, RedisError } from '../../src/errors.js';
import { shardForGuild } from '../../src/manager/routing.js';
import { publishShardCount } from '../../src/redis/commands.js';
import { CommandClient, closeClient, createRedisClient, serveCommands } from '../../src/redis/index.js';
import { extraClient, REDIS_URL, redisFixture, waitFor } from '../support/redis.js';
import { TcpProxy } from '../support/tcp-proxy.js';

test('routes guilds to shards with (guild_id >> 22) % num_shards', () => {
  assert.equal(shardForGuild('81384788765712384', 1), 0);
  assert.equal(shardForGuild('81384788765712384', 16), Number((81384788765712384n >> 22n) % 16n));
  assert.equal(shardForGuild(41771983423143937n, 4), Number((41771983423143937n >> 22n) % 4n));
  assert.throws(() => shardForGuild('not a snowflake', 4), ConfigError);
  assert.throws(() => shardForGuild('1', 0), ConfigError);
});

test('a command reaches the owning worker and its result comes back', async (t) => {
  const { redis, prefix } = await redisFixture(t);
  const abort = new AbortController();
  const seen: unknown[] = [];
  const serving = [0, 1, 2, 3].map((shardId) =>
    serveCommands({
      redis: extraClient(t),
      prefix,
      shardId,
      consumer: 'worker-a',
      blockMs: 100,
      signal: abort.signal,
      handler: async (payload, ctx) => {
        seen.push([ctx.shardId, payload]);
        return { sentBy: ctx.shardId };
      },
    }),
  );
  t.after(async () => {
    abort.abort();
    await Promise.all(serving);
  });
  const client = new CommandClient({ redis: extraClient(t), prefix });
  t.after(() => client.close());
  assert.deepEqual(await client.send({ shardId: 2 }, { op: 3, d: { status: 'idle' } }), { sentBy: 2 });
  await publishShardCount({ redis, prefix, shardCount: 4 });
  const guildId = '81384788765712384';
  const expected = shardForGuild(guildId, 4);
  const results = await Promise.all(
    Array.from({ length: 10 }, (_, i) =>
      client.send({ guildId }, { op: 8, d: { guild_id: guildId, nonce: String(i) } }),
    ),
  );
  assert.deepEqual(results, Array(10).fill({ sentBy: expected }));
  assert.equal(seen.length, 11);
});

test('a failing handler rejects the caller with COMMAND_FAILED and its code', async (t) => {
  const { redis, prefix } = await redisFixture(t);
  const abort = new AbortController();
  const serving = serveCommands({
    redis,
    prefix,
    shardId: 0,
    consumer: 'w',
    blockMs: 100,
    signal: abort.signal,
    handler: async () => {
      throw new RedisError('LEASE_LOST', 'shard 0 is not here any more', { shardId: 0 });
    },
  });
  t.after(async () => {
    abort.abort();
    await serving;
  });
  const client = new CommandClient({ redis: extraClient(t), prefix });
  t.after(() => client.close());
  const err = await client.send({ shardId: 0 }, { op: 3 }).catch((e: unknown) => e);
  assert.ok(err instanceof RedisError);
  assert.equal(err.code, 'COMMAND_FAILED');
  assert.match(err.message, /LEASE_LOST/);
});

test('times out with COMMAND_TIMEOUT when no worker owns the shard', async (t) => {
  const { redis, prefix } = await redisFixture(t);
  const client = new CommandClient({ redis, prefix, timeoutMs: 200 });
  t.after(() => client.close());
  const err = await client.send({ shardId: 5 }, { op: 3 }).catch((e: unknown) => e);
  assert.ok(err instanceof RedisError);
  assert.equal(err.code, 'COMMAND_TIMEOUT');
  assert.equal(err.shardId, 5);
  const noCount = await client.send({ guildId: '1' }, {}).catch((e: unknown) => e);
  assert.ok(noCount instanceof ConfigError);
});

test('a worker that takes a shard over runs commands sent while nobody owned it, skipping expired ones', async (t) => {
  const { redis, prefix } = await redisFixture(t);
  const client = new CommandClient({ redis: extraClient(t), prefix });
  t.after(() => client.close());
  const expired = client.send({ shardId: 1 }, { n: 'expired' }, { timeoutMs: 50 }).catch((e: unknown) => e);
  assert.equal(((await expired) as RedisError).code, 'COMMAND_TIMEOUT');
  const waiting = client.send({ shardId: 1 }, { n: 'late' }, { timeoutMs: 30_000 });
  const abort = new AbortController();
  const handled: unknown[] = [];
  const serving = serveCommands({
    redis,
    prefix,
    shardId: 1,
    consumer: 'heir',
    blockMs: 100,
    signal: abort.signal,
    handler: async (payload) => {
      handled.push(payload);
      return 'done';
    },
  });
  t.after(async () => {
    abort.abort();
    await serving;
  });
  assert.equal(await waiting, 'done');
  assert.deepEqual(handled, [{ n: 'late' }]);
});

test('aborting a command server ends it even while its blocking reader waits to reconnect', async (t) => {
  // A worker stops a shard's command server when it gives the shard up, typically because Redis is
  // unreachable. ioredis' disconnect() during a reconnect wait never settles the pending blocking read,
  // so the server must not wait for it.
  const { prefix } = await redisFixture(t);
  const url = new URL(REDIS_URL);
  const proxy = await TcpProxy.create(t, Number(url.port || 6379), url.hostname);
  const redis = createRedisClient(proxy.url, { redisOptions: { retryStrategy: () => 60_000 } });
  t.after(() => closeClient(redis));
  const ac = new AbortController();
  let ended = false;
  const serving = serveCommands({
    redis,
    prefix,
    shardId: 0,
    consumer: 'w',
    signal: ac.signal,
    handler: async () => ({}),
    blockMs: 60_000,
  }).finally(() => {
    ended = true;
  });
  await waitFor(async () => (await redis.exists(`${prefix}commands:0`)) === 1, { what: 'the command group' });
  await new Promise((resolve) => setTimeout(resolve, 100)); // the reader is blocked in XREADGROUP
  proxy.cut();
  await waitFor(() => redis.status === 'reconnecting', { what: 'the connection to drop' });
  ac.abort();
  await waitFor(() => ended, { what: 'serveCommands to end after the abort', timeoutMs: 5_000 });
  await serving;
});
