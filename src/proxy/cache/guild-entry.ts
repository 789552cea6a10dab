/**
 * One cached guild: its scalar fields plus one map per kind, keyed by id. Stored objects are the
 * decoded gateway objects themselves (the cache takes ownership of a dispatch's `d`); merges build
 * fresh objects, so nothing a caller keeps is changed behind its back.
 */
import type { Json } from './guards.js';

/** The fields of GUILD_CREATE that are lists and live in their own maps, not in `base`. */
export const GUILD_LIST_FIELDS = [
  'channels',
  'threads',
  'roles',
  'emojis',
  'stickers',
  'members',
  'presences',
  'voice_states',
  'stage_instances',
  'guild_scheduled_events',
  'soundboard_sounds',
] as const;

export class GuildEntry {
  readonly id: string;
  shardId: number;
  /** Guild fields without the lists (and without `unavailable`); undefined while the guild is unavailable. */
  base: Json | undefined = undefined;
  readonly channels = new Map<string, Json>();
  readonly threads = new Map<string, Json>();
  readonly roles = new Map<string, Json>();
  readonly emojis = new Map<string, Json>();
  readonly stickers = new Map<string, Json>();
  /** Keyed by user id. */
  readonly members = new Map<string, Json>();
  /** Keyed by user id; only non-offline presences. */
  readonly presences = new Map<string, Json>();
  /** Keyed by user id; only users in a channel. */
  readonly voiceStates = new Map<string, Json>();
  readonly stageInstances = new Map<string, Json>();
  readonly scheduledEvents = new Map<string, Json>();
  /** Keyed by sound id. */
  readonly soundboardSounds = new Map<string, Json>();

  constructor(id: string, shardId: number) {
    this.id = id;
    this.shardId = shardId;
  }

  get available(): boolean {
    return this.base !== undefined;
  }

  /** Drops everything but the id and shard: the guild is unavailable until its next GUILD_CREATE. */
  clear(): void {
    this.base = undefined;
    this.channels.clear();
    this.threads.clear();
    this.roles.clear();
    this.emojis.clear();
    this.stickers.clear();
    this.members.clear();
    this.presences.clear();
    this.voiceStates.clear();
    this.stageInstances.clear();
    this.scheduledEvents.clear();
    this.soundboardSounds.clear();
  }

  /** `member_count` as last reported (GUILD_CREATE, then kept by member add/remove). */
  get memberCount(): number {
    const n = this.base?.member_count;
    return typeof n === 'number' && Number.isSafeInteger(n) && n >= 0 ? n : this.members.size;
  }
}
