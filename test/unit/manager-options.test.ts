import assert from 'node:assert/strict';
import { test } from 'node:test';
import { inspect } from 'node:util';
import type { GatewaySendPayload } from 'discord-api-types/v10';
import { ShardManager, type ShardManagerOptions } from '../../src/manager/manager.js';

const TOKEN = 'MTA4.manager-options.secret';
const PRESENCE = {
  op: 3,
  d: { since: null, activities: [], status: 'online', afk: false },
} as unknown as GatewaySendPayload;
const base: ShardManagerOptions = { token: TOKEN, intents: 513 };

test('rejects bad options with a ConfigError naming the option', () => {
  const bad: [Partial<ShardManagerOptions> & Record<string, unknown>, string][] = [
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
  assert.deepEqual(m.status().shards, []);
  await m.destroy();
  await assert.rejects(m.connect(), { code: 'MANAGER_DESTROYED' });
});

test('the token appears nowhere in the manager, its status or its errors', async () => {
  const m = new ShardManager({ ...base, shardCount: 2, shardIds: [1] });
  const err = await m.send(5, PRESENCE).catch((e: unknown) => e);
  for (const text of [inspect(m, { depth: 6 }), JSON.stringify(m.status()), inspect(err), String(err)]) {
    assert.ok(!text.includes(TOKEN));
  }
  await m.destroy();
});
