/**
 * `shardline demo` (what `npm start` runs): an embedded simulator with a live event stream, a
 * `ShardManager` running several shards against it, and the live status view. No token, no network.
 * Faults can be injected with keys (TTY) or on a schedule (`--fault-every`), so you can watch shards resume.
 */
import { COMPRESSIONS, ENCODINGS } from '../../codec/formats.js';
import { managerBudget } from '../../dashboard/sources.js';
import { ShardManager } from '../../manager/manager.js';
import { serveMetrics } from '../../manager/metrics.js';
import { startupBoundMs } from '../../shard/identify-queue.js';
import { type Fault, startSimulator } from '../../simulator/index.js';
import { INTENTS } from '../../simulator/intents.js';
import { seededRandom } from '../../util/clock.js';
import { type CliIo, choiceFlag, intFlag, parseFlags } from '../args.js';
import { DASHBOARD_FLAGS, dashboardUsage, openDashboard, parseDashboardFlags } from '../dashboard-flags.js';
import { LiveView, waitForStop } from '../live-view.js';

/**
 * The keys that inject a fault into the selected shard, and what the shard does about each: the README and
 * the usage say the same (`describeDemoKeys`), and a test presses each key and checks the outcome.
 */
export const DEMO_KEYS = [
  { key: 'r', fault: 'reconnect', label: 'op 7', outcome: 'resume' },
  { key: 'd', fault: 'drop', label: 'TCP drop', outcome: 'resume' },
  { key: 'z', fault: 'zombie', label: 'zombie connection', outcome: 'resume' },
  { key: 'c', fault: 'close', label: 'close 4000', outcome: 'resume' },
  { key: 'i', fault: 'invalid-session', label: 'op 9, not resumable', outcome: 'identify' },
  { key: 'h', fault: 'request-heartbeat', label: 'op 1', outcome: 'heartbeat' },
] as const satisfies readonly {
  key: string;
  fault: Fault['kind'];
  label: string;
  outcome: 'resume' | 'identify' | 'heartbeat';
}[];

/** One sentence on what each key does; `quote` wraps each key (a backtick for Markdown). */
export function describeDemoKeys(quote = ''): string {
  const keys = (outcome: string) =>
    DEMO_KEYS.filter((k) => k.outcome === outcome).map((k) => `${quote}${k.key}${quote} (${k.label})`);
  const resume = keys('resume');
  return (
    `${resume.slice(0, -1).join(', ')} and ${resume.at(-1)} make the selected shard resume its session; ` +
    `${keys('identify').join(', ')} makes it identify a new session; ` +
    `${keys('heartbeat').join(', ')} makes it heartbeat at once on the same connection`
  );
}

export const DEMO_USAGE = `usage: shardline demo [flags]
  --shard-count N          shards to run (default 4)
  --guilds N               guilds in the simulated world (default 300)
  --encoding json|etf      gateway encoding (default etf)
  --compression zlib-stream|zstd-stream|none   transport compression (default zlib-stream)
  --events-per-second N    live event rate of the simulator (default 200)
  --max-concurrency N      identify buckets (default 2)
  --identify-window MS     identify window, scaled down from Discord's 5000 (default 1000)
  --heartbeat-interval MS  heartbeat interval sent in Hello, 1000 or more (default 5000)
  --fault-every S          inject a random fault into a random shard every S seconds (default off)
  --duration S             exit by itself after S seconds with a summary (default: until Ctrl-C)
  --metrics-port N         serve Prometheus metrics on http://127.0.0.1:N/metrics
${dashboardUsage('the shard table, the identify budget, charts; buttons inject the same faults as the keys')}
  --seed N                 seed of the world, the event stream and the fault schedule (default 1)
  --plain                  print plain lines even on a terminal
keys (when stdin is a terminal): 0-9 select a shard; ${describeDemoKeys()}; q quits`;

const KEY_FAULTS: Record<string, Fault['kind']> = Object.fromEntries(DEMO_KEYS.map((k) => [k.key, k.fault]));
const SCHEDULED_FAULTS = [
  'reconnect',
  'drop',
  'zombie',
  'invalid-session',
  'close',
  'request-heartbeat',
] as const;

/** How long the summary waits for dispatches still in flight when the run stops. */
const SUMMARY_SETTLE_MS = 2_000;

