import assert from 'node:assert/strict';
import { test } from 'node:test';
import { type GatewaySendPayload, PresenceUpdateStatus } from 'discord-api-types/v10';
import { SendError } from '../../src/errors.js';
import { createShard, startSim, violations, waitFor } from '../support/shard-harness.js';

const presence = (i: number, name = `burst ${i}`): GatewaySendPayload => ({
  op: 3,
  d: { since: null, activities: [{ name, type: 0 }], status: PresenceUpdateStatus.Online, afk: false },
});

test('a burst of 1,000 sends is delivered without breaking the send limit', async (t) => {
  // A wider scaled window (1 s, 500 ms margin): the simulator stamps a payload when its event loop gets to
  // it, and on a loaded machine a stall of a few hundred ms compresses a burst in its window. Against
  // Discord the margin is 1 s of 60 s.
  const sim = await startSim(t, { sendWindowMs: 1_000 });
  const rec = createShard(t, sim, {
    maxQueuedSends: 1_000,
    sendLimit: { perWindow: 120, windowMs: 1_000, marginMs: 500 },
  });
  await rec.shard.connect();
  const before = sim.stats().clientPayloads;
  await Promise.all(Array.from({ length: 1_000 }, (_, i) => rec.shard.send(presence(i))));
  await waitFor(() => sim.stats().clientPayloads - before >= 1_000, {
    what: 'the simulator to receive 1,000 payloads',
  });
  assert.deepEqual(violations(sim), []);
  assert.equal(sim.stats().connectionsTotal, 1, 'never disconnected');
  assert.equal(rec.shard.status, 'ready');
});

test('sends made while reconnecting are delivered after RESUMED', async (t) => {
  const sim = await startSim(t);
  const rec = createShard(t, sim);
  await rec.shard.connect();
  const resumed = rec.next('resumed');
  sim.inject({ kind: 'drop', shardId: 0 });
  await waitFor(() => rec.shard.status !== 'ready', { what: 'the shard to notice the drop' });
  const before = sim.stats().clientPayloads;
  const sent = Promise.all([rec.shard.send(presence(1)), rec.shard.send(presence(2))]);
  await resumed;
  await sent;
  await waitFor(() => sim.stats().clientPayloads - before >= 3, { what: 'resume + queued payloads' });
  assert.deepEqual(violations(sim), []);
});

test('an oversized payload is rejected before it reaches the socket, and a full queue errors', async (t) => {
  const sim = await startSim(t);
  const rec = createShard(t, sim, { maxQueuedSends: 3 });
  await assert.rejects(
    rec.shard.send(presence(0, 'x'.repeat(5_000))),
    (e) => e instanceof SendError && e.code === 'PAYLOAD_TOO_LARGE_SEND',
  );
  // Not connected yet: three wait in the queue, the fourth overflows.
  const queued = [rec.shard.send(presence(1)), rec.shard.send(presence(2)), rec.shard.send(presence(3))];
  await assert.rejects(
    rec.shard.send(presence(4)),
    (e) => e instanceof SendError && e.code === 'SEND_QUEUE_FULL',
  );
  await rec.shard.connect();
  await Promise.all(queued);
  assert.deepEqual(violations(sim), []);
});

test('destroy(1000) ends the session and later sends reject with SHARD_DESTROYED', async (t) => {
  const sim = await startSim(t);
  const rec = createShard(t, sim);
  await rec.shard.connect();
  const sessionId = rec.shard.sessionId;
  await rec.shard.destroy({ code: 1000 });
  assert.equal(rec.shard.status, 'closed');
  await assert.rejects(
    rec.shard.send(presence(1)),
    (e) => e instanceof SendError && e.code === 'SHARD_DESTROYED',
  );
  await waitFor(() => sim.stats().sessions.find((s) => s.sessionId === sessionId)?.ended === true, {
    what: 'session end',
  });
});
