/**
 * A `threads.handler` module for test/integration/manager-threads.test.ts: counts, in shared memory, how
 * often each (shard, sequence) was handled inside the shard threads, so the test can check exactly-once.
 * `handlerData` is a SharedArrayBuffer laid out as `HANDLER_COUNTS`.
 */
import type { GatewayDispatchPayload } from 'discord-api-types/v10';

export const HANDLER_COUNTS = { maxSeq: 8192, shards: 4 } as const;

let counts: Uint8Array | undefined;

export function setup(shared: SharedArrayBuffer): void {
  counts = new Uint8Array(shared);
}

export default function onDispatch(payload: GatewayDispatchPayload, shardId: number): void {
  const s = payload.s;
  if (!counts || typeof s !== 'number' || s >= HANDLER_COUNTS.maxSeq) return;
  Atomics.add(counts, shardId * HANDLER_COUNTS.maxSeq + s, 1);
}
