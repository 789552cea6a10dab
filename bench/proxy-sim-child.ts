/**
 * Child of the `proxy.ts` bench: the simulator in a process of its own. Prints one JSON line with its
 * `gatewayUrl`, `restUrl` and `token`; then each stdin line `emit COUNT RATE TICK_MS` emits COUNT
 * MESSAGE_CREATEs in one guild at RATE per second, RATE × TICK_MS / 1000 per timer tick (each tick's events
 * leave in one write: the simulator corks per tick), and prints `emitted`. Each event's content is
 * `bench <id> <wall-clock µs at emission>`, so a receiver can tell its delay since emission. `probe-start`
 * / `probe-stop` measure this process's event loop delay and GC pauses (`proxy-probe.ts`).
 */
import { createInterface } from 'node:readline';
import { startSimulator } from '../src/simulator/index.js';
import { Probe, wallMicros } from './proxy-probe.js';

const sim = await startSimulator({ guilds: 4, shards: 1, heartbeatIntervalMs: 30_000, identifyWindowMs: 50 });
const guildId = sim.world.guilds[0]!.id;
let nextId = 1;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const probe = new Probe();

async function emit(count: number, rate: number, tickMs: number): Promise<void> {
  const perTick = Math.max(1, Math.round((rate * tickMs) / 1000));
  const started = performance.now();
  for (let sent = 0; sent < count; ) {
    const n = Math.min(perTick, count - sent);
    for (let i = 0; i < n; i++) {
      const id = String(nextId++);
      sim.emitEvent('MESSAGE_CREATE', {
        id,
        guild_id: guildId,
        channel_id: '1',
        content: `bench ${id} ${wallMicros()}`,
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
  const [word, count, rate, tick] = line.split(' ');
  if (word === 'emit') {
    await emit(Number(count), Number(rate), Number(tick ?? 10));
    process.stdout.write('emitted\n');
  } else if (word === 'probe-start') {
    probe.start();
    process.stdout.write('ok\n');
  } else if (word === 'probe-stop') process.stdout.write(`${JSON.stringify(probe.stop())}\n`);
}
await sim.close();
