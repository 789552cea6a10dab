/**
 * The hostile chaos run: standalone `Shard`s (every encoding × compression) and a `ShardManager` against the
 * seeded malicious gateway of ./hostile-server.ts, which mixes valid dispatches with hostile payloads of
 * every class on the sessions of the shards it attacks and serves the others valid traffic only.
 * Afterwards it checks: no unhandled rejection or exception; every valid dispatch the server sequenced was
 * delivered exactly once, in order, per session, and nothing else was delivered as a dispatch; every shard
 * ends READY on a session that is complete; the connections per shard per minute stay under a budget (no
 * storm); the heap comes back to its baseline and its peak stays bounded; no piece of the token appears in
 * any event, error, close reason or debug line.
 *
 * Used by `scripts/chaos.ts --mode hostile` and `test/integration/chaos-hostile.test.ts`.
 */
import { randomBytes } from 'node:crypto';
import { inspect } from 'node:util';
import type { Compression, Encoding } from '../../src/codec/formats.js';
import type { ShardlineError } from '../../src/errors.js';
import { ShardManager } from '../../src/manager/manager.js';
import { MemoryIdentifyQueue } from '../../src/shard/identify-queue.js';
import type { ShardOptionalOptions } from '../../src/shard/options.js';
import { Shard } from '../../src/shard/shard.js';
import { collectGarbage, heapUsed, until } from './chaos.js';
import {
  HOSTILE_CLASSES,
  type HostileClass,
  type HostileServer,
  startHostileServer,
} from './hostile-server.js';

export interface HostileChaosOptions {
  readonly seed?: number;
  /** How long hostile payloads are mixed in (at least). */
  readonly durationMs: number;
  /**
   * Go on attacking after `durationMs` until every hostile class was sent at least once, for at most this
   * long in all (a loaded machine gets through fewer actions per second; the run's reach stays the same).
   */
  readonly untilEveryClassMs?: number;
  /** Shards of the `ShardManager` (ids 0…n-1; the even ones are attacked). */
  readonly managerShards?: number;
  /** Wire formats of the standalone, attacked `Shard`s (ids after the manager's). */
  readonly standalone?: readonly { encoding: Encoding; compression: Compression }[];
  readonly managerEncoding?: Encoding;
  readonly managerCompression?: Compression;
  readonly eventEveryMs?: number;
  readonly hostileEveryMs?: number;
  readonly heartbeatIntervalMs?: number;
  /** The clients' `maxPayloadBytes` (default 64 MiB); bombs are a quarter bigger. */
  readonly maxPayloadBytes?: number;
  readonly bombElements?: number;
  readonly nestingDepth?: number;
  readonly backoff?: { baseMs: number; maxMs: number };
  readonly settleTimeoutMs?: number;
  /** Largest rise of the heap peak over its baseline accepted. */
  readonly maxHeapGrowthBytes?: number;
  readonly log?: ((line: string) => void) | undefined;
}

export interface HostileChaosReport {
  readonly ok: boolean;
  readonly failures: string[];
  readonly shards: number;
  readonly ready: number;
  readonly hostileSent: Record<string, number>;
  readonly validSequenced: number;
  readonly validDelivered: number;
  readonly sessionsChecked: number;
  readonly errorsByCode: Record<string, number>;
  readonly connections: number;
  /** Most connections of one shard within any minute of the run. */
  readonly maxConnectionsPerShardMinute: number;
  /** The largest per-shard budget: 4 per hostile action against that shard, plus 10. */
  readonly connectionBudgetPerMinute: number;
  readonly unhandled: string[];
  readonly tokenLeaks: string[];
  readonly clientViolations: string[];
  readonly heapUsedBefore: number;
  readonly heapPeak: number;
  readonly heapUsedAfter: number;
  readonly rssPeak: number;
  /** Highest heap sampled (every 50 ms) while each class was the last hostile action sent. */
  readonly heapPeakByClass: Record<string, number>;
}

