/**
 * What real clients meet first: the token with or without `Bot ` in IDENTIFY and RESUME (Eris, Oceanic
 * and discordeno send the prefix), and role objects as Discord sends them today (`colors`).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { REST } from '@discordjs/rest';
import { type APIGatewayBotInfo, Routes } from 'discord-api-types/v10';
import { runSimulate } from '../../src/cli/commands/simulate.js';
import { INTENTS } from '../../src/simulator/intents.js';
import { ManualClock } from '../../src/util/clock.js';
import { RawClient } from '../support/raw-client.js';
import { consecutive, createShard, simLastSeq, startSim, violations } from '../support/shard-harness.js';
import { connect, data, identified, simulator, waitFor } from '../support/sim-helpers.js';

test('a wrong token closes with 4004 with or without "Bot ", and the close never echoes it', async (t) => {
  const sim = await simulator(t, { guilds: 0, identifyWindowMs: 0 });
  const wrong = `${sim.tokens[0]}x`;
  for (const token of [
    wrong,
    `Bot ${wrong}`,
    'Bot ',
    'Bot',
    `bot ${sim.tokens[0]}`,
    `Bot Bot ${sim.tokens[0]}`,
  ]) {
    const { client } = await connect(t, sim);
    client.identify(token);
    const closed = await client.closed;
    assert.equal(closed.code, 4004, JSON.stringify(token));
    assert.ok(!closed.reason.includes(sim.tokens[0]!.slice(0, 8)), 'the close reason holds no token');
  }
  assert.equal(sim.stats().violations.authentication, 6);
  assert.ok(!JSON.stringify(sim.stats()).includes(sim.tokens[0]!.slice(0, 8)), 'stats hold no token');
});

test('RESUME with a Bot-prefixed wrong token closes with 4004 and leaves the session resumable', async (t) => {
  const sim = await simulator(t, { guilds: 1 });
  const { client, sessionId } = await identified(t, sim);
  await client.nextOp(0, 'GUILD_CREATE');
  const seq = client.lastSeq;
  await client.terminate();
  await waitFor(() => sim.stats().sessions[0]?.connected === false, { what: 'the session detached' });
  const bad = await RawClient.connect(sim.resumeGatewayUrl);
  t.after(() => bad.terminate());
  await bad.nextOp(10);
  bad.resume(`Bot ${sim.tokens[0]}x`, sessionId, seq);
  const closed = await bad.closed;
  assert.equal(closed.code, 4004);
  assert.ok(!closed.reason.includes(sim.tokens[0]!.slice(0, 8)));
  const good = await RawClient.connect(sim.resumeGatewayUrl);
  t.after(() => good.terminate());
  await good.nextOp(10);
  good.resume(`Bot ${sim.tokens[0]}`, sessionId, seq);
  await good.nextOp(0, 'RESUMED');
});

test('roles carry colors {primary_color, secondary_color, tertiary_color} beside color', async (t) => {
  const sim = await simulator(t, { guilds: 1 });
  const { client } = await identified(t, sim);
  const g = data(await client.nextOp(0, 'GUILD_CREATE'));
  const roles = g.roles as Array<Record<string, unknown>>;
  assert.ok(roles.length >= 3);
  for (const r of roles) {
    assert.equal(typeof r.color, 'number');
    assert.deepEqual(Object.keys(r.colors as object).sort(), [
      'primary_color',
      'secondary_color',
      'tertiary_color',
    ]);
    assert.equal((r.colors as { primary_color: number }).primary_color, r.color);
  }
});

test('a reconnect armed with next is sent in place of HELLO to the next connection only', async (t) => {
  const sim = await simulator(t, { guilds: 1 });
  assert.equal(sim.inject({ kind: 'reconnect', next: 1, ms: 100 }), 0, 'no open connection is hit');
  const first = await RawClient.connect(sim.gatewayUrl);
  t.after(() => first.terminate());
  const op7 = await first.next();
  assert.deepEqual(op7, { op: 7, d: null, s: null, t: null });
  assert.equal((await first.closed).code, 4000, 'closed by the server after ms');
  assert.ok(!first.received.some((p) => p.op === 10), 'no HELLO on that connection');
  const { client } = await connect(t, sim);
  client.identify(sim.tokens[0]!);
  await client.nextOp(0, 'READY');
  assert.throws(
    () => sim.inject({ kind: 'reconnect', next: 1, shardId: 0 }),
    /cannot name a shardId or sessionId/,
  );
  // Over HTTP as well, and any fault kind: a close before HELLO.
  const res = await fetch(`${sim.httpUrl}/_simulator/faults`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ kind: 'close', code: 4004, next: 2 }),
  });
  assert.deepEqual(await res.json(), { connections: 0 });
  for (let i = 0; i < 2; i++) {
    const c = await RawClient.connect(sim.gatewayUrl);
    t.after(() => c.terminate());
    assert.equal((await c.closed).code, 4004);
    assert.deepEqual(c.received, [], 'closed before HELLO');
  }
  await connect(t, sim);
});

test('the Shard rides out op 7 before HELLO on its first connection and on a resume', async (t) => {
  const sim = await startSim(t, { guilds: 2 });
  sim.inject({ kind: 'reconnect', next: 1 });
  const rec = createShard(t, sim);
  await rec.shard.connect();
  assert.equal(rec.ready, 1);
  assert.ok(sim.stats().connectionsTotal >= 2, 'it opened a second connection after op 7');
  const sessionId = rec.shard.sessionId;
  sim.inject({ kind: 'reconnect', next: 1 });
  const resumed = rec.next('resumed');
  sim.inject({ kind: 'drop', shardId: 0 });
  sim.emitRandomEvents(5);
  await resumed;
  await waitFor(() => rec.shard.sequence === simLastSeq(sim), { what: 'every dispatch' });
  assert.equal(rec.shard.sessionId, sessionId, 'the same session');
  assert.ok(consecutive(rec.seqs));
  assert.equal(sim.stats().identifies, 1);
  assert.deepEqual(violations(sim), []);
});

test('voice channel status and start time: GUILDS events, CHANNEL_INFO reports them, channel objects never', async (t) => {
  const sim = await simulator(t, { guilds: 1, identifyWindowMs: 0 });
  const { client } = await identified(t, sim, { intents: INTENTS.GUILDS });
  const gc = data(await client.nextOp(0, 'GUILD_CREATE'));
  for (const c of gc.channels as Array<Record<string, unknown>>) {
    assert.ok(!('status' in c) && !('voice_start_time' in c), 'ephemeral fields stay off channel objects');
  }
  const other = await identified(t, sim, { intents: INTENTS.GUILD_MESSAGES });
  const guild = sim.world.guilds[0]!;
  const voice = guild.channels.find((c) => c.type === 2)!;
  const status = sim.world.voiceChannelStatusUpdate(guild, voice.id, 'standup');
  assert.equal(sim.emitEvent(status.t, status.d), 1, 'only the GUILDS session gets it');
  assert.deepEqual(data(await client.nextOp(0, 'VOICE_CHANNEL_STATUS_UPDATE')), {
    id: voice.id,
    guild_id: guild.id,
    status: 'standup',
  });
  // Emitted as plain JSON (POST /_simulator/events), the world follows as well.
  const res = await fetch(`${sim.httpUrl}/_simulator/events`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      t: 'VOICE_CHANNEL_START_TIME_UPDATE',
      d: { id: voice.id, guild_id: guild.id, voice_start_time: 1_780_000_000 },
    }),
  });
  assert.equal(res.status, 200);
  await client.nextOp(0, 'VOICE_CHANNEL_START_TIME_UPDATE');
  client.send({ op: 43, d: { guild_id: guild.id, fields: ['status', 'voice_start_time', 'future_field'] } });
  assert.deepEqual(data(await client.nextOp(0, 'CHANNEL_INFO')), {
    guild_id: guild.id,
    channels: [{ id: voice.id, status: 'standup', voice_start_time: 1_780_000_000 }],
  });
  client.send({ op: 43, d: { guild_id: guild.id, fields: ['status'] } });
  assert.deepEqual(data(await client.nextOp(0, 'CHANNEL_INFO')).channels, [
    { id: voice.id, status: 'standup' },
  ]);
  client.send({ op: 43, d: { guild_id: guild.id, fields: [43] } });
  assert.equal((await client.closed).code, 4001);
  assert.ok(!other.client.received.some((p) => p.t?.startsWith('VOICE_CHANNEL_')));
});

test('events without a guild (DMs, entitlements, subscriptions) reach shard 0 only', async (t) => {
  const sim = await simulator(t, { guilds: 6, identifyWindowMs: 0 });
  const all = INTENTS.GUILDS | INTENTS.DIRECT_MESSAGES;
  const s0 = await identified(t, sim, { shard: [0, 2], intents: all });
  const s1 = await identified(t, sim, { shard: [1, 2], intents: all });
  const onShard1 = sim.world.guildsForShard(1, 2)[0]!;
  const purchase = sim.world.entitlementCreate();
  assert.equal(sim.emitEvent(purchase.t, purchase.d), 1);
  const guildSub = sim.world.entitlementCreate({ guildId: onShard1.id });
  assert.equal(
    sim.emitEvent(guildSub.t, guildSub.d),
    1,
    'an entitlement naming a guild still goes to shard 0',
  );
  assert.equal(sim.emitEvent('SUBSCRIPTION_CREATE', { id: '1', user_id: '2', status: 0 }), 1);
  assert.equal(sim.emitEvent('MESSAGE_CREATE', { id: '3', channel_id: '4', content: 'dm' }), 1);
  for (const t of ['ENTITLEMENT_CREATE', 'ENTITLEMENT_CREATE', 'SUBSCRIPTION_CREATE', 'MESSAGE_CREATE'])
    await s0.client.nextOp(0, t);
  s1.client.heartbeat();
  await s1.client.nextOp(11);
  assert.deepEqual(
    s1.client.received.filter((p) => p.op === 0 && p.t !== 'READY' && p.t !== 'GUILD_CREATE'),
    [],
  );
});

test('RATE_LIMITED: one all-members request per guild per window; other guilds and later requests pass', async (t) => {
  const clock = new ManualClock(1_000_000);
  const sim = await simulator(t, { guilds: 2, membersPerGuild: 3, clock });
  const { client } = await identified(t, sim, { intents: INTENTS.GUILDS | INTENTS.GUILD_MEMBERS });
  const [a, b] = sim.world.guilds;
  const all = (g: string, nonce?: string) =>
    client.send({ op: 8, d: { guild_id: g, query: '', limit: 0, ...(nonce ? { nonce } : {}) } });
  all(a!.id);
  await client.nextOp(0, 'GUILD_MEMBERS_CHUNK');
  clock.advance(12_500);
  all(a!.id);
  const limited = await client.nextOp(0, 'RATE_LIMITED');
  assert.equal(data(limited).opcode, 8);
  assert.equal(data(limited).retry_after, 17.5, 'seconds left in the 30 s window');
  assert.equal(typeof limited.s, 'number', 'RATE_LIMITED is a dispatch with a sequence number');
  assert.deepEqual(Object.keys(data(limited)).sort(), ['meta', 'opcode', 'retry_after']);
  assert.deepEqual(data(limited).meta, { guild_id: a!.id }, 'no nonce in meta when the request had none');
  // A prefix query or user_ids request is not limited, nor is another guild.
  client.send({ op: 8, d: { guild_id: a!.id, query: 'a', limit: 5 } });
  await client.nextOp(0, 'GUILD_MEMBERS_CHUNK');
  all(b!.id, 'b');
  assert.equal(data(await client.nextOp(0, 'GUILD_MEMBERS_CHUNK')).nonce, 'b');
  clock.advance(17_500);
  all(a!.id, 'later');
  assert.equal(data(await client.nextOp(0, 'GUILD_MEMBERS_CHUNK')).nonce, 'later');
});

test('a large bot: /gateway/bot says so, and IDENTIFY needs a shard count that is a multiple', async (t) => {
  const sim = await simulator(t, { guilds: 3, largeBotShardMultiple: 16, identifyWindowMs: 0 });
  const res = await fetch(`${sim.restUrl}/v10/gateway/bot`, {
    headers: { authorization: `Bot ${sim.tokens[0]}` },
  });
  const body = (await res.json()) as {
    shards: number;
    session_start_limit: { total: number; max_concurrency: number };
  };
  assert.equal(body.shards, 16);
  assert.equal(body.session_start_limit.total, 2000);
  assert.equal(body.session_start_limit.max_concurrency, 16);
  const { client } = await connect(t, sim);
  client.identify(sim.tokens[0]!, { shard: [0, 8] });
  assert.equal((await client.closed).code, 4010);
  await identified(t, sim, { shard: [0, 16] });
});

test('the REST base `shardline simulate` prints is the one @discordjs/rest takes as `api`', async () => {
  let out = '';
  const stop = new AbortController();
  const done = runSimulate(['--guilds', '2'], {
    stdout: { write: (s: string) => (out += s) },
    stderr: { write: (s: string) => (out += s) },
    signal: stop.signal,
  });
  try {
    await waitFor(() => /REST base \S+/.test(out), { what: 'the REST base line' });
    const base = /REST base (\S+)/.exec(out)![1]!;
    const token = /^token: (\S+)$/m.exec(out)![1]!;
    const gateway = /^gateway (\S+)/m.exec(out)![1]!;
    assert.match(base, /^http:\/\/127\.0\.0\.1:\d+\/api$/, 'no version: the client appends /v10');
    for (const version of ['10', '9']) {
      const rest = new REST({ api: base, version, retries: 0 }).setToken(token);
      const info = (await rest.get(Routes.gatewayBot())) as APIGatewayBotInfo;
      assert.equal(info.url, gateway);
      assert.equal(info.shards, 1);
    }
    // The token with its prefix, as Eris and Oceanic send it, is accepted by REST too.
    const res = await fetch(`${base}/v10/gateway/bot`, { headers: { authorization: `Bot ${token}` } });
    assert.equal(res.status, 200);
  } finally {
    stop.abort();
    assert.equal(await done, 0);
  }
});
