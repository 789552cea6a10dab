/**
 * A synthetic Discord world built from a seed: guilds with channels, roles, members and presences, and a
 * generator of realistic live events. Same seed → same world and same event sequence.
 */
import { seededRandom } from '../util/clock.js';

export const DISCORD_EPOCH_MS = 1_420_070_400_000;

export interface WorldUser {
  readonly id: string;
  readonly username: string;
  readonly global_name: string | null;
  readonly discriminator: string;
  readonly avatar: string | null;
  readonly bot: boolean;
}

export interface WorldMember {
  readonly user: WorldUser;
  nick: string | null;
  roles: string[];
  readonly joined_at: string;
  status: 'online' | 'idle' | 'dnd' | 'offline';
}

export interface WorldChannel {
  readonly id: string;
  readonly type: number;
  readonly name: string;
  readonly position: number;
  readonly parent_id: string | null;
  /** Voice channel status: ephemeral, never on the channel object (CHANNEL_INFO carries it). */
  status?: string | null;
  /** Unix seconds the voice session started: ephemeral, like `status`. */
  voice_start_time?: number | null;
}

export interface WorldRole {
  readonly id: string;
  readonly name: string;
  readonly color: number;
  readonly position: number;
  readonly permissions: string;
}

export interface WorldGuild {
  readonly id: string;
  readonly name: string;
  readonly ownerId: string;
  /** `guild_id >> 22`, the routing key of sharding. */
  readonly routeKey: number;
  readonly channels: WorldChannel[];
  readonly roles: WorldRole[];
  readonly members: WorldMember[];
  readonly joinedAt: string;
}

/** An event the world produced: `guildId` undefined routes it to shard 0 (DMs, entitlements). */
export interface WorldEvent {
  readonly t: string;
  readonly d: Record<string, unknown>;
  readonly guildId: string | undefined;
}

export interface GuildCreateOptions {
  /** The connection has GUILD_PRESENCES. */
  readonly presences: boolean;
  /** Identify `large_threshold`. */
  readonly largeThreshold: number;
}

const WORDS = [
  'shard',
  'gateway',
  'heartbeat',
  'resume',
  'ping',
  'hello',
  'latency',
  'deploy',
  'coffee',
  'pixel',
  'nebula',
  'otter',
  'lantern',
  'river',
  'quartz',
  'maple',
];
const STATUSES = ['online', 'idle', 'dnd', 'offline'] as const;
const EMOJIS = ['👍', '🎉', '😂', '❤️', '🔥', '👀'];

/** Builds a snowflake from a timestamp (ms since the Unix epoch) and a 22-bit tail. */
export function snowflake(timestampMs: number, tail: number): string {
  return ((BigInt(Math.max(0, timestampMs - DISCORD_EPOCH_MS)) << 22n) | BigInt(tail & 0x3fffff)).toString();
}

/** Shard of a guild id: `(guild_id >> 22) % num_shards`. */
export function shardOf(guildId: string, shardCount: number): number {
  return Number((BigInt(guildId) >> 22n) % BigInt(shardCount));
}

/** A "Playing" activity; its `id` (a hex string for games in Discord's payloads) follows from the name. */
function activity(name: string): Record<string, unknown> {
  const id = Buffer.from(name).toString('hex').slice(0, 16).padEnd(16, '0');
  return { name, type: 0, id, created_at: 1_700_000_000_000 };
}

/** The fields of a plain text message with no mentions, attachments or components (fresh arrays each call). */
function plainMessageFields() {
  return {
    tts: false,
    mention_everyone: false,
    mentions: [],
    mention_roles: [],
    attachments: [],
    embeds: [],
    pinned: false,
    type: 0,
    flags: 0,
    components: [],
  };
}

export class World {
  readonly seed: number;
  readonly bot: WorldUser;
  /** The partial application of READY: `flags` and its string form `flags_new`. */
  readonly application: { readonly id: string; readonly flags: number; readonly flags_new: string };
  readonly guilds: WorldGuild[] = [];
  readonly #guildById = new Map<string, WorldGuild>();
  readonly #dmUsers: WorldUser[] = [];
  readonly #random: () => number;
  #tail = 0;
  #lastMessage = new Map<string, string>();