const DEFAULT_STANDALONE: readonly { encoding: Encoding; compression: Compression }[] = [
  { encoding: 'etf', compression: 'zlib-stream' },
  { encoding: 'json', compression: 'zlib-stream' },
  { encoding: 'etf', compression: 'zstd-stream' },
  { encoding: 'json', compression: 'zstd-stream' },
  { encoding: 'etf', compression: 'none' },
  { encoding: 'json', compression: 'none' },
];

const HEAP_SLACK_BYTES = 16 * 1024 * 1024;

/** A token shaped like Discord's, random per run. */
function randomToken(): string {
  const b64 = (n: number) => randomBytes(n).toString('base64url');
  return `${Buffer.from(String(10n ** 17n + BigInt(randomBytes(4).readUInt32BE()))).toString('base64url')}.${b64(5)}.${b64(28)}`;
}

/** Every 8-character piece of `token` (a cut token is still a leak). */
function pieces(token: string): string[] {
  return Array.from({ length: token.length - 7 }, (_, i) => token.slice(i, i + 8));
}

function texts(value: unknown): string[] {
  const out = [typeof value === 'string' ? value : inspect(value, { depth: 6, showHidden: true })];
  if (value instanceof Error) {
    out.push(value.message, value.stack ?? '');
    let cause: unknown = value.cause;
    for (let i = 0; i < 5 && cause instanceof Error; i++, cause = cause.cause)
      out.push(cause.message, cause.stack ?? '');
  }
  return out;
}

/** Most entries of sorted `times` within any `windowMs`. */
function maxInWindow(times: readonly number[], windowMs: number): number {
  let best = 0;
  let lo = 0;
  for (let hi = 0; hi < times.length; hi++) {
    while (times[hi]! - times[lo]! >= windowMs) lo++;
    best = Math.max(best, hi - lo + 1);
  }
  return best;
}

interface Delivered {
  readonly session: string;
  readonly s: number;
  readonly t: string;
}

export async function runHostileChaos(options: HostileChaosOptions): Promise<HostileChaosReport> {
  const gc = collectGarbage();
  const heapUsedBefore = heapUsed(gc);
  let heapPeak = heapUsedBefore;
  let rssPeak = process.memoryUsage().rss;
  const heapPeakByClass: Record<string, number> = {};
  const probe: Probe = { lastHostile: () => undefined };
  const sampler = setInterval(() => {
    const m = process.memoryUsage();
    heapPeak = Math.max(heapPeak, m.heapUsed);
    rssPeak = Math.max(rssPeak, m.rss);
    const kind = probe.lastHostile() ?? 'none';
    heapPeakByClass[kind] = Math.max(heapPeakByClass[kind] ?? 0, m.heapUsed);
  }, 50);
  let round: Omit<
    HostileChaosReport,
    'heapUsedBefore' | 'heapPeak' | 'heapUsedAfter' | 'rssPeak' | 'heapPeakByClass'
  >;
  try {
    round = await runRound(options, probe);
  } finally {
    clearInterval(sampler);
  }
  await new Promise((r) => setTimeout(r, 200));
  const heapUsedAfter = heapUsed(gc);
  const failures = [...round.failures];
  if (heapUsedAfter > heapUsedBefore + HEAP_SLACK_BYTES) {
    failures.push(`heap did not come back to its baseline: ${heapUsedBefore} before, ${heapUsedAfter} after`);
  }
  const maxGrowth = options.maxHeapGrowthBytes ?? 1024 * 1024 * 1024;
  if (heapPeak > heapUsedBefore + maxGrowth) {
    failures.push(`heap peak ${heapPeak} is more than ${maxGrowth} over the baseline ${heapUsedBefore}`);
  }
  return {
    ...round,
    ok: failures.length === 0,
    failures,
    heapUsedBefore,
    heapPeak,
    heapUsedAfter,
    rssPeak,
    heapPeakByClass,
  };
}

