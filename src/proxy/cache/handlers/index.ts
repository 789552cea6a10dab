/**
 * One function per dispatch type the cache follows, with Discord's semantics: partial updates merge,
 * deletes remove, GUILD_DELETE with `unavailable` keeps the guild as unavailable. A handler returns
 * false when the payload is unusable (wrong types, missing ids, unknown guild); the cache counts it.
 */
import {
  channelDelete,
  channelPinsUpdate,
  channelUpsert,
  threadDelete,
  threadListSync,
  threadMembersUpdate,
  threadMemberUpdate,
  threadUpsert,
} from './channels.js';
import { guildCreate, guildDelete, guildUpdate, ready } from './guild.js';
import {
  emojisUpdate,
  roleDelete,
  roleUpsert,
  scheduled,
  scheduledEventUser,
  sounds,
  soundsUpdate,
  stage,
  stickersUpdate,
} from './kinds.js';
import {
  memberAdd,
  memberRemove,
  membersChunk,
  memberUpdate,
  presenceUpdate,
  userUpdate,
  voiceStateUpdate,
} from './members.js';
import type { DispatchHandler } from './shared.js';

export type { DispatchHandler } from './shared.js';

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
