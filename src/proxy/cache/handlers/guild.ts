/** READY and the guild lifecycle: GUILD_CREATE, GUILD_UPDATE (merge), GUILD_DELETE (unavailable or gone). */
import { idField, isObject, type Json, merge, omit } from '../guards.js';
import type { CacheState } from '../state.js';
import { attach, BASE_EXCLUDED, fill, isArchivedThread, isBot, removeGuild } from './shared.js';

export function guildCreate(state: CacheState, d: unknown, shardId: number): boolean {
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

export function ready(state: CacheState, d: unknown, shardId: number): boolean {
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

export function guildUpdate(state: CacheState, d: unknown): boolean {
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

export function guildDelete(state: CacheState, d: unknown, shardId: number): boolean {
  const id = idField(d, 'id');
  if (id === undefined || !isObject(d)) return false;
  if (d.unavailable === true) attach(state, id, shardId).clear();
  else removeGuild(state, id);
  return true;
}
