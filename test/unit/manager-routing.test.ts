import assert from 'node:assert/strict';
import { test } from 'node:test';
import * as root from '../../src/index.js';
import * as manager from '../../src/manager/routing.js';

// [guild id, shard count, expected shard or the option a ConfigError names]
const TABLE: [string | bigint, number, number | 'guildId' | 'shardCount'][] = [
  ['81384788765712384', 1, 0],
  ['81384788765712384', 16, Number((81384788765712384n >> 22n) % 16n)],
  [41771983423143937n, 4, Number((41771983423143937n >> 22n) % 4n)],
  ['4194304', 2, 1],
  ['0', 3, 0],
  ['18446744073709551615', 1000, Number((18446744073709551615n >> 22n) % 1000n)],
  // Doubles would round this id and pick the wrong shard.
  [(2n ** 60n + 2n ** 22n * 3n).toString(), 4, 3],
  ['', 2, 'guildId'],
  ['0x40000000', 2, 'guildId'],
  [' 4194304 ', 2, 'guildId'],
  ['+4194304', 2, 'guildId'],
  ['-4194304', 2, 'guildId'],
  ['4194304.0', 2, 'guildId'],
  ['1e30', 2, 'guildId'],
  ['12a', 2, 'guildId'],
  ['not a snowflake', 4, 'guildId'],
  ['18446744073709551616', 2, 'guildId'],
  ['99999999999999999999', 2, 'guildId'],
  [-1n, 2, 'guildId'],
  [1n << 64n, 2, 'guildId'],
  [4194304 as unknown as string, 2, 'guildId'],
  ['1', 0, 'shardCount'],
  ['1', 1.5, 'shardCount'],
  ['1', Number.NaN, 'shardCount'],
];

test('the public shardForGuild is the one the manager and the Redis command client route with', () => {
  assert.equal(root.shardForGuild, manager.shardForGuild);
});

for (const [name, fn] of [
  ['manager', manager.shardForGuild],
  ['root', root.shardForGuild],
] as const) {
  test(`${name} shardForGuild: (id >> 22) % count for decimal snowflakes and bigints, ConfigError otherwise`, () => {
    for (const [id, count, expected] of TABLE) {
      const label = `${typeof id === 'string' ? JSON.stringify(id) : `${String(id)}n`} % ${count}`;
      if (typeof expected === 'number') assert.equal(fn(id, count), expected, label);
      else assert.throws(() => fn(id, count), { code: 'CONFIG_INVALID', option: expected }, label);
    }
  });
}
