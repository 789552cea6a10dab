import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Redis } from 'ioredis';
import { ConfigError, type RedisError, type ShardlineError } from '../../src/errors.js';
import { parseEventFields } from '../../src/redis/consumer.js';
import {
  consume,
  type DispatchEvent,
  eventStreamKey,
  type PublisherStatus,
  RedisEventPublisher,
  readDeadLetters,
  type StreamEvent,
} from '../../src/redis/index.js';
import {
  RedisServerProcess,
  redisFixture,
  redisServerAvailable,
  unreachableClient,
  waitFor,
} from '../support/redis.js';

function events(
  shardId: number,
  from: number,
  to: number,
  sessionId = 's1',
  type = 'MESSAGE_CREATE',
): DispatchEvent[] {
  const out: DispatchEvent[] = [];
  for (let seq = from; seq <= to; seq++)
    out.push({ shardId, sessionId, seq, type, data: { n: seq, id: 1n << 60n } });
  return out;
}

async function streamContents(redis: Redis, prefix: string, partition = 0) {
  const entries = (await redis.xrange(eventStreamKey(prefix, partition), '-', '+')) as [string, string[]][];
  return entries.map(([, raw]) => parseEventFields(raw)!);
}

/** Every (shard, seq) exactly once, in order per shard. */
function assertExactlyOnceInOrder(
  stored: { shardId: number; seq: number }[],
  expected: Map<number, number>,
): void {
  const perShard = new Map<number, number[]>();
  for (const e of stored) {
    const list = perShard.get(e.shardId) ?? [];
    list.push(e.seq);
    perShard.set(e.shardId, list);
  }
  for (const [shard, last] of expected) {
    assert.deepEqual(
      perShard.get(shard),
      Array.from({ length: last }, (_, i) => i + 1),
      `shard ${shard}`,
    );
  }
}

async function take(iter: AsyncGenerator<StreamEvent>, n: number): Promise<StreamEvent[]> {
  const out: StreamEvent[] = [];
  while (out.length < n) {
    const r = await iter.next();
    if (r.done) break;
    out.push(r.value);
  }
  return out;
}

test('publishes each dispatch once per (shard, session, seq), even when replayed or republished by a new process', async (t) => {
  const { redis, prefix } = await redisFixture(t);
  const published: [number, string, number][] = [];
  const first = new RedisEventPublisher({
    redis,
    prefix,
    batchSize: 64,
    onPublished: (shard, session, seq) => published.push([shard, session, seq]),
  });
  for (const e of [...events(0, 1, 100), ...events(1, 1, 50)]) first.publish(e);
  // a RESUME replays 60..120 of shard 0
  for (const e of events(0, 60, 120)) first.publish(e);
  await first.flush();
  // the worker restarts and replays again
  const second = new RedisEventPublisher({ redis, prefix });
  for (const e of [...events(0, 110, 130), ...events(1, 1, 60)]) second.publish(e);
  await second.close();
  const stored = await streamContents(redis, prefix);
  assert.equal(stored.length, 130 + 60);
  assertExactlyOnceInOrder(
    stored,
    new Map([
      [0, 130],
      [1, 60],
    ]),
  );
  assert.deepEqual(stored[0]!.data, { n: 1, id: String(1n << 60n) });
  assert.equal(first.stats.duplicates, 41);
  assert.equal(second.stats.duplicates, 61);
  assert.deepEqual(published.at(-1)?.slice(1), ['s1', 120]);
});

test('refuses a dispatch whose type holds a line break (it would end the entry header)', async (t) => {
  const { redis, prefix } = await redisFixture(t);
  const publisher = new RedisEventPublisher({ redis, prefix });
  assert.throws(
    () => publisher.publish({ shardId: 0, sessionId: 's', seq: 1, type: 'A\nB', data: null }),
    (err: unknown) => err instanceof ConfigError && err.option === 'type',
  );
  assert.equal(publisher.buffered, 0);
});

