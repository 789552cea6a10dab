/** Roles, emojis, stickers, scheduled events, stage instances and soundboard sounds. */
import { idField, isObject, type Json, merge } from '../guards.js';
import type { GuildEntry } from '../guild-entry.js';
import type { CacheState } from '../state.js';
import { type DispatchHandler, fill, guildOf } from './shared.js';

export function roleUpsert(state: CacheState, d: unknown): boolean {
  const entry = guildOf(state, d);
  const role = isObject(d) ? d.role : undefined;
  const id = idField(role, 'id');
  if (entry === undefined || id === undefined || !isObject(role)) return false;
  if (!state.options.roles) return true;
  const old = entry.roles.get(id);
  entry.roles.set(id, old === undefined ? role : merge(old, role));
  return true;
}

export function roleDelete(state: CacheState, d: unknown): boolean {
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

export function emojisUpdate(state: CacheState, d: unknown): boolean {
  const entry = guildOf(state, d);
  if (entry === undefined || !isObject(d) || !Array.isArray(d.emojis)) return false;
  if (state.options.emojis) fill(entry.emojis, d.emojis, 'id');
  return true;
}

export function stickersUpdate(state: CacheState, d: unknown): boolean {
  const entry = guildOf(state, d);
  if (entry === undefined || !isObject(d) || !Array.isArray(d.stickers)) return false;
  if (state.options.stickers) fill(entry.stickers, d.stickers, 'id');
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

export function scheduledEventUser(delta: number): DispatchHandler {
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

export function soundsUpdate(state: CacheState, d: unknown): boolean {
  const entry = guildOf(state, d);
  if (entry === undefined || !isObject(d) || !Array.isArray(d.soundboard_sounds)) return false;
  if (state.options.soundboardSounds) fill(entry.soundboardSounds, d.soundboard_sounds, 'sound_id');
  return true;
}

export const stage = keyed(
  (e) => e.stageInstances,
  (s) => s.options.stageInstances,
);
export const scheduled = keyed(
  (e) => e.scheduledEvents,
  (s) => s.options.scheduledEvents,
);
export const sounds = keyed(
  (e) => e.soundboardSounds,
  (s) => s.options.soundboardSounds,
  'sound_id',
);
