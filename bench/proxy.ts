/**
 * Gateway proxy bench (not a `*.bench.js`: run it with `node dist/bench/proxy.js [--events N] [--rate N]
 * [--tick-ms N] [--clients N]`). Three processes, so each one's CPU is its own: the simulator
 * (`proxy-sim-child`), the proxy (`proxy-server-child`, upstream etf + zlib-stream) and this one, which drives
 * them and holds the latency clients.
 * - added latency: a lean client straight on the simulator and one through the proxy (both here, json, no
 *   compression) get the same MESSAGE_CREATEs at `--rate`, `rate × tick-ms / 1000` per simulator timer tick
 *   (default 1 ms: 10 per tick at 10k/s; the old bench's 10 ms ticks sent bursts of 100); per event,
 *   arrival through the proxy minus arrival direct, p50/p99/max. Beside it: each path's delay since emission
 *   (wall clock), the proxy's own residence time per event (upstream chunk arrival → client send returned,
 *   measured inside the proxy process), and each process's event loop delay and GC pauses over the window,
 *   so the proxy's share can be told from scheduling on a shared 2-core machine. `PROXY_EXEC_ARGV='--prof'`
 *   passes flags to the proxy process alone.
 * - proxy CPU per event per client: the proxy process's CPU for `--events` events with `--clients` json +
 *   zlib-stream clients (`proxy-clients-child`) minus its CPU for the same events with none, divided by
 *   events × clients. In the same run, one `@discordjs/ws` client (json + zlib-stream, node:zlib) straight on
 *   the simulator (`proxy-djs-ws-child`) receives the same events and reports its own CPU per event.
 * The load average is printed first and last: the figures are only as quiet as the machine.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { loadavg } from 'node:os';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import WebSocket from 'ws';
import { benchFlag } from './harness.js';
import { Probe, type ProbeReport, wallMicros } from './proxy-probe.js';

const EVENTS = Number(benchFlag('events') ?? 20_000);
const RATE = Number(benchFlag('rate') ?? 10_000);
const CLIENTS = Number(benchFlag('clients') ?? 4);
/** Timer tick of the simulator's emission in the latency measure: RATE × TICK_MS / 1000 events per tick. */
const TICK_MS = Number(benchFlag('tick-ms') ?? 1);
const BENCH = Buffer.from('"content":"bench ');
const TOKEN = 'bench-client';
const HERE = dirname(fileURLToPath(import.meta.url));
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const load = () =>
  loadavg()
    .map((l) => l.toFixed(2))
    .join(' ');

