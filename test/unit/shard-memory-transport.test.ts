import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { GatewayDispatchPayload } from 'discord-api-types/v10';
import { ConfigError, GatewayCloseError } from '../../src/errors.js';
import { MemoryIdentifyQueue } from '../../src/shard/identify-queue.js';
import { Shard } from '../../src/shard/shard.js';
import { ManualClock } from '../../src/util/clock.js';
import { dispatch, heartbeatAck, hello, MemoryGateway, ready, settle } from '../support/memory-gateway.js';

const INTERVAL_MS = 40_000;
const JITTER = 0.25;

function setUp(t: { after(fn: () => Promise<void> | void): void }) {
  const clock = new ManualClock(0, () => JITTER);
  const gateway = new MemoryGateway();
  const shard = new Shard({
    token: 'memory.token',
    intents: 513,
    encoding: 'json',
    compression: 'none',
    clock,
    // The identify queue keeps its own window timers: on a clock of its own, `clock` holds only the shard's.
    identifyQueue: new MemoryIdentifyQueue({ clock: new ManualClock() }),
    transport: gateway.factory,
  });
  shard.on('error', () => {});
  t.after(() => shard.destroy().catch(() => {}));
  return { clock, gateway, shard };
}

/** Connects through HELLO, IDENTIFY and READY (sequence 1). */
async function connectReady(gateway: MemoryGateway, shard: Shard): Promise<void> {
  const connected = shard.connect();
  await settle();
  gateway.current.receive(hello(INTERVAL_MS));
  await settle();
  gateway.current.receive(ready(1, 'session-a', 'wss://resume.example'));
  await connected;
}

test('a shard identifies, becomes ready and delivers dispatches over an in-memory gateway', async (t) => {
  const { gateway, shard } = setUp(t);
  const dispatches: GatewayDispatchPayload[] = [];
  shard.on('dispatch', (p) => dispatches.push(p));
  const connected = shard.connect();
  await settle();
  assert.equal(gateway.connections.length, 1);
  const conn = gateway.current;
  assert.equal(conn.options.encoding, 'json');
  assert.equal(conn.sent.length, 0, 'nothing is sent before HELLO');

  conn.receive(hello(INTERVAL_MS));
  await settle();
  assert.deepEqual(conn.sentOps, [2]);
  const identify = conn.sent[0]!.d as { token: string; intents: number; shard: [number, number] };
  assert.equal(identify.token, 'memory.token');
  assert.equal(identify.intents, 513);
  assert.deepEqual(identify.shard, [0, 1]);

  conn.receive(ready(1, 'session-a', 'wss://resume.example'));
  await connected;
  assert.equal(shard.status, 'ready');
  assert.equal(shard.sessionId, 'session-a');

  conn.receive(dispatch('MESSAGE_CREATE', 2, { id: '10', content: 'one' }));
  conn.receive(dispatch('MESSAGE_CREATE', 3, { id: '11', content: 'two' }));
  assert.deepEqual(
    dispatches.map((p) => [p.t, p.s]),
    [
      ['READY', 1],
      ['MESSAGE_CREATE', 2],
      ['MESSAGE_CREATE', 3],
    ],
  );
  assert.equal(shard.sequence, 3);
});

test('heartbeats at interval × jitter, and a missing ACK closes 4000 and resumes with the last sequence, in virtual time', async (t) => {
  const { clock, gateway, shard } = setUp(t);
  await connectReady(gateway, shard);
  const first = gateway.current;
  first.receive(dispatch('MESSAGE_CREATE', 2, { id: '10' }));

  const firstBeatMs = INTERVAL_MS * JITTER;
  clock.advance(firstBeatMs - 1);
  assert.deepEqual(first.sentOps, [2], 'no heartbeat before interval × jitter');
  clock.advance(1);
  assert.deepEqual(first.sent.at(-1), { op: 1, d: 2 });

  first.receive(heartbeatAck);
  clock.advance(INTERVAL_MS - 1);
  assert.deepEqual(first.sentOps, [2, 1]);
  clock.advance(1);
  assert.deepEqual(first.sentOps, [2, 1, 1], 'the next beat comes one interval later');
  first.receive(dispatch('MESSAGE_CREATE', 3, { id: '11' }));

  // No ACK for that beat: when the next one is due, the connection is a zombie.
  clock.advance(INTERVAL_MS);
  assert.deepEqual(first.closedBy?.code, 4000);
  assert.deepEqual(first.sentOps, [2, 1, 1], 'no beat is sent on a zombie connection');

  // An orderly reconnect: no backoff on the first attempt.
  clock.advance(0);
  await settle();
  assert.equal(gateway.connections.length, 2);
  const second = gateway.current;
  assert.match(second.options.url, /^wss:\/\/resume\.example/, 'resumes at resume_gateway_url');
  const resumed = new Promise((resolve) => shard.once('resumed', resolve));
  second.receive(hello(INTERVAL_MS));
  await settle();
  assert.deepEqual(second.sent, [{ op: 6, d: { token: 'memory.token', session_id: 'session-a', seq: 3 } }]);
  second.receive(dispatch('RESUMED', 4, null));
  await resumed;
  assert.equal(shard.status, 'ready');
});

test('a fatal close (4004) rejects connect() and leaves no timer pending: no reconnect, without waiting', async (t) => {
  const { clock, gateway, shard } = setUp(t);
  const connected = shard.connect();
  await settle();
  gateway.current.receive(hello(INTERVAL_MS));
  await settle();
  gateway.current.serverClose(4004, 'Authentication failed.');
  await assert.rejects(connected, (err: unknown) => {
    assert.ok(err instanceof GatewayCloseError);
    assert.equal(err.closeCode, 4004);
    assert.equal(err.kind, 'fatal');
    return true;
  });
  await settle();
  assert.equal(shard.status, 'closed');
  assert.equal(clock.pending, 0, 'nothing is scheduled: no reconnect can ever happen');
  clock.advance(24 * 60 * 60 * 1000);
  await settle();
  assert.equal(gateway.connections.length, 1);
});

test('the transport option must be a factory function', () => {
  assert.throws(
    () => new Shard({ token: 'memory.token', intents: 0, transport: 'ws' as never }),
    (err: unknown) => err instanceof ConfigError && err.option === 'transport',
  );
});

test('a factory that throws counts as a failed connection and is retried with backoff', async (t) => {
  const clock = new ManualClock(0, () => JITTER);
  const gateway = new MemoryGateway();
  let failures = 1;
  const shard = new Shard({
    token: 'memory.token',
    intents: 0,
    encoding: 'json',
    compression: 'none',
    clock,
    transport: (options, handlers) => {
      if (failures-- > 0) throw new Error('no route');
      return gateway.factory(options, handlers);
    },
  });
  shard.on('error', () => {});
  t.after(() => shard.destroy().catch(() => {}));
  const connected = shard.connect();
  await settle();
  assert.equal(gateway.connections.length, 0);
  assert.equal(shard.status, 'backoff');
  // Step through the backoff in virtual time until the retry opens a connection.
  for (let ms = 0; gateway.connections.length === 0 && ms < 60_000; ms += 100) {
    clock.advance(100);
    await settle();
  }
  assert.equal(gateway.connections.length, 1);
  gateway.current.receive(hello(INTERVAL_MS));
  await settle();
  gateway.current.receive(ready(1, 'session-b', 'wss://resume.example'));
  await connected;
});
