import assert from 'node:assert/strict';
import { test } from 'node:test';
import { INTENTS } from '../../src/simulator/intents.js';
import { shardOf } from '../../src/simulator/world.js';
import { RawClient } from '../support/raw-client.js';
import { connect, data, identified, simulator, waitFor } from '../support/sim-helpers.js';

test('GET /gateway and /gateway/bot answer like Discord, and /gateway/bot needs the bot token', async (t) => {
  const sim = await simulator(t, {
    guilds: 2500,
    membersPerGuild: 0,
    maxConcurrency: 4,
    sessionStartTotal: 50,
  });
  const open = await fetch(`${sim.restUrl}/gateway`);
  assert.deepEqual(await open.json(), { url: sim.gatewayUrl });
  const noAuth = await fetch(`${sim.restUrl}/gateway/bot`);
  assert.equal(noAuth.status, 401);
  assert.equal(((await noAuth.json()) as { message: string }).message, '401: Unauthorized');
  const bad = await fetch(`${sim.restUrl}/gateway/bot`, { headers: { authorization: 'Bot nope' } });
  assert.equal(bad.status, 401);
  const res = await fetch(`${sim.restUrl}/gateway/bot`, {
    headers: { authorization: `Bot ${sim.tokens[0]}` },
  });
  assert.equal(res.status, 200);
  const body = (await res.json()) as Record<string, unknown>;
  assert.equal(body.url, sim.gatewayUrl);
  assert.equal(body.shards, 3);
  assert.deepEqual(body.session_start_limit, {
    total: 50,
    remaining: 50,
    reset_after: 86_400_000,
    max_concurrency: 4,
  });
});

test('Hello carries the configured heartbeat interval and every key of the envelope', async (t) => {
  const sim = await simulator(t, { heartbeatIntervalMs: 12_345 });
  const { hello } = await connect(t, sim);
  assert.equal(hello.op, 10);
  assert.equal(hello.s, null);
  assert.equal(hello.t, null);
  assert.equal(data(hello).heartbeat_interval, 12_345);
});

test('READY has s=1, the session, a resume URL on its own path and only this shard’s guilds', async (t) => {
  const sim = await simulator(t, { guilds: 12 });
  const { client, ready, sessionId } = await identified(t, sim, { shard: [1, 3] });
  assert.equal(ready.s, 1);
  const d = data(ready);
  assert.match(sessionId, /^[0-9a-f]{32}$/);
  assert.equal(d.resume_gateway_url, `${sim.gatewayUrl}/resume`);
  assert.deepEqual(d.shard, [1, 3]);
  assert.equal((d.user as { id: string; bot: boolean }).bot, true);
  assert.equal((d.application as { id: string }).id, sim.world.application.id);
  const expected = sim.world.guilds.filter((g) => shardOf(g.id, 3) === 1).map((g) => g.id);
  const guilds = d.guilds as Array<{ id: string; unavailable: boolean }>;
  assert.deepEqual(
    guilds.map((g) => g.id),
    expected,
  );
  assert.ok(guilds.every((g) => g.unavailable));
  for (let i = 0; i < expected.length; i++) {
    const gc = await client.nextOp(0, 'GUILD_CREATE');
    assert.equal(gc.s, 2 + i);
    assert.equal(data(gc).id, expected[i]);
    assert.equal(shardOf(data(gc).id as string, 3), 1);
  }
});

test('a heartbeat is answered with op 11', async (t) => {
  const sim = await simulator(t);
  const { client } = await connect(t, sim);
  client.send({ op: 1, d: null });
  const ack = await client.nextOp(11);
  assert.equal(ack.d, null);
  assert.equal(sim.stats().heartbeatAcks, 1);
});

test('a connection that stops heartbeating is closed with 4009', async (t) => {
  const sim = await simulator(t, { heartbeatIntervalMs: 50, heartbeatGraceMs: 50 });
  const { client } = await connect(t, sim);
  const closed = await client.closed;
  assert.equal(closed.code, 4009);
  assert.equal(sim.stats().violations['heartbeat-timeout'], 1);
});

