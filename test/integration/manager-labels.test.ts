import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ManagerError, ShardError } from '../../src/errors.js';
import { ShardManager } from '../../src/manager/manager.js';
import { Shard } from '../../src/shard/shard.js';
import { startSimulator } from '../../src/simulator/index.js';

async function simulator(t: { after(fn: () => Promise<void>): void }) {
  const sim = await startSimulator({ identifyWindowMs: 50, heartbeatIntervalMs: 5_000, guilds: 2 });
  t.after(() => sim.close());
  return sim;
}

test('a second connect() of a manager or a shard rejects with SHARD_ALREADY_STARTED', async (t) => {
  const sim = await simulator(t);
  const m = new ShardManager({ token: sim.tokens[0]!, intents: 1, api: sim.restUrl, identifyWindowMs: 50 });
  t.after(() => m.destroy({ resumable: false }));
  const first = m.connect();
  await assert.rejects(m.connect(), (e) => e instanceof ManagerError && e.code === 'SHARD_ALREADY_STARTED');
  await first;
  await assert.rejects(m.connect(), { code: 'SHARD_ALREADY_STARTED' });

  const shard = new Shard({
    token: sim.tokens[0]!,
    intents: 1,
    shardId: 0,
    shardCount: 1,
    gatewayUrl: sim.gatewayUrl,
  });
  t.after(() => shard.destroy());
  shard.on('error', () => {});
  const connecting = shard.connect();
  await assert.rejects(shard.connect(), (e) => e instanceof ShardError && e.code === 'SHARD_ALREADY_STARTED');
  await connecting;
  await assert.rejects(shard.connect(), { code: 'SHARD_ALREADY_STARTED' });
  await shard.destroy();
  assert.equal(shard.status, 'closed');
});

test('a session store that fails while connect() reads it is reported as SESSION_STORE_FAILED', async (t) => {
  const sim = await simulator(t);
  const m = new ShardManager({
    token: sim.tokens[0]!,
    intents: 1,
    api: sim.restUrl,
    sessionStore: {
      load: () => Promise.reject(new Error('disk gone')),
      save: () => Promise.resolve(),
    },
  });
  t.after(() => m.destroy());
  await assert.rejects(m.connect(), { code: 'SESSION_STORE_FAILED', shardId: 0, message: /disk gone/ });
});
