import assert from 'node:assert/strict';
import { type TestContext, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { WebSocket } from 'ws';
import { ZlibStreamDecoder, ZlibStreamEncoder } from '../../src/codec/zlib-stream.js';
import { type Simulator, SimulatorError } from '../../src/simulator/index.js';
import { ALL_INTENTS } from '../../src/util/intents.js';
import { startSim as startHarnessSim, waitFor } from '../support/shard-harness.js';

const startSim = (t: TestContext) => startHarnessSim(t, { guilds: 4, heartbeatIntervalMs: 60_000 });

/** A raw zlib-stream json connection identified as shard [0, 1]: every message as received. */
async function rawSession(t: TestContext, sim: Simulator): Promise<{ messages: Buffer[]; ws: WebSocket }> {
  const ws = new WebSocket(`${sim.gatewayUrl}/?v=10&encoding=json&compress=zlib-stream`, {
    perMessageDeflate: false,
  });
  t.after(() => ws.terminate());
  const messages: Buffer[] = [];
  ws.on('message', (data: Buffer) => messages.push(data));
  await new Promise<void>((resolve, reject) => {
    ws.once('open', resolve);
    ws.once('error', reject);
  });
  await waitFor(() => messages.length >= 1, { what: 'Hello' });
  ws.send(JSON.stringify({ op: 2, d: { token: sim.tokens[0], intents: ALL_INTENTS, properties: {} } }));
  await waitFor(() => messages.length >= 2 + sim.world.guilds.length, { what: 'READY and GUILD_CREATEs' });
  return { messages, ws };
}

/** Inflates a connection's messages with one stream decoder (ours): one text per message. */
function inflateAll(messages: readonly Buffer[]): string[] {
  const d = new ZlibStreamDecoder();
  return messages.map((m) => {
    const out = d.push(m);
    assert.ok(out !== null, 'every message ends in a sync flush');
    return Buffer.from(out).toString('utf8');
  });
}

test('prepareRandomEvents: nothing is written until released; then the same events, in order, in one intact stream', async (t) => {
  const sim = await startSim(t);
  const { messages, ws } = await rawSession(t, sim);
  const before = messages.length;
  const deliveries = sim.prepareRandomEvents(200, { pool: 50 });
  assert.equal(deliveries, 200, 'one shard: every event is delivered to it');
  assert.equal(sim.preparedEvents, 200);
  // A heartbeat answered while the burst is held: its ACK is compressed after the prepared frames.
  ws.send(JSON.stringify({ op: 1, d: null }));
  await sleep(150);
  assert.equal(messages.length, before, 'no prepared frame (nor the ACK behind them) left before release');
  assert.throws(() => sim.prepareRandomEvents(1), SimulatorError, 'cannot prepare while frames are held');

  assert.equal(sim.releasePrepared(30), 30);
  await waitFor(() => messages.length >= before + 30, { what: 'the first 30 events' });
  await sleep(50);
  assert.equal(messages.length, before + 30, 'exactly the released events');
  assert.equal(sim.releasePrepared(1000), 170);
  assert.equal(sim.preparedEvents, 0);
  await waitFor(() => messages.length >= before + 201, { what: 'the rest and the heartbeat ACK' });

  const texts = inflateAll(messages);
  assert.equal(texts.length, messages.length);
  const payloads = texts.slice(before).map((s) => JSON.parse(s) as { op: number; s: number | null });
  const dispatches = payloads.filter((p) => p.op === 0);
  assert.equal(dispatches.length, 200);
  const firstSeq = dispatches[0]!.s!;
  for (const [i, p] of dispatches.entries()) assert.equal(p.s, firstSeq + i, 'sequence numbers in order');
  assert.equal(payloads.at(-1)!.op, 11, 'the heartbeat ACK comes after the prepared events');

  // Byte for byte what one deflate stream per connection writes for these payloads, message by message.
  const encoder = new ZlibStreamEncoder();
  for (const [i, s] of texts.entries()) {
    const expected = Buffer.from(encoder.encode(new TextEncoder().encode(s)));
    assert.ok(expected.equals(messages[i]!), `message ${i}: the bytes the connection's own stream writes`);
  }

  // After the release the connection writes straight through again.
  sim.emitRandomEvents(5, { pool: 50 });
  await waitFor(() => messages.length >= before + 206, { what: 'events after the release' });
});

test('prepareRandomEvents: the same events and bytes counted as emitRandomEvents', async (t) => {
  const a = await startSim(t);
  const b = await startSim(t);
  const ra = await rawSession(t, a);
  const rb = await rawSession(t, b);
  const sentA = a.emitRandomEvents(120, { pool: 40 });
  const sentB = b.prepareRandomEvents(120, { pool: 40 });
  assert.equal(sentB, sentA);
  let released = 0;
  while (b.preparedEvents > 0) released += b.releasePrepared(7);
  assert.equal(released, 120);
  const n = 2 + a.world.guilds.length + 120;
  await waitFor(() => ra.messages.length >= n && rb.messages.length >= n, { what: 'both bursts' });
  assert.equal(rb.messages.length, ra.messages.length);
  // Same seed, same pool: the same events in the same order (ids and timestamps come from the clock).
  const shape = (messages: Buffer[]) =>
    inflateAll(messages).map((s) => {
      const p = JSON.parse(s) as { op: number; t: string | null; s: number | null };
      return [p.op, p.t, p.s];
    });
  assert.deepEqual(shape(rb.messages), shape(ra.messages));
  assert.equal(b.stats().dispatchesSent, a.stats().dispatchesSent);
  assert.equal(b.stats().compression['zlib-stream'].messages, a.stats().compression['zlib-stream'].messages);
});

test('prepareRandomEvents: a connection closed while its frames are held is skipped on release', async (t) => {
  const sim = await startSim(t);
  const { ws } = await rawSession(t, sim);
  sim.prepareRandomEvents(20, { pool: 10 });
  ws.terminate();
  await waitFor(() => sim.stats().connectionsOpen === 0, { what: 'the close' });
  assert.equal(sim.releasePrepared(100), 20);
  assert.equal(sim.preparedEvents, 0);
  assert.equal(sim.stats().internalErrors, 0);
});