  constructor(options: { seed: number; guilds: number; membersPerGuild: number }) {
    this.seed = options.seed;
    this.#random = seededRandom(options.seed);
    const botId = snowflake(1_600_000_000_000 + this.#int(1e10), this.#nextTail());
    this.application = { id: botId, flags: 0, flags_new: '0' };
    this.bot = {
      id: botId,
      username: 'shardline-sim',
      global_name: null,
      discriminator: '0',
      avatar: null,
      bot: true,
    };
    for (let i = 0; i < options.guilds; i++) this.#addGuild(options.membersPerGuild);
    for (let i = 0; i < 5; i++) this.#dmUsers.push(this.#user());
  }

  #int(n: number): number {
    return Math.floor(this.#random() * n);
  }
  #pick<T>(list: readonly T[]): T {
    return list[this.#int(list.length)]!;
  }
  #nextTail(): number {
    this.#tail = (this.#tail + 1) & 0x3fffff;
    return this.#tail;
  }
  /** A fresh snowflake for "now" (message ids and the like). */
  nextId(): string {
    return snowflake(Date.now(), this.#nextTail());
  }
  #pastId(): string {
    // Guild and user ids spread over 2016–2025 so `(id >> 22) % n` is uniform.
    return snowflake(1_451_606_400_000 + this.#int(315_360_000_000), this.#nextTail());
  }
  #user(): WorldUser {
    const id = this.#pastId();
    const name = `${this.#pick(WORDS)}_${this.#pick(WORDS)}${this.#int(1000)}`;
    return {
      id,
      username: name,
      global_name: this.#random() < 0.5 ? name : null,
      discriminator: '0',
      avatar: null,
      bot: false,
    };
  }