test('a new session of a shard starts its sequence over', async (t) => {
  const { redis, prefix } = await redisFixture(t);
  const publisher = new RedisEventPublisher({ redis, prefix });
  for (const e of [...events(0, 1, 5, 'old'), ...events(0, 1, 3, 'new')]) publisher.publish(e);
  await publisher.close();
  const stored = await streamContents(redis, prefix);
  assert.deepEqual(
    stored.map((e) => `${e.sessionId}:${e.seq}`),
    ['old:1', 'old:2', 'old:3', 'old:4', 'old:5', 'new:1', 'new:2', 'new:3'],
  );
});

test('refuses events from a stale lease owner (lower fencing token) with LEASE_LOST', async (t) => {
  const { redis, prefix } = await redisFixture(t);
  const stale: RedisError[] = [];
  const current = new RedisEventPublisher({ redis, prefix });
  const old = new RedisEventPublisher({ redis, prefix, onStale: (_shard, err) => stale.push(err) });
  for (const e of events(4, 1, 3, 'b')) current.publish({ ...e, fence: 2 });
  await current.flush();
  for (const e of events(4, 10, 12, 'a')) old.publish({ ...e, fence: 1 });
  await old.flush();
  assert.deepEqual(
    (await streamContents(redis, prefix)).map((e) => e.seq),
    [1, 2, 3],
  );
  assert.equal(stale[0]?.code, 'LEASE_LOST');
  assert.equal(stale[0]?.shardId, 4);
});

test('a fence or session change inside one batch is honoured in arrival order', async (t) => {
  const { redis, prefix } = await redisFixture(t);
  const stale: number[] = [];
  const publisher = new RedisEventPublisher({ redis, prefix, onStale: (shard) => stale.push(shard) });
  const [a1, a2, a3] = events(4, 1, 3, 'a');
  const [b1, b2] = events(4, 1, 2, 'b');
  publisher.publish({ ...a1!, fence: 1 });
  publisher.publish({ ...events(5, 1, 1)[0]!, fence: 1 });
  publisher.publish({ ...a2!, fence: 2 });
  publisher.publish({ ...a3!, fence: 1 }); // from the old owner: refused
  publisher.publish({ ...b1!, fence: 2 });
  publisher.publish({ ...b2!, fence: 2 });
  await publisher.close();
  assert.deepEqual(
    (await streamContents(redis, prefix)).map((e) => `${e.shardId}:${e.sessionId}:${e.seq}`),
    ['4:a:1', '5:s1:1', '4:a:2', '4:b:1', '4:b:2'],
  );
  assert.deepEqual(stale, [4]);
});

test('bounds each stream with MAXLEN ~ and spreads shards over partitions', async (t) => {
  const { redis, prefix } = await redisFixture(t);
  const publisher = new RedisEventPublisher({ redis, prefix, partitions: 2, maxLen: 200 });
  for (const e of [...events(0, 1, 3_000), ...events(1, 1, 10)]) publisher.publish(e);
  await publisher.close();
  const len0 = await redis.xlen(eventStreamKey(prefix, 0));
  assert.ok(len0 >= 200 && len0 < 3_000, `len ${len0}`);
  const p1 = await streamContents(redis, prefix, 1);
  assert.deepEqual(
    p1.map((e) => [e.shardId, e.seq]),
    events(1, 1, 10).map((e) => [1, e.seq]),
  );
});

test('buffers without dropping and signals backpressure while Redis is unreachable', async (t) => {
  const redis = await unreachableClient(t);
  const pressure: boolean[] = [];
  const statuses: [PublisherStatus, ShardlineError | undefined][] = [];
  const publisher = new RedisEventPublisher({
    redis,
    highWaterMark: 10,
    retryMinMs: 20,
    retryMaxMs: 50,
    onBackpressure: (full) => pressure.push(full),
    onStatus: (status, err) => statuses.push([status, err]),
  });
  t.after(() => publisher.abort());
  const accepted = events(0, 1, 25).map((e) => publisher.publish(e));
  assert.deepEqual(accepted.slice(0, 9), Array(9).fill(true));
  assert.deepEqual(accepted.slice(9), Array(16).fill(false));
  assert.deepEqual(pressure, [true]);
  assert.equal(publisher.buffered, 25);
  await waitFor(() => statuses.length > 0, { what: 'an unavailable status' });
  assert.equal(statuses[0]![0], 'unavailable');
  assert.equal(statuses[0]![1]?.code, 'REDIS_UNAVAILABLE');
  assert.equal(publisher.buffered, 25);
});

