/**
 * Event stream layout (see docs/redis.md): dispatches go to `partitions` streams, `<prefix>events:<p>` with
 * `p = shard_id % partitions` (default 1 partition = one stream). A shard always lands in the same stream,
 * so its events stay in order; consumers read every partition in one XREADGROUP call.
 */
export const DEFAULT_PARTITIONS = 1;
/** Approximate cap of each event stream (`XADD … MAXLEN ~`). */
export const DEFAULT_STREAM_MAX_LEN = 100_000;

export function eventStreamKey(prefix: string, partition: number): string {
  return `${prefix}events:${partition}`;
}

/** Per-partition hash of the last published `(session, seq)` and the highest fencing token per shard. */
export function lastPublishedKey(prefix: string, partition: number): string {
  return `${prefix}events:${partition}:last`;
}

export function deadLetterKey(prefix: string): string {
  return `${prefix}events:dead`;
}

export function eventStreamKeys(prefix: string, partitions: number): string[] {
  return Array.from({ length: partitions }, (_, p) => eventStreamKey(prefix, p));
}

/** JSON with BigInt values written as decimal strings (snowflakes decoded as `bigint`). */
export function encodeData(value: unknown): string {
  try {
    return JSON.stringify(value) ?? 'null';
  } catch {
    // BigInt values (snowflakes decoded as bigint): the replacer path is slower, so only on demand
    return JSON.stringify(value, (_key, v: unknown) => (typeof v === 'bigint' ? v.toString() : v)) ?? 'null';
  }
}
