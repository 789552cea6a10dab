import assert from 'node:assert/strict';
import { test } from 'node:test';
import { SimulatorError } from '../../src/errors.js';
import { FAULT_KINDS } from '../../src/simulator/index.js';
import { ManualClock } from '../../src/util/clock.js';
import { RawClient } from '../support/raw-client.js';
import { connect, identified, simulator, waitFor } from '../support/sim-helpers.js';

async function resumeOutcome(sim: Awaited<ReturnType<typeof simulator>>, sessionId: string, seq: number) {
  const c = await RawClient.connect(sim.resumeGatewayUrl);
  await c.nextOp(10);
  c.resume(sim.tokens[0]!, sessionId, seq);
  const p = await c.next((x) => x.op === 9 || x.t === 'RESUMED');
  await c.terminate();
  return p.op === 9 ? `invalid:${String(p.d)}` : 'resumed';
}

test('close fault: the client sees the code and the session stays resumable', async (t) => {
  const sim = await simulator(t, { guilds: 0 });
  const a = await identified(t, sim);
  assert.equal(sim.inject({ kind: 'close', code: 4321 }), 1);
  assert.equal((await a.client.closed).code, 4321);
  assert.equal(sim.stats().serverClosesByCode['4321'], 1);
  await waitFor(() => sim.stats().sessions[0]?.connected === false, { what: 'condition' });
  assert.equal(await resumeOutcome(sim, a.sessionId, 1), 'resumed');
});

test('close fault with resumable false ends the session', async (t) => {
  const sim = await simulator(t, { guilds: 0 });
  const a = await identified(t, sim);
  sim.inject({ kind: 'close', code: 4000, resumable: false });
  assert.equal((await a.client.closed).code, 4000);
  assert.equal(await resumeOutcome(sim, a.sessionId, 1), 'invalid:false');
});

test('drop fault: no close frame (1006) and the session stays resumable', async (t) => {
  const sim = await simulator(t, { guilds: 0 });
  const a = await identified(t, sim);
  sim.inject({ kind: 'drop' });
  assert.equal((await a.client.closed).code, 1006);
  await waitFor(() => sim.stats().sessions[0]?.connected === false, { what: 'condition' });
  assert.equal(await resumeOutcome(sim, a.sessionId, 1), 'resumed');
});

test('reconnect fault sends op 7 and, with ms, closes a client that stays', async (t) => {
  const sim = await simulator(t, { guilds: 0 });
  const a = await identified(t, sim);
  sim.inject({ kind: 'reconnect', ms: 20 });
  assert.equal((await a.client.nextOp(7)).d, null);
  assert.equal((await a.client.closed).code, 4000);
  assert.equal(await resumeOutcome(sim, a.sessionId, 1), 'resumed');
});

test('invalid-session fault sends op 9 with the chosen resumability', async (t) => {
  const sim = await simulator(t, { guilds: 0, identifyWindowMs: 0 });
  const a = await identified(t, sim);
  sim.inject({ kind: 'invalid-session', resumable: true });
  assert.equal((await a.client.nextOp(9)).d, true);
  await a.client.terminate();
  await waitFor(() => sim.stats().sessions[0]?.connected === false, { what: 'condition' });
  assert.equal(await resumeOutcome(sim, a.sessionId, 1), 'resumed');
  const b = await identified(t, sim);
  sim.inject({ kind: 'invalid-session', sessionId: b.sessionId });
  assert.equal((await b.client.nextOp(9)).d, false);
  assert.equal(await resumeOutcome(sim, b.sessionId, 1), 'invalid:false');
});

test('after op 9 d:true the session may be resumed on the same connection (it is taken off it)', async (t) => {
  const sim = await simulator(t, { guilds: 0 });
  const a = await identified(t, sim);
  sim.inject({ kind: 'invalid-session', resumable: true, sessionId: a.sessionId });
  assert.equal((await a.client.nextOp(9)).d, true);
  a.client.resume(sim.tokens[0]!, a.sessionId, 1);
  await a.client.nextOp(0, 'RESUMED');
  assert.equal(sim.stats().violations['already-authenticated'], 0);
});

