/**
 * End-to-end gateway client benchmark (issue #9): Shardline's ShardManager against @discordjs/ws 2.x, each
 * client in its own child process (bench/e2e-client.ts) against a fresh simulator in this process, same seed.
 *
 * Scenarios:
 *   burst-1 / burst-16  1 or 16 shards; `--warmup` events, then a burst of `--events` events sent as fast
 *                       as the sockets take them (pre-encoded pool, 4 MiB outbound cap). Figures: events/s
 *                       delivered to the user callback (first → last burst event) and client CPU s per 100k.
 *   idle-200            200 identified shards heartbeating; RSS after settling minus the pre-connect RSS,
 *                       per shard.
 * Every run checks that the client got exactly the events the simulator delivered (by type, and the same
 * counts as every other client), with no reconnect, drop, identify violation or extra event; a violation
 * aborts the whole bench with a non-zero exit instead of printing a number.
 *
 * Flags: --runs 5  --events 50000  --warmup 8192  --pool 16384  --idle-shards 200  --settle 6000 (ms)
 *        --scenarios burst-1,burst-16,idle-200  --clients <substring,...>  --json FILE  --cpu-prof DIR
 *        --semi-space MiB (caps the clients' young generation; for the idle RSS breakdown)
 *        --threads N (adds each Shardline zlib-stream client with its shards in N worker threads)
 *        --prepare-burst (the simulator encodes and compresses the burst before it starts, then only writes)
 * Run: npm run bench:e2e [-- flags]
 */
import { type ChildProcess, fork } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { setTimeout as sleep, setImmediate as yieldTick } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import {
  type Simulator,
  type SimulatorStats,
  startSimulator,
  type WorldEvent,
} from '../src/simulator/index.js';
import { ALL_INTENTS } from '../src/util/intents.js';
import type { ChildMessage, ClientSpec, ParentMessage } from './e2e-protocol.js';
import { benchFlag } from './harness.js';
import { loadDiscordjsRest, loadDiscordjsWs, peerInstalled } from './peers.js';
import { type RealisticEvent, realisticEvents, summarize as summarizeCorpus } from './realistic-events.js';

const CHILD = fileURLToPath(new URL('./e2e-client.js', import.meta.url));

const runs = Number(benchFlag('runs') ?? 5);
const burstEvents = Number(benchFlag('events') ?? 50_000);
const warmupEvents = Number(benchFlag('warmup') ?? 8192);
/**
 * Events cycle through a pool of pre-generated ones. A repeat inside a connection's compression window is
 * an artificial match (zstd's window is 256 KiB): with 16 shards a connection gets 1/16 of the pool, so the
 * pool must hold well over 16 × 256 KiB of events (16,384 × ≈ 540 B ≈ 8.6 MiB; 4,096 gave zstd 18–22×).
 */
const poolSize = Number(benchFlag('pool') ?? 16_384);
const idleShards = Number(benchFlag('idle-shards') ?? 200);
const settleMs = Number(benchFlag('settle') ?? 6000);
const scenarioFilter = (benchFlag('scenarios') ?? 'burst-1,burst-16,idle-200').split(',');
const clientFilter = benchFlag('clients')?.split(',');
const jsonPath = benchFlag('json');
/** `--cpu-prof DIR`: each client process writes a V8 CPU profile into DIR (for `node --cpu-prof` analysis). */
const cpuProfDir = benchFlag('cpu-prof');
/**
 * `--semi-space MiB`: cap V8's young generation in the clients (`--max-semi-space-size`). At 200 idle shards
 * the new space grown during start-up is a large part of the RSS delta (V8 sizing, not per-shard state);
 * capping it shows what the shards themselves keep.
 */
const semiSpaceMiB = benchFlag('semi-space');
/**
 * `--heap-snapshot DIR`: each idle client writes a V8 heap snapshot into DIR before connecting (after the
 * baseline) and after settling (after the RSS is read), for a per-constructor breakdown of what a shard keeps
 * (`node dist/scripts/heap-diff.js BEFORE AFTER --per 200`).
 */
const heapSnapshotDir = benchFlag('heap-snapshot');
/** `--child-flags "--trace-gc-nvp ..."`: extra Node/V8 flags for the client processes (diagnosis only). */
const childFlags = benchFlag('child-flags');
/**
 * `--idle-heartbeat-ms 2000`: the idle scenario's heartbeat interval (Discord: 41,250). At 2 s, 200 shards
 * allocate close to the rate under which V8 gives back its young generation at a full GC, so a run's RSS
 * depends on which side of it the run falls; a longer interval (with a longer `--settle`) shows the idle regime.
 */
const idleHeartbeatMs = Number(benchFlag('idle-heartbeat-ms') ?? 2000);
/**
 * `--burst-heartbeat-ms 5000`: heartbeat interval in the burst scenarios (Discord: 41,250). With
 * `--prepare-burst` the default is Discord's 41,250: a heartbeat ACK compressed while the burst is held
 * waits behind the connection's prepared frames (same stream), so at 5 s a slow run would see it late
 * and the client would close the connection as a zombie.
 */
