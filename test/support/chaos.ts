/**
 * The chaos harness (issue #9): a `ShardManager` with many shards against the simulator's live event stream
 * while a seeded schedule injects every fault kind at random times into random shards. Afterwards it checks
 * that every dispatch the simulator sequenced was delivered exactly once per (shard, session, seq), that every
 * shard is READY, that the simulator saw no rule violation, that no fatal close and no unhandled error
 * happened and that the token never appeared in anything the run printed.
 *
 * Used by `scripts/chaos.ts` (long runs) and `test/integration/chaos.test.ts` (a short, scaled run).
 */
import { inspect } from 'node:util';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import type { Compression, Encoding } from '../../src/codec/formats.js';
import { ShardManager } from '../../src/manager/manager.js';
import { threadPoolOf } from '../../src/manager/threads/pool.js';
import { type Fault, type Simulator, startSimulator } from '../../src/simulator/index.js';
import { INTENTS } from '../../src/simulator/intents.js';
import { seededRandom } from '../../src/util/clock.js';
import { waitFor } from './wait.js';

export interface ChaosOptions {
  readonly shards?: number;
  readonly guilds?: number;
  /** How long faults are injected. */
  readonly durationMs: number;
  readonly seed?: number;
  readonly faultEveryMs?: number;
  readonly eventsPerSecond?: number;
  readonly heartbeatIntervalMs?: number;
  readonly identifyWindowMs?: number;
  readonly maxConcurrency?: number;
  /** The shards' wire format; default the manager's (etf + zlib-stream). */
  readonly encoding?: Encoding;
  readonly compression?: Compression;
  /**
   * Identify margin of the manager's queue. The simulator stamps an Identify when its event loop — shared
   * with the client here — gets to it, and READY bursts stall that loop by ~300 ms on a loaded 2-core
   * machine; a margin below the stall lets two identifies of a bucket land in one window (see the report).
   */
  readonly identifyMarginMs?: number;
  /** How long to wait, after the faults stop, for every shard to be READY and every dispatch delivered. */
  readonly settleTimeoutMs?: number;
  /** Receives every line the run prints (progress, errors, debug); checked for the token. */
  readonly log?: (line: string) => void;
  /** Run the shards in this many worker threads (the manager's `threads` option); default in-process. */
  readonly threads?: number;
  /**
   * With `threads`: kill a shard thread every ~N ms during the faults, alternately by `worker.terminate()`
   * and by an uncaught exception inside the thread; its shards must RESUME in a new thread.
   */
  readonly threadKillEveryMs?: number;
}

export interface SessionCheck {
  readonly sessionId: string;
  readonly shard: number;
  readonly lastSeq: number;
  readonly delivered: number;
  /** Sequence numbers 1..lastSeq never delivered. */
  readonly missing: number[];
  /** Sequence numbers delivered more than once. */
  readonly duplicates: number[];
  /** The session was still live on the simulator but the client had moved on to a newer session. */
  readonly abandoned: boolean;
  readonly ended: boolean;
}

export interface ChaosReport {
  readonly ok: boolean;
  readonly failures: string[];
  readonly shards: number;
  readonly ready: number;
  readonly faults: Record<string, number>;
  readonly dispatchesDelivered: number;
  readonly sessionsChecked: number;
  readonly sessions: SessionCheck[];
  readonly violations: Record<string, number>;
  readonly fatalCloses: Record<string, number>;
  readonly errorsByCode: Record<string, number>;
  readonly unhandled: string[];
  readonly tokenLeaks: number;
  readonly linesPrinted: number;
  readonly heapUsedBefore: number;
  readonly heapUsedAfter: number;
}

/** One schedule entry: the fault kind with the variants the issue asks for. */
function randomFault(random: () => number, shard: number): Fault {
  const pick = Math.floor(random() * 11);
  switch (pick) {
    case 0:
      return { kind: 'drop', shardId: shard };
    case 1:
      return { kind: 'zombie', shardId: shard };
    case 2:
      return { kind: 'reconnect', shardId: shard };
    case 3:
      return { kind: 'invalid-session', shardId: shard, resumable: true };
    case 4:
      return { kind: 'invalid-session', shardId: shard, resumable: false };
    case 5:
      return { kind: 'close', shardId: shard, code: 4000, resumable: true };
    case 6:
      return { kind: 'corrupt', shardId: shard };
    case 7:
      return { kind: 'split', shardId: shard, parts: 2 + Math.floor(random() * 4) };
    case 8:
      return { kind: 'delay', shardId: shard, ms: 50 + Math.floor(random() * 400) };
    case 9:
      return { kind: 'request-heartbeat', shardId: shard };
    default:
      return { kind: 'reconnect', shardId: shard, ms: 200 };
  }
}

