/**
 * Child of `proxy.ts` bench: opens `CLIENTS` raw gateway clients (json + zlib-stream) to the proxy at
 * `PROXY_URL`, identifies them on shard 0 and prints `ready`, then `done` once each got `EVENTS` MESSAGE_CREATEs.
 */
import { RawClient } from '../test/support/raw-client.js';

const url = process.env.PROXY_URL!;
const token = process.env.PROXY_TOKEN!;
const clients = Number(process.env.CLIENTS);
const events = Number(process.env.EVENTS);
const compress = process.env.COMPRESS ?? 'zlib-stream';

const counts: number[] = [];
const all: RawClient[] = [];
for (let i = 0; i < clients; i++) {
  const c = await RawClient.connect(url, { encoding: 'json', compress, heartbeatMs: 10_000 });
  await c.nextOp(10);
  c.identify(token, { shard: [0, 1], intents: 513 });
  await c.nextOp(0, 'READY');
  counts.push(0);
  const index = i;
  c.ws.on('message', () => {
    counts[index]!++;
  });
  all.push(c);
}
process.stdout.write('ready\n');
const timer = setInterval(() => {
  // Messages include the guild burst; the parent sends `EVENTS` after `ready`, so compare received payloads.
  const done = all.every((c) => c.received.filter((p) => p.t === 'MESSAGE_CREATE').length >= events);
  if (done) {
    clearInterval(timer);
    process.stdout.write('done\n');
    for (const c of all) void c.terminate();
  }
}, 20);
