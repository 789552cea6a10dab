/** A GUILD_CREATE payload rebuilt from a cached guild, as the proxy sends it to a connecting client. */
import type { GatewayGuildCreateDispatchData } from 'discord-api-types/v10';
import type { GuildEntry } from './guild-entry.js';

export function rebuildGuildCreate(entry: GuildEntry): GatewayGuildCreateDispatchData | undefined {
  const base = entry.base;
  if (base === undefined) return undefined;
  const out = {
    ...base,
    unavailable: false,
    large: base.large === true,
    member_count: entry.memberCount,
    roles: [...entry.roles.values()],
    emojis: [...entry.emojis.values()],
    stickers: [...entry.stickers.values()],
    channels: [...entry.channels.values()],
    threads: [...entry.threads.values()],
    members: [...entry.members.values()],
    presences: [...entry.presences.values()],
    voice_states: [...entry.voiceStates.values()],
    stage_instances: [...entry.stageInstances.values()],
    guild_scheduled_events: [...entry.scheduledEvents.values()],
    soundboard_sounds: [...entry.soundboardSounds.values()],
  };
  return out as unknown as GatewayGuildCreateDispatchData;
}
