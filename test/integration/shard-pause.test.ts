import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { consecutive, createShard, simLastSeq, startSim, waitFor } from '../support/shard-harness.js';

describe('shard: paused reading against the simulator', () => {
  test('while reading is paused the shard keeps heartbeating, is not a zombie, and then gets every event in order', async (t) => {
    const sim = await startSim(t);
    const rec = createShard(t, sim);
    await rec.shard.connect();
    const before = rec.dispatches.length;
    rec.shard.pauseReading();
    assert.equal(rec.shard.readsPaused, true);
    sim.emitRandomEvents(40);
    const beats = sim.stats().heartbeats;
    // Several heartbeat intervals pass; the ACKs stay unread in the socket.
    await waitFor(() => sim.stats().heartbeats >= beats + 5, { what: 'five heartbeats while paused' });
    assert.equal(rec.dispatches.length, before, 'nothing is read while paused');
    assert.equal(rec.shard.status, 'ready');
    assert.deepEqual(rec.closes, [], 'no zombie close while paused');
    rec.shard.resumeReading();
    await waitFor(() => rec.shard.sequence === simLastSeq(sim), { what: 'the held events' });
    assert.ok(consecutive(rec.seqs), `sequence ${rec.seqs.join(',')}`);
    assert.equal(sim.stats().identifies, 1);
    assert.equal(sim.stats().connectionsTotal, 1, 'the connection stayed alive');
  });

  test('a connection dropped during a long pause is resumed afterwards with nothing lost', async (t) => {
    const sim = await startSim(t);
    const rec = createShard(t, sim);
    await rec.shard.connect();
    rec.shard.pauseReading();
    sim.emitRandomEvents(20);
    assert.equal(sim.inject({ kind: 'drop', shardId: 0 }), 1);
    sim.emitRandomEvents(20); // buffered in the session while it is disconnected
    const beats = sim.stats().heartbeats;
    await waitFor(() => sim.stats().connectionsTotal >= 2 || sim.stats().heartbeats >= beats + 3, {
      what: 'time to pass',
    });
    rec.shard.resumeReading();
    await waitFor(() => rec.resumed === 1 && rec.shard.sequence === simLastSeq(sim), {
      what: 'resume and replay',
    });
    assert.ok(consecutive(rec.seqs), `sequence ${rec.seqs.join(',')}`);
    assert.equal(rec.ready, 1);
    assert.equal(sim.stats().identifies, 1);
    assert.equal(sim.stats().resumes, 1);
  });
});
