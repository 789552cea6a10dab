import assert from 'node:assert/strict';
import { test } from 'node:test';
import { shardOf } from '../../src/simulator/world.js';
import { CLIENT_TOKEN, identifiedClient, proxyClient, proxyRig } from '../support/proxy-harness.js';
import { waitFor } from '../support/sim-helpers.js';

type Rec = Record<string, unknown>;

test('a client that stops heartbeating is closed with 4009 and its session ends', async (t) => {
  const { proxy } = await proxyRig(
    t,
    { shards: 1, guilds: 2 },
    { heartbeatIntervalMs: 200, heartbeatGraceMs: 100 },
  );
  const { client, ready } = await identifiedClient(t, proxy, [0, 1]);
  assert.deepEqual((ready.d as Rec).shard, [0, 1]);
  assert.equal((await client.closed).code, 4009);
  const { client: again } = await proxyClient(t, proxy);
  again.resume(CLIENT_TOKEN, (ready.d as Rec).session_id as string, 1);
  assert.equal((await again.nextOp(9)).d, false);
});

test('more sends than the per-connection limit in its window are closed with 4008', async (t) => {
  const { proxy } = await proxyRig(t, { shards: 1, guilds: 2 }, { sendLimit: 5 });
  const { client } = await proxyClient(t, proxy);
  for (let i = 0; i < 6; i++) client.send({ op: 1, d: null });
  assert.equal((await client.closed).code, 4008);
});

test('RESUME beyond the replay buffer gets op 9 false, and IDENTIFY then starts afresh', async (t) => {
  const { sim, proxy } = await proxyRig(t, { shards: 1, guilds: 2 }, { replayEvents: 3 });
  const guildId = sim.world.guilds[0]!.id;
  const first = await identifiedClient(t, proxy, [0, 1]);
  const watcher = await identifiedClient(t, proxy, [0, 1]);
  const seq = first.ready.s as number;
  await first.client.terminate();
  for (let i = 0; i < 6; i++)
    sim.emitEvent('MESSAGE_CREATE', {
      id: `${300 + i}`,
      guild_id: guildId,
      channel_id: '2',
      content: `x${i}`,
    });
  await watcher.client.next((p) => p.t === 'MESSAGE_CREATE' && (p.d as Rec).content === 'x5');
  const { client } = await proxyClient(t, proxy);
  client.resume(CLIENT_TOKEN, first.sessionId, seq);
  assert.equal((await client.nextOp(9)).d, false);
  client.identify(CLIENT_TOKEN, { shard: [0, 1], intents: 1 });
  assert.equal((await client.nextOp(0, 'READY')).s, 1);
});

test('op 8 the cache cannot answer is forwarded; the chunks reach only the requester, with its own nonce', async (t) => {
  const { sim, proxy } = await proxyRig(t, { shards: 2, guilds: 4 }, { cache: { members: false } });
  const guildId = sim.world.guilds.find((g) => shardOf(g.id, 2) === 1)!.id;
  const a = await identifiedClient(t, proxy, [1, 2]);
  const b = await identifiedClient(t, proxy, [1, 2]);
  a.client.send({ op: 8, d: { guild_id: guildId, query: '', limit: 0, nonce: 'abc' } });
  const chunk = await a.client.nextOp(0, 'GUILD_MEMBERS_CHUNK');
  assert.equal((chunk.d as Rec).nonce, 'abc');
  assert.ok(((chunk.d as Rec).members as unknown[]).length > 0);
  // A second request without a nonce comes back without one.
  a.client.send({ op: 8, d: { guild_id: guildId, user_ids: [sim.world.bot.id] } });
  const second = await a.client.nextOp(0, 'GUILD_MEMBERS_CHUNK');
  assert.equal((second.d as Rec).nonce, undefined);
  b.client.heartbeat();
  await b.client.nextOp(11);
  assert.equal(b.client.received.filter((p) => p.t === 'GUILD_MEMBERS_CHUNK').length, 0);
});

test('op 4 is forwarded to the upstream shard; its VOICE_STATE_UPDATE comes back as a live event', async (t) => {
  const { sim, proxy } = await proxyRig(t, { shards: 1, guilds: 2 });
  const guild = sim.world.guilds[0]!;
  const { client } = await identifiedClient(t, proxy, [0, 1]);
  client.send({ op: 4, d: { guild_id: guild.id, channel_id: null, self_mute: false, self_deaf: false } });
  const p = await client.nextOp(0, 'VOICE_STATE_UPDATE');
  assert.equal((p.d as Rec).guild_id, guild.id);
});

test('after the upstream reshards, clients identify with the new count and sessions of the old count end', async (t) => {
  const { proxy } = await proxyRig(
    t,
    { shards: 2, guilds: 6 },
    { upstream: { identifyWindowMs: 50, identifyMarginMs: 10, dedupeWindowMs: 200 } },
  );
  const old = await identifiedClient(t, proxy, [0, 2]);
  await proxy.manager!.reshard(3);
  const body = (await (await fetch(`${proxy.restUrl}/v10/gateway/bot`)).json()) as { shards: number };
  assert.equal(body.shards, 3);
  const fresh = await identifiedClient(t, proxy, [2, 3]);
  assert.deepEqual((fresh.ready.d as Rec).shard, [2, 3]);
  await old.client.terminate();
  const { client } = await proxyClient(t, proxy);
  client.resume(CLIENT_TOKEN, old.sessionId, old.ready.s);
  assert.equal((await client.nextOp(9)).d, false);
});

test('above maxSessions the session detached longest ago is dropped; with every session held, IDENTIFY gets op 9', async (t) => {
  const { proxy } = await proxyRig(t, { shards: 1, guilds: 2 }, { maxSessions: 2 });
  const a = await identifiedClient(t, proxy, [0, 1]);
  const b = await identifiedClient(t, proxy, [0, 1]);
  const { client: third } = await proxyClient(t, proxy);
  third.identify(CLIENT_TOKEN, { shard: [0, 1], intents: 1 });
  assert.equal((await third.nextOp(9)).d, false, 'both sessions are held');
  await a.client.terminate();
  await waitFor(() => proxy.status().connections === 2, {
    what: "the proxy saw a's connection close",
    timeoutMs: 10_000,
  });
  const c = await identifiedClient(t, proxy, [0, 1]);
  assert.notEqual(c.sessionId, b.sessionId);
  const { client } = await proxyClient(t, proxy);
  client.resume(CLIENT_TOKEN, a.sessionId, a.ready.s);
  assert.equal((await client.nextOp(9)).d, false, 'a was dropped to make room');
});
