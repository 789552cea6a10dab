/**
 * Child of the `proxy.ts` bench: one unmodified `@discordjs/ws` client (json + zlib-stream through
 * node:zlib, `CompressionMethod.ZlibNative`) straight on the simulator, receiving the same events the proxy's
 * clients get. Prints `ready`, then `{"cpu": µs, "events": n}` once it got EVENTS MESSAGE_CREATEs: this
 * process's CPU from `ready` to the last of them (what one bot process spends receiving them).
 */
import { REST } from '@discordjs/rest';
import { CompressionMethod, WebSocketManager, WebSocketShardEvents } from '@discordjs/ws';

const events = Number(process.env.EVENTS);
const rest = new REST({ api: process.env.SIM_REST! }).setToken(process.env.SIM_TOKEN!);
const manager = new WebSocketManager({
  token: process.env.SIM_TOKEN!,
  intents: 1 | 512 | 32768,
  rest,
  compression: CompressionMethod.ZlibNative,
});
let start: NodeJS.CpuUsage | undefined;
let received = 0;
manager.on(WebSocketShardEvents.Dispatch, (payload) => {
  if (payload.t !== 'MESSAGE_CREATE' || start === undefined) return;
  if (++received === events) {
    const used = process.cpuUsage(start);
    process.stdout.write(`${JSON.stringify({ cpu: used.user + used.system, events: received })}\n`);
    void Promise.resolve(manager.destroy()).then(() => process.exit(0));
  }
});
manager.on(WebSocketShardEvents.Ready, () => {
  start = process.cpuUsage();
  process.stdout.write('ready\n');
});
await manager.connect();
