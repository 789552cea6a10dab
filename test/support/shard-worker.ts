/**
 * In-process `ShardWorker`s against the simulator (the class as used from code, not the CLI), with the
 * time scales of the CLI worker tests, plus helpers that read the event stream and the simulator's sessions.
 */
import assert from 'node:assert/strict';
import type { TestContext } from 'node:test';
import type { Redis } from 'ioredis';
import { parseEventFields } from '../../src/redis/consumer.js';
import { eventStreamKey, ShardWorker, type ShardWorkerOptions } from '../../src/redis/index.js';
import type { Simulator, SimulatorOptions } from '../../src/simulator/index.js';

/** Identify window 250 ms at the simulator, 600 ms at the worker; heartbeats every second. */
export const WORKER_SIM: SimulatorOptions = {
  guilds: 4,
  membersPerGuild: 2,
  heartbeatIntervalMs: 1_000,
  heartbeatGraceMs: 3_000,
  identifyWindowMs: 250,
  sessionTimeoutMs: 60_000,
};

/** Guilds | GuildMessages. */
export const WORKER_INTENTS = 1 | 512;

/** A worker on the simulator; `stop()`ped after the test. Records its log lines in `lines`. */
export function shardWorker(
  t: TestContext,
  sim: Simulator,
  options: Pick<ShardWorkerOptions, 'redis' | 'prefix' | 'shardIds'> & Partial<ShardWorkerOptions>,
): ShardWorker & { lines: string[] } {
  const worker = new ShardWorker({
    token: sim.tokens[0]!,
    intents: WORKER_INTENTS,
    api: sim.restUrl,
    identifyWindowMs: 600,
    encoding: 'json',
    compression: 'none',
    ...options,
  }) as ShardWorker & { lines: string[] };
  worker.lines = [];
  const name = options.ownerId ?? 'worker';
  worker.on('log', (level, message) => {
    worker.lines.push(`${level}: ${message}`);
    if (process.env.SHARDLINE_DEBUG) process.stderr.write(`${name} ${level}: ${message}\n`);
  });
  worker.on('error', (err, shardId) => worker.lines.push(`error: shard ${shardId}: ${err.message}`));
  // After hooks run in registration order: the Redis fixture may be gone by now, and stop() waits for
  // Redis to flush; a failed test must still end.
  t.after(() => Promise.race([worker.destroy(), new Promise((resolve) => setTimeout(resolve, 2_000))]));
  return worker;
}

/** Resolves with the shard ids of the first `count` emissions of `event`. */
export function collect(worker: ShardWorker, event: 'ready' | 'resumed', count: number): Promise<number[]> {
  const ids: number[] = [];
  return new Promise((resolve) => {
    const on = (_data: unknown, shardId: number): void => {
      ids.push(shardId);
      if (ids.length === count) {
        worker.off(event, on);
        resolve(ids.sort((a, b) => a - b));
      }
    };
    worker.on(event, on);
  });
}

/** Every stream entry's seq per shard, in stream order. */
export async function streamByShard(redis: Redis, prefix: string): Promise<Map<number, number[]>> {
  const entries = (await redis.xrange(eventStreamKey(prefix, 0), '-', '+')) as [string, string[]][];
  const out = new Map<number, number[]>();
  for (const [, raw] of entries) {
    const e = parseEventFields(raw);
    assert.ok(e, 'every stream entry parses');
    out.set(e.shardId, [...(out.get(e.shardId) ?? []), e.seq]);
  }
  return out;
}

/** The live (not ended) sessions of each shard at the simulator. */
export function sessionsByShard(sim: Simulator): Map<number, { lastSeq: number; connected: boolean }[]> {
  const out = new Map<number, { lastSeq: number; connected: boolean }[]>();
  for (const s of sim.stats().sessions) {
    if (s.ended) continue;
    out.set(s.shardId, [...(out.get(s.shardId) ?? []), { lastSeq: s.sequence, connected: s.connected }]);
  }
  return out;
}

/** Whether the stream's last seq of every shard is the simulator's last seq of its session. */
export async function streamCaughtUp(
  redis: Redis,
  prefix: string,
  sim: Simulator,
  shards: number,
): Promise<boolean> {
  const stream = await streamByShard(redis, prefix);
  const sessions = sessionsByShard(sim);
  for (let shard = 0; shard < shards; shard++) {
    const last = sessions.get(shard)?.[0]?.lastSeq;
    if (last === undefined || stream.get(shard)?.at(-1) !== last) return false;
  }
  return true;
}

/** Asserts one session per shard and the stream holding 1…lastSeq of it exactly once, in order. */
export async function assertStreamComplete(
  redis: Redis,
  prefix: string,
  sim: Simulator,
  shards: number,
  context = '',
): Promise<void> {
  const stream = await streamByShard(redis, prefix);
  const sessions = sessionsByShard(sim);
  for (let shard = 0; shard < shards; shard++) {
    const s = sessions.get(shard);
    assert.equal(s?.length, 1, `shard ${shard}: one session\n${context}`);
    const expected = Array.from({ length: s[0]!.lastSeq }, (_, i) => i + 1);
    assert.deepEqual(
      stream.get(shard),
      expected,
      `shard ${shard}: every dispatch once, in order\n${context}`,
    );
  }
}

/** Emits one MESSAGE_CREATE per shard every `everyMs` until stopped (also stopped after the test). */
export function eventFlow(t: TestContext, sim: Simulator, shards: number, everyMs: number): { stop(): void } {
  let n = 0;
  const timer = setInterval(() => {
    for (let shard = 0; shard < shards; shard++) {
      sim.emitEvent(
        'MESSAGE_CREATE',
        { id: String(++n), content: `event ${n}` },
        { shardId: shard, intent: 0 },
      );
    }
  }, everyMs);
  t.after(() => clearInterval(timer));
  return { stop: () => clearInterval(timer) };
}

/** Every stream entry's seq per `shard session`, in stream order. */
export async function streamBySession(redis: Redis, prefix: string): Promise<Map<string, number[]>> {
  const entries = (await redis.xrange(eventStreamKey(prefix, 0), '-', '+')) as [string, string[]][];
  const out = new Map<string, number[]>();
  for (const [, raw] of entries) {
    const e = parseEventFields(raw);
    assert.ok(e, 'every stream entry parses');
    const key = `${e.shardId} ${e.sessionId}`;
    out.set(key, [...(out.get(key) ?? []), e.seq]);
  }
  return out;
}

/** The simulator's last seq of each `shard session` it ever started (ended sessions included). */
export function simSessions(sim: Simulator): Map<string, number> {
  return new Map(sim.stats().sessions.map((s) => [`${s.shardId} ${s.sessionId}`, s.sequence]));
}
