/** Guild → shard routing, the one definition shared by the manager and the Redis command client. */
import { ConfigError } from '../errors.js';

/** A snowflake is an unsigned 64-bit integer, written in decimal. */
const SNOWFLAKE_RE = /^\d{1,20}$/;
const SNOWFLAKE_LIMIT = 1n << 64n;

/**
 * The shard that receives `guildId`'s events: `(guild_id >> 22) % shardCount`, BigInt-exact. Strict:
 * `guildId` is a decimal snowflake string (no sign, spaces or `0x`) or a bigint in [0, 2^64); anything
 * else, and a `shardCount` that is not an integer ≥ 1, throws a `ConfigError`.
 */
export function shardForGuild(guildId: string | bigint, shardCount: number): number {
  if (typeof shardCount !== 'number' || !Number.isInteger(shardCount) || shardCount < 1) {
    throw new ConfigError('shardCount', `expected an integer ≥ 1, got ${String(shardCount)}`);
  }
  let id: bigint;
  if (typeof guildId === 'bigint') id = guildId;
  else if (typeof guildId === 'string' && SNOWFLAKE_RE.test(guildId)) id = BigInt(guildId);
  else {
    throw new ConfigError(
      'guildId',
      `expected a decimal snowflake string or a bigint, got ${typeof guildId === 'string' ? JSON.stringify(guildId) : typeof guildId}`,
    );
  }
  if (id < 0n || id >= SNOWFLAKE_LIMIT) {
    throw new ConfigError('guildId', `expected a snowflake in [0, 2^64), got ${String(guildId)}`);
  }
  return Number((id >> 22n) % BigInt(shardCount));
}
