/** What the dispatch handlers share: guild lookup and attachment to shards, list filling, upserts. */
import { idField, isObject, type Json, merge, omit } from '../guards.js';
import { GUILD_LIST_FIELDS, GuildEntry } from '../guild-entry.js';
import type { CacheState } from '../state.js';

export type DispatchHandler = (state: CacheState, d: unknown, shardId: number) => boolean;

/** Fields of GUILD_CREATE that are not kept in a guild's `base`. */
export const BASE_EXCLUDED: readonly string[] = [...GUILD_LIST_FIELDS, 'unavailable'];

/** Guild of shard `shardId`, created (unavailable) when new; moved when it changed shards. */
export function attach(state: CacheState, guildId: string, shardId: number): GuildEntry {
  let entry = state.guilds.get(guildId);
  if (entry === undefined) {
    entry = new GuildEntry(guildId, shardId);
    state.guilds.set(guildId, entry);
  } else if (entry.shardId !== shardId) {
    state.shards.get(entry.shardId)?.delete(guildId);
    entry.shardId = shardId;
  }
  let set = state.shards.get(shardId);
  if (set === undefined) {
    set = new Set();
    state.shards.set(shardId, set);
  }
  set.add(guildId);
  return entry;
}

export function removeGuild(state: CacheState, guildId: string): void {
  const entry = state.guilds.get(guildId);
  if (entry === undefined) return;
  state.guilds.delete(guildId);
  state.shards.get(entry.shardId)?.delete(guildId);
}

/** The available guild named by `d.guild_id`, or undefined. */
export function guildOf(state: CacheState, d: unknown): GuildEntry | undefined {
  const id = idField(d, 'guild_id');
  if (id === undefined) return undefined;
  const entry = state.guilds.get(id);
  return entry?.available ? entry : undefined;
}

export function isBot(state: CacheState, userId: string): boolean {
  return state.user !== undefined && state.user.id === userId;
}

/** Fills `map` from a list of objects keyed by `key` (`user.id` style paths of one level allowed). */
export function fill(
  map: Map<string, Json>,
  list: unknown,
  key: string,
  accept?: (item: Json, id: string) => boolean,
): void {
  map.clear();
  if (!Array.isArray(list)) return;
  for (const item of list) {
    const id = keyOf(item, key);
    if (id === undefined || !isObject(item)) continue;
    if (accept !== undefined && !accept(item, id)) continue;
    map.set(id, item);
  }
}

function keyOf(item: unknown, key: string): string | undefined {
  if (key === 'user.id') return isObject(item) ? idField(item.user, 'id') : undefined;
  return idField(item, key);
}

export function isArchivedThread(thread: Json): boolean {
  return isObject(thread.thread_metadata) && thread.thread_metadata.archived === true;
}

export function voiceStateOf(d: Json): Json {
  return omit(d, ['member', 'guild_id']);
}

export function upsertMember(state: CacheState, entry: GuildEntry, member: unknown): boolean {
  const userId = isObject(member) ? idField(member.user, 'id') : undefined;
  if (userId === undefined || !isObject(member)) return false;
  const old = entry.members.get(userId);
  if (old === undefined && !state.options.members && !isBot(state, userId)) return true;
  const fresh = omit(member, ['guild_id']);
  entry.members.set(userId, old === undefined ? fresh : merge(old, fresh));
  return true;
}

export function upsertPresence(state: CacheState, entry: GuildEntry, presence: unknown): boolean {
  const userId = isObject(presence) ? idField(presence.user, 'id') : undefined;
  if (userId === undefined || !isObject(presence)) return false;
  if (!state.options.presences) return true;
  if (presence.status === 'offline' || presence.status === 'invisible') {
    entry.presences.delete(userId);
    return true;
  }
  const old = entry.presences.get(userId);
  if (old === undefined) entry.presences.set(userId, presence);
  else {
    const user =
      isObject(old.user) && isObject(presence.user) ? merge(old.user, presence.user) : presence.user;
    entry.presences.set(userId, { ...merge(old, presence), user });
  }
  return true;
}
