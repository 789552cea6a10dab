import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ConfigError } from '../../src/errors.js';
import { GatewayCache } from '../../src/proxy/cache/index.js';
import { resolveGatewayProxyOptions } from '../../src/proxy/index.js';
import {
  decodeRedisProxySnapshot,
  encodeRedisProxySnapshot,
  REDIS_PROXY_SNAPSHOT_VERSION,
  type RedisProxySnapshot,
} from '../../src/proxy/redis-snapshot.js';

const good: RedisProxySnapshot = {
  version: REDIS_PROXY_SNAPSHOT_VERSION,
  positions: ['1700000000000-0', '0-0'],
  shardCount: 4,
  ready: [0, 3],
  cache: new GatewayCache().snapshot(),
};

test('a stored snapshot round-trips and its cache image restores', () => {
  const decoded = decodeRedisProxySnapshot(encodeRedisProxySnapshot(good), 2);
  assert.ok(!('invalid' in decoded));
  assert.deepEqual(decoded, good);
  assert.equal(new GatewayCache().restore(decoded.cache), true);
});

test('every malformed stored snapshot is refused with a reason, never thrown', () => {
  const bad: [string, unknown][] = [
    ['not JSON', '{"version":'],
    ['not an object', '[1,2]'],
    ['null', 'null'],
    ['version', { ...good, version: 2 }],
    ['positions', { ...good, positions: ['1-0'] }],
    ['positions', { ...good, positions: ['1-0', '$'] }],
    ['positions', { ...good, positions: ['1-0', '0-0-0'] }],
    ['positions', { ...good, positions: 'x' }],
    ['shardCount', { ...good, shardCount: 0 }],
    ['shardCount', { ...good, shardCount: 1.5 }],
    ['shardCount', { ...good, shardCount: '4' }],
    ['ready', { ...good, ready: [4] }],
    ['ready', { ...good, ready: [-1] }],
    ['ready', { ...good, ready: [0, 0, 0, 0, 0] }],
    ['ready', { ...good, ready: null }],
    ['cache', { ...good, cache: null }],
  ];
  for (const [what, value] of bad) {
    const text = typeof value === 'string' ? value : JSON.stringify(value);
    const decoded = decodeRedisProxySnapshot(text, 2);
    assert.ok('invalid' in decoded, `${what}: ${text}`);
    assert.match(decoded.invalid, new RegExp(what === 'null' ? 'not an object' : what), text);
  }
});

test("the redis upstream needs no bot token and refuses the options of the proxy's own shards", () => {
  const redis = { redis: {} as never };
  const base = { intents: 513, clientTokens: ['client'] };
  assert.equal(resolveGatewayProxyOptions({ ...base, redis }).token, undefined);
  for (const [bad, option] of [
    [{ redis, api: 'http://x' }, 'api'],
    [{ redis, shardCount: 2 }, 'shardCount'],
    [{ redis, encoding: 'json' }, 'encoding'],
    [{ redis, upstream: {} }, 'upstream'],
    [{ redis: {} }, 'redis'],
    [{ redis: { ...redis, partitions: 0 } }, 'redis.partitions'],
    [{ redis: { ...redis, maxSnapshotBytes: 1.5 } }, 'redis.maxSnapshotBytes'],
    [{}, 'token'],
  ] as const) {
    assert.throws(
      () => resolveGatewayProxyOptions({ ...base, ...(bad as object) } as never),
      (err: unknown) => err instanceof ConfigError && err.message.includes(option),
      option,
    );
  }
});
