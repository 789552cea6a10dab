/**
 * Gateway proxy bench (not a `*.bench.js`: run it with `node dist/bench/proxy.js [--events N] [--rate N]
 * [--clients N]`). Three processes, so each one's CPU is its own: the simulator (`proxy-sim-child`), the
 * proxy (`proxy-server-child`, upstream etf + zlib-stream) and this one, which drives them and holds the
 * latency clients.
 * - added latency: a raw client straight on the simulator and one through the proxy (both here, json, no
 *   compression) get the same MESSAGE_CREATEs at `--rate`; per event, arrival through the proxy minus arrival
 *   direct, p50 and p99.
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
import { RawClient } from '../test/support/raw-client.js';
import { benchFlag } from './harness.js';

const EVENTS = Number(benchFlag('events') ?? 20_000);
const RATE = Number(benchFlag('rate') ?? 10_000);
const CLIENTS = Number(benchFlag('clients') ?? 4);
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
  constructor(file: string, env: Record<string, string>) {
    this.process = spawn(process.execPath, [join(HERE, file)], {
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
const proxyChild = new Child('proxy-server-child.js', {
  SIM_REST: sim.restUrl,
  SIM_TOKEN: sim.token,
  PROXY_TOKEN: TOKEN,
});
const proxy = JSON.parse(await proxyChild.line()) as { gatewayUrl: string };
const proxyCpu = async () => {
  proxyChild.send('cpu');
  return (JSON.parse(await proxyChild.line()) as { cpu: number }).cpu;
};
const emit = async (count: number) => {
  simChild.send(`emit ${count} ${RATE}`);
  await simChild.line();
};

// ── added latency ──
await sleep(200); // past the simulator's identify window after the proxy's own identify
const direct = await RawClient.connect(sim.gatewayUrl, { heartbeatMs: 10_000 });
await direct.nextOp(10);
direct.identify(sim.token, { intents: 513 | 32768 });
await direct.nextOp(0, 'READY');
const proxied = await RawClient.connect(proxy.gatewayUrl, { heartbeatMs: 10_000 });
await proxied.nextOp(10);
proxied.identify(TOKEN, { shard: [0, 1], intents: 513 | 32768 });
await proxied.nextOp(0, 'READY');
const directAt = new Map<string, number>();
const proxiedAt = new Map<string, number>();
const stamp = (into: Map<string, number>) => (data: Buffer) => {
  const m = /"content":"bench (\d+)"/.exec(data.toString());
  if (m) into.set(m[1]!, performance.now());
};
direct.ws.on('message', stamp(directAt));
proxied.ws.on('message', stamp(proxiedAt));
await emit(EVENTS);
await sleep(500);
const delays: number[] = [];
for (const [id, a] of directAt) {
  const b = proxiedAt.get(id);
  if (b !== undefined) delays.push(b - a);
}
if (delays.length === 0) {
  console.error(`no event matched: direct got ${directAt.size}, proxied ${proxiedAt.size}`);
  process.exit(1);
}
delays.sort((x, y) => x - y);
const pct = (p: number) => delays[Math.min(delays.length - 1, Math.floor(p * delays.length))]!;
console.log(
  `added latency through the proxy at ${RATE} events/s (${delays.length}/${EVENTS} events matched): p50 ${pct(0.5).toFixed(3)} ms, p99 ${pct(0.99).toFixed(3)} ms`,
);
await direct.close(1000);
await proxied.close(1000);

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