  #addGuild(memberCount: number): WorldGuild {
    const id = this.#pastId();
    const joinedAt = new Date(1_700_000_000_000 + this.#int(1e10)).toISOString();
    const category: WorldChannel = {
      id: this.#pastId(),
      type: 4,
      name: 'general',
      position: 0,
      parent_id: null,
    };
    const channels: WorldChannel[] = [category];
    for (let c = 0; c < 3; c++) {
      channels.push({
        id: this.#pastId(),
        type: 0,
        name: `${this.#pick(WORDS)}-${c}`,
        position: c + 1,
        parent_id: category.id,
      });
    }
    channels.push({
      id: this.#pastId(),
      type: 2,
      name: 'voice',
      position: 4,
      parent_id: category.id,
      status: null,
      voice_start_time: null,
    });
    const roles: WorldRole[] = [
      { id, name: '@everyone', color: 0, position: 0, permissions: '1071698660929' },
      { id: this.#pastId(), name: 'moderator', color: 0x3498db, position: 1, permissions: '1099511627775' },
      { id: this.#pastId(), name: 'member', color: 0x2ecc71, position: 2, permissions: '1071698660929' },
    ];
    const members: WorldMember[] = [
      { user: this.bot, nick: null, roles: [], joined_at: joinedAt, status: 'online' },
    ];
    for (let m = 0; m < memberCount; m++) {
      members.push({
        user: this.#user(),
        nick: this.#random() < 0.2 ? this.#pick(WORDS) : null,
        roles: this.#random() < 0.3 ? [roles[1 + this.#int(2)]!.id] : [],
        joined_at: new Date(1_600_000_000_000 + this.#int(1e11)).toISOString(),
        status: this.#pick(STATUSES),
      });
    }
    const guild: WorldGuild = {
      id,
      name: `${this.#pick(WORDS)} ${this.#pick(WORDS)} ${this.guilds.length}`,
      ownerId: members[Math.min(1, members.length - 1)]!.user.id,
      routeKey: Number(BigInt(id) >> 22n),
      channels,
      roles,
      members,
      joinedAt,
    };
    this.guilds.push(guild);
    this.#guildById.set(id, guild);
    return guild;
  }

  /** Adds a guild (with `memberCount` members) to the world and returns it. */
  addGuild(memberCount = 10): WorldGuild {
    return this.#addGuild(memberCount);
  }

  guild(id: string): WorldGuild | undefined {
    return this.#guildById.get(id);
  }

  /** Guilds routed to shard `[shardId, shardCount]`. */
  guildsForShard(shardId: number, shardCount: number): WorldGuild[] {
    return this.guilds.filter((g) => g.routeKey % shardCount === shardId);
  }

  /** Number of guilds on `[shardId, shardCount]` (no allocation). */
  countGuildsForShard(shardId: number, shardCount: number): number {
    let n = 0;
    for (const g of this.guilds) if (g.routeKey % shardCount === shardId) n++;
    return n;
  }

  memberJson(guild: WorldGuild, m: WorldMember, withUser = true): Record<string, unknown> {
    const out: Record<string, unknown> = {
      nick: m.nick,
      avatar: null,
      roles: m.roles,
      joined_at: m.joined_at,
      premium_since: null,
      banner: null,
      deaf: false,
      mute: false,
      pending: false,
      flags: 0,
      communication_disabled_until: null,
    };
    if (withUser) out.user = { ...m.user };
    void guild;
    return out;
  }

  /** A member's presence; `withGuild: false` leaves out `guild_id`, as GUILD_MEMBERS_CHUNK does. */
  presenceJson(guild: WorldGuild, m: WorldMember, withGuild = true): Record<string, unknown> {
    const out: Record<string, unknown> = { user: { id: m.user.id } };
    if (withGuild) out.guild_id = guild.id;
    out.status = m.status;
    out.activities = m.status === 'offline' ? [] : [activity(this.#pick(WORDS))];
    out.client_status = m.status === 'offline' ? {} : { desktop: m.status };
    return out;
  }

  /** GUILD_CREATE `d` for one guild, as a connection with the given intents and threshold sees it. */
  guildCreate(guild: WorldGuild, options: GuildCreateOptions): Record<string, unknown> {
    const memberCount = guild.members.length;
    const large = memberCount > options.largeThreshold;
    let members: WorldMember[];
    if (!options.presences) members = guild.members.filter((m) => m.user.id === this.bot.id);
    else if (large)
      members = guild.members.filter((m) => m.status !== 'offline' || m.user.id === this.bot.id);
    else members = guild.members;
    return {
      id: guild.id,
      name: guild.name,
      icon: null,
      splash: null,
      discovery_splash: null,
      owner_id: guild.ownerId,
      afk_channel_id: null,
      afk_timeout: 300,
      verification_level: 0,
      default_message_notifications: 0,
      explicit_content_filter: 0,
      roles: guild.roles.map((r) => ({
        ...r,
        colors: { primary_color: r.color, secondary_color: null, tertiary_color: null },
        hoist: false,
        managed: false,
        mentionable: false,
        icon: null,
        unicode_emoji: null,
        flags: 0,
      })),
      emojis: [],
      stickers: [],
      features: [],
      mfa_level: 0,
      system_channel_id: guild.channels[1]?.id ?? null,
      system_channel_flags: 0,
      rules_channel_id: null,
      vanity_url_code: null,
      description: null,
      banner: null,
      premium_tier: 0,
      premium_subscription_count: 0,
      preferred_locale: 'en-US',
      public_updates_channel_id: null,
      nsfw_level: 0,
      premium_progress_bar_enabled: false,
      application_id: null,
      hub_type: null,
      safety_alerts_channel_id: null,
      incidents_data: null,
      joined_at: guild.joinedAt,
      large,
      unavailable: false,
      member_count: memberCount,
      voice_states: [],
      members: members.map((m) => this.memberJson(guild, m)),
      channels: guild.channels.map(({ status: _s, voice_start_time: _v, ...c }) => ({
        ...c,
        permission_overwrites: [],
      })),
      threads: [],
      presences: options.presences
        ? members.filter((m) => m.status !== 'offline').map((m) => this.presenceJson(guild, m))
        : [],
      stage_instances: [],
      guild_scheduled_events: [],
      soundboard_sounds: [],
    };
  }

  /** A voice or stage channel of a guild, or undefined. */
  #voiceChannel(guildId: unknown, channelId: unknown): WorldChannel | undefined {
    if (typeof guildId !== 'string' || typeof channelId !== 'string') return undefined;
    const c = this.guild(guildId)?.channels.find((x) => x.id === channelId);
    return c && (c.type === 2 || c.type === 13) ? c : undefined;
  }

  /** Sets a voice channel's status and returns its VOICE_CHANNEL_STATUS_UPDATE. */
  voiceChannelStatusUpdate(guild: WorldGuild, channelId: string, status: string | null): WorldEvent {
    const d = { id: channelId, guild_id: guild.id, status };
    this.applyEvent('VOICE_CHANNEL_STATUS_UPDATE', d);
    return { t: 'VOICE_CHANNEL_STATUS_UPDATE', guildId: guild.id, d };
  }

  /** Sets when a voice channel's session started (unix seconds, null: ended); returns its update event. */
  voiceChannelStartTimeUpdate(guild: WorldGuild, channelId: string, startTime: number | null): WorldEvent {
    const d = { id: channelId, guild_id: guild.id, voice_start_time: startTime };
    this.applyEvent('VOICE_CHANNEL_START_TIME_UPDATE', d);
    return { t: 'VOICE_CHANNEL_START_TIME_UPDATE', guildId: guild.id, d };
  }

  /**
   * Keeps the world in step with an event sent through the simulator: a voice channel status or start time
   * update changes what CHANNEL_INFO reports. Other events leave the world as it is.
   */
  applyEvent(t: string, d: unknown): void {
    if (typeof d !== 'object' || d === null) return;
    const o = d as Record<string, unknown>;
    const c = this.#voiceChannel(o.guild_id, o.id);
    if (!c) return;
    if (t === 'VOICE_CHANNEL_STATUS_UPDATE' && (typeof o.status === 'string' || o.status === null)) {
      c.status = o.status;
    } else if (
      t === 'VOICE_CHANNEL_START_TIME_UPDATE' &&
      (o.voice_start_time === null ||
        o.voice_start_time === undefined ||
        Number.isInteger(o.voice_start_time))
    ) {
      c.voice_start_time = (o.voice_start_time as number | null | undefined) ?? null;
    }
  }

  /**
   * ENTITLEMENT_CREATE for a user's purchase (no guild): application events like this one go to shard 0
   * only. `guildId` makes it a guild subscription's entitlement, still routed to shard 0.
   */
  entitlementCreate(options: { userId?: string; guildId?: string } = {}): WorldEvent {
    const d: Record<string, unknown> = {
      id: this.nextId(),
      sku_id: snowflake(1_700_000_000_000, 0x5c1d),
      application_id: this.application.id,
      user_id: options.userId ?? this.#dmUsers[0]?.id ?? this.bot.id,
      type: 1,
      deleted: false,
      starts_at: null,
      ends_at: null,
      consumed: false,
    };
    if (options.guildId !== undefined) d.guild_id = options.guildId;
    return { t: 'ENTITLEMENT_CREATE', guildId: undefined, d };
  }

  /** One random live event with a realistic mix; DMs are about 2 %. */
  randomEvent(): WorldEvent {
    const r = this.#random();
    if (this.guilds.length === 0 || r < 0.02) return this.#dmMessage();
    const guild = this.#pick(this.guilds);
    if (r < 0.42) return this.#message(guild, 'MESSAGE_CREATE');
    if (r < 0.62) return this.#presence(guild);
    if (r < 0.77) return this.#typing(guild);
    if (r < 0.85) return this.#memberUpdate(guild);
    if (r < 0.93) return this.#reaction(guild, 'MESSAGE_REACTION_ADD');
    if (r < 0.95) return this.#reaction(guild, 'MESSAGE_REACTION_REMOVE');
    if (r < 0.98) return this.#message(guild, 'MESSAGE_UPDATE');
    return this.#messageDelete(guild);
  }

  #someone(guild: WorldGuild): WorldMember {
    return guild.members.length > 1
      ? guild.members[1 + this.#int(guild.members.length - 1)]!
      : guild.members[0]!;
  }
  #textChannel(guild: WorldGuild): WorldChannel {
    return guild.channels[1 + this.#int(3)] ?? guild.channels[0]!;
  }
  #sentence(): string {
    const n = 2 + this.#int(10);
    const words: string[] = [];
    for (let i = 0; i < n; i++) words.push(this.#pick(WORDS));
    return words.join(' ');
  }

  #message(guild: WorldGuild, t: 'MESSAGE_CREATE' | 'MESSAGE_UPDATE'): WorldEvent {
    const m = this.#someone(guild);
    const channel = this.#textChannel(guild);
    const now = new Date().toISOString();
    let id = this.nextId();
    if (t === 'MESSAGE_UPDATE') id = this.#lastMessage.get(channel.id) ?? id;
    else this.#lastMessage.set(channel.id, id);
    return {
      t,
      guildId: guild.id,
      d: {
        id,
        channel_id: channel.id,
        guild_id: guild.id,
        author: { ...m.user },
        member: this.memberJson(guild, m, false),
        content: this.#sentence(),
        timestamp: now,
        edited_timestamp: t === 'MESSAGE_UPDATE' ? now : null,
        ...plainMessageFields(),
      },
    };
  }

  #dmMessage(): WorldEvent {
    const user = this.#pick(this.#dmUsers);
    return {
      t: 'MESSAGE_CREATE',
      guildId: undefined,
      d: {
        id: this.nextId(),
        channel_id: user.id,
        author: { ...user },
        content: this.#sentence(),
        timestamp: new Date().toISOString(),
        edited_timestamp: null,
        ...plainMessageFields(),
      },
    };
  }

  #presence(guild: WorldGuild): WorldEvent {
    const m = this.#someone(guild);
    m.status = this.#pick(STATUSES);
    return { t: 'PRESENCE_UPDATE', guildId: guild.id, d: this.presenceJson(guild, m) };
  }

  #typing(guild: WorldGuild): WorldEvent {
    const m = this.#someone(guild);
    return {
      t: 'TYPING_START',
      guildId: guild.id,
      d: {
        channel_id: this.#textChannel(guild).id,
        guild_id: guild.id,
        user_id: m.user.id,
        timestamp: Math.floor(Date.now() / 1000),
        member: this.memberJson(guild, m),
      },
    };
  }

