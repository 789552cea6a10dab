/**
 * One function per dispatch type the cache follows, with Discord's semantics: partial updates merge,
 * deletes remove, GUILD_DELETE with `unavailable` keeps the guild as unavailable. A handler returns
 * false when the payload is unusable (wrong types, missing ids, unknown guild); the cache counts it.
 */

import { idField, isObject, type Json, merge, omit, snowflakeOf } from './guards.js';
import { GUILD_LIST_FIELDS, GuildEntry } from './guild-entry.js';
import type { CacheState } from './state.js';

export type DispatchHandler = (state: CacheState, d: unknown, shardId: number) => boolean;

const BASE_EXCLUDED: readonly string[] = [...GUILD_LIST_FIELDS, 'unavailable'];

/** Guild of shard `shardId`, created (unavailable) when new; moved when it changed shards. */
function attach(state: CacheState, guildId: string, shardId: number): GuildEntry {
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

function removeGuild(state: CacheState, guildId: string): void {
  const entry = state.guilds.get(guildId);
  if (entry === undefined) return;
  state.guilds.delete(guildId);
  state.shards.get(entry.shardId)?.delete(guildId);
}

/** The available guild named by `d.guild_id`, or undefined. */
function guildOf(state: CacheState, d: unknown): GuildEntry | undefined {
  const id = idField(d, 'guild_id');
  if (id === undefined) return undefined;
  const entry = state.guilds.get(id);
  return entry?.available ? entry : undefined;
}

function isBot(state: CacheState, userId: string): boolean {
  return state.user !== undefined && state.user.id === userId;
}

/** Fills `map` from a list of objects keyed by `key` (`user.id` style paths of one level allowed). */
function fill(
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

function isArchivedThread(thread: Json): boolean {
  return isObject(thread.thread_metadata) && thread.thread_metadata.archived === true;
}

function voiceStateOf(d: Json): Json {
  return omit(d, ['member', 'guild_id']);
}

function upsertMember(state: CacheState, entry: GuildEntry, member: unknown): boolean {
  const userId = isObject(member) ? idField(member.user, 'id') : undefined;
  if (userId === undefined || !isObject(member)) return false;
  const old = entry.members.get(userId);
  if (old === undefined && !state.options.members && !isBot(state, userId)) return true;
  const fresh = omit(member, ['guild_id']);
  entry.members.set(userId, old === undefined ? fresh : merge(old, fresh));
  return true;
}

function upsertPresence(state: CacheState, entry: GuildEntry, presence: unknown): boolean {
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

function guildCreate(state: CacheState, d: unknown, shardId: number): boolean {
  const id = idField(d, 'id');
  if (id === undefined || !isObject(d)) return false;
  const entry = attach(state, id, shardId);
  entry.clear();
  if (d.unavailable === true) return true;
  const o = state.options;
  entry.base = omit(d, BASE_EXCLUDED);
  if (o.channels) fill(entry.channels, d.channels, 'id');
  if (o.threads) fill(entry.threads, d.threads, 'id', (t) => !isArchivedThread(t));
  if (o.roles) fill(entry.roles, d.roles, 'id');
  if (o.emojis) fill(entry.emojis, d.emojis, 'id');
  if (o.stickers) fill(entry.stickers, d.stickers, 'id');
  fill(entry.members, d.members, 'user.id', (_m, userId) => o.members || isBot(state, userId));
  if (o.presences)
    fill(entry.presences, d.presences, 'user.id', (p) => p.status !== 'offline' && p.status !== 'invisible');
  if (o.voiceStates) fill(entry.voiceStates, d.voice_states, 'user_id', (v) => v.channel_id != null);
  if (o.stageInstances) fill(entry.stageInstances, d.stage_instances, 'id');
  if (o.scheduledEvents) fill(entry.scheduledEvents, d.guild_scheduled_events, 'id');
  if (o.soundboardSounds) fill(entry.soundboardSounds, d.soundboard_sounds, 'sound_id');
  return true;
}

function ready(state: CacheState, d: unknown, shardId: number): boolean {
  if (!isObject(d) || idField(d.user, 'id') === undefined || !Array.isArray(d.guilds)) return false;
  state.user = d.user as Json;
  if (idField(d.application, 'id') !== undefined) state.application = d.application as Json;
  const listed = new Set<string>();
  for (const g of d.guilds) {
    const id = idField(g, 'id');
    if (id !== undefined) listed.add(id);
  }
  for (const id of [...(state.shards.get(shardId) ?? [])]) if (!listed.has(id)) removeGuild(state, id);
  // A new session: every guild is unavailable until its GUILD_CREATE arrives.
  for (const id of listed) attach(state, id, shardId).clear();
  return true;
}

function guildUpdate(state: CacheState, d: unknown): boolean {
  const id = idField(d, 'id');
  const entry = id === undefined ? undefined : state.guilds.get(id);
  if (entry?.base === undefined || !isObject(d)) return false;
  entry.base = merge(entry.base, omit(d, BASE_EXCLUDED));
  const o = state.options;
  if (o.roles && Array.isArray(d.roles)) fill(entry.roles, d.roles, 'id');
  if (o.emojis && Array.isArray(d.emojis)) fill(entry.emojis, d.emojis, 'id');
  if (o.stickers && Array.isArray(d.stickers)) fill(entry.stickers, d.stickers, 'id');
  return true;
}

function guildDelete(state: CacheState, d: unknown, shardId: number): boolean {
  const id = idField(d, 'id');
  if (id === undefined || !isObject(d)) return false;
  if (d.unavailable === true) attach(state, id, shardId).clear();
  else removeGuild(state, id);
  return true;
}

function channelUpsert(state: CacheState, d: unknown): boolean {
  const id = idField(d, 'id');
  if (id === undefined || !isObject(d)) return false;
  if (d.guild_id === undefined) return true; // a DM channel: not cached
  const entry = guildOf(state, d);
  if (entry === undefined) return false;
  if (!state.options.channels) return true;
  const old = entry.channels.get(id);
  entry.channels.set(id, old === undefined ? d : merge(old, d));
  return true;
}

function channelDelete(state: CacheState, d: unknown): boolean {
  const id = idField(d, 'id');
  if (id === undefined || !isObject(d)) return false;
  if (d.guild_id === undefined) return true;
  const entry = guildOf(state, d);
  if (entry === undefined) return false;
  entry.channels.delete(id);
  for (const [threadId, thread] of entry.threads) if (thread.parent_id === id) entry.threads.delete(threadId);
  return true;
}

function channelPinsUpdate(state: CacheState, d: unknown): boolean {
  const id = idField(d, 'channel_id');
  if (id === undefined || !isObject(d)) return false;
  if (d.guild_id === undefined) return true;
  const entry = guildOf(state, d);
  if (entry === undefined) return false;
  const old = entry.channels.get(id);
  if (old !== undefined && 'last_pin_timestamp' in d)
    entry.channels.set(id, { ...old, last_pin_timestamp: d.last_pin_timestamp });
  return true;
}

function threadUpsert(state: CacheState, d: unknown): boolean {
  const id = idField(d, 'id');
  const entry = guildOf(state, d);
  if (id === undefined || entry === undefined || !isObject(d)) return false;
  if (!state.options.threads) return true;
  if (isArchivedThread(d)) {
    entry.threads.delete(id);
    return true;
  }
  const old = entry.threads.get(id);
  const fresh = omit(d, ['newly_created']);
  entry.threads.set(id, old === undefined ? fresh : merge(old, fresh));
  return true;
}

function threadDelete(state: CacheState, d: unknown): boolean {
  const id = idField(d, 'id');
  const entry = guildOf(state, d);
  if (id === undefined || entry === undefined) return false;
  entry.threads.delete(id);
  return true;
}

function threadListSync(state: CacheState, d: unknown): boolean {
  const entry = guildOf(state, d);
  if (entry === undefined || !isObject(d) || !Array.isArray(d.threads)) return false;
  if (!state.options.threads) return true;
  let parents: Set<string> | undefined;
  if (Array.isArray(d.channel_ids)) {
    parents = new Set();
    for (const c of d.channel_ids) {
      const id = snowflakeOf(c);
      if (id !== undefined) parents.add(id);
    }
  }
  const synced = new Map<string, Json>();
  for (const t of d.threads) {
    const id = idField(t, 'id');
    if (id !== undefined && isObject(t) && !isArchivedThread(t)) synced.set(id, t);
  }
  for (const [id, thread] of entry.threads) {
    const parent = snowflakeOf(thread.parent_id);
    if (parents === undefined || (parent !== undefined && parents.has(parent)))
      if (!synced.has(id)) entry.threads.delete(id);
  }
  const members = new Map<string, Json>();
  if (Array.isArray(d.members))
    for (const m of d.members) {
      const id = idField(m, 'id');
      if (id !== undefined && isObject(m)) members.set(id, m);
    }
  for (const [id, thread] of synced) {
    const member = members.get(id);
    entry.threads.set(id, member === undefined ? thread : { ...thread, member });
  }
  return true;
}

function threadMemberUpdate(state: CacheState, d: unknown): boolean {
  const id = idField(d, 'id');
  const entry = guildOf(state, d);
  if (id === undefined || entry === undefined || !isObject(d)) return false;
  const thread = entry.threads.get(id);
  if (thread !== undefined) entry.threads.set(id, { ...thread, member: omit(d, ['guild_id']) });
  return true;
}

function threadMembersUpdate(state: CacheState, d: unknown): boolean {
  const id = idField(d, 'id');
  const entry = guildOf(state, d);
  if (id === undefined || entry === undefined || !isObject(d)) return false;
  let thread = entry.threads.get(id);
  if (thread === undefined) return true;
  thread = { ...thread };
  if (typeof d.member_count === 'number' && Number.isSafeInteger(d.member_count) && d.member_count >= 0)
    thread.member_count = d.member_count;
  const botId = snowflakeOf(state.user?.id);
  if (botId !== undefined) {
    if (Array.isArray(d.added_members))
      for (const m of d.added_members)
        if (isObject(m) && snowflakeOf(m.user_id) === botId)
          thread.member = omit(m, ['member', 'presence', 'guild_id']);
    if (Array.isArray(d.removed_member_ids) && d.removed_member_ids.some((u) => snowflakeOf(u) === botId))
      delete thread.member;
  }
  entry.threads.set(id, thread);
  return true;
}

function roleUpsert(state: CacheState, d: unknown): boolean {
  const entry = guildOf(state, d);
  const role = isObject(d) ? d.role : undefined;
  const id = idField(role, 'id');
  if (entry === undefined || id === undefined || !isObject(role)) return false;
  if (!state.options.roles) return true;
  const old = entry.roles.get(id);
  entry.roles.set(id, old === undefined ? role : merge(old, role));
  return true;
}

function roleDelete(state: CacheState, d: unknown): boolean {
  const entry = guildOf(state, d);
  const id = idField(d, 'role_id');
  if (entry === undefined || id === undefined) return false;
  entry.roles.delete(id);
  // Discord sends no member updates for a deleted role; a rebuilt GUILD_CREATE must not list it.
  for (const [userId, member] of entry.members) {
    if (Array.isArray(member.roles) && member.roles.includes(id))
      entry.members.set(userId, { ...member, roles: member.roles.filter((r) => r !== id) });
  }
  return true;
}

function emojisUpdate(state: CacheState, d: unknown): boolean {
  const entry = guildOf(state, d);
  if (entry === undefined || !isObject(d) || !Array.isArray(d.emojis)) return false;
  if (state.options.emojis) fill(entry.emojis, d.emojis, 'id');
  return true;
}

function stickersUpdate(state: CacheState, d: unknown): boolean {
  const entry = guildOf(state, d);
  if (entry === undefined || !isObject(d) || !Array.isArray(d.stickers)) return false;
  if (state.options.stickers) fill(entry.stickers, d.stickers, 'id');
  return true;
}

function addMemberCount(entry: GuildEntry, delta: number): void {
  if (entry.base !== undefined) entry.base.member_count = Math.max(0, entry.memberCount + delta);
}

function memberAdd(state: CacheState, d: unknown): boolean {
  const entry = guildOf(state, d);
  if (entry === undefined || !upsertMember(state, entry, d)) return false;
  addMemberCount(entry, 1);
  return true;
}

function memberUpdate(state: CacheState, d: unknown): boolean {
  const entry = guildOf(state, d);
  return entry !== undefined && upsertMember(state, entry, d);
}

function memberRemove(state: CacheState, d: unknown): boolean {
  const entry = guildOf(state, d);
  const userId = isObject(d) ? idField(d.user, 'id') : undefined;
  if (entry === undefined || userId === undefined) return false;
  entry.members.delete(userId);
  entry.presences.delete(userId);
  addMemberCount(entry, -1);
  return true;
}

function membersChunk(state: CacheState, d: unknown): boolean {
  const entry = guildOf(state, d);
  if (entry === undefined || !isObject(d) || !Array.isArray(d.members)) return false;
  for (const m of d.members) upsertMember(state, entry, m);
  if (Array.isArray(d.presences)) for (const p of d.presences) upsertPresence(state, entry, p);
  return true;
}

function presenceUpdate(state: CacheState, d: unknown): boolean {
  const entry = guildOf(state, d);
  if (entry === undefined || !upsertPresence(state, entry, d)) return false;
  // A presence may carry changed user fields (more than the id): keep the member's user current.
  const user = (d as Json).user as Json;
  const userId = user.id as string;
  const member = entry.members.get(userId);
  if (member !== undefined && Object.keys(user).length > 1 && isObject(member.user))
    entry.members.set(userId, { ...member, user: merge(member.user, user) });
  return true;
}

function voiceStateUpdate(state: CacheState, d: unknown): boolean {
  const userId = idField(d, 'user_id');
  if (userId === undefined || !isObject(d)) return false;
  if (d.guild_id === undefined) return true; // a DM call
  const entry = guildOf(state, d);
  if (entry === undefined) return false;
  if (isObject(d.member)) upsertMember(state, entry, d.member);
  if (!state.options.voiceStates) return true;
  if (d.channel_id == null) entry.voiceStates.delete(userId);
  else entry.voiceStates.set(userId, voiceStateOf(d));
  return true;
}

function userUpdate(state: CacheState, d: unknown): boolean {
  const id = idField(d, 'id');
  if (id === undefined || !isObject(d)) return false;
  if (state.user !== undefined && state.user.id === id) state.user = merge(state.user, d);
  return true;
}

/** Upsert/delete by `id` for a guild-scoped kind held in `pick(entry)`, switched by `enabled`. */
function keyed(
  pick: (entry: GuildEntry) => Map<string, Json>,
  enabled: (state: CacheState) => boolean,
  key = 'id',
): { upsert: DispatchHandler; remove: DispatchHandler } {
  return {
    upsert(state, d) {
      const id = idField(d, key);
      const entry = guildOf(state, d);
      if (id === undefined || entry === undefined || !isObject(d)) return false;
      if (!enabled(state)) return true;
      const map = pick(entry);
      const old = map.get(id);
      map.set(id, old === undefined ? d : merge(old, d));
      return true;
    },
    remove(state, d) {
      const id = idField(d, key);
      const entry = guildOf(state, d);
      if (id === undefined || entry === undefined) return false;
      pick(entry).delete(id);
      return true;
    },
  };
}

function scheduledEventUser(delta: number): DispatchHandler {
  return (state, d) => {
    const id = idField(d, 'guild_scheduled_event_id');
    const entry = guildOf(state, d);
    if (id === undefined || entry === undefined) return false;
    const event = entry.scheduledEvents.get(id);
    if (event !== undefined && typeof event.user_count === 'number')
      entry.scheduledEvents.set(id, { ...event, user_count: Math.max(0, event.user_count + delta) });
    return true;
  };
}

function soundsUpdate(state: CacheState, d: unknown): boolean {
  const entry = guildOf(state, d);
  if (entry === undefined || !isObject(d) || !Array.isArray(d.soundboard_sounds)) return false;
  if (state.options.soundboardSounds) fill(entry.soundboardSounds, d.soundboard_sounds, 'sound_id');
  return true;
}

const stage = keyed(
  (e) => e.stageInstances,
  (s) => s.options.stageInstances,
);
const scheduled = keyed(
  (e) => e.scheduledEvents,
  (s) => s.options.scheduledEvents,
);
const sounds = keyed(
  (e) => e.soundboardSounds,
  (s) => s.options.soundboardSounds,
  'sound_id',
);

/** Dispatch type → handler. A `Map`, so a hostile `t` such as `__proto__` finds nothing. */
export const DISPATCH_HANDLERS: ReadonlyMap<string, DispatchHandler> = new Map<string, DispatchHandler>([
  ['READY', ready],
  ['GUILD_CREATE', guildCreate],
  ['GUILD_UPDATE', guildUpdate],
  ['GUILD_DELETE', guildDelete],
  ['CHANNEL_CREATE', channelUpsert],
  ['CHANNEL_UPDATE', channelUpsert],
  ['CHANNEL_DELETE', channelDelete],
  ['CHANNEL_PINS_UPDATE', channelPinsUpdate],
  ['THREAD_CREATE', threadUpsert],
  ['THREAD_UPDATE', threadUpsert],
  ['THREAD_DELETE', threadDelete],
  ['THREAD_LIST_SYNC', threadListSync],
  ['THREAD_MEMBER_UPDATE', threadMemberUpdate],
  ['THREAD_MEMBERS_UPDATE', threadMembersUpdate],
  ['GUILD_ROLE_CREATE', roleUpsert],
  ['GUILD_ROLE_UPDATE', roleUpsert],
  ['GUILD_ROLE_DELETE', roleDelete],
  ['GUILD_EMOJIS_UPDATE', emojisUpdate],
  ['GUILD_STICKERS_UPDATE', stickersUpdate],
  ['GUILD_MEMBER_ADD', memberAdd],
  ['GUILD_MEMBER_UPDATE', memberUpdate],
  ['GUILD_MEMBER_REMOVE', memberRemove],
  ['GUILD_MEMBERS_CHUNK', membersChunk],
  ['PRESENCE_UPDATE', presenceUpdate],
  ['VOICE_STATE_UPDATE', voiceStateUpdate],
  ['USER_UPDATE', userUpdate],
  ['GUILD_SCHEDULED_EVENT_CREATE', scheduled.upsert],
  ['GUILD_SCHEDULED_EVENT_UPDATE', scheduled.upsert],
  ['GUILD_SCHEDULED_EVENT_DELETE', scheduled.remove],
  ['GUILD_SCHEDULED_EVENT_USER_ADD', scheduledEventUser(1)],
  ['GUILD_SCHEDULED_EVENT_USER_REMOVE', scheduledEventUser(-1)],
  ['STAGE_INSTANCE_CREATE', stage.upsert],
  ['STAGE_INSTANCE_UPDATE', stage.upsert],
  ['STAGE_INSTANCE_DELETE', stage.remove],
  ['GUILD_SOUNDBOARD_SOUND_CREATE', sounds.upsert],
  ['GUILD_SOUNDBOARD_SOUND_UPDATE', sounds.upsert],
  ['GUILD_SOUNDBOARD_SOUND_DELETE', sounds.remove],
  ['GUILD_SOUNDBOARD_SOUNDS_UPDATE', soundsUpdate],
]);
