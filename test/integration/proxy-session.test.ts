import assert from 'node:assert/strict';
import { test } from 'node:test';
import { shardOf } from '../../src/simulator/world.js';
import { identifiedClient, proxyRig } from '../support/proxy-harness.js';

type Rec = Record<string, unknown>;

test('READY carries a proxy session, the bot user and the guilds of the shard, then one GUILD_CREATE each', async (t) => {
  const { sim, proxy } = await proxyRig(t);
  const { client, ready } = await identifiedClient(t, proxy, [1, 2]);
  const d = ready.d as Rec;
  assert.equal(ready.s, 1);
  assert.match(d.session_id as string, /^[0-9a-f]{32}$/);
  assert.equal(d.resume_gateway_url, proxy.gatewayUrl);
  assert.deepEqual(d.shard, [1, 2]);
  assert.equal((d.user as Rec).id, sim.world.bot.id);
  const expected = sim.world.guilds
    .filter((g) => shardOf(g.id, 2) === 1)
    .map((g) => g.id)
    .sort();
  assert.deepEqual((d.guilds as Rec[]).map((g) => g.id).sort(), expected);
  const created: string[] = [];
  for (let i = 0; i < expected.length; i++) {
    const p = await client.nextOp(0, 'GUILD_CREATE');
    assert.equal(p.s, i + 2);
    created.push((p.d as Rec).id as string);
  }
  assert.deepEqual(created.sort(), expected);
});
