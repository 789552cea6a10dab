/**
 * What the Redis upstream stores in Redis: the cache snapshot and the stream positions it corresponds to
 * (one value, so the pair is always consistent), the shard count and the shards that had reached READY.
 * Pure: encoding and the checks of a stored value, which is hostile until checked.
 */
import { isStreamId } from '../redis/event-cursor.js';

export const REDIS_PROXY_SNAPSHOT_VERSION = 1;

export interface RedisProxySnapshot {
  readonly version: typeof REDIS_PROXY_SNAPSHOT_VERSION;
  /** Last stream entry id applied to `cache`, per partition. */
  readonly positions: readonly string[];
  readonly shardCount: number;
  /** Shards whose READY the cache holds. */
  readonly ready: readonly number[];
  /** `GatewayCache.snapshot()`; checked by `GatewayCache.restore()`. */
  readonly cache: unknown;
}

export function encodeRedisProxySnapshot(snapshot: RedisProxySnapshot): string {
  return JSON.stringify(snapshot);
}

/** The snapshot, or a reason why the stored value cannot be used (the caller replays the whole stream). */
export function decodeRedisProxySnapshot(
  value: string,
  partitions: number,
): RedisProxySnapshot | { invalid: string } {
  let parsed: unknown;
  try {
    parsed = JSON.parse(value);
  } catch {
    return { invalid: 'not JSON' };
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed))
    return { invalid: 'not an object' };
  const s = parsed as Record<string, unknown>;
  if (s.version !== REDIS_PROXY_SNAPSHOT_VERSION) return { invalid: `version ${String(s.version)}` };
  const positions = s.positions;
  if (!Array.isArray(positions) || positions.length !== partitions || !positions.every(isStreamId))
    return { invalid: `positions are not ${partitions} stream ids` };
  const shardCount = s.shardCount;
  if (
    typeof shardCount !== 'number' ||
    !Number.isInteger(shardCount) ||
    shardCount < 1 ||
    shardCount > 100_000
  )
    return { invalid: 'shardCount is not an integer from 1 to 100000' };
  const ready = s.ready;
  if (
    !Array.isArray(ready) ||
    ready.length > shardCount ||
    !ready.every((id) => Number.isInteger(id) && (id as number) >= 0 && (id as number) < shardCount)
  )
    return { invalid: 'ready is not a list of shard ids' };
  if (typeof s.cache !== 'object' || s.cache === null) return { invalid: 'no cache' };
  return {
    version: REDIS_PROXY_SNAPSHOT_VERSION,
    positions: positions as string[],
    shardCount,
    ready: ready as number[],
    cache: s.cache,
  };
}