const burstHeartbeatMs = Number(
  benchFlag('burst-heartbeat-ms') ?? (process.argv.includes('--prepare-burst') ? 41_250 : 5000),
);
/**
 * `--alloc-profile DIR`: idle clients write a sampling allocation profile of the settling phase into DIR;
 * with `--alloc-profile-stage connect`, of the start-up instead (connect until every GUILD_CREATE is in).
 */
const allocProfileDir = benchFlag('alloc-profile');
const allocProfileStage = benchFlag('alloc-profile-stage');
/**
 * `--corpus world|realistic`: the burst's events. `world` (default): the simulator's own random world events
 * (`emitRandomEvents` from a pre-encoded pool). `realistic`: a presence-dominated mix with today's payload
 * sizes (bench/realistic-events.ts says where the mix comes from), through the same pre-encoded pool.
 */
const corpus = benchFlag('corpus') ?? 'world';
if (corpus !== 'world' && corpus !== 'realistic') throw new Error(`--corpus world|realistic, got ${corpus}`);
/**
 * `--client-node PATH`: the Node binary of the client processes (default: this one). The simulator (this
 * process) compresses zstd-stream for real only where node:zlib has zstd (Node >= 22.15); run the parent on
 * such a Node and the clients on another with this flag to measure e.g. Node 20 clients on real zstd.
 */
const clientNode = benchFlag('client-node');
/**
 * `--prepare-burst`: the simulator prepares the whole burst before it starts (`prepareRandomEvents`: every
 * frame encoded and compressed by its connection's own stream, byte for byte what it would send) and then
 * only writes the frames out, under the same 4 MiB outbound cap. The clients get identical bytes; the
 * simulator's CPU during the burst drops to about its socket writes, so on 2 cores a client's events/s is
 * less bounded by the simulator sharing them (issue #15, shard threads). Preparation CPU is printed apart.
 */
const prepareBurst = process.argv.includes('--prepare-burst');
/** `--max-concurrency 16`: identify buckets (more lets thousands of idle shards start sooner). */
const maxConcurrencyFlag = Number(benchFlag('max-concurrency') ?? 16);

/**
 * Identify pacing, scaled from Discord's 5 s: the simulator enforces one identify per bucket per
 * IDENTIFY_WINDOW_MS (16 buckets); every client spaces a bucket's identifies IDENTIFY_WINDOW_MS +
 * IDENTIFY_MARGIN_MS = 250 ms apart, so 200 shards start in ceil(200 / 16) × 250 ms ≈ 3.3 s.
 * The simulator stamps an identify when its event loop reads it; on this loaded 2-core box two identifies of
 * one bucket sent 105, 150 and 250 ms apart were read < 100 ms apart (op 9 + an identify-concurrency
 * violation, with a 100 ms simulator window), so the enforced window is small and the margin large.
 */
const IDENTIFY_WINDOW_MS = 25;
/** `--identify-margin-ms 225`: raise it when the machine is so loaded that identifies are read in bunches. */
const IDENTIFY_MARGIN_MS = Number(benchFlag('identify-margin-ms') ?? 225);
const MAX_CONCURRENCY = maxConcurrencyFlag;
const GUILDS = 64;
const MEMBERS_PER_GUILD = 20;
const SEED = 1;
/** Emission pauses while the simulator has more than this queued in userland across sockets. */
const MAX_OUTBOUND_BYTES = 4 * 1024 * 1024;
const EMIT_CHUNK = 500;
/** After the simulator has sent everything and its buffers are empty, the client has this long to finish. */
const DRAIN_GRACE_MS = 20_000;

const ALL_CLIENTS: readonly ClientSpec[] = [
  { name: 'shardline etf + zlib-stream', kind: 'shardline', encoding: 'etf', compression: 'zlib-stream' },
  { name: 'shardline json + zlib-stream', kind: 'shardline', encoding: 'json', compression: 'zlib-stream' },
  { name: 'shardline etf + zstd-stream', kind: 'shardline', encoding: 'etf', compression: 'zstd-stream' },
  { name: 'shardline json + zstd-stream', kind: 'shardline', encoding: 'json', compression: 'zstd-stream' },
  { name: 'shardline json, uncompressed', kind: 'shardline', encoding: 'json', compression: 'none' },
  {
    name: '@discordjs/ws json + zlib-sync',
    kind: 'discordjs',
    encoding: 'json',
    compression: 'zlib-stream',
    inflater: 'zlib-sync',
  },
  {
    name: '@discordjs/ws json + node:zlib',
    kind: 'discordjs',
    encoding: 'json',
    compression: 'zlib-stream',
    inflater: 'node:zlib',
  },
  {
    name: 'minimal json + zlib-sync',
    kind: 'minimal',
    encoding: 'json',
    compression: 'zlib-stream',
    inflater: 'zlib-sync',
  },
  {
    name: 'minimal json + zstd-napi',
    kind: 'minimal',
    encoding: 'json',
    compression: 'zstd-stream',
    inflater: 'zstd-napi',
  },
];
/**
 * `--threads N`: each Shardline zlib-stream client also runs with its shards in N worker threads, in the
 * three ways dispatches can reach the callback (structured clone, JSON text, callback inside the threads).
 */
