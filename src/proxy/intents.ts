/**
 * Which intent a client session needs to receive each dispatch, so a client that identified with a subset
 * of the upstream intents gets only the events it asked for. Bits come from discord-api-types.
 */
import { GatewayIntentBits as I } from 'discord-api-types/v10';

const GUILD_EVENTS: Readonly<Record<string, number>> = {
  GUILD_CREATE: I.Guilds,
  GUILD_UPDATE: I.Guilds,
  GUILD_DELETE: I.Guilds,
  GUILD_ROLE_CREATE: I.Guilds,
  GUILD_ROLE_UPDATE: I.Guilds,
  GUILD_ROLE_DELETE: I.Guilds,
  CHANNEL_CREATE: I.Guilds,
  CHANNEL_UPDATE: I.Guilds,
  CHANNEL_DELETE: I.Guilds,
  CHANNEL_PINS_UPDATE: I.Guilds,
  THREAD_CREATE: I.Guilds,
  THREAD_UPDATE: I.Guilds,
  THREAD_DELETE: I.Guilds,
  THREAD_LIST_SYNC: I.Guilds,
  THREAD_MEMBER_UPDATE: I.Guilds,
  THREAD_MEMBERS_UPDATE: I.Guilds,
  STAGE_INSTANCE_CREATE: I.Guilds,
  STAGE_INSTANCE_UPDATE: I.Guilds,
  STAGE_INSTANCE_DELETE: I.Guilds,
  VOICE_CHANNEL_STATUS_UPDATE: I.Guilds,
  VOICE_CHANNEL_START_TIME_UPDATE: I.Guilds,
  GUILD_MEMBER_ADD: I.GuildMembers,
  GUILD_MEMBER_UPDATE: I.GuildMembers,
  GUILD_MEMBER_REMOVE: I.GuildMembers,
  GUILD_AUDIT_LOG_ENTRY_CREATE: I.GuildModeration,
  GUILD_BAN_ADD: I.GuildModeration,
  GUILD_BAN_REMOVE: I.GuildModeration,
  GUILD_EMOJIS_UPDATE: I.GuildExpressions,
  GUILD_STICKERS_UPDATE: I.GuildExpressions,
  GUILD_SOUNDBOARD_SOUND_CREATE: I.GuildExpressions,
  GUILD_SOUNDBOARD_SOUND_UPDATE: I.GuildExpressions,
  GUILD_SOUNDBOARD_SOUND_DELETE: I.GuildExpressions,
  GUILD_SOUNDBOARD_SOUNDS_UPDATE: I.GuildExpressions,
  GUILD_INTEGRATIONS_UPDATE: I.GuildIntegrations,
  INTEGRATION_CREATE: I.GuildIntegrations,
  INTEGRATION_UPDATE: I.GuildIntegrations,
  INTEGRATION_DELETE: I.GuildIntegrations,
  WEBHOOKS_UPDATE: I.GuildWebhooks,
  INVITE_CREATE: I.GuildInvites,
  INVITE_DELETE: I.GuildInvites,
  VOICE_CHANNEL_EFFECT_SEND: I.GuildVoiceStates,
  VOICE_STATE_UPDATE: I.GuildVoiceStates,
  PRESENCE_UPDATE: I.GuildPresences,
  MESSAGE_CREATE: I.GuildMessages,
  MESSAGE_UPDATE: I.GuildMessages,
  MESSAGE_DELETE: I.GuildMessages,
  MESSAGE_DELETE_BULK: I.GuildMessages,
  MESSAGE_REACTION_ADD: I.GuildMessageReactions,
  MESSAGE_REACTION_REMOVE: I.GuildMessageReactions,
  MESSAGE_REACTION_REMOVE_ALL: I.GuildMessageReactions,
  MESSAGE_REACTION_REMOVE_EMOJI: I.GuildMessageReactions,
  TYPING_START: I.GuildMessageTyping,
  GUILD_SCHEDULED_EVENT_CREATE: I.GuildScheduledEvents,
  GUILD_SCHEDULED_EVENT_UPDATE: I.GuildScheduledEvents,
  GUILD_SCHEDULED_EVENT_DELETE: I.GuildScheduledEvents,
  GUILD_SCHEDULED_EVENT_USER_ADD: I.GuildScheduledEvents,
  GUILD_SCHEDULED_EVENT_USER_REMOVE: I.GuildScheduledEvents,
  AUTO_MODERATION_RULE_CREATE: I.AutoModerationConfiguration,
  AUTO_MODERATION_RULE_UPDATE: I.AutoModerationConfiguration,
  AUTO_MODERATION_RULE_DELETE: I.AutoModerationConfiguration,
  AUTO_MODERATION_ACTION_EXECUTION: I.AutoModerationExecution,
  MESSAGE_POLL_VOTE_ADD: I.GuildMessagePolls,
  MESSAGE_POLL_VOTE_REMOVE: I.GuildMessagePolls,
};

