/**
 * Gateway proxy bench (not a `*.bench.js`: run it with `node dist/bench/proxy.js [--events N] [--rate N]
 * [--clients N]`). Both figures come from one process holding the simulator and the proxy:
 * - added latency: a client straight on the simulator and one through the proxy (json, no compression) get the
 *   same MESSAGE_CREATEs; per event, arrival through the proxy minus arrival direct, p50 and p99, at `--rate`.
 * - proxy CPU per event per client: `--clients` json + zlib-stream clients in a child process; this process's CPU
 *   for `--events` events with those clients minus the CPU for the same events with no client, divided by
 *   events × clients (the simulator's share is the same in both runs and cancels out).
 */
import { spawn } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { GatewayProxy } from '../src/proxy/index.js';
import { startSimulator } from '../src/simulator/index.js';
import { RawClient } from '../test/support/raw-client.js';
import { benchFlag } from './harness.js';

const EVENTS = Number(benchFlag('events') ?? 20_000);
const RATE = Number(benchFlag('rate') ?? 10_000);
const CLIENTS = Number(benchFlag('clients') ?? 4);
const TOKEN = 'bench-client';
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const sim = await startSimulator({ guilds: 4, shards: 1, heartbeatIntervalMs: 30_000, identifyWindowMs: 50 });
const proxy = new GatewayProxy({
  token: sim.tokens[0]!,
  intents: 1 | 512 | 32768,
  clientTokens: [TOKEN],
  api: sim.restUrl,
  encoding: 'etf',
  compression: 'zlib-stream',
  upstream: { identifyWindowMs: 50 },
  replayEvents: 1_000,
});
await proxy.start();
const guildId = sim.world.guilds[0]!.id;
let nextId = 1;

/** Emits `count` MESSAGE_CREATEs at `rate` per second, in 10 ms batches. */
async function emit(count: number, rate: number): Promise<void> {
  const perTick = Math.max(1, Math.round(rate / 100));
  for (let sent = 0; sent < count; ) {
    const n = Math.min(perTick, count - sent);
    for (let i = 0; i < n; i++) {
      const id = String(nextId++);
      sim.emitEvent('MESSAGE_CREATE', {
        id,
        guild_id: guildId,
        channel_id: '1',
        content: `bench ${id}`,
        author: { id: '2', username: 'b' },
      });
    }
    sent += n;
    await sleep(10);
  }
}

// ── added latency ──
await sleep(200); // past the simulator's identify window after the proxy's own identify
const direct = await RawClient.connect(sim.gatewayUrl, { heartbeatMs: 10_000 });
await direct.nextOp(10);
direct.identify(sim.tokens[0]!, { intents: 513 | 32768 });
await direct.nextOp(0, 'READY');
const proxied = await RawClient.connect(proxy.gatewayUrl, { heartbeatMs: 10_000 });
await proxied.nextOp(10);
proxied.identify(TOKEN, { shard: [0, 1], intents: 513 | 32768 });
await proxied.nextOp(0, 'READY');
const directAt = new Map<string, number>();
const delays: number[] = [];
direct.ws.on('message', (data: Buffer) => {
  const m = /"content":"bench (\d+)"/.exec(data.toString());
  if (m) directAt.set(m[1]!, performance.now());
});
const pending = new Map<string, number>();
proxied.ws.on('message', (data: Buffer) => {
  const m = /"content":"bench (\d+)"/.exec(data.toString());
  if (m) pending.set(m[1]!, performance.now());
});
const firstId = nextId;
await emit(EVENTS, RATE);
await sleep(500);
for (let id = firstId; id < nextId; id++) {
  const a = directAt.get(String(id));
  const b = pending.get(String(id));
  if (a !== undefined && b !== undefined) delays.push(b - a);
}
if (delays.length === 0) {
  console.error(
    `no event matched: direct got ${direct.received.length}, proxied ${proxied.received.length} payloads; last direct ${JSON.stringify(direct.received.at(-1))?.slice(0, 300)}`,
  );
  process.exit(1);
}
delays.sort((x, y) => x - y);
const pct = (p: number) => delays[Math.min(delays.length - 1, Math.floor(p * delays.length))]!;
console.log(
  `added latency through the proxy at ${RATE} events/s (${delays.length}/${EVENTS} events matched): p50 ${pct(0.5).toFixed(3)} ms, p99 ${pct(0.99).toFixed(3)} ms`,
);
await direct.close(1000);
await proxied.close(1000);

// ── proxy CPU per event per client ──
async function cpuFor(clients: number): Promise<number> {
  let child: ReturnType<typeof spawn> | undefined;
  if (clients > 0) {
    child = spawn(
      process.execPath,
      [join(dirname(fileURLToPath(import.meta.url)), 'proxy-clients-child.js')],
      {
        stdio: ['ignore', 'pipe', 'inherit'],
        env: {
          ...process.env,
          PROXY_URL: proxy.gatewayUrl,
          PROXY_TOKEN: TOKEN,
          CLIENTS: String(clients),
          EVENTS: String(EVENTS),
        },
      },
    );
    let out = '';
    const seen = (word: string) =>
      new Promise<void>((resolve) => {
        const check = () => out.includes(word) && resolve();
        child!.stdout!.on('data', (c: Buffer) => {
          out += c.toString();
          check();
        });
        check();
      });
    await seen('ready');
    const start = process.cpuUsage();
    const done = seen('done');
    await emit(EVENTS, RATE);
    await done;
    const used = process.cpuUsage(start);
    child.kill();
    return used.user + used.system;
  }
  const start = process.cpuUsage();
  await emit(EVENTS, RATE);
  await sleep(200);
  const used = process.cpuUsage(start);
  return used.user + used.system;
}
const base = await cpuFor(0);
const withClients = await cpuFor(CLIENTS);
console.log(
  `proxy CPU per event per client (json + zlib-stream, ${CLIENTS} clients, ${EVENTS} events): ${((withClients - base) / (EVENTS * CLIENTS)).toFixed(2)} µs (this process: ${(base / EVENTS).toFixed(2)} µs/event with no client, ${(withClients / EVENTS).toFixed(2)} with ${CLIENTS})`,
);
await proxy.destroy();
await sim.close();
