/**
 * The user's handler of bench/e2e-client.ts in the manager's handler mode (`threads.handler`): runs inside
 * each shard thread and counts what the main-thread callback counts otherwise. Counters live in a
 * SharedArrayBuffer from `handlerData` (layout in E2E_SHARED); per-type counts are asked for over a
 * BroadcastChannel at the end of a run.
 */
import { BroadcastChannel } from 'node:worker_threads';
import type { GatewayDispatchPayload } from 'discord-api-types/v10';
import { E2E_SHARED } from './e2e-protocol.js';

let counters: Int32Array;
let times: Float64Array;
const byType = new Map<string, number>();

export function setup(shared: SharedArrayBuffer, threadIndex: number): void {
  counters = new Int32Array(shared, 0, E2E_SHARED.counters);
  times = new Float64Array(shared, E2E_SHARED.counters * 4, E2E_SHARED.times);
  const channel = new BroadcastChannel(E2E_SHARED.channel);
  channel.unref();
  channel.onmessage = (e) => {
    const m = (e as MessageEvent).data as { cmd: string };
    if (m.cmd === 'reset') byType.clear();
    if (m.cmd === 'count') channel.postMessage({ threadIndex, byType: Object.fromEntries(byType) });
  };
}

function mark(at: number): void {
  const cpu = process.cpuUsage();
  times[at] = performance.timeOrigin + performance.now();
  times[at + 1] = cpu.user;
  times[at + 2] = cpu.system;
}

export default function onDispatch(payload: GatewayDispatchPayload): void {
  const t = payload.t;
  if (t === 'READY') {
    Atomics.add(counters, E2E_SHARED.readies, 1);
    return;
  }
  if (t === 'GUILD_CREATE') {
    Atomics.add(counters, E2E_SHARED.guildCreates, 1);
    return;
  }
  byType.set(t, (byType.get(t) ?? 0) + 1);
  const received = Atomics.add(counters, E2E_SHARED.received, 1) + 1;
  if (received === Atomics.load(counters, E2E_SHARED.startAt)) mark(E2E_SHARED.t0);
  else if (received === Atomics.load(counters, E2E_SHARED.endAt)) mark(E2E_SHARED.t1);
}