export interface DemoSummary {
  shards: number;
  ready: number;
  dispatches: number;
  reconnects: number;
  faults: number;
  violations: number;
  /** Sessions whose every dispatch the simulator sequenced was delivered (delivered === lastSeq). */
  sessionsComplete: number;
  sessionsChecked: number;
}

export async function runDemo(argv: readonly string[], io: CliIo): Promise<number> {
  const { values: v } = parseFlags(argv, {
    'shard-count': { type: 'string' },
    guilds: { type: 'string' },
    encoding: { type: 'string' },
    compression: { type: 'string' },
    'events-per-second': { type: 'string' },
    'max-concurrency': { type: 'string' },
    'identify-window': { type: 'string' },
    'heartbeat-interval': { type: 'string' },
    'fault-every': { type: 'string' },
    duration: { type: 'string' },
    'metrics-port': { type: 'string' },
    seed: { type: 'string' },
    plain: { type: 'boolean' },
    ...DASHBOARD_FLAGS,
  });
  const str = (k: string) => v[k] as string | undefined;
  const shards = intFlag('shard-count', str('shard-count'), { min: 1, max: 256 }) ?? 4;
  const guilds = intFlag('guilds', str('guilds'), { min: 0, max: 100_000 }) ?? 300;
  const encoding = choiceFlag('encoding', str('encoding'), ENCODINGS) ?? 'etf';
  const compression = choiceFlag('compression', str('compression'), COMPRESSIONS) ?? 'zlib-stream';
  const eventsPerSecond =
    intFlag('events-per-second', str('events-per-second'), { min: 0, max: 1_000_000 }) ?? 200;
  const maxConcurrency = intFlag('max-concurrency', str('max-concurrency'), { min: 1, max: 64 }) ?? 2;
  const identifyWindowMs =
    intFlag('identify-window', str('identify-window'), { min: 10, max: 60_000 }) ?? 1000;
  const heartbeatIntervalMs =
    // Shards refuse a Hello interval under 1 s (heartbeats would take over half the send limit).
    intFlag('heartbeat-interval', str('heartbeat-interval'), { min: 1000, max: 120_000 }) ?? 5000;
  const faultEvery = intFlag('fault-every', str('fault-every'), { min: 1, max: 86_400 });
  const duration = intFlag('duration', str('duration'), { min: 1, max: 86_400 });
  const metricsPort = intFlag('metrics-port', str('metrics-port'), { min: 0, max: 65_535 });
  const seed = intFlag('seed', str('seed'), { min: 0, max: 2 ** 32 - 1 }) ?? 1;
  const dashboardFlags = parseDashboardFlags(v);
  const tty = Boolean(io.stdout.isTTY) && v.plain !== true;

  const sim = await startSimulator({
    guilds,
    shards,
    maxConcurrency,
    identifyWindowMs,
    heartbeatIntervalMs,
    eventsPerSecond,
    seed,
  });
  const token = sim.tokens[0]!;
  const manager = new ShardManager({
    token,
    intents:
      INTENTS.GUILDS |
      INTENTS.GUILD_MESSAGES |
      INTENTS.GUILD_MESSAGE_REACTIONS |
      INTENTS.GUILD_MESSAGE_TYPING |
      INTENTS.GUILD_PRESENCES |
      INTENTS.GUILD_MEMBERS |
      INTENTS.MESSAGE_CONTENT,
    api: sim.restUrl,
    shardCount: shards,
    encoding,
    compression: compression === 'none' ? 'none' : compression,
    identifyWindowMs,
    // The simulator runs in this process and stamps identifies when it processes them; generating,
    // compressing and decoding a READY burst stalls this shared event loop by ~300 ms on a loaded machine,
    // so an identify can reach the simulator that much after its slot was granted. A margin of a quarter
    // window (250 ms) was below that stall (identify-concurrency violations); keep at least 500 ms.
    identifyMarginMs: Math.max(Math.ceil(identifyWindowMs / 2), 500),
    // Discord's 1–5 s wait after op 9, scaled like the identify window.
    shardOptions: { invalidSessionDelayMs: [identifyWindowMs / 5, identifyWindowMs] },
  });
  // Errors are reported in the view and the summary, never thrown into the event loop.
  const errors: string[] = [];
  manager.on('error', (err, shardId) => {
    errors.push(`shard ${shardId ?? '-'}: ${err.code}`);
    if (!tty) io.stderr.write(`shard ${shardId ?? '-'}: ${err.message} [${err.code}]\n`);
  });

  // Per-session delivery counts, to prove nothing was lost or duplicated.
  const currentSession = new Map<number, string>();
  const delivered = new Map<string, number>();
  manager.on('dispatch', (payload, shardId) => {
    if (payload.t === 'READY') currentSession.set(shardId, (payload.d as { session_id: string }).session_id);
    const session = currentSession.get(shardId);
    if (session !== undefined) delivered.set(session, (delivered.get(session) ?? 0) + 1);
  });

  let selected = 0;
  let faults = 0;
  const lastFaults: string[] = [];
  const inject = (kind: Fault['kind'], shard: number): boolean => {
    const fault: Fault = kind === 'close' ? { kind, shardId: shard, code: 4000 } : { kind, shardId: shard };
    const hit = sim.inject(fault) > 0;
    if (hit) {
      faults++;
      const then = DEMO_KEYS.find((k) => k.fault === kind)?.outcome;
      const next =
        then === 'identify' ? 'identifies a new session' : then === 'resume' ? 'resumes' : 'heartbeats';
      lastFaults.push(
        `${new Date().toISOString().slice(11, 19)} injected ${kind} into shard ${shard}: it ${next}`,
      );
      if (lastFaults.length > 3) lastFaults.shift();
      if (!tty) io.stdout.write(`fault: ${kind} -> shard ${shard}\n`);
    }
    return hit;
  };

  let metrics: Awaited<ReturnType<typeof serveMetrics>> | undefined;
  let dashboard: Awaited<ReturnType<typeof openDashboard>>;
  const startedAt = Date.now();
  const bound = startupBoundMs(shards, maxConcurrency, identifyWindowMs);
  const view = new LiveView(manager, io, {
    title: `shardline demo · simulator ${sim.httpUrl} · ${shards} shards · ${encoding}+${compression} · ${guilds} guilds`,
    expectedShards: shards,
    startupEta: () => Math.max(0, bound - (Date.now() - startedAt)),
    tty,
    footer: () =>
      [
        ...lastFaults,
        tty
          ? `shard ${selected} selected · 0-9 select · r op 7, d drop, z zombie, c close → resume · i op 9 → identify · h op 1 · q quit`
          : '',
        tty && dashboard ? `dashboard ${dashboard.url}` : '',
      ].filter((l) => l !== ''),
  });
  const stopKeys = new AbortController();
  const onKey = (data: Buffer) => {
    const key = data.toString('utf8');
    if (key === 'q' || key === '\u0003') stopKeys.abort();
    else if (/^[0-9]$/.test(key) && Number(key) < shards) selected = Number(key);
    else if (KEY_FAULTS[key]) inject(KEY_FAULTS[key], selected);
  };
  const stdin = io.stdin ?? process.stdin;
  // Keys work whenever stdin is a terminal, also with --plain output.
  const keys = stdin.isTTY === true;
  let faultTimer: NodeJS.Timeout | undefined;
  let failure: unknown;
  try {
    if (metricsPort !== undefined) {
      metrics = await serveMetrics(manager, { port: metricsPort });
      io.stdout.write(`metrics on ${metrics.url}\n`);
    }
    dashboard = await openDashboard(dashboardFlags, {
      title: `shardline demo · ${shards} shards · ${encoding}+${compression} · ${guilds} guilds`,
      shards: manager,
      budget: managerBudget(manager),
      faults: {
        kinds: DEMO_KEYS.map((k) => ({ kind: k.fault, label: k.label, outcome: k.outcome })),
        inject: (kind, shard) => inject(kind as Fault['kind'], shard), // kind is one of DEMO_KEYS' (checked)
      },
    }).catch(async (err: unknown) => {
      // A dashboard port in use: nothing started yet but the simulator and the metrics server.
      await metrics?.close();
      await sim.close();
      throw err;
    });
    if (dashboard) io.stdout.write(`dashboard on ${dashboard.url}\n`);
    if (keys) {
      stdin.setRawMode?.(true);
      stdin.resume();
      stdin.on('data', onKey);
    }
    view.start();
    let connectError: unknown;
    const connectFailed = manager.connect().then(
      () => new Promise<never>(() => {}),
      (err: unknown) => {
        connectError = err;
        return 'failed' as const;
      },
    );
    if (faultEvery !== undefined) {
      const random = seededRandom(seed);
      faultTimer = setInterval(() => {
        const kind = SCHEDULED_FAULTS[Math.floor(random() * SCHEDULED_FAULTS.length)]!;
        inject(kind, Math.floor(random() * shards));
      }, faultEvery * 1000);
    }
    const signal = AbortSignal.any([io.signal, stopKeys.signal]);
    await Promise.race([waitForStop(signal, duration), connectFailed]);
    failure = connectError;
  } finally {
    if (faultTimer) clearInterval(faultTimer);
    view.stop();
    if (keys) {
      stdin.off('data', onKey);
      stdin.setRawMode?.(false);
      stdin.pause();
    }
  }
  // Summary: compare what each session delivered with what the simulator sequenced for it. The simulator
  // runs in this process: dispatches it sequenced in the last timer tick are still in the socket when the
  // loop above ends, so stop the stream and let them arrive before comparing (else a session looks 1–2 short).
  sim.setEventsPerSecond(0);
  // Faults of the last second may still have a shard in backoff or waiting for its identify slot.
  const settleBy = Date.now() + SUMMARY_SETTLE_MS + 2 * identifyWindowMs;
  const caughtUp = () =>
    manager.snapshot().shards.every((s) => s.status === 'ready') &&
    sim
      .stats()
      .sessions.every((x) => x.ended || !x.connected || (delivered.get(x.sessionId) ?? 0) >= x.sequence);
  while (Date.now() < settleBy && !caughtUp()) await new Promise((r) => setTimeout(r, 20));
  view.draw();
  const status = manager.snapshot();
  const stats = sim.stats();
  let complete = 0;
  let checked = 0;
  const mismatches: string[] = [];
  const notReady = new Set(
    status.shards.filter((s) => s.status !== 'ready').map((s) => currentSession.get(s.shardId)),
  );
  for (const session of stats.sessions) {
    const got = delivered.get(session.sessionId);
    // Sessions still resuming when the demo stopped have replays in flight: not comparable yet.
    if (got === undefined || notReady.has(session.sessionId)) continue;
    checked++;
    if (got === session.sequence) complete++;
    else
      mismatches.push(
        `session ${session.sessionId.slice(0, 8)} shard ${session.shardId}: delivered ${got}, sequenced ${session.sequence}`,
      );
  }
  const summary: DemoSummary = {
    shards,
    ready: status.shards.filter((s) => s.status === 'ready').length,
    dispatches: view.dispatches,
    reconnects: status.shards.reduce((a, s) => a + s.reconnects, 0),
    faults,
    violations: Object.values(stats.violations).reduce((a, b) => a + b, 0),
    sessionsComplete: complete,
    sessionsChecked: checked,
  };
  await manager.destroy({ resumable: false }); // the demo ends its sessions: close 1000
  await metrics?.close();
  await dashboard?.close();
  await sim.close();
  io.stdout.write(
    `summary: ${summary.ready}/${summary.shards} shards ready · ${summary.dispatches} dispatches delivered · ` +
      `${summary.reconnects} reconnects · ${summary.faults} faults injected · ${summary.violations} rule violations · ` +
      `${summary.sessionsComplete}/${summary.sessionsChecked} sessions delivered every sequenced dispatch exactly once\n`,
  );
  for (const m of mismatches) io.stdout.write(`  ${m}\n`);
  if (failure !== undefined) {
    io.stderr.write(`shardline demo: ${failure instanceof Error ? failure.message : String(failure)}\n`);
    return 1;
  }
  const byKind = Object.entries(stats.violations).filter(([, n]) => n > 0);
  if (byKind.length > 0) io.stdout.write(`violations: ${byKind.map(([k, n]) => `${k}=${n}`).join(' ')}\n`);
  if (errors.length > 0)
    io.stdout.write(`errors: ${errors.slice(0, 10).join(', ')}${errors.length > 10 ? ' …' : ''}\n`);
  return summary.ready === summary.shards ? 0 : 1;
}
