/**
 * The gateway proxy's cache: guilds and what they hold, and the bot user, kept current from the
 * upstream shards' dispatches so a connecting client gets a READY and one GUILD_CREATE per guild
 * rebuilt from it. Pure: no I/O, no timers. Every dispatch is hostile until checked; `apply` never
 * throws and counts what it could not use.
 */
import type {
  APIGuildMember,
  APIUnavailableGuild,
  APIUser,
  GatewayDispatchPayload,
  GatewayGuildCreateDispatchData,
  GatewayPresenceUpdate,
  GatewayReadyDispatchData,
} from 'discord-api-types/v10';
import { isObject, snowflakeOf } from './guards.js';
import type { GuildEntry } from './guild-entry.js';
import { DISPATCH_HANDLERS } from './handlers/index.js';
import {
  type GatewayCacheOptions,
  type ResolvedGatewayCacheOptions,
  resolveGatewayCacheOptions,
} from './options.js';
import { type MemberQuery, queryMembers } from './query-members.js';
import { rebuildGuildCreate } from './rebuild.js';
import { GATEWAY_CACHE_SNAPSHOT_VERSION, type GatewayCacheSnapshot } from './snapshot.js';
import type { CacheState } from './state.js';
import { countGuilds, type GatewayCacheStats } from './stats.js';

export class GatewayCache {
  readonly options: ResolvedGatewayCacheOptions;
  readonly #state: CacheState;
  #applied = 0;
  #ignored = 0;
  #malformed = 0;

