/** Counts per kind, for metrics and the memory figures. */
import type { GuildEntry } from './guild-entry.js';

export interface GatewayCacheStats {
  readonly guilds: number;
  readonly unavailableGuilds: number;
  readonly channels: number;
  readonly threads: number;
  readonly roles: number;
  readonly emojis: number;
  readonly stickers: number;
  readonly members: number;
  readonly presences: number;
  readonly voiceStates: number;
  readonly stageInstances: number;
  readonly scheduledEvents: number;
  readonly soundboardSounds: number;
  /** Dispatches that changed or confirmed the cache. */
  readonly applied: number;
  /** Dispatches the cache did not use: types it does not follow plus `malformed` ones. */
  readonly ignored: number;
  /** Dispatches of a followed type that were unusable (wrong types, bad ids, unknown guild). */
  readonly malformed: number;
}

export function countGuilds(
  guilds: Iterable<GuildEntry>,
): Omit<GatewayCacheStats, 'applied' | 'ignored' | 'malformed'> {
  const s = {
    guilds: 0,
    unavailableGuilds: 0,
    channels: 0,
    threads: 0,
    roles: 0,
    emojis: 0,
    stickers: 0,
    members: 0,
    presences: 0,
    voiceStates: 0,
    stageInstances: 0,
    scheduledEvents: 0,
    soundboardSounds: 0,
  };
  for (const g of guilds) {
    if (!g.available) {
      s.unavailableGuilds++;
      continue;
    }
    s.guilds++;
    s.channels += g.channels.size;
    s.threads += g.threads.size;
    s.roles += g.roles.size;
    s.emojis += g.emojis.size;
    s.stickers += g.stickers.size;
    s.members += g.members.size;
    s.presences += g.presences.size;
    s.voiceStates += g.voiceStates.size;
    s.stageInstances += g.stageInstances.size;
    s.scheduledEvents += g.scheduledEvents.size;
    s.soundboardSounds += g.soundboardSounds.size;
  }
  return s;
}
