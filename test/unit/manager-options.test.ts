import assert from 'node:assert/strict';
import { test } from 'node:test';
import { inspect } from 'node:util';
import type { GatewaySendPayload } from 'discord-api-types/v10';
import { ShardManager } from '../../src/manager/manager.js';
import {
  DEFAULT_SHARD_MANAGER_OPTIONS,
  resolveShardManagerOptions,
  type ShardManagerOptions,
} from '../../src/manager/options.js';

const TOKEN = 'MTA4.manager-options.secret';
const PRESENCE = {
  op: 3,
  d: { since: null, activities: [], status: 'online', afk: false },
} as unknown as GatewaySendPayload;
const base: ShardManagerOptions = { token: TOKEN, intents: 513 };

test('rejects bad options with a ConfigError naming the option', () => {
  const bad: [Record<string, unknown>, string][] = [
    [{ token: '' }, 'token'],
    [{ intents: -1 }, 'intents'],
    [{ intents: 1.5 }, 'intents'],
    [{ shardCount: 0 }, 'shardCount'],
    [{ shardIds: [0, 1] }, 'shardIds'],
    [{ shardCount: 2, shardIds: [2] }, 'shardIds'],
    [{ shardCount: 4, shardIds: [1, 1] }, 'shardIds'],
    [{ shardCount: 4, shardIds: [] }, 'shardIds'],
    [{ api: 'ftp://x' }, 'api'],
    [{ dedupeWindowMs: -5 }, 'dedupeWindowMs'],
    [{ identifyWindowMs: Number.NaN }, 'identifyWindowMs'],
    [{ identifyMarginMs: -1 }, 'identifyMarginMs'],
    [{ memberRequestTimeoutMs: Number.POSITIVE_INFINITY }, 'memberRequestTimeoutMs'],
    [{ autoReshard: { intervalMs: -1 } }, 'autoReshard.intervalMs'],
    [{ identifyQueue: {} }, 'identifyQueue'],
    [{ sessionStore: { load: () => null } }, 'sessionStore'],
    [{ encoding: 'xml' }, 'encoding'],
    [{ compression: 'gzip' }, 'compression'],
    [{ shardOptions: { helloTimeoutMs: -1 } }, 'shardOptions.helloTimeoutMs'],
    [{ shardOptions: { largeThreshold: 10_000 } }, 'shardOptions.largeThreshold'],
    [{ shardOptions: { dispatches: 5 } }, 'shardOptions.dispatches'],
  ];
  for (const [extra, option] of bad) {
    assert.throws(() => new ShardManager({ ...base, ...extra } as ShardManagerOptions), {
      code: 'CONFIG_INVALID',
      option,
    });
  }
});

test('before connect(), sends, routing and reshards fail with typed errors', async () => {
  const m = new ShardManager(base);
  assert.equal(m.shardCount, 0);
  await assert.rejects(m.send(0, PRESENCE), { code: 'SHARD_NOT_MANAGED' });
  assert.throws(() => m.shardForGuild('81384788765712384'), { code: 'MANAGER_NOT_CONNECTED' });
  await assert.rejects(m.reshard(2), { code: 'MANAGER_NOT_CONNECTED' });
  assert.deepEqual(m.snapshot().shards, []);
  await m.destroy();
  await assert.rejects(m.connect(), { code: 'MANAGER_DESTROYED' });
});

test('the token appears nowhere in the manager, its status or its errors', async () => {
  const m = new ShardManager({ ...base, shardCount: 2, shardIds: [1] });
  const err = await m.send(5, PRESENCE).catch((e: unknown) => e);
  for (const text of [inspect(m, { depth: 6 }), JSON.stringify(m.snapshot()), inspect(err), String(err)]) {
    assert.ok(!text.includes(TOKEN));
  }
  await m.destroy();
});

test('resolveShardManagerOptions fills defaults, sorts shardIds and hides the token', () => {
  const o = resolveShardManagerOptions({ ...base, shardCount: 4, shardIds: [3, 1] });
  assert.ok(Object.isFrozen(o));
  assert.deepEqual(o.shardIds, [1, 3]);
  assert.equal(o.api, DEFAULT_SHARD_MANAGER_OPTIONS.api);
  assert.equal(o.identifyWindowMs, 5000);
  assert.equal(o.autoReshard, false);
  assert.ok(!inspect(o, { depth: 4 }).includes(TOKEN));
  assert.ok(!JSON.stringify(o).includes(TOKEN));
});
