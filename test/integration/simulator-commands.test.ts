import assert from 'node:assert/strict';
import { test } from 'node:test';
import { INTENTS } from '../../src/simulator/intents.js';
import { data, identified, simulator } from '../support/sim-helpers.js';

const ALL = INTENTS.GUILDS | INTENTS.GUILD_MEMBERS | INTENTS.GUILD_PRESENCES | INTENTS.GUILD_VOICE_STATES;

test('Request Guild Members for everyone arrives in chunks of at most 1000', async (t) => {
  const sim = await simulator(t, { guilds: 1, membersPerGuild: 2400 });
  const { client } = await identified(t, sim, { intents: ALL });
  const g = sim.world.guilds[0]!;
  client.send({ op: 8, d: { guild_id: g.id, query: '', limit: 0, presences: true, nonce: 'n-1' } });
  const chunks = [];
  for (let i = 0; i < 3; i++) chunks.push(data(await client.nextOp(0, 'GUILD_MEMBERS_CHUNK')));
  assert.deepEqual(
    chunks.map((c) => [c.chunk_index, c.chunk_count, (c.members as unknown[]).length, c.nonce]),
    [
      [0, 3, 1000, 'n-1'],
      [1, 3, 1000, 'n-1'],
      [2, 3, 401, 'n-1'],
    ],
  );
  assert.ok(Array.isArray(chunks[0]!.presences));
});

test('a repeated all-members request within the window gets RATE_LIMITED instead of chunks', async (t) => {
  const sim = await simulator(t, { guilds: 1, membersPerGuild: 5 });
  const { client } = await identified(t, sim, { intents: ALL });
  const g = sim.world.guilds[0]!;
  client.send({ op: 8, d: { guild_id: g.id, query: '', limit: 0 } });
  await client.nextOp(0, 'GUILD_MEMBERS_CHUNK');
  client.send({ op: 8, d: { guild_id: g.id, query: '', limit: 0, nonce: 'again' } });
  const limited = data(await client.nextOp(0, 'RATE_LIMITED'));
  assert.equal(limited.opcode, 8);
  assert.equal(typeof limited.retry_after, 'number');
  assert.ok((limited.retry_after as number) > 0 && (limited.retry_after as number) <= 30);
  assert.deepEqual(limited.meta, { guild_id: g.id, nonce: 'again' });
  assert.equal(sim.stats().violations['member-request-rate'], 1);
});

test('user_ids requests report not_found, and the full list needs GUILD_MEMBERS', async (t) => {
  const sim = await simulator(t, { guilds: 1, membersPerGuild: 5 });
  const { client } = await identified(t, sim, { intents: INTENTS.GUILDS });
  const g = sim.world.guilds[0]!;
  const known = g.members[2]!.user.id;
  client.send({ op: 8, d: { guild_id: g.id, user_ids: [known, '123'], nonce: 'x'.repeat(40) } });
  const byId = data(await client.nextOp(0, 'GUILD_MEMBERS_CHUNK'));
  assert.deepEqual(
    (byId.members as Array<{ user: { id: string } }>).map((m) => m.user.id),
    [known],
  );
  assert.deepEqual(byId.not_found, ['123']);
  assert.equal(byId.nonce, undefined, 'a nonce over 32 bytes is dropped');
  client.send({ op: 8, d: { guild_id: g.id, query: '', limit: 0 } });
  const refused = data(await client.nextOp(0, 'GUILD_MEMBERS_CHUNK'));
  assert.deepEqual(refused.members, []);
  assert.equal(sim.stats().violations['missing-intent'], 1);
});

test('a prefix query returns matching members only', async (t) => {
  const sim = await simulator(t, { guilds: 1, membersPerGuild: 50 });
  const { client } = await identified(t, sim, { intents: ALL });
  const g = sim.world.guilds[0]!;
  const prefix = g.members[3]!.user.username.slice(0, 3);
  client.send({ op: 8, d: { guild_id: g.id, query: prefix, limit: 10 } });
  const chunk = data(await client.nextOp(0, 'GUILD_MEMBERS_CHUNK'));
  const members = chunk.members as Array<{ user: { username: string }; nick: string | null }>;
  assert.ok(members.length >= 1 && members.length <= 10);
  for (const m of members) {
    assert.ok(
      m.user.username.toLowerCase().startsWith(prefix.toLowerCase()) ||
        (m.nick ?? '').toLowerCase().startsWith(prefix.toLowerCase()),
    );
  }
});