test('a client that heartbeats on time is kept open', async (t) => {
  const sim = await simulator(t, { heartbeatIntervalMs: 40, heartbeatGraceMs: 400 });
  const client = await RawClient.connect(sim.gatewayUrl, { heartbeatMs: 40 });
  t.after(() => client.terminate());
  await waitFor(() => sim.stats().heartbeatAcks >= 5, { what: 'five acks', timeoutMs: 10_000 });
  assert.equal(sim.stats().connectionsOpen, 1);
});

for (const [v, ok] of [
  ['10', true],
  ['9', true],
  ['8', false],
  ['abc', false],
  [null, false],
] as const) {
  test(`query v=${v} is ${ok ? 'accepted' : 'closed with 4012'}`, async (t) => {
    const sim = await simulator(t);
    const client = await RawClient.connect(sim.gatewayUrl, { v });
    t.after(() => client.terminate());
    if (ok) assert.equal((await client.nextOp(10)).op, 10);
    else assert.equal((await client.closed).code, 4012);
  });
}

test('an unknown encoding or compression is refused with 4002', async (t) => {
  const sim = await simulator(t);
  for (const options of [{ encoding: 'xml' }, { compress: 'brotli' }]) {
    const client = await RawClient.connect(sim.gatewayUrl, options);
    assert.equal((await client.closed).code, 4002);
  }
});

const identifyCases: Array<[string, Record<string, unknown>, number, string]> = [
  ['a wrong token', { token: 'wrong' }, 4004, 'authentication'],
  ['unknown intent bits', { intents: 1 << 17 }, 4013, 'invalid-intents'],
  ['a negative intents value', { intents: -1 }, 4013, 'invalid-intents'],
  ['a shard id ≥ the shard count', { shard: [2, 2] }, 4010, 'invalid-shard'],
  ['a malformed shard', { shard: [0] }, 4010, 'invalid-shard'],
  ['a large_threshold out of range', { large_threshold: 5000 }, 4001, 'invalid-payload'],
];
for (const [what, extra, code, violation] of identifyCases) {
  test(`Identify with ${what} closes with ${code}`, async (t) => {
    const sim = await simulator(t);
    const { client } = await connect(t, sim);
    client.identify(sim.tokens[0]!, extra);
    assert.equal((await client.closed).code, code);
    assert.equal(sim.stats().violations[violation as 'authentication'], 1);
  });
}

test('Identify with a privileged intent the app lacks closes with 4014', async (t) => {
  const sim = await simulator(t, { privilegedIntents: INTENTS.GUILD_MEMBERS });
  const { client } = await connect(t, sim);
  client.identify(sim.tokens[0]!, { intents: INTENTS.GUILDS | INTENTS.MESSAGE_CONTENT });
  assert.equal((await client.closed).code, 4014);
});

test('Identify for a shard holding too many guilds closes with 4011', async (t) => {
  const sim = await simulator(t, { guilds: 5, maxGuildsPerShard: 2 });
  const { client } = await connect(t, sim);
  client.identify(sim.tokens[0]!);
  assert.equal((await client.closed).code, 4011);
});

test('a second Identify on the same connection closes with 4005', async (t) => {
  const sim = await simulator(t, { identifyWindowMs: 0 });
  const { client } = await identified(t, sim);
  client.identify(sim.tokens[0]!);
  assert.equal((await client.closed).code, 4005);
});

test('a command before Identify closes with 4003', async (t) => {
  const sim = await simulator(t);
  const { client } = await connect(t, sim);
  client.send({ op: 3, d: { status: 'online', activities: [], since: null, afk: false } });
  assert.equal((await client.closed).code, 4003);
});

test('an unknown opcode closes with 4001', async (t) => {
  const sim = await simulator(t);
  const { client } = await connect(t, sim);
  client.send({ op: 5, d: null });
  assert.equal((await client.closed).code, 4001);
});

