import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ShardManager } from '../../src/manager/manager.js';
import { startSimulator } from '../../src/simulator/index.js';

const WINDOW_MS = 200;
/** Longer than the default 5 % margin (10 ms), shorter than the window. */
const STALL_MS = 60;

/** Blocks the event loop, as a loaded machine or a heavy handler does. */
function stall(ms: number): void {
  const end = performance.now() + ms;
  while (performance.now() < end) {
    // busy
  }
}

test('identify pacing survives a stalled event loop with no identify-concurrency violation', async (t) => {
  const sim = await startSimulator({
    shards: 6,
    maxConcurrency: 2,
    guilds: 12,
    identifyWindowMs: WINDOW_MS,
    heartbeatIntervalMs: 5_000,
  });
  const m = new ShardManager({
    token: sim.tokens[0]!,
    intents: 1,
    api: sim.restUrl,
    compression: 'none',
    identifyWindowMs: WINDOW_MS,
  });
  m.on('error', () => {});
  t.after(async () => {
    await m.destroy({ resumable: false });
    await sim.close();
  });
  // `status: identifying` is emitted just before IDENTIFY is written; the simulator, in this process, reads
  // it only once the loop is free. Stall the loop at three moments: between the grant and the send, right
  // after the send, and on the next timer turn.
  m.on('status', (status, _previous, shardId) => {
    if (status !== 'identifying') return;
    if (shardId % 3 === 0) stall(STALL_MS);
    else if (shardId % 3 === 1) queueMicrotask(() => stall(STALL_MS));
    else {
      // A timer due before the simulator's next read, queued after the identify queue's own timers.
      setTimeout(() => stall(STALL_MS), 0);
      stall(2);
    }
  });
  await m.connect();
  const stats = sim.stats();
  assert.equal(stats.violations['identify-concurrency'], 0);
  assert.equal(stats.identifies, 6);
  assert.equal(stats.invalidSessionsSent, 0);
});