interface Probe {
  lastHostile: () => string | undefined;
}

async function runRound(
  options: HostileChaosOptions,
  probe: Probe,
): Promise<
  Omit<HostileChaosReport, 'heapUsedBefore' | 'heapPeak' | 'heapUsedAfter' | 'rssPeak' | 'heapPeakByClass'>
> {
  const seed = options.seed ?? 1;
  const managerShards = options.managerShards ?? 4;
  const standalone = options.standalone ?? DEFAULT_STANDALONE;
  const total = managerShards + standalone.length;
  const maxPayloadBytes = options.maxPayloadBytes ?? 64 * 1024 * 1024;
  const heartbeatIntervalMs = options.heartbeatIntervalMs ?? 1_000;
  const hostileEveryMs = options.hostileEveryMs ?? 400;
  const backoff = options.backoff ?? { baseMs: 100, maxMs: 2_000 };
  const token = randomToken();
  const tokenPieces = pieces(token);
  const tokenLeaks: string[] = [];
  const check = (what: string, value: unknown) => {
    for (const text of texts(value)) {
      const piece = tokenPieces.find((p) => text.includes(p));
      if (piece !== undefined) tokenLeaks.push(`${what}: ${text.slice(0, 300)}`);
    }
  };
  const print = (line: string) => {
    check('a printed line', line);
    options.log?.(line);
  };
  const unhandled: string[] = [];
  const onUnhandled = (err: unknown) => unhandled.push(inspect(err));
  process.on('unhandledRejection', onUnhandled);
  process.on('uncaughtException', onUnhandled);

  const hostileShards = new Set<number>();
  for (let i = 0; i < managerShards; i += 2) hostileShards.add(i);
  for (let i = managerShards; i < total; i++) hostileShards.add(i);

  let server: HostileServer | undefined;
  let manager: ShardManager | undefined;
  const shards: Shard[] = [];
  try {
    server = await startHostileServer({
      token,
      shards: managerShards,
      hostileShards,
      seed,
      eventEveryMs: options.eventEveryMs ?? 50,
      hostileEveryMs,
      heartbeatIntervalMs,
      bombBytes: Math.ceil(maxPayloadBytes * 1.25),
      bombElements: options.bombElements ?? 4_000_000,
      nestingDepth: options.nestingDepth ?? 100_000,
    });
    const srv = server;
    probe.lastHostile = () => srv.lastHostile;
    const shardOptions: Partial<ShardOptionalOptions> = {
      reconnectBackoff: backoff,
      maxPayloadBytes,
      invalidSessionDelayMs: [50, 200],
      helloTimeoutMs: 5_000,
      readyTimeoutMs: 5_000,
      closeTimeoutMs: 1_000,
    };

    const errorsByCode: Record<string, number> = {};
    const delivered = new Map<number, Delivered[]>();
    const currentSession = new Map<number, string>();
    const strays: string[] = [];
    const onDispatch = (shardId: number, p: { t: string; s: unknown; d: unknown }) => {
      check(`a dispatch of shard ${shardId}`, p);
      if (p.t === 'RESUMED') return;
      if (p.t === 'READY') currentSession.set(shardId, (p.d as { session_id: string }).session_id);
      const session = currentSession.get(shardId);
      if (session === undefined || typeof p.s !== 'number') {
        strays.push(`shard ${shardId}: ${p.t} with s ${String(p.s)}`);
        return;
      }
      let list = delivered.get(shardId);
      if (!list) {
        list = [];
        delivered.set(shardId, list);
      }
      list.push({ session, s: p.s, t: p.t });
    };
    const onError = (err: ShardlineError, shardId: number | undefined) => {
      errorsByCode[err.code] = (errorsByCode[err.code] ?? 0) + 1;
      check(`an error of shard ${shardId}`, err);
      print(`error shard ${shardId ?? '-'}: [${err.code}] ${err.message}`);
    };

    print(
      `hostile chaos: ${managerShards} manager shards (${[...hostileShards].filter((s) => s < managerShards).join(',')} attacked) + ` +
        `${standalone.length} standalone attacked shards, seed ${seed}, ${options.durationMs} ms, maxPayloadBytes ${maxPayloadBytes}`,
    );

    for (const [i, format] of standalone.entries()) {
      const id = managerShards + i;
      const shard = new Shard({
        token,
        intents: 513,
        shardId: id,
        shardCount: total,
        gatewayUrl: srv.url,
        encoding: format.encoding,
        compression: format.compression,
        identifyQueue: new MemoryIdentifyQueue({ windowMs: 1 }),
        ...shardOptions,
      });
      shards.push(shard);
      shard.on('dispatch', (p) => onDispatch(id, p as never));
      shard.on('error', (e) => onError(e, id));
      shard.on('debug', (m) => print(`debug shard ${id}: ${m}`));
      shard.on('close', (c) => {
        check(`a close of shard ${id}`, c);
        print(`close shard ${id}: ${c.code} ${c.action}`);
      });
    }
    manager = new ShardManager({
      token,
      intents: 513,
      api: srv.restUrl,
      shardCount: managerShards,
      identifyWindowMs: 50,
      identifyMarginMs: 10,
      encoding: options.managerEncoding ?? 'etf',
      compression: options.managerCompression ?? 'zlib-stream',
      shardOptions,
    });
    manager.on('dispatch', (p, shardId) => onDispatch(shardId, p as never));
    manager.on('error', (e, shardId) => onError(e, shardId ?? undefined));
    manager.on('debug', (m, shardId) => print(`debug shard ${shardId ?? '-'}: ${m}`));
    manager.on('close', (info, shardId) => {
      check(`a close of shard ${shardId}`, info);
      print(`close shard ${shardId}: ${inspect(info)}`);
    });

    const connects = [manager.connect(), ...shards.map((s) => s.connect())].map((p) =>
      p.catch((err: unknown) => {
        check('a connect() rejection', err);
        print(`connect failed: ${inspect(err)}`);
      }),
    );
    await Promise.all(connects);
    print('hostile chaos: connected; attacking');
    await new Promise((r) => setTimeout(r, options.durationMs));
    if (options.untilEveryClassMs !== undefined) {
      const sent = srv.stats().hostileSent;
      await until(
        () => HOSTILE_CLASSES.every((k) => (sent[k] ?? 0) > 0),
        options.untilEveryClassMs - options.durationMs,
      );
    }

    // Settle: the server stops attacking and sequencing; every shard must end READY with its current
    // session delivered up to the server's last seq.
    srv.quiet = true;
    const m = manager;
    const lastDelivered = (shardId: number, session: string) =>
      delivered
        .get(shardId)
        ?.filter((x) => x.session === session)
        .at(-1)?.s;
    const caughtUp = () => {
      const states = [...m.snapshot().shards.map((x) => x.status), ...shards.map((s) => s.status)];
      if (states.some((x) => x !== 'ready')) return false;
      for (const [shardId, session] of srv.currentSessions()) {
        if (session.connection === undefined) return false;
        if (lastDelivered(shardId, session.id) !== session.seq) return false;
      }
      return srv.currentSessions().size === total;
    };
    const settled = await until(caughtUp, options.settleTimeoutMs ?? 30_000);
    const failures: string[] = [];
    if (!settled) {
      const states = [...m.snapshot().shards.map((x) => x.status), ...shards.map((s) => s.status)];
      failures.push(`not every shard READY and caught up before the settle timeout: ${states.join(',')}`);
    }
    const ready = [...m.snapshot().shards.map((x) => x.status), ...shards.map((s) => s.status)].filter(
      (x) => x === 'ready',
    ).length;

    // Delivery per session: strictly increasing, only valid seqs, complete for the current session and
    // a gap-free prefix for an ended one.
    let validSequenced = 0;
    let validDelivered = 0;
    let sessionsChecked = 0;
    for (const session of srv.sessions.values()) {
      const sent = srv.sent(session.id);
      validSequenced += sent.length;
      const got = (delivered.get(session.shard) ?? []).filter((x) => x.session === session.id);
      if (got.length === 0 && session.ended) continue;
      sessionsChecked++;
      validDelivered += got.length;
      const seqs = got.map((x) => x.s);
      const name = `shard ${session.shard} session ${session.id.slice(0, 8)}${session.ended ? ' (ended)' : ''}`;
      for (let i = 0; i < seqs.length; i++) {
        if (seqs[i] !== i + 1) {
          failures.push(
            `${name}: delivered ${seqs.length} of ${sent.length}, position ${i} is s=${seqs[i]} (expected ${i + 1}): ` +
              `[${seqs.slice(Math.max(0, i - 3), i + 4).join(',')}]`,
          );
          break;
        }
      }
      if (!session.ended && seqs.length !== sent.length) {
        failures.push(`${name}: delivered ${seqs.length} of ${sent.length} valid dispatches`);
      }
      const wrongType = got.filter((x) => x.s > 1 && x.t !== 'MESSAGE_CREATE');
      if (wrongType.length > 0)
        failures.push(`${name}: ${wrongType.length} dispatches with the wrong t (${wrongType[0]!.t})`);
    }
    if (strays.length > 0)
      failures.push(`${strays.length} dispatches outside a session: ${strays.slice(0, 5).join('; ')}`);

    // Connections: per shard, in any minute, against a budget from what the server did to that shard —
    // every hostile action may cost a few connections (a failed resume, a bad HELLO on the next one); a
    // storm costs hundreds.
    const stats = srv.stats();
    let maxConnectionsPerShardMinute = 0;
    let connectionBudgetPerMinute = 0;
    for (const [shardId, times] of stats.connectionTimesByShard) {
      const n = maxInWindow(times, 60_000);
      const budget = 4 * (stats.hostileByShard.get(shardId) ?? 0) + 10;
      maxConnectionsPerShardMinute = Math.max(maxConnectionsPerShardMinute, n);
      connectionBudgetPerMinute = Math.max(connectionBudgetPerMinute, budget);
      if (n > budget) {
        failures.push(
          `connection storm: shard ${shardId} connected ${n} times in a minute (budget ${budget}: ` +
            `${stats.hostileByShard.get(shardId) ?? 0} hostile actions)`,
        );
      }
    }
    if (stats.clientViolations.length > 0)
      failures.push(`client payloads the server refused: ${stats.clientViolations.slice(0, 5).join('; ')}`);

    await m.destroy();
    manager = undefined;
    await Promise.all(shards.map((s) => s.destroy()));
    const hostileSent = { ...stats.hostileSent };
    const connections = stats.connections;
    await srv.close();
    server = undefined;
    if (unhandled.length > 0) failures.push(`${unhandled.length} unhandled error(s): ${unhandled[0]}`);
    if (tokenLeaks.length > 0)
      failures.push(`the token appeared ${tokenLeaks.length} time(s): ${tokenLeaks[0]}`);
    return {
      ok: failures.length === 0,
      failures,
      shards: total,
      ready,
      hostileSent,
      validSequenced,
      validDelivered,
      sessionsChecked,
      errorsByCode,
      connections,
      maxConnectionsPerShardMinute,
      connectionBudgetPerMinute,
      unhandled,
      tokenLeaks,
      clientViolations: [...stats.clientViolations],
    };
  } finally {
    process.off('unhandledRejection', onUnhandled);
    process.off('uncaughtException', onUnhandled);
    await manager?.destroy();
    await Promise.all(shards.map((s) => s.destroy()));
    await server?.close();
  }
}

export type { HostileClass };
