/**
 * Child of the `proxy.ts` bench: the gateway proxy in a process of its own, so the CPU it reports is the
 * proxy's alone. Upstream: the simulator at SIM_REST (etf + zlib-stream, as `shardline proxy` defaults).
 * Prints one JSON line with its `gatewayUrl` once the upstream is ready; each stdin line `cpu` prints
 * `{"cpu": µs}` (user + system since start).
 */
import { createInterface } from 'node:readline';
import { GatewayProxy } from '../src/proxy/index.js';

const proxy = new GatewayProxy({
  token: process.env.SIM_TOKEN!,
  intents: 1 | 512 | 32768,
  clientTokens: [process.env.PROXY_TOKEN!],
  api: process.env.SIM_REST!,
  encoding: 'etf',
  compression: 'zlib-stream',
  upstream: { identifyWindowMs: 50 },
  replayEvents: 1_000,
});
await proxy.start();
process.stdout.write(`${JSON.stringify({ gatewayUrl: proxy.gatewayUrl })}\n`);
for await (const line of createInterface({ input: process.stdin })) {
  if (line === 'cpu') {
    const { user, system } = process.cpuUsage();
    process.stdout.write(`${JSON.stringify({ cpu: user + system })}\n`);
  }
}
await proxy.destroy();
