import assert from 'node:assert/strict';
import { test } from 'node:test';
import { RedisError, ShardlineError } from '../../src/errors.js';
import { toRedisError } from '../../src/redis/client.js';
import { parseEventFields } from '../../src/redis/consumer.js';
import { encodeData } from '../../src/redis/streams.js';

test('parses event fields read as strings or as Buffers alike', () => {
  const fields = ['shard', '3', 'seq', '42', 'session', 'abc', 't', 'MESSAGE_CREATE', 'd', '{"content":"é"}'];
  const expected = { shardId: 3, seq: 42, sessionId: 'abc', type: 'MESSAGE_CREATE', data: { content: 'é' } };
  assert.deepEqual(parseEventFields(fields), expected);
  assert.deepEqual(parseEventFields(fields.map((f) => Buffer.from(f))), expected);
});

test('rejects entries that are not Shardline events', () => {
  assert.equal(parseEventFields(['foo', 'bar']), undefined);
  assert.equal(parseEventFields(['shard', 'x', 'seq', '1', 'session', 's', 't', 'T', 'd', '{}']), undefined);
  assert.equal(
    parseEventFields(['shard', '1', 'seq', '1', 'session', 's', 't', 'T', 'd', '{oops']),
    undefined,
  );
  // a dead-letter field of the same length as `shard` is not mistaken for it
  assert.equal(
    parseEventFields([Buffer.from('dl:id'), Buffer.from('1'), Buffer.from('seq'), Buffer.from('1')]),
    undefined,
  );
});

test('encodes BigInt snowflakes as decimal strings', () => {
  assert.equal(encodeData({ id: 1n << 62n, n: 1 }), `{"id":"${1n << 62n}","n":1}`);
  assert.equal(encodeData(undefined), 'null');
});

test('types ioredis failures by what they mean', () => {
  const reply = Object.assign(new Error('NOGROUP No such key'), { name: 'ReplyError' });
  const loading = Object.assign(new Error('LOADING Redis is loading the dataset in memory'), {
    name: 'ReplyError',
  });
  assert.equal((toRedisError(reply) as RedisError).code, 'REDIS_REPLY_ERROR');
  assert.equal((toRedisError(loading) as RedisError).code, 'REDIS_UNAVAILABLE');
  assert.equal(
    (toRedisError(new Error('connect ECONNREFUSED 127.0.0.1:1')) as RedisError).code,
    'REDIS_UNAVAILABLE',
  );
  assert.equal(
    (toRedisError(new Error('NOSCRIPT No matching script')) as RedisError).code,
    'REDIS_SCRIPT_FAILED',
  );
  const typed = new RedisError('LEASE_LOST', 'x', { shardId: 1 });
  assert.equal(toRedisError(typed), typed);
  assert.ok(toRedisError('weird') instanceof ShardlineError);
});
