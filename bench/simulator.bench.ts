/**
 * Gateway simulator capacity, measured over real sockets with the clients in a child process:
 * 1. idle identified connections held with heartbeats, and the server's RSS per connection;
 * 2. aggregate dispatch throughput out (frames/s), uncompressed and zlib-stream, from a pool of pre-encoded
 *    random events routed by guild across the shards.
 * Flags: --connections N (default 2500), --shards N (throughput connections, default 16),
 *        --seconds S (throughput run, default 5). Shared 2-core machine: figures are noisy.
 */
import { type ChildProcess, fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { startSimulator } from '../src/simulator/index.js';
import { ALL_INTENTS } from '../src/util/intents.js';
import { benchFlag } from './harness.js';

const child = fileURLToPath(new URL('./sim-clients.js', import.meta.url));

function ask<T>(p: ChildProcess, msg: object): Promise<T> {
  return new Promise((resolve) => {
    p.once('message', (m) => resolve(m as T));
    p.send(msg);
  });
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const mib = (b: number) => (b / 1024 / 1024).toFixed(1);

async function idle(connections: number): Promise<void> {
  const heartbeatMs = 2000;
  const sim = await startSimulator({
    guilds: connections,
    membersPerGuild: 2,
    maxConcurrency: 1024,
    identifyWindowMs: 0,
    sessionStartTotal: 1_000_000,
    heartbeatIntervalMs: heartbeatMs,
    heartbeatGraceMs: 10_000,
  });
  globalThis.gc?.();
  const rssBefore = process.memoryUsage().rss;
  const clients = fork(child, [], { stdio: 'inherit' });
  const started = performance.now();
  const { ready } = await ask<{ ready: number }>(clients, {
    cmd: 'open',
    url: sim.gatewayUrl,
    token: sim.tokens[0],
    count: connections,
    compress: 'none',
    heartbeatMs,
    intents: 513,
  });
  const openMs = performance.now() - started;
  await sleep(3 * heartbeatMs);
  globalThis.gc?.();
  const rssAfter = process.memoryUsage().rss;
  const s = sim.stats();
  console.log('\n### idle connections with heartbeats');
  console.log(
    '| connections asked | open (server) | identified sessions | heartbeats acked | closes | open time | RSS before | RSS after | RSS / connection |',
  );
  console.log('|---|---|---|---|---|---|---|---|---|');
  console.log(
    `| ${connections} | ${s.connectionsOpen} | ${s.identifies} | ${s.heartbeatAcks} | ${JSON.stringify(s.closesByCode)} | ${(openMs / 1000).toFixed(1)} s | ${mib(rssBefore)} MiB | ${mib(rssAfter)} MiB | ${((rssAfter - rssBefore) / Math.max(1, ready) / 1024).toFixed(1)} KiB |`,
  );
  clients.kill();
  await sim.close();
}

async function throughput(
  compress: 'none' | 'zlib-stream',
  shards: number,
  seconds: number,
): Promise<string> {
  const sim = await startSimulator({
    guilds: 1000,
    membersPerGuild: 5,
    maxConcurrency: 1024,
    identifyWindowMs: 0,
    heartbeatIntervalMs: 5000,
    heartbeatGraceMs: 60_000,
  });
  const clients = fork(child, [], { stdio: 'inherit' });
  await ask(clients, {
    cmd: 'open',
    url: sim.gatewayUrl,
    token: sim.tokens[0],
    count: shards,
    compress,
    heartbeatMs: 5000,
    intents: ALL_INTENTS,
  });
  await sleep(500);
  const base = (await ask<{ received: number }>(clients, { cmd: 'count' })).received;
  const sentBase = sim.stats().dispatchesSent;
  sim.emitRandomEvents(10_000, { pool: 4096 }); // warm the pool (encoding cache)
  const start = performance.now();
  const end = start + seconds * 1000;
  const maxBuffered = 4 * 1024 * 1024;
  while (performance.now() < end) {
    if (sim.stats().outboundBufferedBytes > maxBuffered) {
      await new Promise((r) => setImmediate(r));
      continue;
    }
    sim.emitRandomEvents(2000, { pool: 4096 });
    await new Promise((r) => setImmediate(r));
  }
  const sent = sim.stats().dispatchesSent - sentBase;
  let received = 0;
  for (;;) {
    received = (await ask<{ received: number }>(clients, { cmd: 'count' })).received - base;
    if (received >= sent || performance.now() - end > 30_000) break;
    await sleep(20);
  }
  const elapsed = (performance.now() - start) / 1000;
  clients.kill();
  await sim.close();
  return `| ${compress} | ${shards} | ${sent} | ${received} | ${elapsed.toFixed(2)} s | ${Math.round(received / elapsed).toLocaleString('en-US')} |`;
}

const connections = Number(benchFlag('connections') ?? 2500);
const shards = Number(benchFlag('shards') ?? 16);
const seconds = Number(benchFlag('seconds') ?? 5);
await idle(connections);
console.log(
  '\n### dispatch throughput out (json, pre-encoded pool of 4096 random events, clients count frames)',
);
console.log('| compression | connections | frames sent | frames received | elapsed | events/s |');
console.log('|---|---|---|---|---|---|');
console.log(await throughput('none', shards, seconds));
console.log(await throughput('zlib-stream', shards, seconds));
console.log('\n(shared 2-core machine; clients run in a child process on the same cores)');
process.exit(0);
