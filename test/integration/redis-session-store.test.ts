import assert from 'node:assert/strict';
import { test } from 'node:test';
import { RedisError } from '../../src/errors.js';
import { RedisSessionStore, type SessionInfo } from '../../src/redis/index.js';
import { extraClient, redisFixture, unreachableClient, waitFor } from '../support/redis.js';

function session(shardId: number, overrides: Partial<SessionInfo> = {}): SessionInfo {
  return {
    sessionId: 'abc',
    sequence: 10,
    resumeUrl: 'wss://resume.example/',
    shardId,
    shardCount: 4,
    ...overrides,
  };
}

test('saves, loads and forgets a session per shard', async (t) => {
  const { redis, prefix } = await redisFixture(t);
  const store = new RedisSessionStore({ redis, prefix });
  t.after(() => store.close());
  assert.equal(await store.load(3), null);
  await store.save(3, session(3));
  assert.deepEqual(await store.load(3), session(3));
  assert.equal(await store.load(2), null);
  await store.save(3, null);
  assert.equal(await store.load(3), null);
});

test('batches sequence updates and writes only the latest', async (t) => {
  const { redis, prefix } = await redisFixture(t);
  const store = new RedisSessionStore({ redis, prefix, flushIntervalMs: 60_000 });
  t.after(() => store.close());
  await store.save(0, session(0));
  await store.save(1, session(1, { sessionId: 'def' }));
  for (let seq = 11; seq <= 500; seq++) {
    store.updateSequence(0, 4, seq);
    store.updateSequence(1, 4, seq * 2);
  }
  assert.equal(store.pendingWrites, 2);
  // a reader in this process sees the buffered value …
  assert.equal((await store.load(0))?.sequence, 500);
  // … another process sees the written one
  const other = new RedisSessionStore({ redis: extraClient(t), prefix });
  assert.equal((await other.load(0))?.sequence, 10);
  await store.flush();
  assert.equal(store.pendingWrites, 0);
  assert.equal((await other.load(0))?.sequence, 500);
  assert.equal((await other.load(1))?.sequence, 1000);
});

test('flushes on its interval without being asked', async (t) => {
  const { redis, prefix } = await redisFixture(t);
  const store = new RedisSessionStore({ redis, prefix, flushIntervalMs: 50 });
  t.after(() => store.close());
  await store.save(2, session(2));
  store.updateSequence(2, 4, 42);
  await waitFor(async () => (await redis.hget(`${prefix}session:2`, 'sequence')) === '42', {
    what: 'the write-behind flush',
  });
});

test('never moves a sequence backwards, nor writes it into another session or shard count', async (t) => {
  const { redis, prefix } = await redisFixture(t);
  const a = new RedisSessionStore({ redis, prefix });
  const b = new RedisSessionStore({ redis: extraClient(t), prefix });
  await a.save(0, session(0));
  a.updateSequence(0, 4, 100);
  await a.flush();
  b.updateSequence(0, 4, 50); // a stale writer
  b.updateSequence(0, 8, 900); // another shard set (resharding)
  b.updateSequence(1, 4, 7); // no such session
  await b.flush();
  assert.equal((await a.load(0))?.sequence, 100);
  assert.equal(await a.load(1), null);
  await b.load(0); // b now knows session 'abc'
  await a.save(0, session(0, { sessionId: 'new', sequence: 1 })); // a new session starts over
  b.updateSequence(0, 4, 200); // b's update belongs to the old session
  await b.flush();
  assert.deepEqual(await a.load(0), session(0, { sessionId: 'new', sequence: 1 }));
  await a.close();
  await b.close();
});

test('keeps buffered sequences when Redis is unreachable and says so with REDIS_UNAVAILABLE', async (t) => {
  const store = new RedisSessionStore({ redis: await unreachableClient(t), flushIntervalMs: 60_000 });
  store.updateSequence(0, 1, 5);
  const err = await store.flush().catch((e: unknown) => e);
  assert.ok(err instanceof RedisError);
  assert.equal(err.code, 'REDIS_UNAVAILABLE');
  assert.equal(store.pendingWrites, 1);
  const loadErr = await store.load(0).catch((e: unknown) => e);
  assert.equal((loadErr as RedisError).code, 'REDIS_UNAVAILABLE');
});

test('a sequence published for an older session never lands on the session saved since', async (t) => {
  // The worker persists the sequence of each published event. Events of a session can still be in the
  // publisher's buffer when the shard has identified a new session (invalid session while Redis is
  // slow): their sequence must not be written into the new session, or a takeover would RESUME the new
  // session from a sequence the stream never held and skip its events.
  const { redis, prefix } = await redisFixture(t);
  const store = new RedisSessionStore({ redis, prefix, flushIntervalMs: 60_000 });
  t.after(() => store.close());
  await store.save(0, session(0, { sessionId: 'old', sequence: 40 }));
  await store.save(0, session(0, { sessionId: 'new', sequence: 0 }));
  store.updateSequence(0, 4, 150, 'old'); // the old session's last buffered event, published late
  assert.equal((await store.load(0))?.sequence, 0, 'the buffered value is not read into the new session');
  await store.flush();
  assert.equal((await store.load(0))?.sequence, 0, 'nor written into it');
  store.updateSequence(0, 4, 3, 'new');
  await store.flush();
  assert.equal((await store.load(0))?.sequence, 3, "the new session's own sequence is written");
});

test('a stored session with a hostile field is not resumed: load() gives null and reports it', async (t) => {
  const { redis, prefix } = await redisFixture(t);
  const errors: Error[] = [];
  const store = new RedisSessionStore({ redis, prefix, onError: (err) => errors.push(err) });
  t.after(() => store.close());
  const good = {
    sessionId: 'abc',
    sequence: '10',
    resumeUrl: 'wss://resume.example/',
    shardId: '0',
    shardCount: '4',
  };
  const bad: Record<string, string>[] = [
    { sequence: '1e999' },
    { sequence: '-1' },
    { sequence: '12.5' },
    { sequence: '9007199254740993' },
    { sequence: 'abc' },
    { resumeUrl: 'ws+unix:///var/run/evil.sock' },
    { resumeUrl: 'http://x/' },
    { sessionId: 'a b' },
    { sessionId: 'x'.repeat(10_000) },
    { shardId: '3' },
    { shardCount: '0' },
    { shardCount: '1e9' },
  ];
  for (const patch of bad) {
    await redis.del(`${prefix}session:0`);
    await redis.hset(`${prefix}session:0`, { ...good, ...patch });
    assert.equal(await store.load(0), null, JSON.stringify(patch));
  }
  assert.equal(errors.length, bad.length);
  assert.ok(errors.every((e) => e instanceof RedisError && e.code === 'REDIS_BAD_REPLY'));
  // a key of another type is a reply error, not a crash
  await redis.del(`${prefix}session:0`);
  await redis.set(`${prefix}session:0`, 'x');
  await assert.rejects(store.load(0), (err: unknown) => err instanceof RedisError);
  await redis.del(`${prefix}session:0`);
  await redis.hset(`${prefix}session:0`, good);
  assert.equal((await store.load(0))?.sequence, 10);
});