function faultName(f: Fault): string {
  if (f.kind === 'invalid-session') return `invalid-session:${String(f.resumable)}`;
  return f.kind;
}

/**
 * How far the heap may stay above its baseline once every shard and the simulator are gone and the run's
 * own bookkeeping is dropped: lazily built codec state (ETF shape factories, snowflake cache, zlib/zstd
 * code paths compiled on first use) stays resident; a leak per session, shard or event would exceed it.
 */
const HEAP_SLACK_BYTES = 8 * 1024 * 1024;
const FATAL_CLOSE_CODES = new Set([4004, 4010, 4011, 4012, 4013, 4014]);

/** A full GC, with or without `--expose-gc` (the flag can be turned on at run time; `vm` hands out `gc`). */
export function collectGarbage(): () => void {
  const exposed = (globalThis as { gc?: () => void }).gc;
  if (exposed) return exposed;
  setFlagsFromString('--expose-gc');
  return runInNewContext('gc') as () => void;
}

export function heapUsed(gc: () => void): number {
  // Twice: the first pass can leave weak references and finalizers for the second.
  gc();
  gc();
  return process.memoryUsage().heapUsed;
}

/** True once `check()` holds within `timeoutMs`, false after it (a chaos round reports rather than throws). */
export function until(check: () => boolean, timeoutMs: number): Promise<boolean> {
  return waitFor(check, { what: 'chaos condition', timeoutMs, everyMs: 50 }).then(
    () => true,
    () => false,
  );
}

type RoundReport = Omit<ChaosReport, 'heapUsedBefore' | 'heapUsedAfter'>;

/**
 * Runs the round, then measures the heap once the round's scope (manager, simulator, delivery log) is gone,
 * so what is left is what the library kept.
 */
export async function runChaos(options: ChaosOptions): Promise<ChaosReport> {
  const gc = collectGarbage();
  const heapUsedBefore = heapUsed(gc);
  const round = await runRound(options);
  // Sockets closed by destroy() finish their close handshakes on later ticks.
  await new Promise((r) => setTimeout(r, 200));
  const heapUsedAfter = heapUsed(gc);
  const failures = [...round.failures];
  if (heapUsedAfter > heapUsedBefore + HEAP_SLACK_BYTES) {
    failures.push(
      `heap did not come back to its baseline: ${heapUsedBefore} bytes before, ${heapUsedAfter} after (slack ${HEAP_SLACK_BYTES})`,
    );
  }
  return { ...round, ok: failures.length === 0, failures, heapUsedBefore, heapUsedAfter };
}