const DM_EVENTS: Readonly<Record<string, number>> = {
  MESSAGE_CREATE: I.DirectMessages,
  MESSAGE_UPDATE: I.DirectMessages,
  MESSAGE_DELETE: I.DirectMessages,
  CHANNEL_PINS_UPDATE: I.DirectMessages,
  MESSAGE_REACTION_ADD: I.DirectMessageReactions,
  MESSAGE_REACTION_REMOVE: I.DirectMessageReactions,
  MESSAGE_REACTION_REMOVE_ALL: I.DirectMessageReactions,
  MESSAGE_REACTION_REMOVE_EMOJI: I.DirectMessageReactions,
  TYPING_START: I.DirectMessageTyping,
  MESSAGE_POLL_VOTE_ADD: I.DirectMessagePolls,
  MESSAGE_POLL_VOTE_REMOVE: I.DirectMessagePolls,
};

/**
 * The intent bits of which a session needs at least one to receive dispatch `t` with data `d`; 0 when the
 * event is always delivered (READY, GUILD_MEMBERS_CHUNK, INTERACTION_CREATE, unknown names, …).
 */
export function intentFor(t: string, d: unknown): number {
  const inGuild =
    typeof d === 'object' && d !== null && typeof (d as { guild_id?: unknown }).guild_id === 'string';
  if (inGuild || t.startsWith('GUILD_')) return GUILD_EVENTS[t] ?? 0;
  return DM_EVENTS[t] ?? GUILD_EVENTS[t] ?? 0;
}

/** Whether a session identified with `intents` receives dispatch `t` with data `d`. */
export function receives(intents: number, t: string, d: unknown): boolean {
  const needed = intentFor(t, d);
  return needed === 0 || (intents & needed) !== 0;
}

/** Fields of a message that are empty for a session without MESSAGE_CONTENT. */
const CONTENT_FIELDS = { content: '', embeds: [], attachments: [], components: [] } as const;

/**
 * A MESSAGE_CREATE/UPDATE as a session without MESSAGE_CONTENT receives it: content, embeds, attachments,
 * components and poll emptied, except where Discord still delivers them (DMs, the bot's own messages and
 * messages that mention it). Undefined when the payload needs no change.
 */
export function withoutContent(t: string, d: unknown, botId: string | undefined): unknown {
  if (t !== 'MESSAGE_CREATE' && t !== 'MESSAGE_UPDATE') return undefined;
  if (typeof d !== 'object' || d === null) return undefined;
  const m = d as Record<string, unknown>;
  if (typeof m.guild_id !== 'string') return undefined;
  if (botId !== undefined) {
    if ((m.author as { id?: unknown } | undefined)?.id === botId) return undefined;
    if (Array.isArray(m.mentions) && m.mentions.some((u) => (u as { id?: unknown })?.id === botId))
      return undefined;
  }
  const out: Record<string, unknown> = { ...m };
  for (const [key, empty] of Object.entries(CONTENT_FIELDS)) if (key in m) out[key] = empty;
  if ('poll' in m) delete out.poll;
  return out;
}