  #memberUpdate(guild: WorldGuild): WorldEvent {
    const m = this.#someone(guild);
    m.nick = this.#random() < 0.5 ? this.#pick(WORDS) : null;
    return {
      t: 'GUILD_MEMBER_UPDATE',
      guildId: guild.id,
      d: { guild_id: guild.id, ...this.memberJson(guild, m) },
    };
  }

  #reaction(guild: WorldGuild, t: 'MESSAGE_REACTION_ADD' | 'MESSAGE_REACTION_REMOVE'): WorldEvent {
    const m = this.#someone(guild);
    const channel = this.#textChannel(guild);
    const d: Record<string, unknown> = {
      user_id: m.user.id,
      channel_id: channel.id,
      message_id: this.#lastMessage.get(channel.id) ?? this.nextId(),
      guild_id: guild.id,
      emoji: { id: null, name: this.#pick(EMOJIS) },
      burst: false,
      type: 0,
    };
    if (t === 'MESSAGE_REACTION_ADD') d.member = this.memberJson(guild, m);
    return { t, guildId: guild.id, d };
  }

  #messageDelete(guild: WorldGuild): WorldEvent {
    const channel = this.#textChannel(guild);
    const id = this.#lastMessage.get(channel.id) ?? this.nextId();
    this.#lastMessage.delete(channel.id);
    return { t: 'MESSAGE_DELETE', guildId: guild.id, d: { id, channel_id: channel.id, guild_id: guild.id } };
  }
}
