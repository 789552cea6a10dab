/** Guild channels and active threads, with the bot's thread memberships. */
import { idField, isObject, type Json, merge, omit, snowflakeOf } from '../guards.js';
import type { CacheState } from '../state.js';
import { guildOf, isArchivedThread } from './shared.js';

export function channelUpsert(state: CacheState, d: unknown): boolean {
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

export function channelDelete(state: CacheState, d: unknown): boolean {
  const id = idField(d, 'id');
  if (id === undefined || !isObject(d)) return false;
  if (d.guild_id === undefined) return true;
  const entry = guildOf(state, d);
  if (entry === undefined) return false;
  entry.channels.delete(id);
  for (const [threadId, thread] of entry.threads) if (thread.parent_id === id) entry.threads.delete(threadId);
  return true;
}

export function channelPinsUpdate(state: CacheState, d: unknown): boolean {
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

export function threadUpsert(state: CacheState, d: unknown): boolean {
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

export function threadDelete(state: CacheState, d: unknown): boolean {
  const id = idField(d, 'id');
  const entry = guildOf(state, d);
  if (id === undefined || entry === undefined) return false;
  entry.threads.delete(id);
  return true;
}

export function threadListSync(state: CacheState, d: unknown): boolean {
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

export function threadMemberUpdate(state: CacheState, d: unknown): boolean {
  const id = idField(d, 'id');
  const entry = guildOf(state, d);
  if (id === undefined || entry === undefined || !isObject(d)) return false;
  const thread = entry.threads.get(id);
  if (thread !== undefined) entry.threads.set(id, { ...thread, member: omit(d, ['guild_id']) });
  return true;
}

export function threadMembersUpdate(state: CacheState, d: unknown): boolean {
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
