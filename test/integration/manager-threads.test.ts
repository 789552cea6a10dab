import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { GatewayDispatchPayload } from 'discord-api-types/v10';
import { ShardManager } from '../../src/manager/manager.js';
import type { ShardManagerOptions } from '../../src/manager/options.js';
import { threadPoolOf } from '../../src/manager/threads/pool.js';
import { type Simulator, startSimulator } from '../../src/simulator/index.js';
import { HANDLER_COUNTS } from '../support/thread-handler.js';
import { waitFor } from '../support/wait.js';

// GUILDS | GUILD_MEMBERS | GUILD_PRESENCES | GUILD_MESSAGES
const INTENTS = 1 | 2 | 256 | 512;
const WINDOW_MS = 150;
const MARGIN_MS = 250;
const WAIT_MS = 30_000;
const HANDLER = new URL('../support/thread-handler.js', import.meta.url);

type After = { after(fn: () => Promise<void> | void): void };

async function setup(
  t: After,
  shards: number,
  extra: Partial<ShardManagerOptions>,
): Promise<{ sim: Simulator; manager: ShardManager; errors: string[] }> {
  const sim = await startSimulator({
    shards,
    guilds: shards * 3,
    maxConcurrency: 2,
    identifyWindowMs: WINDOW_MS,
    heartbeatIntervalMs: 1_000,
    seed: 3,
  });
  const manager = new ShardManager({
    token: sim.tokens[0]!,
    intents: INTENTS,
    api: sim.restUrl,
    shardCount: shards,
    identifyWindowMs: WINDOW_MS,
    identifyMarginMs: MARGIN_MS,
    encoding: 'json',
    compression: 'zlib-stream',
    ...extra,
  });
  const errors: string[] = [];
  manager.on('error', (err) => errors.push(err.code));
  t.after(async () => {
    await manager.destroy({ resumable: false });
    await sim.close();
  });
  return { sim, manager, errors };
}

/** Every (session, seq) the simulator sequenced, delivered exactly once. */
function checkExactlyOnce(sim: Simulator, seen: Map<string, number[]>, live: Set<string>): void {
  for (const x of sim.stats().sessions) {
    const got = seen.get(x.sessionId) ?? [];
    if (got.length === 0 && !live.has(x.sessionId)) continue; // its READY never reached us
    assert.deepEqual(
      got,
      Array.from({ length: x.sequence }, (_, i) => i + 1),
      `session of shard ${x.shardId}: every sequence once, in order`,
    );
  }
}

test('two shard threads deliver every dispatch once and in order through op 7, drop, op 9 and a killed thread', async (t) => {
  const { sim, manager, errors } = await setup(t, 8, { threads: 2 });
  const session = new Map<number, string>();
  const seen = new Map<string, number[]>();
  manager.on('dispatch', (payload: GatewayDispatchPayload, shardId) => {
    if (payload.t === 'READY') session.set(shardId, payload.d.session_id);
    const id = session.get(shardId);
    if (id === undefined || typeof payload.s !== 'number') return;
    const list = seen.get(id) ?? [];
    seen.set(id, list);
    list.push(payload.s);
  });
  await manager.connect();
  const pool = threadPoolOf(manager)!;
  assert.equal(pool.workers.filter((w) => w !== null).length, 2);
  assert.equal(sim.stats().violations['identify-concurrency'], 0, 'identify pacing across threads');
  assert.deepEqual(manager.shardIds, [0, 1, 2, 3, 4, 5, 6, 7]);

  sim.setEventsPerSecond(400);
  const step = async (ms: number) => new Promise((r) => setTimeout(r, ms));
  await step(300);
  sim.inject({ kind: 'reconnect', shardId: 1 });
  sim.inject({ kind: 'drop', shardId: 2 });
  sim.inject({ kind: 'invalid-session', shardId: 3, resumable: true });
  await step(300);
  const resumesBefore = sim.stats().resumes;
  void pool.workers[0]!.terminate(); // shards 0, 2, 4, 6 lose their thread mid-stream
  await step(300);
  pool.crash(1); // an uncaught exception in the other thread
  await step(500);

  // send() is routed to the shard's thread: a member request is answered on the guild's shard.
  const guild = sim.world.guilds[0]!;
  const members = await manager.requestGuildMembers({ guildId: guild.id });
  assert.ok(members.members.length > 0);

  sim.setEventsPerSecond(0);
  const live = () => new Set(session.values());
  await waitFor(
    () =>
      manager.snapshot().shards.every((s) => s.status === 'ready') &&
      sim
        .stats()
        .sessions.filter((x) => live().has(x.sessionId))
        .every((x) => seen.get(x.sessionId)?.at(-1) === x.sequence),
    { what: 'every shard ready and caught up', timeoutMs: WAIT_MS, everyMs: 20 },
  );
  checkExactlyOnce(sim, seen, live());
  const stats = sim.stats();
  assert.ok(stats.resumes >= resumesBefore + 8, `every shard of both threads resumed (${stats.resumes})`);
  assert.equal(stats.identifies, 8, 'a thread restart resumes, it never identifies again');
  assert.equal(stats.violations['identify-concurrency'], 0);
  assert.equal(errors.filter((c) => c === 'THREAD_CRASHED').length, 2);
  const snap = manager.snapshot();
  assert.equal(snap.shards.length, 8);
  assert.ok(snap.shards.every((s) => s.sequence !== null && s.reconnects >= 1));

  await manager.destroy({ resumable: false });
  assert.deepEqual(pool.workers, [null, null], 'destroy() ends every thread');
});

