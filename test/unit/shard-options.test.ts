import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ConfigError } from '../../src/errors.js';
import { closeCodeInfo, FATAL_CLOSE_CODES } from '../../src/shard/close-codes.js';
import { DEFAULT_SHARD_OPTIONS, resolveShardOptions, type ShardOptions } from '../../src/shard/options.js';

const base: ShardOptions = { token: 'abc.def.ghi', intents: 513 };

test('fills defaults and returns a frozen object', () => {
  const o = resolveShardOptions(base);
  assert.ok(Object.isFrozen(o));
  assert.equal(o.shardId, 0);
  assert.equal(o.shardCount, 1);
  assert.equal(o.encoding, DEFAULT_SHARD_OPTIONS.encoding);
  assert.equal(o.compression, 'zlib-stream');
  assert.equal(o.sendLimit.perWindow, 120);
  assert.equal(o.dispatches, null);
});

const bad: [string, Partial<ShardOptions> & Record<string, unknown>][] = [
  ['token', { token: '' }],
  ['token', { token: 'Bot abc' }],
  ['token', { token: 42 as unknown as string }],
  ['intents', { intents: -1 }],
  ['intents', { intents: 1.5 }],
  ['intents', { intents: 1 << 17 }],
  ['shardId', { shardId: 1.5, shardCount: 2 }],
  ['shardId', { shardId: 2, shardCount: 2 }],
  ['shardId', { shardId: 1 }],
  ['shardCount', { shardCount: 0 }],
  ['shardCount', { shardCount: '2' as unknown as number }],
  ['gatewayUrl', { gatewayUrl: 'not a url' }],
  ['gatewayUrl', { gatewayUrl: 'https://gateway.discord.gg' }],
  ['encoding', { encoding: 'xml' as 'json' }],
  ['compression', { compression: 'gzip' as 'none' }],
  ['largeThreshold', { largeThreshold: 251 }],
  ['openTimeoutMs', { openTimeoutMs: 0 }],
  ['readyTimeoutMs', { readyTimeoutMs: Number.POSITIVE_INFINITY }],
  ['invalidSessionDelayMs', { invalidSessionDelayMs: [5, 1] }],
  ['reconnectBackoff.jitter', { reconnectBackoff: { jitter: 2 } }],
  ['maxQueuedSends', { maxQueuedSends: 0 }],
  ['sendLimit.perWindow', { sendLimit: { perWindow: 1 } }],
  ['dispatches', { dispatches: ['message_create'] }],
  ['identifyProperties', { identifyProperties: { os: 'x' } as never }],
];
for (const [option, patch] of bad) {
  test(`rejects a bad ${option} with a ConfigError naming it (${JSON.stringify(patch).slice(0, 40)})`, () => {
    assert.throws(
      () => resolveShardOptions({ ...base, ...patch } as ShardOptions),
      (err: unknown) => err instanceof ConfigError && err.option === option && err.code === 'CONFIG_INVALID',
    );
  });
}

test('config errors never include the token', () => {
  const token = 'MTIzNDU2.secret.value';
  try {
    resolveShardOptions({ token, intents: -5 });
    assert.fail('expected a ConfigError');
  } catch (err) {
    assert.ok(!String((err as Error).message).includes(token));
  }
});

test('the close-code table is total and 4004, 4010–4014 are fatal', () => {
  assert.deepEqual([...FATAL_CLOSE_CODES].sort(), [4004, 4010, 4011, 4012, 4013, 4014]);
  for (let code = 0; code < 5_000; code++) {
    assert.ok(['resume', 'reidentify', 'fatal'].includes(closeCodeInfo(code).action));
  }
  assert.equal(closeCodeInfo(undefined).action, 'resume');
  for (const code of [4003, 4007, 4009]) assert.equal(closeCodeInfo(code).action, 'reidentify');
});
