import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { GatewayCloseError } from '../../src/errors.js';
import type { Fault } from '../../src/simulator/index.js';
import { ManualClock } from '../../src/util/clock.js';
import {
  consecutive,
  createShard,
  simLastSeq,
  startSim,
  violations,
  waitFor,
} from '../support/shard-harness.js';

/** Faults after which the shard must come back with RESUMED (same session, nothing lost). */
const RESUMABLE: [string, Fault][] = [
  ['close 4000', { kind: 'close', code: 4000 }],
  ['close 4001', { kind: 'close', code: 4001 }],
  ['close 4002', { kind: 'close', code: 4002 }],
  ['close 4005', { kind: 'close', code: 4005 }],
  ['close 4008', { kind: 'close', code: 4008 }],
  ['close 1001 keeping the session', { kind: 'close', code: 1001 }],
  ['an unknown close code (4999)', { kind: 'close', code: 4999 }],
  ['drop (1006)', { kind: 'drop' }],
  ['op 7 reconnect', { kind: 'reconnect' }],
  ['op 9 resumable', { kind: 'invalid-session', resumable: true }],
  ['zombie (no ACKs)', { kind: 'zombie' }],
  ['a corrupt frame', { kind: 'corrupt' }],
];

/** Faults that need no reconnect at all. */
const HARMLESS: [string, Fault][] = [
  ['op 1 heartbeat request', { kind: 'request-heartbeat' }],
  ['a split message', { kind: 'split', parts: 3 }],
  ['delayed frames', { kind: 'delay', ms: 50 }],
];