/** A child process of this bench whose stdout lines can be awaited in order. */
class Child {
  readonly process: ChildProcess;
  readonly #lines: string[] = [];
  readonly #waiters: ((line: string) => void)[] = [];
  constructor(file: string, env: Record<string, string>, execArgv: string[] = []) {
    this.process = spawn(process.execPath, [...execArgv, join(HERE, file)], {
      stdio: ['pipe', 'pipe', 'inherit'],
      env: { ...process.env, ...env },
    });
    createInterface({ input: this.process.stdout! }).on('line', (line) => {
      const waiter = this.#waiters.shift();
      if (waiter) waiter(line);
      else this.#lines.push(line);
    });
  }
  line(): Promise<string> {
    const line = this.#lines.shift();
    return line !== undefined ? Promise.resolve(line) : new Promise((r) => this.#waiters.push(r));
  }
  send(line: string): void {
    this.process.stdin!.write(`${line}\n`);
  }
  kill(): void {
    this.process.kill();
  }
}

console.log(`load average at start (1, 5, 15 min): ${load()}`);
const simChild = new Child('proxy-sim-child.js', {});
const sim = JSON.parse(await simChild.line()) as { gatewayUrl: string; restUrl: string; token: string };
const proxyChild = new Child(
  'proxy-server-child.js',
  {
    SIM_REST: sim.restUrl,
    SIM_TOKEN: sim.token,
    PROXY_TOKEN: TOKEN,
  },
  // e.g. PROXY_EXEC_ARGV='--prof' to profile the proxy process alone
  process.env.PROXY_EXEC_ARGV?.split(' ').filter(Boolean) ?? [],
);
const proxy = JSON.parse(await proxyChild.line()) as { gatewayUrl: string };
const proxyCpu = async () => {
  proxyChild.send('cpu');
  return (JSON.parse(await proxyChild.line()) as { cpu: number }).cpu;
};
const emit = async (count: number, tickMs = 10) => {
  simChild.send(`emit ${count} ${RATE} ${tickMs}`);
  await simChild.line();
};

interface Arrival {
  emitted: number;
  arrived: number;
}

/** A minimal gateway client for the latency measure: identifies, then only notes bench events' arrivals. */
async function leanClient(
  url: string,
  identify: Record<string, unknown>,
): Promise<{ ws: WebSocket; arrivals: Map<number, Arrival> }> {
  const ws = new WebSocket(`${url}?v=10&encoding=json`, { perMessageDeflate: false });
  const arrivals = new Map<number, Arrival>();
  await new Promise<void>((resolve, reject) => {
    ws.once('error', reject);
    const onSetup = (data: Buffer) => {
      const p = JSON.parse(data.toString()) as { op: number; t: string | null };
      if (p.op === 10) ws.send(JSON.stringify({ op: 2, d: { properties: {}, ...identify } }));
      if (p.t === 'READY') {
        ws.off('message', onSetup);
        ws.on('message', (frame: Buffer) => {
          const arrived = wallMicros();
          const i = frame.indexOf(BENCH);
          if (i < 0) return;
          let j = i + BENCH.length;
          let id = 0;
          for (let c = frame[j]!; c >= 48 && c <= 57; c = frame[++j]!) id = id * 10 + c - 48;
          let emitted = 0;
          for (let c = frame[++j]!; c >= 48 && c <= 57; c = frame[++j]!) emitted = emitted * 10 + c - 48;
          arrivals.set(id, { emitted, arrived });
        });
        resolve();
      }
    };
    ws.on('message', onSetup);
  });
  return { ws, arrivals };
}

// ── added latency ──
// Two lean clients in this process (plain `ws`, json, no compression): after READY each 'message' handler
// only finds the event id and the emission time in the frame's bytes and notes the arrival, so this process
// adds as little as it can to what it measures. Emission and arrival are wall-clock µs
// (`performance.timeOrigin + now()`), comparable between the processes: per event, direct delay = arrival
// straight from the simulator − emission, proxied delay = arrival through the proxy − emission, added
// latency = proxied − direct. The proxy reports its own residence time per event and every process its
// event loop delay and GC pauses over the same window, so the proxy's own share can be told from
// scheduling on a shared machine.
await sleep(200); // past the simulator's identify window after the proxy's own identify
const directLat = await leanClient(sim.gatewayUrl, { token: sim.token, intents: 513 | 32768 });
const proxiedLat = await leanClient(proxy.gatewayUrl, { token: TOKEN, shard: [0, 1], intents: 513 | 32768 });
const driverProbe = new Probe();
const probeAll = (word: string) =>
  Promise.all([simChild, proxyChild].map(async (c) => (c.send(word), c.line())));
await probeAll('probe-start');
driverProbe.start();
await emit(EVENTS, TICK_MS);
await sleep(500);
const driverReport = driverProbe.stop();
const [simReport, proxyReport] = (await probeAll('probe-stop')).map((l) => JSON.parse(l)) as [
  ProbeReport,
  ProbeReport & { residenceCount: number; residenceP50: number; residenceP99: number; residenceMax: number },
];
const added: number[] = [];
const directDelays: number[] = [];
const proxiedDelays: number[] = [];
for (const [id, d] of directLat.arrivals) {
  const p = proxiedLat.arrivals.get(id);
  if (p === undefined) continue;
  directDelays.push((d.arrived - d.emitted) / 1000);
  proxiedDelays.push((p.arrived - p.emitted) / 1000);
  added.push((p.arrived - d.arrived) / 1000);
}
if (added.length === 0) {
  console.error(
    `no event matched: direct got ${directLat.arrivals.size}, proxied ${proxiedLat.arrivals.size}`,
  );
  process.exit(1);
}
const pct = (values: number[], p: number) => {
  const sorted = [...values].sort((x, y) => x - y);
  return sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))]!;
};
const trio = (values: number[]) =>
  `p50 ${pct(values, 0.5).toFixed(3)} ms, p99 ${pct(values, 0.99).toFixed(3)} ms, max ${pct(values, 1).toFixed(1)} ms`;