test('loses nothing when Redis is killed and restarted under a live stream', async (t) => {
  if (!redisServerAvailable()) {
    t.skip('redis-server is not on PATH');
    return;
  }
  const server = await RedisServerProcess.create(t);
  const { createRedisClient, closeClient } = await import('../../src/redis/index.js');
  const redis = createRedisClient(server.url, { redisOptions: { retryStrategy: () => 50 } });
  t.after(() => closeClient(redis));
  const statuses: PublisherStatus[] = [];
  const pressure: boolean[] = [];
  const publisher = new RedisEventPublisher({
    redis,
    prefix: 'x:',
    highWaterMark: 500,
    batchSize: 50,
    retryMinMs: 20,
    retryMaxMs: 100,
    onStatus: (s) => statuses.push(s),
    onBackpressure: (full) => pressure.push(full),
  });
  t.after(() => publisher.abort());
  let seq = 0;
  const pump = (n: number): void => {
    for (let i = 0; i < n; i++) {
      seq++;
      publisher.publish({
        shardId: seq % 3,
        sessionId: `s${seq % 3}`,
        seq,
        type: 'MESSAGE_CREATE',
        data: { seq },
      });
    }
  };
  pump(300);
  await publisher.flush();
  await server.stop();
  pump(600); // crosses the high-water mark while Redis is down
  await waitFor(() => statuses.includes('unavailable'), { what: 'the publisher to notice' });
  assert.ok(pressure.includes(true));
  await server.start();
  await publisher.flush();
  assert.equal(statuses.at(-1), 'ok');
  assert.deepEqual(pressure, [true, false]);
  const entries = (await redis.xrange('x:events:0', '-', '+')) as [string, string[]][];
  const seqs = entries.map(([, raw]) => parseEventFields(raw)!.seq);
  assert.deepEqual(
    seqs,
    Array.from({ length: 900 }, (_, i) => i + 1),
  );
});

test('a consumer group shares the work: every event goes to exactly one consumer', async (t) => {
  const { redis, prefix } = await redisFixture(t);
  const publisher = new RedisEventPublisher({ redis, prefix });
  for (const e of events(0, 1, 200)) publisher.publish(e);
  await publisher.close();
  const abort = new AbortController();
  t.after(() => abort.abort());
  const seen: number[][] = [[], []];
  await Promise.all(
    [0, 1].map(async (i) => {
      for await (const event of consume({
        redis,
        prefix,
        group: 'g',
        consumer: `c${i}`,
        count: 10,
        blockMs: 50,
        signal: abort.signal,
      })) {
        seen[i]!.push(event.seq);
        await event.ack();
        if (seen[0]!.length + seen[1]!.length === 200) abort.abort();
        // yield to the other consumer now and then
        if (event.seq % 10 === 0) await new Promise((resolve) => setTimeout(resolve, 5));
      }
    }),
  );
  const all = [...seen[0]!, ...seen[1]!].sort((a, b) => a - b);
  assert.deepEqual(
    all,
    Array.from({ length: 200 }, (_, i) => i + 1),
  );
  const pending = (await redis.xpending(eventStreamKey(prefix, 0), 'g')) as [number, ...unknown[]];
  assert.equal(pending[0], 0);
});

test('yields only the asked types and acknowledges the rest for the group', async (t) => {
  const { redis, prefix } = await redisFixture(t);
  const publisher = new RedisEventPublisher({ redis, prefix });
  publisher.publish({ shardId: 0, sessionId: 's', seq: 1, type: 'GUILD_CREATE', data: {} });
  publisher.publish({ shardId: 0, sessionId: 's', seq: 2, type: 'MESSAGE_CREATE', data: { content: 'hi' } });
  publisher.publish({ shardId: 0, sessionId: 's', seq: 3, type: 'TYPING_START', data: {} });
  publisher.publish({ shardId: 0, sessionId: 's', seq: 4, type: 'MESSAGE_CREATE', data: { content: 'yo' } });
  await publisher.close();
  const abort = new AbortController();
  const iter = consume({
    redis,
    prefix,
    group: 'm',
    consumer: 'c',
    types: ['MESSAGE_CREATE'],
    signal: abort.signal,
  });
  const got = await take(iter, 2);
  assert.deepEqual(
    got.map((e) => [e.seq, e.type, e.data]),
    [
      [2, 'MESSAGE_CREATE', { content: 'hi' }],
      [4, 'MESSAGE_CREATE', { content: 'yo' }],
    ],
  );
  await Promise.all(got.map((e) => e.ack()));
  abort.abort();
  await iter.return();
  await waitFor(async () => ((await redis.xpending(eventStreamKey(prefix, 0), 'm')) as [number])[0] === 0, {
    what: 'all entries acknowledged',
  });
});