test('a slow main thread pauses the shard threads instead of queueing without bound', async (t) => {
  const { sim, manager } = await setup(t, 2, { threads: { count: 1, highWaterMark: 32 } });
  const debug: string[] = [];
  manager.on('debug', (m) => debug.push(m));
  const got = new Map<number, number[]>();
  manager.on('dispatch', (payload, shardId) => {
    if (typeof payload.s !== 'number' || payload.t === 'READY') return;
    const until = performance.now() + 1; // a listener that takes 1 ms per event
    while (performance.now() < until);
    const list = got.get(shardId) ?? [];
    got.set(shardId, list);
    list.push(payload.s);
  });
  await manager.connect();
  for (const [, list] of got) list.length = 0;
  sim.emitRandomEvents(600);
  await waitFor(() => debug.some((m) => m.includes('reading paused')), {
    what: 'the thread to pause reading',
    timeoutMs: WAIT_MS,
  });
  await waitFor(
    () => sim.stats().sessions.every((x) => (got.get(x.shardId)?.at(-1) ?? 0) === x.sequence || x.ended),
    { what: 'every event delivered', timeoutMs: WAIT_MS, everyMs: 20 },
  );
  // The thread says so once the main thread acknowledged the backlog (a batch later than the events).
  await waitFor(() => debug.some((m) => m.includes('reading resumed')), {
    what: 'the thread to resume reading',
    timeoutMs: WAIT_MS,
  });
  for (const [, list] of got) {
    for (let i = 1; i < list.length; i++) assert.equal(list[i], list[i - 1]! + 1, 'in order, none lost');
  }
});

test('handler mode runs the dispatch handler inside the threads, once per event across a thread crash', async (t) => {
  const shared = new SharedArrayBuffer(HANDLER_COUNTS.shards * HANDLER_COUNTS.maxSeq);
  const { sim, manager } = await setup(t, HANDLER_COUNTS.shards, {
    threads: { count: 2, handler: HANDLER, handlerData: shared },
  });
  let mainDispatches = 0;
  manager.on('dispatch', () => mainDispatches++);
  await manager.connect();
  sim.setEventsPerSecond(300);
  await new Promise((r) => setTimeout(r, 400));
  threadPoolOf(manager)!.crash(0);
  await new Promise((r) => setTimeout(r, 400));
  sim.setEventsPerSecond(0);
  const counts = new Uint8Array(shared);
  const sessions = () => sim.stats().sessions.filter((x) => !x.ended);
  await waitFor(
    () =>
      manager.snapshot().shards.every((s) => s.status === 'ready') &&
      sessions().every((x) => counts[x.shardId * HANDLER_COUNTS.maxSeq + x.sequence] === 1),
    { what: 'every event handled in the threads', timeoutMs: WAIT_MS, everyMs: 20 },
  );
  assert.equal(sim.stats().identifies, HANDLER_COUNTS.shards, 'the crashed thread resumed its shards');
  for (const x of sessions()) {
    for (let s = 1; s <= x.sequence; s++) {
      assert.equal(counts[x.shardId * HANDLER_COUNTS.maxSeq + s], 1, `shard ${x.shardId} seq ${s} once`);
    }
  }
  assert.equal(mainDispatches, 0, 'no dispatch event on the main thread in handler mode');
  const snap = manager.snapshot();
  assert.equal(
    snap.shards.reduce((n, s) => n + s.guilds, 0),
    HANDLER_COUNTS.shards * 3,
    'GUILD_CREATEs reach the manager for its books',
  );
  assert.ok(snap.shards.every((s) => s.sequence !== null && s.eventsPerSecond > 0));
  await assert.rejects(manager.reshard(8), { code: 'NOT_SUPPORTED_IN_THREADS' });
});

test('a handler module that cannot load fails connect() after a bounded number of thread restarts', async (t) => {
  const missing = new URL('../support/no-such-handler.js', import.meta.url);
  const { manager, errors } = await setup(t, 2, { threads: { count: 1, handler: missing } });
  await assert.rejects(manager.connect(), { code: 'THREAD_CRASHED' });
  // One per death (the first and five restarts), then the shards' own failures.
  assert.ok(errors.filter((c) => c === 'THREAD_CRASHED').length >= 6);
  const pool = threadPoolOf(manager)!;
  await waitFor(() => pool.workers.every((w) => w === null), { what: 'no thread left running' });
});