const perTick = Math.max(1, Math.round((RATE * TICK_MS) / 1000));
console.log(
  `added latency through the proxy at ${RATE} events/s, ${perTick} per ${TICK_MS} ms tick (${added.length}/${EVENTS} events matched): ${trio(added)}`,
);
console.log(`  delay since emission, straight from the simulator: ${trio(directDelays)}`);
console.log(`  delay since emission, through the proxy:           ${trio(proxiedDelays)}`);
console.log(
  `  proxy's own residence per event (upstream chunk arrival → client send returned, ${proxyReport.residenceCount} events): p50 ${proxyReport.residenceP50.toFixed(3)} ms, p99 ${proxyReport.residenceP99.toFixed(3)} ms, max ${proxyReport.residenceMax.toFixed(1)} ms`,
);
for (const [name, r] of [
  ['simulator', simReport],
  ['proxy', proxyReport],
  ['driver (clients)', driverReport],
] as const)
  console.log(
    `  ${name.padEnd(16)} event loop delay p50 ${r.loopP50.toFixed(2)} / p99 ${r.loopP99.toFixed(2)} / max ${r.loopMax.toFixed(1)} ms; GC ${r.gcCount} pauses, ${r.gcTotalMs.toFixed(1)} ms in all, longest scavenge ${r.gcMaxMinorMs.toFixed(2)} / mark-compact ${r.gcMaxMajorMs.toFixed(2)} ms`,
  );
directLat.ws.close(1000);
proxiedLat.ws.close(1000);

// ── CPU: the proxy per event per client, beside one @discordjs/ws client ──
let before = await proxyCpu();
await emit(EVENTS);
await sleep(300);
const base = (await proxyCpu()) - before;

const clients = new Child('proxy-clients-child.js', {
  PROXY_URL: proxy.gatewayUrl,
  PROXY_TOKEN: TOKEN,
  CLIENTS: String(CLIENTS),
  EVENTS: String(EVENTS),
});
const djs = new Child('proxy-djs-ws-child.js', {
  SIM_REST: sim.restUrl,
  SIM_TOKEN: sim.token,
  EVENTS: String(EVENTS),
});
await clients.line(); // ready
await djs.line(); // ready
await sleep(300); // the guild burst is past
before = await proxyCpu();
await emit(EVENTS);
await clients.line(); // done
const withClients = (await proxyCpu()) - before;
const djsResult = JSON.parse(await djs.line()) as { cpu: number; events: number };
const perClient = (withClients - base) / (EVENTS * CLIENTS);
const djsPerEvent = djsResult.cpu / djsResult.events;
console.log(
  `proxy CPU per event per client (json + zlib-stream, ${CLIENTS} clients, ${EVENTS} events): ${perClient.toFixed(2)} µs (proxy process: ${(base / EVENTS).toFixed(2)} µs/event with no client, ${(withClients / EVENTS).toFixed(2)} with ${CLIENTS})`,
);
console.log(
  `one @discordjs/ws client (json + zlib-stream, node:zlib) receiving the same events directly: ${djsPerEvent.toFixed(2)} µs/event → proxy per client / @discordjs/ws = ${(perClient / djsPerEvent).toFixed(2)}×`,
);
console.log(`load average at end (1, 5, 15 min): ${load()}`);
clients.kill();
djs.kill();
proxyChild.kill();
simChild.kill();