test('zombie fault: heartbeats are no longer acknowledged but dispatches still flow', async (t) => {
  const sim = await simulator(t, { guilds: 0 });
  const a = await identified(t, sim);
  sim.inject({ kind: 'zombie' });
  a.client.heartbeat();
  await waitFor(() => sim.stats().heartbeats === 1, { what: 'condition' });
  sim.emitEvent('PING_MARK', {}, { sessionId: a.sessionId });
  await a.client.nextOp(0, 'PING_MARK');
  assert.ok(!a.client.received.some((p) => p.op === 11));
  assert.equal(sim.stats().heartbeatAcks, 0);
});

test('delay fault holds frames until the delay passes, then sends them in order', async (t) => {
  const clock = new ManualClock(0);
  const sim = await simulator(t, { guilds: 0, clock });
  const a = await identified(t, sim);
  sim.inject({ kind: 'delay', ms: 500 });
  sim.emitEvent('FIRST', {}, { sessionId: a.sessionId });
  a.client.heartbeat();
  await waitFor(() => sim.stats().heartbeats === 1, { what: 'condition' });
  sim.emitEvent('SECOND', {}, { sessionId: a.sessionId });
  assert.equal(a.client.received.length, 2, 'only Hello and READY so far');
  clock.advance(500);
  await a.client.nextOp(0, 'SECOND');
  assert.deepEqual(
    a.client.received.slice(2).map((p) => p.t ?? p.op),
    ['FIRST', 11, 'SECOND'],
  );
});

test('split fault on zlib-stream spreads one payload over several WebSocket messages', async (t) => {
  const sim = await simulator(t, { guilds: 0 });
  const a = await identified(t, sim, {}, { compress: 'zlib-stream' });
  const before = a.client.messages;
  sim.inject({ kind: 'split', parts: 5 });
  sim.emitEvent('BIG', { text: 'y'.repeat(2000) }, { sessionId: a.sessionId });
  const big = await a.client.nextOp(0, 'BIG');
  assert.equal((big.d as { text: string }).text.length, 2000);
  assert.ok(a.client.messages - before >= 2, `got ${a.client.messages - before} messages`);
});

for (const [encoding, compress] of [
  ['json', 'none'],
  ['etf', 'none'],
  ['json', 'zlib-stream'],
  ['etf', 'zstd-stream'],
] as const) {
  test(`corrupt fault makes the ${encoding}/${compress} client fail to decode`, async (t) => {
    const sim = await simulator(t, { guilds: 0 });
    const a = await identified(t, sim, {}, { encoding, compress });
    sim.inject({ kind: 'corrupt' });
    await waitFor(() => a.client.errors.length > 0, { what: 'a decode error', timeoutMs: 10_000 });
  });
}

test('request-heartbeat fault sends op 1 and the client heartbeats at once', async (t) => {
  const sim = await simulator(t, { guilds: 0 });
  const a = await identified(t, sim);
  sim.inject({ kind: 'request-heartbeat' });
  assert.equal((await a.client.nextOp(1)).op, 1);
  await a.client.nextOp(11);
  assert.equal(sim.stats().heartbeats, 1);
});

test('a fault targeted at one shard hits only that shard’s connections', async (t) => {
  const sim = await simulator(t, { guilds: 4, identifyWindowMs: 0 });
  const s0 = await identified(t, sim, { shard: [0, 2] });
  const s1 = await identified(t, sim, { shard: [1, 2] });
  assert.equal(sim.inject({ kind: 'close', code: 4000, shardId: 1 }), 1);
  assert.equal((await s1.client.closed).code, 4000);
  s0.client.heartbeat();
  await s0.client.nextOp(11);
  assert.equal(sim.stats().connectionsOpen, 1);
});