describe('shard against every simulator fault', () => {
  for (const [name, fault] of RESUMABLE) {
    test(`resumes after ${name} without losing or duplicating a dispatch`, async (t) => {
      const sim = await startSim(t);
      const rec = createShard(t, sim);
      await rec.shard.connect();
      const sessionId = rec.shard.sessionId;
      sim.emitRandomEvents(10);
      const resumed = rec.next('resumed');
      assert.ok(sim.inject({ ...fault, shardId: 0 }) > 0, 'the fault hit a connection');
      // Events emitted while the shard is away must be replayed on resume.
      sim.emitRandomEvents(10);
      await resumed;
      sim.emitRandomEvents(10);
      await waitFor(() => rec.shard.sequence === simLastSeq(sim), { what: 'every dispatch' });
      assert.equal(rec.shard.sessionId, sessionId, 'same session');
      assert.ok(consecutive(rec.seqs), `sequence ${rec.seqs.join(',')}`);
      assert.equal(rec.ready, 1, 'never identified again');
      assert.equal(sim.stats().identifies, 1);
      assert.ok(sim.stats().resumeUrlConnections >= 1, 'resumed on resume_gateway_url');
      assert.deepEqual(violations(sim), []);
    });
  }

  for (const [name, fault] of HARMLESS) {
    test(`stays connected through ${name}`, async (t) => {
      const sim = await startSim(t);
      const rec = createShard(t, sim);
      await rec.shard.connect();
      sim.emitRandomEvents(5);
      sim.inject({ ...fault, shardId: 0 });
      sim.emitRandomEvents(5);
      await waitFor(() => rec.shard.sequence === simLastSeq(sim), { what: 'every dispatch' });
      assert.ok(consecutive(rec.seqs));
      assert.equal(sim.stats().connectionsTotal, 1);
      assert.deepEqual(violations(sim), []);
    });
  }

  for (const compression of ['zlib-stream', 'zstd-stream'] as const) {
    test(`${compression}: a split message is reassembled and a corrupt frame leads to a clean resume`, async (t) => {
      const sim = await startSim(t);
      const rec = createShard(t, sim, { compression });
      await rec.shard.connect();
      sim.inject({ kind: 'split', parts: 3, shardId: 0 });
      sim.emitRandomEvents(5);
      await waitFor(() => rec.shard.sequence === simLastSeq(sim), { what: 'split dispatches' });
      assert.equal(sim.stats().connectionsTotal, 1);
      const resumed = rec.next('resumed');
      sim.inject({ kind: 'corrupt', shardId: 0 });
      sim.emitRandomEvents(5);
      await resumed;
      await waitFor(() => rec.shard.sequence === simLastSeq(sim), { what: 'every dispatch' });
      assert.ok(consecutive(rec.seqs), `sequence ${rec.seqs.join(',')}`);
      assert.ok(
        rec.errors.some((e) => e.code !== 'GATEWAY_CLOSED'),
        'the corrupt frame was reported',
      );
      assert.deepEqual(violations(sim), []);
    });
  }

  test('op 9 not resumable: waits, then identifies a new session', async (t) => {
    const sim = await startSim(t);
    const rec = createShard(t, sim);
    await rec.shard.connect();
    const first = rec.shard.sessionId;
    const ready = rec.next('ready');
    sim.inject({ kind: 'invalid-session', resumable: false, shardId: 0 });
    await ready;
    assert.notEqual(rec.shard.sessionId, first);
    assert.equal(sim.stats().identifies, 2);
    assert.deepEqual(violations(sim), []);
  });

  for (const code of [4003, 4007, 4009]) {
    test(`close ${code} starts a new session with Identify`, async (t) => {
      const sim = await startSim(t);
      const rec = createShard(t, sim);
      await rec.shard.connect();
      const ready = rec.next('ready');
      sim.inject({ kind: 'close', code, resumable: false, shardId: 0 });
      await ready;
      assert.equal(sim.stats().identifies, 2);
      assert.equal(rec.closes[0]?.action, 'reidentify');
      assert.deepEqual(violations(sim), []);
    });
  }

  test('a close with the session gone on the server: the resume fails (op 9) and the shard identifies', async (t) => {
    const sim = await startSim(t);
    const rec = createShard(t, sim);
    await rec.shard.connect();
    const ready = rec.next('ready');
    sim.inject({ kind: 'close', code: 4000, resumable: false, shardId: 0 });
    await ready;
    const stats = sim.stats();
    assert.equal(stats.identifies, 2);
    assert.ok(stats.invalidSessionsSent >= 1);
    assert.deepEqual(violations(sim), []);
  });

  for (const code of [4004, 4010, 4011, 4012, 4013, 4014]) {
    test(`fatal close ${code} stops the shard with a GatewayCloseError and never reconnects`, async (t) => {
      const sim = await startSim(t);
      // Virtual time for the shard: whether a reconnect could follow is read from the clock, not waited
      // for. The simulator's heartbeat deadline (≥ 1 s) is far beyond this test's few milliseconds.
      const clock = new ManualClock();
      const rec = createShard(t, sim, { clock });
      await rec.shard.connect();
      sim.inject({ kind: 'close', code, shardId: 0 });
      await waitFor(() => rec.shard.status === 'closed', { what: 'closed' });
      const err = rec.errors.find((e) => e instanceof GatewayCloseError);
      assert.ok(err instanceof GatewayCloseError);
      assert.equal(err.closeCode, code);
      assert.equal(clock.pending, 0, 'no timer left: no reconnect can be scheduled');
      clock.advance(60 * 60 * 1000);
      assert.equal(rec.shard.status, 'closed', 'nothing reopened an hour later');
      assert.equal(sim.stats().connectionsTotal, 1, 'no reconnect');
    });
  }

  test('a bad token rejects connect() with 4004 after exactly one connection', async (t) => {
    const sim = await startSim(t);
    const clock = new ManualClock();
    const rec = createShard(t, sim, { token: 'wrong.token.value', clock });
    await assert.rejects(rec.shard.connect(), (e) => e instanceof GatewayCloseError && e.closeCode === 4004);
    assert.equal(clock.pending, 0, 'no timer left: no reconnect can be scheduled');
    clock.advance(60 * 60 * 1000);
    assert.equal(rec.shard.status, 'closed', 'nothing reopened an hour later');
    assert.equal(sim.stats().connectionsTotal, 1);
    assert.equal(rec.shard.status, 'closed');
  });

  test('disallowed intents reject connect() with 4014', async (t) => {
    const sim = await startSim(t, { privilegedIntents: 0 });
    const rec = createShard(t, sim, { intents: 2 });
    await assert.rejects(rec.shard.connect(), (e) => e instanceof GatewayCloseError && e.closeCode === 4014);
  });
});
