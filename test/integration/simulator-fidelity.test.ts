/**
 * What real clients meet first: the token with or without `Bot ` in IDENTIFY and RESUME (Eris, Oceanic
 * and discordeno send the prefix), and role objects as Discord sends them today (`colors`).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
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