const threadCount = benchFlag('threads') === undefined ? 0 : Number(benchFlag('threads'));
const THREAD_MODES = ['clone', 'json', 'handler'] as const;
const THREADED_CLIENTS: readonly ClientSpec[] =
  threadCount > 0
    ? ALL_CLIENTS.filter((c) => c.kind === 'shardline' && c.compression === 'zlib-stream').flatMap((c) =>
        THREAD_MODES.map((mode) => ({
          ...c,
          name: `${c.name}, ${threadCount} threads ${mode}`,
          threads: threadCount,
          threadMode: mode,
        })),
      )
    : [];
const REFERENCE = '@discordjs/ws json + zlib-sync';
const REFERENCE_NATIVE = '@discordjs/ws json + node:zlib';

interface Scenario {
  readonly name: 'burst-1' | 'burst-16' | 'idle-200';
  readonly shards: number;
  readonly burst: boolean;
}
const SCENARIOS: readonly Scenario[] = [
  { name: 'burst-1', shards: 1, burst: true },
  { name: 'burst-16', shards: 16, burst: true },
  { name: 'idle-200', shards: idleShards, burst: false },
];

/** Start-up allowance: twice the identify pacing of `shards` (2,500 shards take ~40 rounds), at least 60 s. */
function startupTimeoutMs(shards: number): number {
  const rounds = Math.ceil(shards / MAX_CONCURRENCY);
  return Math.max(60_000, 2 * rounds * (IDENTIFY_WINDOW_MS + IDENTIFY_MARGIN_MS));
}

/** Fails the whole bench: a client that lost or duplicated events must not produce a figure. */
class BenchFailure extends Error {}

/**
 * A start-up refused by the simulator's identify rule although the client spaced its identifies
 * (the simulator's event loop read two of them in one go; see IDENTIFY_MARGIN_MS): that run is retried,
 * and the retry is logged. Nothing was measured yet, so no figure is affected.
 */
class StartupRefused extends BenchFailure {}
const STARTUP_ATTEMPTS = 5;

// ── the child channel ───────────────────────────────────────────────────────────────────────────────

class ClientChannel {
  readonly #child: ChildProcess;
  readonly #inbox: ChildMessage[] = [];
  #wake: (() => void) | undefined;
  #fault: string | undefined;
  #exiting = false;