test('reclaims entries idle on a dead consumer, and dead-letters them after maxDeliveries', async (t) => {
  const { redis, prefix } = await redisFixture(t);
  const publisher = new RedisEventPublisher({ redis, prefix });
  for (const e of events(2, 1, 3)) publisher.publish(e);
  await publisher.close();
  const opts = {
    redis,
    prefix,
    group: 'g',
    count: 10,
    blockMs: 50,
    claimIdleMs: 100,
    claimIntervalMs: 50,
    maxDeliveries: 3,
  };
  // consumer A takes everything and dies without acknowledging
  const a = consume({ ...opts, consumer: 'a' });
  t.after(() => a.return());
  assert.equal((await take(a, 3)).length, 3);
  await a.return();
  // consumer B reclaims them (second delivery) and dies too
  const b = consume({ ...opts, consumer: 'b' });
  t.after(() => b.return());
  const reclaimed = await take(b, 3);
  assert.deepEqual(
    reclaimed.map((e) => [e.seq, e.deliveries]),
    [
      [1, 2],
      [2, 2],
      [3, 2],
    ],
  );
  await b.return();
  // consumer C acknowledges seq 1 on its (third) delivery; 2 and 3 go on failing
  const c = consume({ ...opts, consumer: 'c' });
  t.after(() => c.return());
  const third = await take(c, 3);
  assert.deepEqual(
    third.map((e) => e.deliveries),
    [3, 3, 3],
  );
  await third[0]!.ack();
  await c.return();
  // D finds 2 and 3 over the limit: they go to the dead-letter stream, not to D
  const abort = new AbortController();
  const d = consume({ ...opts, consumer: 'd', signal: abort.signal });
  t.after(() => abort.abort());
  const dNext = d.next();
  await waitFor(async () => (await readDeadLetters({ redis, prefix })).length === 2, {
    what: 'two dead letters',
  });
  abort.abort();
  const r = await dNext;
  assert.equal(r.done, true);
  const dead = await readDeadLetters({ redis, prefix });
  assert.deepEqual(
    dead.map((e) => [
      String(parseEventFields(Object.entries(e.fields).flat())?.seq),
      e.fields['dl:group'],
      e.fields['dl:deliveries'],
    ]),
    [
      ['2', 'g', '3'],
      ['3', 'g', '3'],
    ],
  );
  assert.equal(((await redis.xpending(eventStreamKey(prefix, 0), 'g')) as [number])[0], 0);
});

test('a restarted consumer first re-reads its own unacknowledged entries', async (t) => {
  const { redis, prefix } = await redisFixture(t);
  const publisher = new RedisEventPublisher({ redis, prefix });
  for (const e of events(0, 1, 4)) publisher.publish(e);
  await publisher.close();
  const opts = { redis, prefix, group: 'g', consumer: 'same', blockMs: 50 };
  const first = consume(opts);
  t.after(() => first.return());
  const got = await take(first, 4);
  await got[0]!.ack();
  await got[1]!.ack();
  await first.return();
  const again = consume(opts);
  t.after(() => again.return());
  assert.deepEqual(
    (await take(again, 2)).map((e) => e.seq),
    [3, 4],
  );
  await again.return();
});