async function runRound(options: ChaosOptions): Promise<RoundReport> {
  const shards = options.shards ?? 16;
  const seed = options.seed ?? 1;
  const maxConcurrency = options.maxConcurrency ?? 4;
  const identifyWindowMs = options.identifyWindowMs ?? 500;
  const heartbeatIntervalMs = options.heartbeatIntervalMs ?? 1_500;
  const faultEveryMs = options.faultEveryMs ?? 300;
  // Printed lines are scanned for the token as they go, not kept: keeping them would hide a leak under
  // the harness's own growth.
  let linesPrinted = 0;
  let tokenLeaks = 0;
  let token: string | undefined;
  const print = (line: string) => {
    linesPrinted++;
    if (token !== undefined && line.includes(token)) tokenLeaks++;
    options.log?.(line);
  };
  const unhandled: string[] = [];
  const onUnhandled = (err: unknown) => unhandled.push(inspect(err));
  process.on('unhandledRejection', onUnhandled);
  process.on('uncaughtException', onUnhandled);

  let sim: Simulator | undefined;
  let manager: ShardManager | undefined;
  try {
    sim = await startSimulator({
      guilds: options.guilds ?? shards * 10,
      shards,
      maxConcurrency,
      identifyWindowMs,
      heartbeatIntervalMs,
      eventsPerSecond: options.eventsPerSecond ?? 200,
      seed,
    });
    token = sim.tokens[0]!;
    manager = new ShardManager({
      token,
      intents:
        INTENTS.GUILDS |
        INTENTS.GUILD_MESSAGES |
        INTENTS.GUILD_MESSAGE_REACTIONS |
        INTENTS.GUILD_PRESENCES |
        INTENTS.GUILD_MEMBERS |
        INTENTS.MESSAGE_CONTENT,
      api: sim.restUrl,
      shardCount: shards,
      identifyWindowMs,
      identifyMarginMs: options.identifyMarginMs ?? Math.max(Math.ceil(identifyWindowMs / 2), 500),
      shardOptions: { invalidSessionDelayMs: [identifyWindowMs / 5, identifyWindowMs] },
      ...(options.encoding ? { encoding: options.encoding } : {}),
      ...(options.compression ? { compression: options.compression } : {}),
      ...(options.threads ? { threads: options.threads } : {}),
    });
    const errorsByCode: Record<string, number> = {};
    manager.on('error', (err, shardId) => {
      errorsByCode[err.code] = (errorsByCode[err.code] ?? 0) + 1;
      print(`error shard ${shardId ?? '-'}: [${err.code}] ${err.message} ${inspect(err)}`);
    });
    manager.on('debug', (message, shardId) => print(`debug shard ${shardId ?? '-'}: ${message}`));
    manager.on('close', (info, shardId) => print(`close shard ${shardId}: ${inspect(info)}`));

    // Raw delivery log: (session, seq) -> count, the session learned from each shard's READY.
    const currentSession = new Map<number, string>();
    const seen = new Map<string, Map<number, number>>();
    let dispatchesDelivered = 0;
    manager.on('dispatch', (payload, shardId) => {
      dispatchesDelivered++;
      if (payload.t === 'READY')
        currentSession.set(shardId, (payload.d as { session_id: string }).session_id);
      const session = currentSession.get(shardId);
      if (session === undefined || typeof payload.s !== 'number') {
        print(`dispatch ${payload.t} on shard ${shardId} without a session or s`);
        return;
      }
      let bySeq = seen.get(session);
      if (!bySeq) {
        bySeq = new Map();
        seen.set(session, bySeq);
      }
      bySeq.set(payload.s, (bySeq.get(payload.s) ?? 0) + 1);
    });

    print(
      `chaos: ${shards} shards (${options.encoding ?? 'default encoding'}, ${options.compression ?? 'default compression'}), ` +
        `seed ${seed}, ${options.durationMs} ms of faults every ~${faultEveryMs} ms`,
    );
    await manager.connect();
    print('chaos: all shards ready; injecting faults');

    const random = seededRandom(seed);
    const faults: Record<string, number> = {};
    const end = Date.now() + options.durationMs;
    const pool = threadPoolOf(manager);
    const killEvery = options.threadKillEveryMs;
    let nextKill = killEvery && pool ? Date.now() + killEvery : Number.POSITIVE_INFINITY;
    let kills = 0;
    while (Date.now() < end) {
      if (pool && killEvery && Date.now() >= nextKill) {
        nextKill = Date.now() + killEvery;
        const index = kills % pool.options.count;
        const how = kills % 2 === 0 ? 'thread-terminate' : 'thread-crash';
        const worker = pool.workers[index];
        if (worker) {
          if (how === 'thread-terminate') void worker.terminate();
          else pool.crash(index);
          faults[how] = (faults[how] ?? 0) + 1;
          print(`fault ${how} -> thread ${index}`);
        }
        kills++;
      }
      await new Promise((r) => setTimeout(r, Math.round(faultEveryMs * (0.5 + random()))));
      const fault = randomFault(random, Math.floor(random() * shards));
      if (sim.inject(fault) > 0) {
        const name = faultName(fault);
        faults[name] = (faults[name] ?? 0) + 1;
        print(`fault ${name} -> shard ${fault.shardId}`);
      }
    }

    // Quiesce: no more faults, no more events; wait until every shard is READY and every current
    // session has delivered up to the simulator's last seq.
    sim.setEventsPerSecond(0);
    const s = sim;
    const m = manager;
    const caughtUp = () => {
      if (m.snapshot().shards.some((x) => x.status !== 'ready')) return false;
      const live = new Set(currentSession.values());
      return s
        .stats()
        .sessions.filter((x) => live.has(x.sessionId))
        .every((x) => {
          const got = seen.get(x.sessionId);
          return got?.has(x.sequence) === true;
        });
    };
    const settled = await until(
      caughtUp,
      options.settleTimeoutMs ??
        heartbeatIntervalMs * 3 + identifyWindowMs * Math.ceil(shards / maxConcurrency),
    );

    const failures: string[] = [];
    if (!settled) failures.push('shards did not all become READY and caught up before the settle timeout');
    const status = m.snapshot();
    const ready = status.shards.filter((x) => x.status === 'ready').length;
    if (ready !== shards) failures.push(`${ready}/${shards} shards ready`);

    const stats = s.stats();
    const live = new Set(currentSession.values());
    const sessions: SessionCheck[] = [];
    for (const x of stats.sessions) {
      const got = seen.get(x.sessionId) ?? new Map<number, number>();
      const missing: number[] = [];
      const duplicates: number[] = [];
      for (let q = 1; q <= x.sequence; q++) {
        const n = got.get(q) ?? 0;
        if (n === 0) missing.push(q);
        else if (n > 1) duplicates.push(q);
      }
      for (const q of got.keys()) if (q > x.sequence) duplicates.push(q);
      // A session the client left behind for a new one (re-identified while the simulator still kept it)
      // goes on being sequenced without a connection; those dispatches can never be delivered. Only the
      // tail after the last delivered seq is excused, never a gap in the middle.
      const abandoned = !x.ended && !live.has(x.sessionId) && got.size > 0;
      const lastGot = Math.max(0, ...got.keys());
      const check: SessionCheck = {
        sessionId: x.sessionId,
        shard: x.shardId,
        lastSeq: x.sequence,
        delivered: got.size,
        missing,
        duplicates,
        abandoned,
        ended: x.ended,
      };
      sessions.push(check);
      // A session whose READY never reached the application (its connection died first) has nothing to compare.
      if (got.size === 0 && !live.has(x.sessionId)) continue;
      const realMissing = abandoned ? missing.filter((q) => q < lastGot) : missing;
      if (realMissing.length > 0 || duplicates.length > 0) {
        failures.push(
          `session ${x.sessionId.slice(0, 8)} shard ${x.shardId}${x.ended ? ' (ended)' : ''}${abandoned ? ' (abandoned)' : ''}: ` +
            `sequenced ${x.sequence}, delivered ${got.size}, missing [${realMissing.slice(0, 10).join(',')}], duplicates [${duplicates.slice(0, 10).join(',')}]`,
        );
      }
    }
    const violations = Object.fromEntries(Object.entries(stats.violations).filter(([, n]) => n > 0));
    if (Object.keys(violations).length > 0) failures.push(`rule violations: ${inspect(violations)}`);
    const fatalCloses: Record<string, number> = {};
    for (const [code, n] of Object.entries(stats.closesByCode)) {
      if (FATAL_CLOSE_CODES.has(Number(code)) && n > 0) fatalCloses[code] = n;
    }
    if (Object.keys(fatalCloses).length > 0) failures.push(`fatal closes: ${inspect(fatalCloses)}`);
    for (const code of ['SEQUENCE_GAP', 'PROTOCOL_VIOLATION']) {
      if (errorsByCode[code]) failures.push(`${errorsByCode[code]} ${code} error(s)`);
    }

    await m.destroy();
    manager = undefined;
    await s.close();
    sim = undefined;
    if (unhandled.length > 0) failures.push(`${unhandled.length} unhandled error(s): ${unhandled[0]}`);
    if (tokenLeaks > 0) failures.push(`the token appeared in ${tokenLeaks} printed line(s)`);
    return {
      ok: failures.length === 0,
      failures,
      shards,
      ready,
      faults,
      dispatchesDelivered,
      sessionsChecked: sessions.length,
      sessions,
      violations,
      fatalCloses,
      errorsByCode,
      unhandled,
      tokenLeaks,
      linesPrinted,
    };
  } finally {
    process.off('unhandledRejection', onUnhandled);
    process.off('uncaughtException', onUnhandled);
    await manager?.destroy();
    await sim?.close();
  }
}