test('a malformed Request Guild Members closes with 4001', async (t) => {
  const sim = await simulator(t, { guilds: 1 });
  const { client } = await identified(t, sim, { intents: ALL });
  client.send({ op: 8, d: { guild_id: sim.world.guilds[0]!.id } });
  assert.equal((await client.closed).code, 4001);
});

test('Voice State Update answers with VOICE_STATE_UPDATE and VOICE_SERVER_UPDATE', async (t) => {
  const sim = await simulator(t, { guilds: 1 });
  const { client } = await identified(t, sim, { intents: ALL });
  const g = sim.world.guilds[0]!;
  const voice = g.channels.find((c) => c.type === 2)!;
  client.send({ op: 4, d: { guild_id: g.id, channel_id: voice.id, self_mute: true, self_deaf: false } });
  const state = data(await client.nextOp(0, 'VOICE_STATE_UPDATE'));
  assert.equal(state.channel_id, voice.id);
  assert.equal(state.user_id, sim.world.bot.id);
  assert.equal(state.self_mute, true);
  const server = data(await client.nextOp(0, 'VOICE_SERVER_UPDATE'));
  assert.equal(server.guild_id, g.id);
  assert.equal(typeof server.token, 'string');
});

test('Presence Update is accepted and a malformed one closes with 4001', async (t) => {
  const sim = await simulator(t, { guilds: 0 });
  const { client } = await identified(t, sim);
  client.send({
    op: 3,
    d: { since: null, activities: [{ name: 'tests', type: 0 }], status: 'dnd', afk: false },
  });
  client.heartbeat();
  await client.nextOp(11);
  client.send({ op: 3, d: { status: 'sleeping' } });
  assert.equal((await client.closed).code, 4001);
});

test('Request Soundboard Sounds and Request Channel Info answer per guild', async (t) => {
  const sim = await simulator(t, { guilds: 2 });
  const { client } = await identified(t, sim, { intents: ALL });
  const [a, b] = sim.world.guilds;
  client.send({ op: 31, d: { guild_ids: [a!.id, b!.id] } });
  const s1 = data(await client.nextOp(0, 'SOUNDBOARD_SOUNDS'));
  const s2 = data(await client.nextOp(0, 'SOUNDBOARD_SOUNDS'));
  assert.deepEqual([s1.guild_id, s2.guild_id], [a!.id, b!.id]);
  assert.ok(Array.isArray(s1.soundboard_sounds));
  client.send({ op: 43, d: { guild_id: a!.id, fields: ['status', 'voice_start_time'] } });
  const info = data(await client.nextOp(0, 'CHANNEL_INFO'));
  assert.equal(info.guild_id, a!.id);
  const channels = info.channels as Array<Record<string, unknown>>;
  assert.ok(channels.length >= 1);
  assert.ok('status' in channels[0]! && 'voice_start_time' in channels[0]!);
});

test('GUILD_CREATE holds members and presences only with GUILD_PRESENCES', async (t) => {
  const sim = await simulator(t, { guilds: 1, membersPerGuild: 30, identifyWindowMs: 0 });
  const without = await identified(t, sim, { intents: INTENTS.GUILDS });
  const gc1 = data(await without.client.nextOp(0, 'GUILD_CREATE'));
  assert.deepEqual(
    (gc1.members as Array<{ user: { id: string } }>).map((m) => m.user.id),
    [sim.world.bot.id],
  );
  assert.deepEqual(gc1.presences, []);
  assert.equal(gc1.member_count, 31);
  const withP = await identified(t, sim, { intents: INTENTS.GUILDS | INTENTS.GUILD_PRESENCES });
  const gc2 = data(await withP.client.nextOp(0, 'GUILD_CREATE'));
  assert.equal((gc2.members as unknown[]).length, 31);
  assert.ok((gc2.presences as unknown[]).length > 0);
  assert.ok(Array.isArray(gc2.channels) && Array.isArray(gc2.roles));
});
