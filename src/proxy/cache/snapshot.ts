/**
 * A plain-JSON image of the cache, for a proxy that restarts (e.g. kept in Redis and replayed with
 * the stream after it). It is the READY and GUILD_CREATE data the cache would send, so restoring goes
 * through the same checked dispatch path as live data: a snapshot is as hostile as a dispatch.
 */
import type {
  APIUnavailableGuild,
  APIUser,
  GatewayGuildCreateDispatchData,
  GatewayReadyDispatchData,
} from 'discord-api-types/v10';

export const GATEWAY_CACHE_SNAPSHOT_VERSION = 1;

export interface GatewayCacheSnapshotShard {
  readonly shardId: number;
  /** Available guilds as rebuilt GUILD_CREATE data, unavailable ones as `{ id, unavailable: true }`. */
  readonly guilds: readonly (GatewayGuildCreateDispatchData | APIUnavailableGuild)[];
}

export interface GatewayCacheSnapshot {
  readonly version: typeof GATEWAY_CACHE_SNAPSHOT_VERSION;
  readonly user: APIUser | null;
  readonly application: GatewayReadyDispatchData['application'] | null;
  readonly shards: readonly GatewayCacheSnapshotShard[];
}