test('an undecodable payload closes with 4002', async (t) => {
  const sim = await simulator(t);
  const { client } = await connect(t, sim);
  client.sendRaw('{"op":1,');
  assert.equal((await client.closed).code, 4002);
  assert.equal(sim.stats().violations.decode, 1);
});

test('a payload over 4096 bytes closes with 4002', async (t) => {
  const sim = await simulator(t);
  const { client } = await connect(t, sim);
  client.send({ op: 1, d: null, pad: 'x'.repeat(4100) } as never);
  assert.equal((await client.closed).code, 4002);
  assert.equal(sim.stats().violations['payload-size'], 1);
});

test('one payload more than the send limit closes with 4008', async (t) => {
  const sim = await simulator(t, { sendLimit: 5 });
  const { client } = await connect(t, sim);
  for (let i = 0; i < 6; i++) client.send({ op: 1, d: null });
  assert.equal((await client.closed).code, 4008);
  assert.equal(sim.stats().violations['send-rate'], 1);
  assert.equal(sim.stats().heartbeatAcks, 5);
});

test('a second Identify in the same concurrency bucket and window gets op 9 false', async (t) => {
  const sim = await simulator(t, { maxConcurrency: 2, guilds: 4 });
  await identified(t, sim, { shard: [0, 4] });
  await identified(t, sim, { shard: [1, 4] }); // another bucket: fine
  const { client } = await connect(t, sim);
  client.identify(sim.tokens[0]!, { shard: [2, 4] }); // bucket 0 again
  const invalid = await client.nextOp(9);
  assert.equal(invalid.d, false);
  assert.equal(sim.stats().violations['identify-concurrency'], 1);
  assert.equal(sim.stats().identifies, 2);
});

test('Identify after the session-start budget is spent gets op 9 false', async (t) => {
  const sim = await simulator(t, { sessionStartTotal: 1, identifyWindowMs: 0 });
  await identified(t, sim);
  const { client } = await connect(t, sim);
  client.identify(sim.tokens[0]!);
  assert.equal((await client.nextOp(9)).d, false);
  assert.equal(sim.stats().violations['session-start-limit'], 1);
  assert.equal(sim.stats().sessionStartLimit.remaining, 0);
});

test('bad input on one connection never disturbs the others', async (t) => {
  const sim = await simulator(t, { identifyWindowMs: 0 });
  const good = await identified(t, sim);
  const garbage = [
    Buffer.from([0xff, 0xfe, 0x00]),
    '\u0000',
    '[]',
    '{"op":"1"}',
    '{"op":2,"d":12}',
    '{"op":6,"d":{"seq":"x"}}',
    'x'.repeat(70_000),
    '{"op":1,"d":-5}',
  ];
  for (const g of garbage) {
    const { client } = await connect(t, sim);
    client.sendRaw(g);
    const closed = await client.closed;
    assert.ok(closed.code >= 1000, `closed with ${closed.code}`);
  }
  good.client.send({ op: 1, d: null });
  assert.equal((await good.client.nextOp(11)).op, 11);
  assert.equal(sim.stats().connectionsOpen, 1);
});

