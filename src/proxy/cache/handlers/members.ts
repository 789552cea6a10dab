/** Members, presences, voice states and the bot user. */
import { idField, isObject, type Json, merge } from '../guards.js';
import type { GuildEntry } from '../guild-entry.js';
import type { CacheState } from '../state.js';
import { guildOf, upsertMember, upsertPresence, voiceStateOf } from './shared.js';

function addMemberCount(entry: GuildEntry, delta: number): void {
  if (entry.base !== undefined) entry.base.member_count = Math.max(0, entry.memberCount + delta);
}

export function memberAdd(state: CacheState, d: unknown): boolean {
  const entry = guildOf(state, d);
  if (entry === undefined || !upsertMember(state, entry, d)) return false;
  addMemberCount(entry, 1);
  return true;
}

export function memberUpdate(state: CacheState, d: unknown): boolean {
  const entry = guildOf(state, d);
  return entry !== undefined && upsertMember(state, entry, d);
}

export function memberRemove(state: CacheState, d: unknown): boolean {
  const entry = guildOf(state, d);
  const userId = isObject(d) ? idField(d.user, 'id') : undefined;
  if (entry === undefined || userId === undefined) return false;
  entry.members.delete(userId);
  entry.presences.delete(userId);
  addMemberCount(entry, -1);
  return true;
}

export function membersChunk(state: CacheState, d: unknown): boolean {
  const entry = guildOf(state, d);
  if (entry === undefined || !isObject(d) || !Array.isArray(d.members)) return false;
  for (const m of d.members) upsertMember(state, entry, m);
  if (Array.isArray(d.presences)) for (const p of d.presences) upsertPresence(state, entry, p);
  return true;
}

export function presenceUpdate(state: CacheState, d: unknown): boolean {
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

export function voiceStateUpdate(state: CacheState, d: unknown): boolean {
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

export function userUpdate(state: CacheState, d: unknown): boolean {
  const id = idField(d, 'id');
  if (id === undefined || !isObject(d)) return false;
  if (state.user === undefined || state.user.id !== id) return true;
  const bot = merge(state.user, d);
  state.user = bot;
  // The bot's own member in every guild carries its user: keep those current too.
  for (const entry of state.guilds.values()) {
    const member = entry.members.get(id);
    if (member !== undefined && isObject(member.user))
      entry.members.set(id, { ...member, user: merge(member.user, d) });
  }
  return true;
}