  constructor(options: GatewayCacheOptions = {}) {
    this.options = resolveGatewayCacheOptions(options);
    this.#state = {
      options: this.options,
      guilds: new Map(),
      shards: new Map(),
      user: undefined,
      application: undefined,
    };
  }

  /**
   * Updates the cache from one dispatch received on `shardId`. Takes ownership of `payload.d` (stored
   * objects may be the very objects passed in; the caller must not change them afterwards).
   */
  apply(payload: GatewayDispatchPayload, shardId: number): void {
    const p: unknown = payload;
    const t = isObject(p) ? p.t : undefined;
    const handler = typeof t === 'string' ? DISPATCH_HANDLERS.get(t) : undefined;
    if (handler === undefined) {
      this.#ignored++;
      return;
    }
    if (!Number.isSafeInteger(shardId) || shardId < 0) {
      this.#malformed++;
      this.#ignored++;
      return;
    }
    let ok: boolean;
    try {
      ok = handler(this.#state, (p as { d: unknown }).d, shardId);
    } catch {
      // Defensive: a value shaped in a way no check foresaw must not take the proxy down.
      ok = false;
    }
    if (ok) this.#applied++;
    else {
      this.#malformed++;
      this.#ignored++;
    }
  }

  /** The bot user from the last READY, merged with USER_UPDATE. */
  user(): APIUser | undefined {
    return this.#state.user as APIUser | undefined;
  }

  /** The `application` object (`id`, `flags`) of the last READY. */
  application(): GatewayReadyDispatchData['application'] | undefined {
    return this.#state.application as GatewayReadyDispatchData['application'] | undefined;
  }

  /** Ids of every guild of the shard, available or not. */
  shardGuildIds(shardId: number): string[] {
    return [...(this.#state.shards.get(shardId) ?? [])];
  }

  /** The `guilds` field of a READY for the shard: every guild as `{ id, unavailable: true }`. */
  readyGuilds(shardId: number): APIUnavailableGuild[] {
    return this.shardGuildIds(shardId).map((id) => ({ id, unavailable: true }));
  }

  /** Ids of every cached guild, available or not. */
  guildIds(): string[] {
    return [...this.#state.guilds.keys()];
  }

  /** Shard of a cached guild. */
  guildShard(guildId: string): number | undefined {
    return this.#entry(guildId)?.shardId;
  }

  /**
   * A full GUILD_CREATE payload rebuilt from the cache; undefined for an unknown or unavailable guild.
   * The lists are fresh, their items are the cache's own objects: serialize them, never change them.
   */
  guildCreate(guildId: string): GatewayGuildCreateDispatchData | undefined {
    const entry = this.#entry(guildId);
    return entry === undefined ? undefined : rebuildGuildCreate(entry);
  }

  /** `{ id, unavailable: true }` when the guild is known but unavailable; otherwise undefined. */
  unavailableGuild(guildId: string): APIUnavailableGuild | undefined {
    const entry = this.#entry(guildId);
    return entry !== undefined && !entry.available ? { id: entry.id, unavailable: true } : undefined;
  }

  /** Cached members of a guild (empty for an unknown guild). */
  members(guildId: string): APIGuildMember[] {
    return [...(this.#entry(guildId)?.members.values() ?? [])] as unknown as APIGuildMember[];
  }

  member(guildId: string, userId: string): APIGuildMember | undefined {
    return this.#entry(guildId)?.members.get(userId) as unknown as APIGuildMember | undefined;
  }

  /** True when the cache holds all `member_count` members of an available guild (op 8 can be answered here). */
  membersComplete(guildId: string): boolean {
    const entry = this.#entry(guildId);
    if (entry === undefined || !entry.available || !this.options.members) return false;
    return entry.members.size >= entry.memberCount;
  }

  /** Op 8 answered from the cached members (see `queryMembers`). */
  queryMembers(guildId: string, query: MemberQuery): APIGuildMember[] {
    const entry = this.#entry(guildId);
    return entry === undefined ? [] : queryMembers(entry.members, query);
  }

  /** Cached (non-offline) presences of a guild. */
  presences(guildId: string): GatewayPresenceUpdate[] {
    return [...(this.#entry(guildId)?.presences.values() ?? [])] as unknown as GatewayPresenceUpdate[];
  }

  presence(guildId: string, userId: string): GatewayPresenceUpdate | undefined {
    return this.#entry(guildId)?.presences.get(userId) as unknown as GatewayPresenceUpdate | undefined;
  }

  /** Forgets every guild of a shard (e.g. after resharding dropped it). */
  clearShard(shardId: number): void {
    for (const id of this.#state.shards.get(shardId) ?? []) this.#state.guilds.delete(id);
    this.#state.shards.delete(shardId);
  }

  /** Forgets everything, counters included. */
  clear(): void {
    this.#state.guilds.clear();
    this.#state.shards.clear();
    this.#state.user = undefined;
    this.#state.application = undefined;
    this.#applied = 0;
    this.#ignored = 0;
    this.#malformed = 0;
  }

  /** A plain-JSON image of everything cached (see `GatewayCacheSnapshot`). */
  snapshot(): GatewayCacheSnapshot {
    const shards = [...this.#state.shards].map(([shardId, ids]) => ({
      shardId,
      guilds: [...ids].map((id) => {
        const entry = this.#state.guilds.get(id);
        return (entry && rebuildGuildCreate(entry)) ?? { id, unavailable: true as const };
      }),
    }));
    return {
      version: GATEWAY_CACHE_SNAPSHOT_VERSION,
      user: (this.#state.user ?? null) as APIUser | null,
      application: (this.#state.application ?? null) as GatewayReadyDispatchData['application'] | null,
      shards,
    };
  }

  /**
   * Replaces the cache with a snapshot, checked like live dispatches (a snapshot from storage is as
   * hostile as one from the gateway). Returns false, with the cache left empty, when `snapshot` is not
   * a snapshot of this version; unusable entries inside are skipped and counted as malformed.
   */
  restore(snapshot: unknown): boolean {
    this.clear();
    if (!isObject(snapshot) || snapshot.version !== GATEWAY_CACHE_SNAPSHOT_VERSION) return false;
    if (!Array.isArray(snapshot.shards)) return false;
    const dispatch = (t: string, d: unknown, shardId: number) =>
      this.apply({ op: 0, s: 0, t, d } as unknown as GatewayDispatchPayload, shardId);
    for (const shard of snapshot.shards) {
      const shardId = isObject(shard) ? shard.shardId : undefined;
      if (typeof shardId !== 'number' || !isObject(shard) || !Array.isArray(shard.guilds)) {
        this.#malformed++;
        this.#ignored++;
        continue;
      }
      if (isObject(snapshot.user)) {
        const guilds = shard.guilds.map((g) => ({ id: isObject(g) ? g.id : undefined, unavailable: true }));
        dispatch('READY', { user: snapshot.user, application: snapshot.application, guilds }, shardId);
      }
      for (const guild of shard.guilds) dispatch('GUILD_CREATE', guild, shardId);
    }
    return true;
  }

  stats(): GatewayCacheStats {
    return {
      ...countGuilds(this.#state.guilds.values()),
      applied: this.#applied,
      ignored: this.#ignored,
      malformed: this.#malformed,
    };
  }

  #entry(guildId: string): GuildEntry | undefined {
    const id = snowflakeOf(guildId);
    return id === undefined ? undefined : this.#state.guilds.get(id);
  }
}
