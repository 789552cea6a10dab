/**
 * Child of the `proxy.ts` bench: the simulator in a process of its own. Prints one JSON line with its
 * `gatewayUrl`, `restUrl` and `token`; then each stdin line `emit COUNT RATE` emits COUNT MESSAGE_CREATEs in
 * one guild at RATE per second (10 ms batches) and prints `emitted`.
 */
import { createInterface } from 'node:readline';
import { startSimulator } from '../src/simulator/index.js';

const sim = await startSimulator({ guilds: 4, shards: 1, heartbeatIntervalMs: 30_000, identifyWindowMs: 50 });
const guildId = sim.world.guilds[0]!.id;
let nextId = 1;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function emit(count: number, rate: number): Promise<void> {
  const perTick = Math.max(1, Math.round(rate / 100));
  const started = performance.now();
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
    // Paced against the start, so a late timer does not lower the rate.
    await sleep(Math.max(0, started + (sent / rate) * 1000 - performance.now()));
  }
}

process.stdout.write(
  `${JSON.stringify({ gatewayUrl: sim.gatewayUrl, restUrl: sim.restUrl, token: sim.tokens[0] })}\n`,
);
for await (const line of createInterface({ input: process.stdin })) {
  const [word, count, rate] = line.split(' ');
  if (word === 'emit') {
    await emit(Number(count), Number(rate));
    process.stdout.write('emitted\n');
  }
}
await sim.close();
