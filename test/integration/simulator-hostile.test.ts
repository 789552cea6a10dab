/**
 * Abusive clients in front of the simulator: events no encoder can write, malformed request targets,
 * oversize and stalled frames, wrong-typed fields. Each must get the close code or HTTP status Discord
 * would use, and the simulator must keep serving every other connection.
 */
import assert from 'node:assert/strict';
import { connect as tcpConnect } from 'node:net';
import { test } from 'node:test';
import type { Simulator } from '../../src/simulator/index.js';
import { RawClient } from '../support/raw-client.js';
import { connect, data, identified, simulator, waitFor } from '../support/sim-helpers.js';

async function postRaw(
  sim: Simulator,
  path: string,
  body: string,
): Promise<{ status: number; json: unknown }> {
  const res = await fetch(`${sim.httpUrl}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body,
  });
  const text = await res.text();
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    json = text;
  }
  return { status: res.status, json };
}

/** Sends raw bytes on a fresh TCP connection and resolves with everything the server answered. */
function rawHttp(sim: Simulator, request: string | Buffer): Promise<string> {
  return new Promise((resolve) => {
    const socket = tcpConnect(sim.port, '127.0.0.1');
    const chunks: Buffer[] = [];
    socket.on('data', (c) => chunks.push(c));
    socket.on('error', () => {});
    socket.on('close', () => resolve(Buffer.concat(chunks).toString('latin1')));
    socket.setTimeout(5000, () => socket.destroy());
    socket.write(request);
  });
}

/** The simulator still serves: a fresh connection identifies and gets its heartbeat ACKed. */
async function stillServing(t: Parameters<typeof simulator>[0], sim: Simulator): Promise<void> {
  const { client } = await identified(t, sim);
  client.heartbeat();
  await client.nextOp(11);
}

const deep = (n: number): string => `${'['.repeat(n)}${']'.repeat(n)}`;

for (const [name, d] of [
  ['a number JSON cannot hold (1e999)', '{"x":1e999}'],
  ['nesting over 256', `{"x":${deep(300)}}`],
] as const) {
  test(`an event with ${name} is refused with 400, consumes no sequence number, and RESUME still works`, async (t) => {
    const sim = await simulator(t, { guilds: 0 });
    const a = await identified(t, sim, {}, { encoding: 'etf' });
    const seq = a.client.lastSeq;
    await a.client.terminate();
    await waitFor(() => sim.stats().sessions[0]?.connected === false, { what: 'condition' });
    const r = await postRaw(sim, '/_simulator/events', `{"t":"TEST_EVENT","d":${d}}`);
    assert.equal(r.status, 400, JSON.stringify(r.json));
    assert.equal((r.json as { code: string }).code, 'SIMULATOR_EVENT_INVALID');
    assert.equal(sim.stats().sessions[0]?.sequence, seq);
    const c = await RawClient.connect(sim.resumeGatewayUrl, { encoding: 'etf' });
    t.after(() => c.terminate());
    await c.nextOp(10);
    c.resume(sim.tokens[0]!, a.sessionId, seq);
    const resumed = await c.nextOp(0, 'RESUMED');
    assert.equal(resumed.s, seq! + 1);
    c.heartbeat();
    await c.nextOp(11);
  });
}

test('emitEvent from code refuses what no encoder can write with a SimulatorError', async (t) => {
  const sim = await simulator(t, { guilds: 0 });
  const a = await identified(t, sim, {}, { encoding: 'etf' });
  const cycle: Record<string, unknown> = {};
  cycle.self = cycle;
  for (const d of [
    { x: Number.POSITIVE_INFINITY },
    { x: Number.NaN },
    cycle,
    { x: () => 1 },
    { x: 1n << 70n },
  ]) {
    assert.throws(() => sim.emitEvent('TEST_EVENT', d), { code: 'SIMULATOR_EVENT_INVALID' });
  }
  assert.equal(sim.stats().sessions[0]?.sequence, a.client.lastSeq);
  assert.equal(sim.emitEvent('TEST_EVENT', { ok: true }), 1);
  assert.deepEqual(data(await a.client.nextOp(0, 'TEST_EVENT')), { ok: true });
});

test('an event with a __proto__ key reaches json and etf clients with the key as data', async (t) => {
  const sim = await simulator(t, { guilds: 0, identifyWindowMs: 0 });
  const j = await identified(t, sim);
  const e = await identified(t, sim, {}, { encoding: 'etf' });
  const r = await postRaw(
    sim,
    '/_simulator/events',
    '{"t":"TEST_EVENT","d":{"__proto__":{"polluted":1},"id":"5"}}',
  );
  assert.equal(r.status, 200, JSON.stringify(r.json));
  for (const c of [j.client, e.client]) {
    const p = await c.nextOp(0, 'TEST_EVENT');
    const d = data(p);
    assert.deepEqual(Object.keys(d).sort(), ['__proto__', 'id']);
    assert.equal(Object.getPrototypeOf(d), Object.prototype);
  }
  assert.equal(({} as Record<string, unknown>).polluted, undefined);
});

test('a request target that is not a URL gets 400 on HTTP and is refused on upgrade; the server keeps serving', async (t) => {
  const sim = await simulator(t, { guilds: 1 });
  const http = await rawHttp(sim, 'GET //[ HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
  assert.match(http, /^HTTP\/1\.1 400/);
  const upgrade = await rawHttp(
    sim,
    'GET //[?v=10 HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n' +
      'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n',
  );
  assert.doesNotMatch(upgrade, /101 Switching/);
  await stillServing(t, sim);
});

test('REST control bodies: too large → 413, not JSON → 400, wrong types → 400 naming the field', async (t) => {
  const sim = await simulator(t, { guilds: 1 });
  const big = await postRaw(sim, '/_simulator/events', `{"t":"X","d":"${'x'.repeat(70 * 1024)}"}`);
  assert.equal(big.status, 413);
  const notJson = await postRaw(sim, '/_simulator/events', '{"t":');
  assert.equal(notJson.status, 400);
  for (const [body, field] of [
    ['{"t":"X","d":{},"shardId":"0"}', 'shardId'],
    ['{"t":"X","d":{},"intent":"all"}', 'intent'],
    ['{"t":"X","d":{},"sessionId":5}', 'sessionId'],
    ['{"t":"X","d":{},"guildId":5}', 'guildId'],
    ['{"count":1.5}', 'count'],
    ['{"count":-1}', 'count'],
    ['[1,2]', 'body'],
    ['null', 'body'],
  ] as const) {
    const r = await postRaw(sim, '/_simulator/events', body);
    assert.equal(r.status, 400, `${body}: ${JSON.stringify(r.json)}`);
    assert.match((r.json as { message: string }).message, new RegExp(field), body);
  }
  const deepFault = await postRaw(sim, '/_simulator/faults', deep(30_000));
  assert.equal(deepFault.status, 400);
  const deepEvent = await postRaw(sim, '/_simulator/events', `{"t":"X","d":${deep(30_000)}}`);
  assert.equal(deepEvent.status, 400);
  await stillServing(t, sim);
});

test('a frame declaring more than maxPayloadBytes is closed with 4002 at its header, however large', async (t) => {
  const sim = await simulator(t, { guilds: 0 });
  for (const size of [4097, 64 * 1024, (1 << 20) + 1, 2 ** 31]) {
    const { client } = await connect(t, sim);
    // Header of one masked binary frame declaring `size` bytes, and 16 bytes of its payload: never finished.
    const head = Buffer.alloc(14);
    head[0] = 0x82;
    head[1] = 0x80 | 127;
    head.writeUInt32BE(Math.floor(size / 2 ** 32), 2);
    head.writeUInt32BE(size >>> 0, 6);
    const socket = (client.ws as unknown as { _socket: import('node:net').Socket })._socket;
    socket.write(Buffer.concat([head, Buffer.alloc(16)]));
    const closed = await client.closed;
    assert.equal(closed.code, 4002, `size ${size}`);
  }
  assert.equal(sim.stats().serverClosesByCode['4002'], 4);
  assert.equal(sim.stats().violations['payload-size'], 4);
  await stillServing(t, sim);
});

test('a fragmented message growing past maxPayloadBytes is closed with 4002', async (t) => {
  const sim = await simulator(t, { guilds: 0 });
  const { client } = await connect(t, sim);
  for (let i = 0; i < 3; i++) client.ws.send(Buffer.alloc(2000, 0x20), { binary: false, fin: false });
  assert.equal((await client.closed).code, 4002);
});

test('IDENTIFY and RESUME accept a token with the "Bot " prefix', async (t) => {
  const sim = await simulator(t, { guilds: 1 });
  const { client } = await connect(t, sim);
  client.identify(`Bot ${sim.tokens[0]}`);
  const ready = await client.nextOp(0, 'READY');
  await client.nextOp(0, 'GUILD_CREATE');
  const seq = client.lastSeq;
  await client.terminate();
  await waitFor(() => sim.stats().sessions[0]?.connected === false, { what: 'condition' });
  const c = await RawClient.connect(sim.resumeGatewayUrl);
  t.after(() => c.terminate());
  await c.nextOp(10);
  c.resume(`Bot ${sim.tokens[0]}`, data(ready).session_id as string, seq);
  await c.nextOp(0, 'RESUMED');
  const other = await connect(t, sim);
  other.client.identify(`Bearer ${sim.tokens[0]}`);
  assert.equal((await other.client.closed).code, 4004);
});

test('roles in GUILD_CREATE carry colors beside the deprecated color', async (t) => {
  const sim = await simulator(t, { guilds: 1 });
  const { client } = await identified(t, sim);
  const g = data(await client.nextOp(0, 'GUILD_CREATE'));
  const roles = g.roles as Array<Record<string, unknown>>;
  assert.ok(roles.length > 0);
  for (const r of roles) {
    assert.deepEqual(r.colors, { primary_color: r.color, secondary_color: null, tertiary_color: null });
  }
});

test('IDENTIFY fields of the wrong type close with 4001; huge shard arrays with 4010', async (t) => {
  const sim = await simulator(t, { guilds: 1, identifyWindowMs: 0 });
  for (const [extra, code] of [
    [{ properties: 'linux' }, 4001],
    [{ compress: 7 }, 4001],
    [{ presence: { status: 'bogus' } }, 4001],
    [{ presence: { status: 'online', activities: 'x' } }, 4001],
    [{ large_threshold: 1e9 }, 4001],
    [{ large_threshold: 49.5 }, 4001],
    [{ shard: new Array(900).fill(0) }, 4010],
    [{ shard: [0, 1e300] }, 4010],
    [{ intents: 2 ** 53 }, 4013],
  ] as const) {
    const { client } = await connect(t, sim);
    client.identify(sim.tokens[0]!, extra);
    assert.equal((await client.closed).code, code, JSON.stringify(extra).slice(0, 80));
  }
  const ok = await identified(t, sim, { presence: null, compress: false, properties: {} });
  assert.equal(ok.ready.t, 'READY');
  // Oceanic.js sends its transport compression name as `compress`; Eris a presence with activities: null.
  const oceanic = await identified(t, sim, {
    compress: 'zlib-stream',
    presence: { status: 'online', activities: null },
  });
  assert.equal(oceanic.ready.t, 'READY');
});

test('op 31 lists each guild once however often it is asked for', async (t) => {
  const sim = await simulator(t, { guilds: 1 });
  const { client } = await identified(t, sim);
  const g = sim.world.guilds[0]!.id;
  client.send({ op: 31, d: { guild_ids: new Array(150).fill(g) } });
  client.heartbeat();
  await client.nextOp(11);
  assert.equal(client.received.filter((p) => p.t === 'SOUNDBOARD_SOUNDS').length, 1);
});
