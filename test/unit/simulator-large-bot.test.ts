import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseSimulateArgs } from '../../src/cli/commands/simulate.js';
import { ConfigError } from '../../src/errors.js';
import { INTENTS } from '../../src/simulator/intents.js';
import { resolveSimulatorOptions } from '../../src/simulator/options.js';
import { isRuleFailure, largeBotSessionStartTotal, validateIdentify } from '../../src/simulator/rules.js';

test('large bot daily session starts follow max(2000, (guild_count / 1000) * 5)', () => {
  assert.equal(largeBotSessionStartTotal(150_001), 2000);
  assert.equal(largeBotSessionStartTotal(400_999), 2000);
  assert.equal(largeBotSessionStartTotal(600_000), 3000);
  assert.equal(largeBotSessionStartTotal(1_234_567), 6170);
});

test('a large bot gets a shard multiple, max_concurrency 16 and the large-bot session budget by default', () => {
  const small = resolveSimulatorOptions({ guilds: 10 });
  assert.deepEqual(
    [small.largeBotShardMultiple, small.shards, small.maxConcurrency, small.sessionStartTotal],
    [0, 1, 1, 1000],
  );
  const large = resolveSimulatorOptions({ guilds: 10, largeBotShardMultiple: 16 });
  assert.deepEqual(
    [large.largeBotShardMultiple, large.shards, large.maxConcurrency, large.sessionStartTotal],
    [16, 16, 16, 2000],
  );
  const explicit = resolveSimulatorOptions({
    largeBotShardMultiple: 8,
    shards: 24,
    maxConcurrency: 4,
    sessionStartTotal: 5,
  });
  assert.deepEqual([explicit.shards, explicit.maxConcurrency, explicit.sessionStartTotal], [24, 4, 5]);
  assert.throws(() => resolveSimulatorOptions({ largeBotShardMultiple: 16, shards: 20 }), ConfigError);
  assert.throws(() => resolveSimulatorOptions({ largeBotShardMultiple: -1 }), ConfigError);
});

test('IDENTIFY of a large bot with a shard count that is not a multiple closes with 4010', () => {
  const ctx = {
    tokens: ['t'],
    privilegedIntents: 0,
    maxGuildsPerShard: 2500,
    shardMultiple: 16,
    guildsOnShard: () => 0,
  };
  const identify = (shard?: [number, number]) =>
    validateIdentify(
      { token: 't', intents: INTENTS.GUILDS, properties: {}, ...(shard ? { shard } : {}) },
      ctx,
    );
  for (const shard of [undefined, [0, 8], [3, 20]] as const) {
    const r = identify(shard ? [...shard] : undefined);
    assert.ok(isRuleFailure(r) && r.close === 4010, JSON.stringify(shard));
  }
  assert.ok(!isRuleFailure(identify([5, 32])));
});

test('simulate takes --large-bot-shard-multiple and --privileged-intents', () => {
  assert.deepEqual(
    parseSimulateArgs(['--large-bot-shard-multiple', '16', '--privileged-intents', 'GUILD_MEMBERS']),
    { largeBotShardMultiple: 16, privilegedIntents: INTENTS.GUILD_MEMBERS },
  );
});