test('inject refuses malformed faults with SimulatorError', async (t) => {
  const sim = await simulator(t);
  assert.throws(() => sim.inject({ kind: 'explode' } as never), SimulatorError);
  assert.throws(() => sim.inject({ kind: 'close', code: 99 }), /code must be an integer/);
  assert.throws(() => sim.inject({ kind: 'delay', ms: -1 }), SimulatorError);
});

test('POST /_simulator/faults applies a fault and lists the kinds on an unknown one', async (t) => {
  const sim = await simulator(t, { guilds: 0 });
  const { client } = await connect(t, sim);
  const bad = await fetch(`${sim.httpUrl}/_simulator/faults`, { method: 'POST', body: '{"kind":"nope"}' });
  assert.equal(bad.status, 400);
  assert.deepEqual(((await bad.json()) as { kinds: string[] }).kinds, [...FAULT_KINDS]);
  const notJson = await fetch(`${sim.httpUrl}/_simulator/faults`, { method: 'POST', body: '{' });
  assert.equal(notJson.status, 400);
  const ok = await fetch(`${sim.httpUrl}/_simulator/faults`, {
    method: 'POST',
    body: JSON.stringify({ kind: 'close', code: 4002 }),
  });
  assert.deepEqual(await ok.json(), { connections: 1 });
  assert.equal((await client.closed).code, 4002);
});

test('GET /_simulator/stats reports counters, closes, violations, shards and sessions', async (t) => {
  const sim = await simulator(t, { guilds: 2 });
  const a = await identified(t, sim, { shard: [0, 1] });
  await a.client.nextOp(0, 'GUILD_CREATE');
  await a.client.nextOp(0, 'GUILD_CREATE');
  const stats = (await (await fetch(`${sim.httpUrl}/_simulator/stats`)).json()) as Record<string, unknown>;
  assert.equal(stats.connectionsOpen, 1);
  assert.equal(stats.identifies, 1);
  assert.equal(stats.dispatchesSent, 3);
  assert.deepEqual(stats.shards, [
    { shardId: 0, shardCount: 1, dispatchesSent: 3, sequence: 3, sessions: 1 },
  ]);
  assert.deepEqual(stats.sessions, [
    {
      sessionId: a.sessionId,
      shardId: 0,
      shardCount: 1,
      sequence: 3,
      connected: true,
      ended: false,
      intents: 513,
    },
  ]);
  assert.equal((stats.violations as Record<string, number>)['send-rate'], 0);
  const ev = await fetch(`${sim.httpUrl}/_simulator/events`, {
    method: 'POST',
    body: JSON.stringify({ t: 'CUSTOM_THING', d: { x: 1 }, shardId: 0 }),
  });
  assert.deepEqual(await ev.json(), { sessions: 1 });
  assert.equal((await a.client.nextOp(0, 'CUSTOM_THING')).s, 4);
});

test('a client that cannot keep up is dropped once its queue passes maxBufferedBytes, and can resume', async (t) => {
  const sim = await simulator(t, { guilds: 0, maxBufferedBytes: 64 * 1024 });
  const a = await identified(t, sim);
  const socket = (a.client.ws as unknown as { _socket: { pause(): void; resume(): void } })._socket;
  socket.pause();
  const pad = 'z'.repeat(4000);
  for (let tick = 0; tick < 5000 && sim.stats().slowConsumerDrops === 0; tick++) {
    for (let i = 0; i < 50; i++) sim.emitEvent('BULK', { pad }, { sessionId: a.sessionId });
    await new Promise((r) => setImmediate(r));
  }
  assert.equal(sim.stats().slowConsumerDrops, 1);
  socket.resume();
  assert.equal((await a.client.closed).code, 1006);
  await waitFor(() => sim.stats().sessions[0]?.connected === false, { what: 'condition' });
  assert.equal(await resumeOutcome(sim, a.sessionId, sim.stats().sessions[0]!.sequence), 'resumed');
});
