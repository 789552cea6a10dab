/** The mutable state behind `GatewayCache`, shared by the dispatch handlers. */

import type { Json } from './guards.js';
import type { GuildEntry } from './guild-entry.js';
import type { ResolvedGatewayCacheOptions } from './options.js';

export interface CacheState {
  readonly options: ResolvedGatewayCacheOptions;
  readonly guilds: Map<string, GuildEntry>;
  /** Guild ids per shard, in the order READY and GUILD_CREATE brought them. */
  readonly shards: Map<number, Set<string>>;
  /** The bot user from READY, merged with USER_UPDATE. */
  user: Json | undefined;
  /** `{ id, flags }` from READY. */
  application: Json | undefined;
}
