/**
 * What the gateway server reads from the proxy's cache: the bot user and application for READY, the guilds
 * of a shard, rebuilt GUILD_CREATE payloads and member lookups for op 8. `GatewayCache` implements it.
 */
import type { GatewayDispatchPayload } from 'discord-api-types/v10';
import type { MemberQuery } from './cache/index.js';

export interface ProxyCacheView {
  apply(payload: GatewayDispatchPayload, shardId: number): void;
  /** The bot user of the upstream READY. */
  user(): unknown;
  /** The partial application (`{id, flags}`) of the upstream READY. */
  application(): unknown;
  /** READY's `guilds` for a shard: `{id, unavailable: true}` for each guild the shard holds. */
  readyGuilds(shardId: number): readonly unknown[];
  shardGuildIds(shardId: number): readonly string[];
  /** A GUILD_CREATE `d` rebuilt from the cache; undefined while the guild is unavailable or unknown. */
  guildCreate(guildId: string): unknown;
  /** Whether the cache holds every member of the guild (so op 8 can be answered without the upstream). */
  membersComplete(guildId: string): boolean;
  queryMembers(guildId: string, query: MemberQuery): readonly unknown[];
  presences(guildId: string): readonly unknown[];
}