test('RESUME after a drop replays missed dispatches with their original s, then RESUMED', async (t) => {
  const sim = await simulator(t, { guilds: 3 });
  const first = await identified(t, sim);
  for (let i = 0; i < 3; i++) await first.client.nextOp(0, 'GUILD_CREATE');
  const guild = sim.world.guilds[0]!;
  sim.emitEvent('MESSAGE_CREATE', { id: '1', channel_id: '2', guild_id: guild.id, content: 'a' });
  const before = await first.client.nextOp(0, 'MESSAGE_CREATE');
  assert.equal(before.s, 5);
  await first.client.terminate();
  await waitFor(() => sim.stats().sessions[0]?.connected === false, {
    what: 'disconnect',
    timeoutMs: 10_000,
  });
  for (let i = 0; i < 3; i++) {
    sim.emitEvent('MESSAGE_CREATE', {
      id: String(10 + i),
      channel_id: '2',
      guild_id: guild.id,
      content: 'b',
    });
  }
  const resumeUrl = data(first.ready).resume_gateway_url as string;
  const second = await RawClient.connect(resumeUrl);
  t.after(() => second.terminate());
  await second.nextOp(10);
  second.resume(sim.tokens[0]!, first.sessionId, 5);
  const replayed = [await second.nextOp(0), await second.nextOp(0), await second.nextOp(0)];
  assert.deepEqual(
    replayed.map((p) => [p.t, p.s, data(p).id]),
    [
      ['MESSAGE_CREATE', 6, '10'],
      ['MESSAGE_CREATE', 7, '11'],
      ['MESSAGE_CREATE', 8, '12'],
    ],
  );
  const resumed = await second.nextOp(0, 'RESUMED');
  assert.equal(resumed.s, 9);
  const stats = sim.stats();
  assert.equal(stats.resumes, 1);
  assert.equal(stats.resumedSent, 1);
  assert.equal(stats.resumeUrlConnections, 1);
  assert.deepEqual(
    stats.sessions.map((s) => [s.sessionId, s.sequence, s.connected]),
    [[first.sessionId, 9, true]],
  );
});

test('RESUME of an unknown session gets op 9 false', async (t) => {
  const sim = await simulator(t);
  const { client } = await connect(t, sim);
  client.resume(sim.tokens[0]!, 'f'.repeat(32), 3);
  assert.equal((await client.nextOp(9)).d, false);
});

test('a session expires after the resume window', async (t) => {
  const sim = await simulator(t, { sessionTimeoutMs: 30 });
  const first = await identified(t, sim);
  await first.client.terminate();
  await waitFor(() => sim.stats().sessions[0]?.ended === true, { what: 'expiry', timeoutMs: 10_000 });
  const { client } = await connect(t, sim);
  client.resume(sim.tokens[0]!, first.sessionId, 1);
  assert.equal((await client.nextOp(9)).d, false);
});

test('closing with 1000 ends the session at once; 4000 keeps it', async (t) => {
  const sim = await simulator(t, { identifyWindowMs: 0 });
  const a = await identified(t, sim);
  const b = await identified(t, sim);
  await a.client.close(1000);
  await b.client.close(4000);
  await waitFor(() => sim.stats().connectionsOpen === 0, { what: 'closes', timeoutMs: 10_000 });
  const ra = (await connect(t, sim)).client;
  ra.resume(sim.tokens[0]!, a.sessionId, 1);
  assert.equal((await ra.nextOp(9)).d, false);
  const rb = (await connect(t, sim)).client;
  rb.resume(sim.tokens[0]!, b.sessionId, 1);
  assert.equal((await rb.nextOp(0, 'RESUMED')).t, 'RESUMED');
});

test('RESUME past the replay buffer gets op 9 false', async (t) => {
  const sim = await simulator(t, { guilds: 1, replayBufferSize: 4 });
  const first = await identified(t, sim);
  await first.client.terminate();
  await waitFor(() => sim.stats().sessions[0]?.connected === false, { what: 'condition' });
  for (let i = 0; i < 6; i++) sim.emitEvent('TEST_EVENT', { i }, { sessionId: first.sessionId });
  const { client } = await connect(t, sim);
  client.resume(sim.tokens[0]!, first.sessionId, 1);
  assert.equal((await client.nextOp(9)).d, false);
});

test('RESUME with a seq the session never sent closes with 4007', async (t) => {
  const sim = await simulator(t, { guilds: 0 });
  const first = await identified(t, sim);
  await first.client.terminate();
  await waitFor(() => sim.stats().sessions[0]?.connected === false, { what: 'condition' });
  const { client } = await connect(t, sim);
  client.resume(sim.tokens[0]!, first.sessionId, 99);
  assert.equal((await client.closed).code, 4007);
});

