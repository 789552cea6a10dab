/**
 * Child of the `proxy.ts` bench: the gateway proxy in a process of its own, so the CPU it reports is the
 * proxy's alone. Upstream: the simulator at SIM_REST (etf + zlib-stream, as `shardline proxy` defaults).
 * Prints one JSON line with its `gatewayUrl` once the upstream is ready; each stdin line `cpu` prints
 * `{"cpu": µs}` (user + system since start).
 *
 * `probe-start` / `probe-stop` measure, besides this process's event loop delay and GC pauses
 * (`proxy-probe.ts`), the proxy's own residence time per bench event: from the moment the TCP chunk that
 * carried it reached the upstream socket ('data', before `ws` parses it) to the return of the client
 * socket's `send` with it. Measurement only: `ws`'s `emit` and `send` are wrapped here, nothing in the proxy.
 */
import { Socket } from 'node:net';
import { createInterface } from 'node:readline';
import WebSocket from 'ws';
import { GatewayProxy } from '../src/proxy/index.js';
import { Probe } from './proxy-probe.js';

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

// ── residence time: chunk arrival upstream → client send returned ──
const MAX_ID = 1 << 22;
const arrivedAt = new Float64Array(MAX_ID);
const residence: number[] = [];
let measuring = false;
let inMessage: number | undefined;
type AnyWs = WebSocket & { _isServer: boolean };
const proto = WebSocket.prototype as unknown as {
  send(this: AnyWs, data: unknown, ...rest: unknown[]): void;
};
// Every socket read is stamped as it is emitted: the upstream shard's frame reader (src/transport/ws-reader.ts)
// consumes its socket's 'data' directly, and its dispatches run synchronously inside that emit, so the stamp
// of the read being emitted is the arrival of the chunk that carried the event.
const socketEmit = Socket.prototype.emit as (
  this: Socket,
  event: string | symbol,
  ...args: unknown[]
) => boolean;
Socket.prototype.emit = function (this: Socket, event: string | symbol, ...args: unknown[]): boolean {
  if (event !== 'data') return socketEmit.call(this, event, ...args);
  const outer = inMessage;
  inMessage = performance.now();
  try {
    return socketEmit.call(this, event, ...args);
  } finally {
    inMessage = outer;
  }
};
const idOf = (text: string): number => {
  const i = text.indexOf('"content":"bench ');
  if (i < 0) return -1;
  let id = 0;
  for (let j = i + 17; ; j++) {
    const c = text.charCodeAt(j) - 48;
    if (c < 0 || c > 9) return id;
    id = id * 10 + c;
  }
};
proxy.manager!.prependListener('dispatch', (payload) => {
  if (!measuring || payload.t !== 'MESSAGE_CREATE' || inMessage === undefined) return;
  const content = (payload.d as { content?: unknown }).content;
  if (typeof content !== 'string' || !content.startsWith('bench ')) return;
  const id = Number.parseInt(content.slice(6), 10);
  if (id > 0 && id < MAX_ID) arrivedAt[id] = inMessage;
});
const send = proto.send;
proto.send = function (this: AnyWs, data: unknown, ...rest: unknown[]): void {
  send.call(this, data, ...rest);
  if (!measuring || !this._isServer || typeof data !== 'string') return;
  const id = idOf(data);
  if (id > 0 && id < MAX_ID && arrivedAt[id]! > 0) {
    residence.push(performance.now() - arrivedAt[id]!);
    arrivedAt[id] = 0;
  }
};

const probe = new Probe();
await proxy.start();
process.stdout.write(`${JSON.stringify({ gatewayUrl: proxy.gatewayUrl })}\n`);
for await (const line of createInterface({ input: process.stdin })) {
  if (line === 'cpu') {
    const { user, system } = process.cpuUsage();
    process.stdout.write(`${JSON.stringify({ cpu: user + system })}\n`);
  } else if (line === 'probe-start') {
    residence.length = 0;
    measuring = true;
    probe.start();
    process.stdout.write('ok\n');
  } else if (line === 'probe-stop') {
    measuring = false;
    const sorted = residence.sort((a, b) => a - b);
    const pct = (p: number) => sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))] ?? 0;
    process.stdout.write(
      `${JSON.stringify({
        ...probe.stop(),
        residenceCount: sorted.length,
        residenceP50: pct(0.5),
        residenceP99: pct(0.99),
        residenceMax: sorted.at(-1) ?? 0,
      })}\n`,
    );
  }
}
await proxy.destroy();