test('stops reading while maxUnacked entries are unacknowledged', async (t) => {
  const { redis, prefix } = await redisFixture(t);
  const publisher = new RedisEventPublisher({ redis, prefix });
  for (const e of events(0, 1, 20)) publisher.publish(e);
  await publisher.close();
  const iter = consume({ redis, prefix, group: 'g', consumer: 'c', count: 2, maxUnacked: 4, blockMs: 50 });
  t.after(() => iter.return());
  const four = await take(iter, 4);
  const box: { fifth?: StreamEvent } = {};
  const next = iter.next().then((r) => {
    box.fifth = r.value as StreamEvent;
  });
  await new Promise((resolve) => setTimeout(resolve, 200));
  const fifth = (): StreamEvent | undefined => box.fifth;
  assert.equal(fifth(), undefined, 'read past maxUnacked');
  await four[0]!.ack();
  await next;
  assert.equal(fifth()?.seq, 5);
});

test('a consumer recreates its group when the stream vanished under it', async (t) => {
  const { redis, prefix } = await redisFixture(t);
  const errors: string[] = [];
  const publisher = new RedisEventPublisher({ redis, prefix });
  publisher.publish(events(0, 1, 1)[0]!);
  await publisher.flush();
  const iter = consume({
    redis,
    prefix,
    group: 'g',
    consumer: 'c',
    blockMs: 50,
    onError: (err) => errors.push(err.code),
  });
  t.after(() => iter.return());
  const [first] = await take(iter, 1);
  await first!.ack();
  await redis.del(eventStreamKey(prefix, 0)); // e.g. a Redis without persistence restarted
  const next = iter.next();
  await waitFor(() => errors.length > 0, { what: 'the consumer to notice' });
  for (const e of events(0, 2, 3)) publisher.publish(e);
  await publisher.close();
  const second = await next;
  assert.equal(second.done, false);
  assert.ok((second.value as StreamEvent).seq >= 2);
  assert.equal(errors[0], 'REDIS_REPLY_ERROR');
});

test('dead-letters entries that are not Shardline events instead of yielding them', async (t) => {
  const { redis, prefix } = await redisFixture(t);
  await redis.xadd(eventStreamKey(prefix, 0), '*', 'foo', 'bar');
  await redis.xadd(
    eventStreamKey(prefix, 0),
    '*',
    'shard',
    '0',
    'seq',
    '1',
    'session',
    's',
    't',
    'X',
    'd',
    '{oops',
  );
  const publisher = new RedisEventPublisher({ redis, prefix });
  publisher.publish(events(0, 1, 1)[0]!);
  await publisher.close();
  const iter = consume({ redis, prefix, group: 'g', consumer: 'c', blockMs: 50 });
  t.after(() => iter.return());
  const [only] = await take(iter, 1);
  assert.equal(only?.seq, 1);
  assert.equal(only?.type, 'MESSAGE_CREATE');
  const dead = await readDeadLetters({ redis, prefix });
  assert.deepEqual(
    dead.map((e) => [e.fields.foo ?? e.fields.d, e.fields['dl:reason']]),
    [
      ['bar', 'unparsable entry'],
      ['{oops', 'unparsable entry'],
    ],
  );
});

test("parseData 'lazy' parses data on first read, and a bad payload throws REDIS_BAD_ENTRY there", async (t) => {
  const { redis, prefix } = await redisFixture(t);
  const publisher = new RedisEventPublisher({ redis, prefix });
  publisher.publish(events(0, 1, 1)[0]!);
  await publisher.close();
  await redis.xadd(eventStreamKey(prefix, 0), '*', 'e', '0 2 s1 MESSAGE_CREATE\n{oops');
  const iter = consume({ redis, prefix, group: 'g', consumer: 'c', blockMs: 50, parseData: 'lazy' });
  t.after(() => iter.return());
  const [good, bad] = await take(iter, 2);
  assert.deepEqual([good?.seq, good?.type, bad?.seq], [1, 'MESSAGE_CREATE', 2]);
  assert.deepEqual(good?.data, { n: 1, id: String(1n << 60n) });
  assert.equal(good?.data, good?.data); // parsed once, then cached
  assert.throws(
    () => bad?.data,
    (err: unknown) => (err as RedisError).code === 'REDIS_BAD_ENTRY',
  );
  assert.equal((await readDeadLetters({ redis, prefix })).length, 0);
  await assert.rejects(
    consume({ redis, prefix, group: 'g', consumer: 'c', parseData: 'soon' as 'lazy' }).next(),
    (err: unknown) => err instanceof ConfigError && err.option === 'parseData',
  );
});
