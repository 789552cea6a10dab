import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { inspect } from 'node:util';
import { MemoryIdentifyQueue } from '../../src/shard/identify-queue.js';
import { MemorySessionStore } from '../../src/shard/session-store.js';
import { Shard } from '../../src/shard/shard.js';
import {
  consecutive,
  createShard,
  IDENTIFY_WINDOW_MS,
  Recorder,
  shardOptions,
  simLastSeq,
  startSim,
  violations,
  waitFor,
} from '../support/shard-harness.js';

describe('shard sessions, filters and identify concurrency', () => {
  test('destroy with a resumable code keeps the session; a new Shard with the same store resumes it', async (t) => {
    const sim = await startSim(t);
    const store = new MemorySessionStore();
    const first = createShard(t, sim, { sessionStore: store });
    await first.shard.connect();
    sim.emitRandomEvents(10);
    await waitFor(() => first.shard.sequence === simLastSeq(sim), { what: 'dispatches' });
    const sessionId = first.shard.sessionId;
    await first.shard.destroy({ code: 4000 });
    assert.equal(store.load(0)?.sessionId, sessionId);
    // Events that happen between the two processes are replayed to the second.
    sim.emitRandomEvents(10);
    const second = createShard(t, sim, { sessionStore: store });
    await second.shard.connect();
    assert.equal(second.resumed, 1);
    assert.equal(second.ready, 0);
    assert.equal(second.shard.sessionId, sessionId);
    await waitFor(() => second.shard.sequence === simLastSeq(sim), { what: 'replayed dispatches' });
    const all = [...first.seqs, ...second.seqs];
    assert.ok(consecutive(all), `sequence ${all.join(',')}`);
    assert.equal(sim.stats().identifies, 1);
  });

  test('a throwing dispatch listener is reported as LISTENER_FAILED and delivery goes on', async (t) => {
    const sim = await startSim(t);
    const rec = createShard(t, sim);
    let calls = 0;
    rec.shard.on('dispatch', () => {
      calls++;
      throw new Error('listener bug');
    });
    await rec.shard.connect();
    sim.emitRandomEvents(20);
    await waitFor(() => rec.shard.sequence === simLastSeq(sim), { what: 'dispatches' });
    assert.ok(consecutive(rec.seqs), `sequence ${rec.seqs.join(',')}`);
    assert.equal(calls, simLastSeq(sim));
    const failed = rec.errors.filter((e) => e.code === 'LISTENER_FAILED');
    assert.equal(failed.length, calls);
    assert.equal(rec.shard.status, 'ready');
  });

  test('destroy(1000) clears the stored session, so the next Shard identifies', async (t) => {
    const sim = await startSim(t);
    const store = new MemorySessionStore();
    const first = createShard(t, sim, { sessionStore: store });
    await first.shard.connect();
    await first.shard.destroy({ code: 1000 });
    assert.equal(store.load(0), null);
    const second = createShard(t, sim, { sessionStore: store });
    await second.shard.connect();
    assert.equal(second.ready, 1);
    assert.equal(sim.stats().identifies, 2);
  });

  for (const encoding of ['json', 'etf'] as const) {
    test(`a dispatch filter (${encoding}) delivers only the wanted types and still tracks every sequence`, async (t) => {
      const sim = await startSim(t);
      const rec = createShard(t, sim, { encoding, dispatches: ['MESSAGE_CREATE'] });
      await rec.shard.connect();
      for (let i = 0; i < 10; i++) {
        sim.emitEvent(
          'TYPING_START',
          { channel_id: '1', user_id: '2', timestamp: i },
          { shardId: 0, intent: 0 },
        );
        sim.emitEvent(
          'MESSAGE_CREATE',
          { id: String(100 + i), channel_id: '1', content: `m${i}` },
          { shardId: 0, intent: 0 },
        );
      }
      await waitFor(() => rec.shard.sequence === simLastSeq(sim), { what: 'every sequence' });
      const types = new Set(rec.dispatches.map((d) => d.t));
      assert.deepEqual([...types], ['MESSAGE_CREATE']);
      assert.equal(rec.dispatches.length, 10);
      assert.equal(rec.errors.length, 0, 'no gap reported for skipped dispatches');
      assert.equal(rec.ready, 1, 'READY is processed even when filtered');
      // A resume after skipped dispatches uses the right seq: nothing replays twice.
      const resumed = rec.next('resumed');
      sim.inject({ kind: 'reconnect', shardId: 0 });
      await resumed;
      assert.equal(rec.dispatches.length, 10);
    });
  }

  test('four shards sharing one identify queue never break identify concurrency', async (t) => {
    const sim = await startSim(t, { shards: 4, guilds: 12 });
    const queue = new MemoryIdentifyQueue({ maxConcurrency: 1, windowMs: IDENTIFY_WINDOW_MS + 200 });
    const recs = [0, 1, 2, 3].map((id) => {
      const shard = new Shard(shardOptions(sim, { shardId: id, shardCount: 4, identifyQueue: queue }));
      t.after(() => shard.destroy());
      return new Recorder(shard);
    });
    await Promise.all(recs.map((r) => r.shard.connect()));
    const stats = sim.stats();
    assert.equal(stats.identifies, 4);
    assert.equal(stats.invalidSessionsSent, 0);
    assert.deepEqual(violations(sim), []);
    for (const r of recs) assert.equal(r.ready, 1);
  });

  test('the token appears in no emitted event, error or debug line, even through faults and a fatal close', async (t) => {
    const sim = await startSim(t);
    const token = sim.tokens[0]!;
    const rec = createShard(t, sim);
    const seen: string[] = [];
    for (const name of [
      'dispatch',
      'ready',
      'resumed',
      'status',
      'heartbeat',
      'close',
      'error',
      'debug',
    ] as const) {
      rec.shard.on(name, (...args: unknown[]) => {
        for (const a of args) {
          seen.push(inspect(a, { depth: 8, showHidden: true }), String(a));
          try {
            seen.push(JSON.stringify(a) ?? '');
          } catch {
            // not serializable; inspect covers it
          }
          if (a instanceof Error) seen.push(a.stack ?? '', String(a.cause ?? ''));
        }
      });
    }
    await rec.shard.connect();
    const resumed = rec.next('resumed');
    sim.inject({ kind: 'reconnect', shardId: 0 });
    await resumed;
    sim.inject({ kind: 'close', code: 4004, shardId: 0 });
    await waitFor(() => rec.shard.status === 'closed', { what: 'fatal stop' });
    assert.ok(seen.length > 20);
    assert.ok(seen.every((s) => !s.includes(token)));
    assert.ok(!inspect(rec.shard, { depth: 6 }).includes(token));
  });
});