  constructor(child: ChildProcess) {
    this.#child = child;
    child.on('message', (m: ChildMessage) => {
      if (m.type === 'fault') {
        if (!this.#exiting) this.#fault ??= m.message;
      } else {
        this.#inbox.push(m);
      }
      this.#wake?.();
    });
    child.on('exit', (code, signal) => {
      if (!this.#exiting) this.#fault ??= `client process exited (${code ?? signal})`;
      this.#wake?.();
    });
  }

  send(m: ParentMessage): void {
    this.#child.send(m);
  }

  /** The next message of `type`; throws on a fault or after `timeoutMs` (checked with `stillOk`). */
  async next<T extends ChildMessage['type']>(
    type: T,
    timeoutMs: number,
    stillOk?: () => string | undefined,
  ): Promise<Extract<ChildMessage, { type: T }>> {
    const deadline = performance.now() + timeoutMs;
    for (;;) {
      if (this.#fault !== undefined) throw new BenchFailure(this.#fault);
      const i = this.#inbox.findIndex((m) => m.type === type);
      if (i >= 0) return this.#inbox.splice(i, 1)[0] as Extract<ChildMessage, { type: T }>;
      const problem = stillOk?.();
      if (problem !== undefined) throw new BenchFailure(problem);
      if (performance.now() > deadline)
        throw new BenchFailure(`no '${type}' from the client in ${timeoutMs} ms`);
      await new Promise<void>((resolve) => {
        this.#wake = resolve;
        setTimeout(resolve, 50);
      });
      this.#wake = undefined;
    }
  }

  async request<T extends ChildMessage['type']>(
    m: ParentMessage,
    type: T,
    timeoutMs = 30_000,
  ): Promise<Extract<ChildMessage, { type: T }>> {
    this.send(m);
    return this.next(type, timeoutMs);
  }

  async exit(): Promise<void> {
    this.#exiting = true;
    const exited = new Promise<void>((resolve) => {
      if (this.#child.exitCode !== null || this.#child.signalCode !== null) resolve();
      else this.#child.once('exit', () => resolve());
    });
    if (this.#child.connected) this.#child.send({ cmd: 'exit' });
    const timer = setTimeout(() => this.#child.kill('SIGKILL'), 8000);
    await exited;
    clearTimeout(timer);
  }
}

// ── one run ─────────────────────────────────────────────────────────────────────────────────────────

interface BurstResult {
  readonly eventsPerSec: number;
  readonly cpuSecPer100k: number;
  readonly seconds: number;
  readonly simCpuSec: number;
  /** `--prepare-burst`: the simulator's CPU preparing the burst before it started (NaN otherwise). */
  readonly simPrepareCpuSec: number;
  readonly byType: Record<string, number>;
  /** Payload bytes / bytes on the wire the simulator sent in the burst (1 without compression). */
  readonly ratio: number;
  /** Mean payload bytes per burst event before compression. */
  readonly meanPayloadBytes: number;
}
interface IdleResult {
  readonly rssKiBPerShard: number;
  /** V8 heap and external (Buffers, native) growth per shard: where the RSS went. */
  readonly heapKiBPerShard: number;
  readonly externalKiBPerShard: number;
  /** Growth of V8's young generation (physical new space) per shard: GC sizing, not shard state. */
  readonly newSpaceKiBPerShard: number;
  readonly baselineRss: number;
  readonly rss: number;
  readonly connectMs: number;
  readonly heartbeatAcks: number;
}

function checkSimulator(sim: Simulator, shards: number, startup = false): void {
  const s = sim.stats();
  if (startup && s.violations['identify-concurrency'] > 0) {
    throw new StartupRefused(
      `${s.violations['identify-concurrency']} identify(s) refused as concurrent by the simulator`,
    );
  }
  const problems: string[] = [];
  if (s.identifies !== shards) problems.push(`${s.identifies} identifies for ${shards} shards`);
  if (s.connectionsTotal !== shards) problems.push(`${s.connectionsTotal} connections for ${shards} shards`);
  if (s.resumes !== 0) problems.push(`${s.resumes} resumes`);
  if (s.slowConsumerDrops !== 0) problems.push(`${s.slowConsumerDrops} slow-consumer drops`);
  if (s.invalidSessionsSent !== 0) problems.push(`${s.invalidSessionsSent} invalid sessions`);
  if (Object.keys(s.closesByCode).length > 0) problems.push(`closes ${JSON.stringify(s.closesByCode)}`);
  const violations = Object.entries(s.violations).filter(([, n]) => n > 0);
  if (violations.length > 0) problems.push(`violations ${JSON.stringify(Object.fromEntries(violations))}`);
  if (problems.length > 0) throw new BenchFailure(`simulator: ${problems.join('; ')}`);
}

/**
 * Makes the simulator's pool hold the realistic corpus: `emitRandomEvents` fills its pool from
 * `world.randomEvent()`, so the events are encoded once, as the world corpus is, and emitted as fast.
 */
function useRealisticCorpus(sim: Simulator): void {
  const events: RealisticEvent[] = realisticEvents(sim.world.guilds, poolSize);
  let at = 0;
  Object.assign(sim.world, {
    randomEvent: (): WorldEvent => {
      const e = events[at++ % events.length]!;
      return { t: e.t, d: e.d, guildId: e.d.guild_id as string };
    },
  });
}

/** Emits `count` pool events as fast as the sockets drain; returns the simulator's delivery count. */
async function emit(sim: Simulator, count: number): Promise<number> {
  return pace(sim, count, (k) => sim.emitRandomEvents(k, { pool: poolSize }));
}

/** Writes out `count` prepared events (`--prepare-burst`) as fast as the sockets drain. */
async function release(sim: Simulator, count: number): Promise<void> {
  const released = await pace(sim, count, (k) => sim.releasePrepared(k));
  if (released !== count || sim.preparedEvents !== 0) {
    throw new BenchFailure(`released ${released} of ${count} prepared events (${sim.preparedEvents} left)`);
  }
}

/** Calls `step(k)` for chunks of `count` events, pausing while the outbound cap is exceeded; sums its results. */
async function pace(sim: Simulator, count: number, step: (k: number) => number): Promise<number> {
  let sent = 0;
  let total = 0;
  while (sent < count) {
    if (sim.stats().outboundBufferedBytes > MAX_OUTBOUND_BYTES) {
      // A timer, not setImmediate: spinning here would take CPU from the client on a 2-core machine.
      await sleep(1);
      continue;
    }
    const k = Math.min(EMIT_CHUNK, count - sent);
    total += step(k);
    sent += k;
    await yieldTick();
  }
  return total;
}

async function runOnce(spec: ClientSpec, scenario: Scenario): Promise<BurstResult | IdleResult> {
  const heartbeatIntervalMs = scenario.burst ? burstHeartbeatMs : idleHeartbeatMs;
  const guilds = scenario.burst ? GUILDS : scenario.shards;
  const sim = await startSimulator({
    seed: SEED,
    guilds,
    membersPerGuild: scenario.burst ? MEMBERS_PER_GUILD : 2,
    shards: scenario.shards,
    maxConcurrency: MAX_CONCURRENCY,
    identifyWindowMs: IDENTIFY_WINDOW_MS,
    sessionStartTotal: 1_000_000,
    heartbeatIntervalMs,
    heartbeatGraceMs: 30_000,
  });
  const execArgv = ['--expose-gc'];
  if (cpuProfDir) execArgv.push('--cpu-prof', '--cpu-prof-dir', cpuProfDir);
  if (semiSpaceMiB) execArgv.push(`--max-semi-space-size=${Number(semiSpaceMiB)}`);
  if (childFlags) execArgv.push(...childFlags.split(' ').filter(Boolean));
  const env = {
    ...process.env,
    ...(heapSnapshotDir ? { E2E_HEAP_SNAPSHOT_DIR: heapSnapshotDir } : {}),
    ...(allocProfileDir ? { E2E_ALLOC_PROFILE: allocProfileDir } : {}),
    ...(allocProfileStage ? { E2E_ALLOC_PROFILE_STAGE: allocProfileStage } : {}),
  };
  const child = fork(CHILD, [], {
    execArgv,
    stdio: 'inherit',
    env,
    ...(clientNode ? { execPath: clientNode } : {}),
  });
  const channel = new ClientChannel(child);
  let started = false;
  try {
    channel.send({
      cmd: 'connect',
      spec,
      api: `${sim.httpUrl}/api`,
      gatewayUrl: sim.gatewayUrl,
      token: sim.tokens[0]!,
      intents: ALL_INTENTS,
      shards: scenario.shards,
      maxConcurrency: MAX_CONCURRENCY,
      identifyWindowMs: IDENTIFY_WINDOW_MS,
      identifyMarginMs: IDENTIFY_MARGIN_MS,
      guilds,
      timeoutMs: startupTimeoutMs(scenario.shards),
    });
    const connected = await channel.next('connected', startupTimeoutMs(scenario.shards) + 30_000);
    checkSimulator(sim, scenario.shards, true);
    started = true;

    if (!scenario.burst) {
      const acks0 = sim.stats().heartbeatAcks;
      await sleep(settleMs);
      const { rss, heapUsed, external, newSpace } = await channel.request({ cmd: 'rss' }, 'rss');
      const heartbeatAcks = sim.stats().heartbeatAcks - acks0;
      checkSimulator(sim, scenario.shards);
      if (heartbeatAcks < scenario.shards) {
        throw new BenchFailure(`only ${heartbeatAcks} heartbeats acked for ${scenario.shards} idle shards`);
      }
      return {
        rssKiBPerShard: (rss - connected.baselineRss) / 1024 / scenario.shards,
        heapKiBPerShard: (heapUsed - connected.baselineHeapUsed) / 1024 / scenario.shards,
        externalKiBPerShard: (external - connected.baselineExternal) / 1024 / scenario.shards,
        newSpaceKiBPerShard: (newSpace - connected.baselineNewSpace) / 1024 / scenario.shards,
        baselineRss: connected.baselineRss,
        rss,
        connectMs: connected.connectMs,
        heartbeatAcks,
      };
    }

    await sleep(200);
    if (corpus === 'realistic') useRealisticCorpus(sim);
    await channel.request({ cmd: 'arm', warm: warmupEvents, burst: burstEvents }, 'armed');
    const warmDeliveries = await emit(sim, warmupEvents);
    await channel.next('warmed', 60_000);
    const bytes0 = wireBytes(sim.stats(), spec.compression);
    let deliveries: number;
    let prepCpu: NodeJS.CpuUsage | undefined;
    let simCpu: NodeJS.CpuUsage;
    if (prepareBurst) {
      const prepCpu0 = process.cpuUsage();
      deliveries = sim.prepareRandomEvents(burstEvents, { pool: poolSize });
      prepCpu = process.cpuUsage(prepCpu0);
      const simCpu0 = process.cpuUsage();
      await release(sim, burstEvents);
      simCpu = process.cpuUsage(simCpu0);
    } else {
      const simCpu0 = process.cpuUsage();
      deliveries = await emit(sim, burstEvents);
      simCpu = process.cpuUsage(simCpu0);
    }
    const bytes1 = wireBytes(sim.stats(), spec.compression);
    const payloadBytes = bytes1.payload - bytes0.payload;
    const sentBytes = bytes1.wire - bytes0.wire;
    if (warmDeliveries !== warmupEvents || deliveries !== burstEvents) {
      throw new BenchFailure(
        `simulator delivered ${warmDeliveries}+${deliveries}, expected ${warmupEvents}+${burstEvents}`,
      );
    }
    let drainedAt: number | undefined;
    const burst = await channel.next('burst', 10 * 60_000, () => {
      if (drainedAt === undefined) {
        if (sim.stats().outboundBufferedBytes === 0) drainedAt = performance.now();
        return undefined;
      }
      return performance.now() - drainedAt > DRAIN_GRACE_MS
        ? `client stalled: simulator sent all ${warmupEvents + burstEvents} events, no burst end`
        : undefined;
    });
    await sleep(300);
    const count = await channel.request({ cmd: 'count' }, 'count');
    const expected = warmupEvents + burstEvents;
    if (count.received !== expected) {
      throw new BenchFailure(`client received ${count.received} events, the simulator delivered ${expected}`);
    }
    checkSimulator(sim, scenario.shards);
    const cpuSec = (burst.cpu.user + burst.cpu.system) / 1e6;
    return {
      eventsPerSec: (burstEvents - 1) / burst.seconds,
      cpuSecPer100k: (cpuSec / burstEvents) * 100_000,
      seconds: burst.seconds,
      simCpuSec: (simCpu.user + simCpu.system) / 1e6,
      simPrepareCpuSec: prepCpu === undefined ? Number.NaN : (prepCpu.user + prepCpu.system) / 1e6,
      byType: count.byType,
      ratio: spec.compression === 'none' ? 1 : payloadBytes / sentBytes,
      meanPayloadBytes: spec.compression === 'none' ? Number.NaN : payloadBytes / burstEvents,
    };
  } catch (err) {
    if (!(err instanceof BenchFailure)) throw err;
    const st = sim.stats();
    const violations = Object.entries(st.violations).filter(([, n]) => n > 0);
    // An op 9 at start-up reaches us as the client's close (a fault) before any check of ours runs.
    const refusedAtStartup = !started && st.violations['identify-concurrency'] > 0;
    throw new (refusedAtStartup ? StartupRefused : BenchFailure)(
      `${spec.name}, ${scenario.name}: ${err.message} [simulator: ${st.identifies} identifies, ` +
        `${st.connectionsTotal} connections, ${st.invalidSessionsSent} op 9, violations ` +
        `${JSON.stringify(Object.fromEntries(violations))}, closes ${JSON.stringify(st.closesByCode)}]`,
    );
  } finally {
    await channel.exit();
    await sim.close();
  }
}

/** Compressed and uncompressed bytes the simulator sent so far in `mode` (heartbeat ACKs included). */
function wireBytes(
  stats: SimulatorStats,
  mode: ClientSpec['compression'],
): { payload: number; wire: number } {
  if (mode === 'none') return { payload: 0, wire: 0 };
  const c = stats.compression[mode];
  if (mode === 'zstd-stream' && stats.compression.zstdEncoder === 'raw-blocks' && !rawZstdWarned) {
    rawZstdWarned = true;
    console.log(
      `WARNING: zstd-stream rows are NOT compressed (simulator on raw blocks: ${stats.compression.notice ?? 'zstdEncoder raw-blocks'}); ` +
        'run the parent on Node >= 22.15 (--client-node keeps the clients on another Node)',
    );
  }
  return { payload: c.payloadBytes, wire: c.wireBytes };
}
let rawZstdWarned = false;

// ── statistics and the table ────────────────────────────────────────────────────────────────────────

interface Summary {
  readonly median: number;
  readonly min: number;
  readonly max: number;
}
function summarize(values: readonly number[]): Summary {
  const s = [...values].sort((a, b) => a - b);
  const mid = s.length >> 1;
  const median = s.length % 2 === 1 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
  return { median, min: s[0]!, max: s.at(-1)! };
}

function fmt(n: number): string {
  if (!Number.isFinite(n)) return '-';
  if (Math.abs(n) >= 1000) return Math.round(n).toLocaleString('en-US');
  if (Math.abs(n) >= 100) return n.toFixed(0);
  if (Math.abs(n) >= 10) return n.toFixed(1);
  return n.toFixed(2);
}

function printTable(title: string, header: readonly string[], rows: readonly (readonly string[])[]): void {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: readonly string[]) =>
    `| ${cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join(' | ')} |`;
  console.log(`\n### ${title}`);
  console.log(line(header));
  console.log(
    `|${widths.map((w, i) => (i === 0 ? `:${'-'.repeat(w + 1)}` : `${'-'.repeat(w + 1)}:`)).join('|')}|`,
  );
  for (const r of rows) console.log(line(r));
}

// ── main ────────────────────────────────────────────────────────────────────────────────────────────

const djsMissing = !loadDiscordjsWs() || !loadDiscordjsRest();
// Resolved, not loaded: the clients may run on another Node (--client-node) than this process.
const zlibSyncMissing = !peerInstalled('zlib-sync');
const clients = [...ALL_CLIENTS, ...THREADED_CLIENTS].filter((c) => {
  if (clientFilter && !clientFilter.some((f) => c.name.includes(f))) return false;
  if (c.kind === 'discordjs' && djsMissing) {
    console.log(
      `skipping ${c.name}: @discordjs/ws / @discordjs/rest not installed (npm --prefix bench install)`,
    );
    return false;
  }
  if (c.inflater === 'zstd-napi' && !peerInstalled('zstd-napi/binding')) {
    console.log(`skipping ${c.name}: zstd-napi not installed (npm --prefix bench install)`);
    return false;
  }
  if (c.inflater === 'zlib-sync' && zlibSyncMissing) {
    console.log(`skipping ${c.name}: zlib-sync not installed (npm --prefix bench install)`);
    return false;
  }
  return true;
});
const scenarios = SCENARIOS.filter((s) => scenarioFilter.includes(s.name));
const startedAt = new Date().toISOString();
const loadBefore = loadavg();
console.log(
  `e2e bench: ${clients.length} clients, scenarios ${scenarios.map((s) => s.name).join(', ')}, ${runs} runs ` +
    `(order rotated), burst ${burstEvents} events after ${warmupEvents} warm-up (pool ${poolSize}, seed ${SEED}), ` +
    `idle settle ${settleMs} ms; corpus ${corpus}; burst ${prepareBurst ? 'prepared before the clock (--prepare-burst)' : 'encoded and compressed while sent'}; simulator node ${process.version}, clients ${clientNode ?? 'same'}; ` +
    `load ${loadBefore.map((l) => l.toFixed(2)).join(' ')}; ${startedAt}`,
);
if (corpus === 'realistic') {
  const probe = await startSimulator({ seed: SEED, guilds: GUILDS, membersPerGuild: MEMBERS_PER_GUILD });
  const { meanBytes, mix } = summarizeCorpus(realisticEvents(probe.world.guilds, poolSize));
  await probe.close();
  console.log(`realistic corpus: mean ${meanBytes.toFixed(0)} bytes as JSON; ${mix}`);
}

type Results = Map<string, (BurstResult | IdleResult)[]>;
const startupRetries: string[] = [];
const results = new Map<string, Results>();
try {
  for (const scenario of scenarios) {
    const per: Results = new Map(clients.map((c) => [c.name, []]));
    results.set(scenario.name, per);
    let referenceTypes: string | undefined;
    for (let run = 0; run < runs; run++) {
      const order = clients.map((_, i) => clients[(i + run) % clients.length]!);
      for (const spec of order) {
        let r: BurstResult | IdleResult | undefined;
        for (let attempt = 1; r === undefined; attempt++) {
          try {
            r = await runOnce(spec, scenario);
          } catch (err) {
            if (!(err instanceof StartupRefused) || attempt >= STARTUP_ATTEMPTS) throw err;
            startupRetries.push(`${scenario.name} run ${run + 1} ${spec.name}: ${err.message}`);
            console.log(`retrying start-up (attempt ${attempt + 1}): ${err.message}`);
          }
        }
        per.get(spec.name)!.push(r);
        if ('byType' in r) {
          // Same seed, same pool: every client must have seen exactly the same events.
          const types = JSON.stringify(Object.entries(r.byType).sort(([a], [b]) => a.localeCompare(b)));
          referenceTypes ??= types;
          if (types !== referenceTypes) {
            throw new BenchFailure(`${spec.name} saw ${types}, an earlier client saw ${referenceTypes}`);
          }
          console.log(
            `${scenario.name} run ${run + 1} ${spec.name}: ${fmt(r.eventsPerSec)} events/s, ` +
              `${r.cpuSecPer100k.toFixed(3)} CPU s/100k (${r.seconds.toFixed(2)} s; simulator ${r.simCpuSec.toFixed(2)} CPU s${Number.isNaN(r.simPrepareCpuSec) ? '' : ` + ${r.simPrepareCpuSec.toFixed(2)} preparing`}; ` +
              `sent ratio ${r.ratio.toFixed(2)}×${Number.isNaN(r.meanPayloadBytes) ? '' : `, ${r.meanPayloadBytes.toFixed(0)} B/payload`})`,
          );
        } else {
          console.log(
            `${scenario.name} run ${run + 1} ${spec.name}: ${r.rssKiBPerShard.toFixed(1)} KiB RSS/shard ` +
              `(heap ${r.heapKiBPerShard.toFixed(1)}, external ${r.externalKiBPerShard.toFixed(1)}, ` +
              `new space ${r.newSpaceKiBPerShard.toFixed(1)} KiB/shard) ` +
              `(${(r.baselineRss / 1048576).toFixed(1)} → ${(r.rss / 1048576).toFixed(1)} MiB, ` +
              `connect ${(r.connectMs / 1000).toFixed(1)} s, ${r.heartbeatAcks} heartbeat acks)`,
          );
        }
      }
    }
  }
} catch (err) {
  if (err instanceof BenchFailure) {
    console.error(`\ne2e bench FAILED: ${err.message}`);
    process.exit(1);
  }
  throw err;
}

interface Row {
  readonly client: string;
  readonly metric: string;
  readonly summary: Summary;
  /** median / reference median (@discordjs/ws json + zlib-sync, then node:zlib). */
  readonly ratio: number | undefined;
  readonly ratioNative: number | undefined;
  readonly values: readonly number[];
}
const rows: Record<string, Row[]> = {};
const metricsOf = (scenario: Scenario) =>
  scenario.burst
    ? [
        { key: 'eventsPerSec', label: 'events/s' },
        { key: 'cpuSecPer100k', label: 'CPU s / 100k events' },
        { key: 'ratio', label: 'compression ratio sent' },
      ]
    : [
        { key: 'rssKiBPerShard', label: 'RSS KiB / idle shard' },
        { key: 'heapKiBPerShard', label: 'heap KiB / idle shard' },
        { key: 'externalKiBPerShard', label: 'external KiB / idle shard' },
      ];
for (const scenario of scenarios) {
  const per = results.get(scenario.name)!;
  const scenarioRows: Row[] = [];
  for (const { key, label } of metricsOf(scenario)) {
    const valuesOf = (name: string) =>
      (per.get(name) ?? []).map((r) => (r as unknown as Record<string, number>)[key]!);
    const ref = per.has(REFERENCE) ? summarize(valuesOf(REFERENCE)).median : undefined;
    const refNative = per.has(REFERENCE_NATIVE) ? summarize(valuesOf(REFERENCE_NATIVE)).median : undefined;
    for (const c of clients) {
      const values = valuesOf(c.name);
      const summary = summarize(values);
      scenarioRows.push({
        client: c.name,
        metric: label,
        summary,
        ratio: ref === undefined ? undefined : summary.median / ref,
        ratioNative: refNative === undefined ? undefined : summary.median / refNative,
        values,
      });
    }
  }
  rows[scenario.name] = scenarioRows;
  printTable(
    `${scenario.name}: ${scenario.burst ? `${scenario.shards} shard(s), burst of ${burstEvents} events` : `${scenario.shards} idle shards`} — median (min–max) over ${runs} runs; × = median / @discordjs/ws median`,
    ['client', 'metric', 'median', 'min', 'max', '× djs zlib-sync', '× djs node:zlib'],
    scenarioRows.map((r) => [
      r.client,
      r.metric,
      fmt(r.summary.median),
      fmt(r.summary.min),
      fmt(r.summary.max),
      r.ratio === undefined ? '-' : `${r.ratio.toFixed(2)}×`,
      r.ratioNative === undefined ? '-' : `${r.ratioNative.toFixed(2)}×`,
    ]),
  );
}

// Goals, against @discordjs/ws json + zlib-sync (json + zstd also against the minimal zstd-napi client).
const targetLines: string[] = [];
const find = (scenario: string, client: string, metric: string) =>
  rows[scenario]?.find((r) => r.client === client && r.metric === metric);
const CPU = 'CPU s / 100k events';
const goal = (label: string, ratio: number | undefined, max: number) => {
  if (ratio !== undefined)
    targetLines.push(
      `${label} ${ratio.toFixed(2)}× (goal ≤ ${max.toFixed(2)}×) ${ratio <= max ? 'MET' : 'MISSED'}`,
    );
};
for (const scenario of scenarios.filter((s) => s.burst)) {
  const n = scenario.name;
  goal(`${n}: shardline json + zlib-stream CPU`, find(n, 'shardline json + zlib-stream', CPU)?.ratio, 0.55);
  goal(`${n}: shardline etf + zlib-stream CPU`, find(n, 'shardline etf + zlib-stream', CPU)?.ratio, 0.5);
  goal(`${n}: shardline etf + zstd-stream CPU`, find(n, 'shardline etf + zstd-stream', CPU)?.ratio, 0.55);
  const jsonZstd = find(n, 'shardline json + zstd-stream', CPU);
  const napi = find(n, 'minimal json + zstd-napi', CPU);
  if (jsonZstd && napi) {
    goal(
      `${n}: shardline json + zstd-stream CPU vs minimal zstd-napi`,
      jsonZstd.summary.median / napi.summary.median,
      1.1,
    );
  }
}
for (const r of (rows[`idle-${idleShards}`] ?? rows['idle-200'] ?? []).filter(
  (x) => x.client.startsWith('shardline') && x.metric === 'RSS KiB / idle shard',
)) {
  goal(`idle: ${r.client} RSS/shard`, r.ratio, r.client.includes('uncompressed') ? 0.3 : 0.45);
}
if (targetLines.length > 0) {
  console.log('\n### targets (vs @discordjs/ws json + zlib-sync medians)');
  for (const l of targetLines) console.log(`- ${l}`);
}
if (startupRetries.length > 0) {
  console.log(`\nstart-ups retried after an identify refused as concurrent: ${startupRetries.length}`);
}
const loadAfter = loadavg();
console.log(
  `\nload average before ${loadBefore.map((l) => l.toFixed(2)).join(' ')}, after ${loadAfter.map((l) => l.toFixed(2)).join(' ')}`,
);
if (jsonPath) {
  writeFileSync(
    jsonPath,
    `${JSON.stringify(
      {
        startedAt,
        finishedAt: new Date().toISOString(),
        node: process.version,
        loadBefore,
        loadAfter,
        config: {
          runs,
          burstEvents,
          warmupEvents,
          poolSize,
          idleShards,
          settleMs,
          seed: SEED,
          semiSpaceMiB: semiSpaceMiB ?? null,
          corpus,
          prepareBurst,
          clientNode: clientNode ?? null,
          maxConcurrency: MAX_CONCURRENCY,
        },
        rows,
        targets: targetLines,
        startupRetries,
      },
      null,
      2,
    )}\n`,
  );
  console.log(`figures written to ${jsonPath}`);
}
process.exit(0);