test('dispatches route by (guild_id >> 22) % num_shards and DMs go to shard 0', async (t) => {
  const sim = await simulator(t, { guilds: 8, identifyWindowMs: 0 });
  const dm = INTENTS.GUILDS | INTENTS.GUILD_MESSAGES | INTENTS.DIRECT_MESSAGES;
  const s0 = await identified(t, sim, { shard: [0, 2], intents: dm });
  const s1 = await identified(t, sim, { shard: [1, 2], intents: dm });
  const whole = await identified(t, sim, { shard: [0, 1], intents: dm });
  for (const g of sim.world.guilds) {
    sim.emitEvent('MESSAGE_DELETE', { id: '1', channel_id: '1', guild_id: g.id });
  }
  sim.emitEvent('MESSAGE_CREATE', { id: '9', channel_id: '9', author: { id: '5' }, content: 'dm' });
  const expectShard = (shard: number) =>
    sim.world.guilds.filter((g) => shardOf(g.id, 2) === shard).map((g) => g.id);
  const collect = async (c: RawClient, n: number) => {
    const ids: string[] = [];
    for (let i = 0; i < n; i++) ids.push(data(await c.nextOp(0, 'MESSAGE_DELETE')).guild_id as string);
    return ids;
  };
  assert.deepEqual(await collect(s0.client, expectShard(0).length), expectShard(0));
  assert.deepEqual(await collect(s1.client, expectShard(1).length), expectShard(1));
  assert.equal((await collect(whole.client, 8)).length, 8);
  assert.equal(data(await s0.client.nextOp(0, 'MESSAGE_CREATE')).content, 'dm');
  assert.equal(data(await whole.client.nextOp(0, 'MESSAGE_CREATE')).content, 'dm');
  sim.emitEvent('PING_MARK', {}, { shardId: 1 });
  await s1.client.nextOp(0, 'PING_MARK');
  assert.ok(!s1.client.received.some((p) => p.t === 'MESSAGE_CREATE'));
});

test('intents filter events, and message content needs MESSAGE_CONTENT', async (t) => {
  const sim = await simulator(t, { guilds: 1, identifyWindowMs: 0 });
  const plain = await identified(t, sim, { intents: INTENTS.GUILDS | INTENTS.GUILD_MESSAGES });
  const content = await identified(t, sim, {
    intents: INTENTS.GUILDS | INTENTS.GUILD_MESSAGES | INTENTS.MESSAGE_CONTENT | INTENTS.GUILD_PRESENCES,
  });
  const g = sim.world.guilds[0]!;
  sim.emitEvent('PRESENCE_UPDATE', { user: { id: '1' }, guild_id: g.id, status: 'online', activities: [] });
  sim.emitEvent('MESSAGE_CREATE', {
    id: '1',
    channel_id: '1',
    guild_id: g.id,
    content: 'secret',
    embeds: [{}],
  });
  const m1 = data(await plain.client.nextOp(0, 'MESSAGE_CREATE'));
  assert.equal(m1.content, '');
  assert.deepEqual(m1.embeds, []);
  const m2 = data(await content.client.nextOp(0, 'MESSAGE_CREATE'));
  assert.equal(m2.content, 'secret');
  await content.client.nextOp(0, 'PRESENCE_UPDATE');
  assert.ok(!plain.client.received.some((p) => p.t === 'PRESENCE_UPDATE'));
});

test('live events flow at --events-per-second and can be changed at run time', async (t) => {
  const sim = await simulator(t, { guilds: 2, eventsPerSecond: 500 });
  const { client } = await identified(t, sim, {
    intents: 53575421 | INTENTS.GUILD_PRESENCES | INTENTS.GUILD_MEMBERS,
  });
  await client.next((p) => p.op === 0 && p.t !== 'READY' && p.t !== 'GUILD_CREATE', 10_000);
  sim.setEventsPerSecond(0);
  assert.ok(sim.stats().eventsEmitted > 0);
});
