/**
 * The two scripts behind `RedisGateway`'s guarantees, against real Redis: an `onAck` step runs its commands
 * and the XACK only while the entry is still this consumer's, and the refresh of running entries resets their
 * idle time without taking entries of other consumers.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { commitWithAck, refreshPending } from '../../src/redis/pending.js';
import { redisFixture } from '../support/redis.js';

type Pending = [id: string, consumer: string, idleMs: number, deliveries: number][];

test('an onAck step commits with the XACK only for the consumer that holds the entry, once', async (t) => {
  const { redis, prefix } = await redisFixture(t);
  const stream = `${prefix}events:0`;
  await redis.xgroup('CREATE', stream, 'g', '0', 'MKSTREAM');
  const a = (await redis.xadd(stream, '*', 'e', 'a'))!;
  const b = (await redis.xadd(stream, '*', 'e', 'b'))!;
  await redis.xreadgroup('GROUP', 'g', 'one', 'COUNT', 1, 'STREAMS', stream, '>');
  await redis.xreadgroup('GROUP', 'g', 'two', 'COUNT', 1, 'STREAMS', stream, '>');
  const effect = `${prefix}effect`;
  // entry a is consumer one's: consumer two's step does nothing
  assert.equal(await commitWithAck(redis, stream, 'g', 'two', a, [['HINCRBY', effect, 'a', 1]]), false);
  assert.equal(await redis.hget(effect, 'a'), null);
  assert.equal(
    await commitWithAck(redis, stream, 'g', 'one', a, [
      ['HINCRBY', effect, 'a', 1],
      ['SADD', `${effect}:set`, 'a'],
    ]),
    true,
  );
  assert.equal(await redis.hget(effect, 'a'), '1');
  assert.equal(await redis.sismember(`${effect}:set`, 'a'), 1);
  // acknowledged: a second step (a rerun) commits nothing
  assert.equal(await commitWithAck(redis, stream, 'g', 'one', a, [['HINCRBY', effect, 'a', 1]]), false);
  assert.equal(await redis.hget(effect, 'a'), '1');
  const pending = (await redis.xpending(stream, 'g', '-', '+', 10)) as Pending;
  assert.deepEqual(
    pending.map(([id, consumer]) => [id, consumer]),
    [[b, 'two']],
  );
  // a command Redis refuses fails the step; what ran before it stays (no rollback), the entry stays pending
  await redis.set(`${effect}:string`, 'x');
  await assert.rejects(
    commitWithAck(redis, stream, 'g', 'two', b, [
      ['HINCRBY', effect, 'b', 1],
      ['SADD', `${effect}:string`, 'y'],
    ]),
    { name: 'RedisError' },
  );
  assert.equal(await redis.hget(effect, 'b'), '1');
  assert.equal(((await redis.xpending(stream, 'g')) as [number])[0], 1);
});

test("refreshing running entries resets their idle time and leaves other consumers' entries alone", async (t) => {
  const { redis, prefix } = await redisFixture(t);
  const stream = `${prefix}events:0`;
  await redis.xgroup('CREATE', stream, 'g', '0', 'MKSTREAM');
  const mine = (await redis.xadd(stream, '*', 'e', 'a'))!;
  const theirs = (await redis.xadd(stream, '*', 'e', 'b'))!;
  await redis.xreadgroup('GROUP', 'g', 'me', 'COUNT', 1, 'STREAMS', stream, '>');
  await redis.xreadgroup('GROUP', 'g', 'them', 'COUNT', 1, 'STREAMS', stream, '>');
  const idle = async (): Promise<Map<string, [string, number, number]>> =>
    new Map(
      ((await redis.xpending(stream, 'g', '-', '+', 10)) as Pending).map(([id, c, ms, d]) => [
        id,
        [c, ms, d],
      ]),
    );
  await new Promise((resolve) => setTimeout(resolve, 60));
  const before = await idle();
  assert.ok(before.get(mine)![1] >= 50 && before.get(theirs)![1] >= 50, JSON.stringify([...before]));
  assert.equal(await refreshPending(redis, stream, 'g', 'me', [mine, theirs, '0-1']), 1);
  const after = await idle();
  assert.ok(after.get(mine)![1] < before.get(mine)![1], 'mine was refreshed');
  assert.deepEqual(after.get(mine)!.slice(0, 1), ['me']);
  assert.equal(after.get(mine)![2], 1, 'the delivery count is left alone');
  assert.deepEqual(after.get(theirs)!.slice(0, 1), ['them'], 'theirs stays theirs');
  assert.ok(after.get(theirs)![1] >= before.get(theirs)![1], 'and its idle time runs on');
});
