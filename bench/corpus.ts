/**
 * A seeded, realistic corpus of Discord gateway payloads for benchmarks (shapes follow discord-api-types v10).
 * Depends on nothing in src/ but `seededRandom`.
 *
 * `createCorpus()` returns the JSON form: full envelopes `{ op, d, s, t }` with snowflakes as decimal strings.
 * `toEtfForm()` converts a payload to the ETF form Discord sends, where snowflakes are 64-bit integers
 * (BigInt values here, encoded as SMALL_BIG_EXT).
 */
import { seededRandom } from '../src/util/clock.js';

export interface GatewayEnvelope {
  op: number;
  d: unknown;
  s: number | null;
  t: string | null;
}

export interface Corpus {
  /** READY with ~100 unavailable guilds. */
  readonly ready: GatewayEnvelope;
  /** GUILD_CREATE with ~20 members. */
  readonly guildCreateSmall: GatewayEnvelope;
  /** GUILD_CREATE with 2,000 members, ~100 channels, ~50 roles and presences. */
  readonly guildCreateLarge: GatewayEnvelope;
  /** 10,000 mixed small dispatches (MESSAGE_CREATE, PRESENCE_UPDATE, TYPING_START, …). */
  readonly events: readonly GatewayEnvelope[];
  /** Client → server payloads. */
  readonly client: {
    readonly heartbeat: GatewayEnvelope;
    readonly identify: GatewayEnvelope;
    readonly presenceUpdate: GatewayEnvelope;
    readonly requestGuildMembers: GatewayEnvelope;
  };
}

export interface CorpusOptions {
  readonly seed?: number;
  readonly eventCount?: number;
  readonly largeGuildMembers?: number;
}

const DISCORD_EPOCH_MS = 1_420_070_400_000;

const WORDS = (
  'the a to and of in is it you that for on this with be are was have not but what all just can if so like ' +
  'lol yeah ok gg nice thanks anyone know how why when server bot role channel voice game play tonight ' +
  'update patch build deploy test merge issue fix broken works again later today tomorrow meme cat dog ' +
  'pizza coffee music stream raid queue ranked match win lose team help question answer docs link code'
).split(' ');
const NON_ASCII = [
  '😂',
  '👍',
  '🎉',
  'ça',
  'über',
  'niño',
  'こんにちは',
  'привет',
  '❤️',
  'naïve',
  '🔥',
  '日本語',
];
const STATUSES = ['online', 'idle', 'dnd', 'offline'] as const;

class Gen {
  readonly #rand: () => number;
  #time: number;
  #increment = 0;
  #seq = 0;
  constructor(seed: number) {
    this.#rand = seededRandom(seed);
    this.#time = Date.UTC(2025, 5, 1);
  }
  random(): number {
    return this.#rand();
  }
  int(min: number, max: number): number {
    return min + Math.floor(this.#rand() * (max - min + 1));
  }
  chance(p: number): boolean {
    return this.#rand() < p;
  }
  pick<T>(items: readonly T[]): T {
    return items[Math.floor(this.#rand() * items.length)]!;
  }
  /** A snowflake at a random time between 2016 and mid-2025, as a decimal string. */
  snowflake(at?: number): string {
    const ms =
      at ?? Date.UTC(2016, 0, 1) + Math.floor(this.#rand() * (Date.UTC(2025, 5, 1) - Date.UTC(2016, 0, 1)));
    const value =
      (BigInt(ms - DISCORD_EPOCH_MS) << 22n) |
      (BigInt(this.int(0, 31)) << 17n) |
      (BigInt(this.int(0, 31)) << 12n) |
      BigInt(this.#increment++ & 0xfff);
    return value.toString();
  }
  /** A snowflake for "now", advancing a virtual clock. */
  freshSnowflake(): string {
    this.#time += this.int(1, 400);
    return this.snowflake(this.#time);
  }
  isoNow(): string {
    return new Date(this.#time).toISOString().replace('Z', '000+00:00');
  }
  isoAt(ms: number): string {
    return new Date(ms).toISOString().replace('Z', '000+00:00');
  }
  hash(): string {
    let out = '';
    for (let i = 0; i < 32; i++) out += '0123456789abcdef'[this.int(0, 15)];
    return this.chance(0.1) ? `a_${out}` : out;
  }
  username(): string {
    const base = this.pick(WORDS) + this.pick(WORDS);
    return (this.chance(0.5) ? `${base}${this.int(1, 9999)}` : base).slice(0, 32);
  }
  sentence(minWords: number, maxWords: number): string {
    const n = this.int(minWords, maxWords);
    const out: string[] = [];
    for (let i = 0; i < n; i++) out.push(this.chance(0.04) ? this.pick(NON_ASCII) : this.pick(WORDS));
    return out.join(' ');
  }
  nextSeq(): number {
    return ++this.#seq;
  }
}

function user(g: Gen, id = g.snowflake()): Record<string, unknown> {
  const name = g.username();
  const u: Record<string, unknown> = {
    id,
    username: name,
    global_name: g.chance(0.7) ? name.replace(/\d+$/, '') : null,
    avatar: g.chance(0.8) ? g.hash() : null,
    discriminator: '0',
    public_flags: g.pick([0, 0, 0, 64, 128, 256, 4194304]),
    avatar_decoration_data: g.chance(0.1)
      ? { asset: g.hash(), sku_id: g.snowflake(), expires_at: null }
      : null,
    clan: null,
    primary_guild: null,
  };
  if (g.chance(0.03)) u.bot = true;
  return u;
}

function member(g: Gen, roleIds: readonly string[], withUser: Record<string, unknown> | undefined) {
  const roles: string[] = [];
  const n = g.int(0, 5);
  for (let i = 0; i < n && roleIds.length > 0; i++) roles.push(g.pick(roleIds));
  const m: Record<string, unknown> = {
    roles: [...new Set(roles)],
    premium_since: g.chance(0.05) ? g.isoAt(Date.UTC(2024, g.int(0, 11), g.int(1, 28))) : null,
    pending: false,
    nick: g.chance(0.2) ? g.username() : null,
    mute: false,
    joined_at: g.isoAt(Date.UTC(g.int(2017, 2025), g.int(0, 4), g.int(1, 28), g.int(0, 23), g.int(0, 59))),
    flags: g.pick([0, 0, 0, 2, 10]),
    deaf: false,
    communication_disabled_until: null,
    banner: null,
    avatar: g.chance(0.05) ? g.hash() : null,
  };
  if (withUser) m.user = withUser;
  return m;
}

function activity(g: Gen): Record<string, unknown> {
  const kind = g.int(0, 3);
  if (kind === 0)
    return {
      type: 4,
      state: g.sentence(1, 6),
      name: 'Custom Status',
      id: 'custom',
      emoji: g.chance(0.5) ? { name: g.pick(NON_ASCII) } : null,
      created_at: 1_748_000_000_000 + g.int(0, 9_999_999),
    };
  if (kind === 1)
    return {
      type: 2,
      timestamps: {
        start: 1_748_000_000_000 + g.int(0, 999_999),
        end: 1_748_000_200_000 + g.int(0, 999_999),
      },
      sync_id: g.hash().slice(0, 22),
      state: `${g.username()}; ${g.username()}`,
      session_id: g.hash(),
      party: { id: `spotify:${g.snowflake()}` },
      name: 'Spotify',
      id: 'spotify:1',
      flags: 48,
      details: g.sentence(2, 5),
      created_at: 1_748_000_000_000 + g.int(0, 9_999_999),
      assets: { large_text: g.sentence(2, 4), large_image: `spotify:${g.hash()}` },
    };
  return {
    type: 0,
    timestamps: { start: 1_748_000_000_000 + g.int(0, 9_999_999) },
    name: g.pick(['Minecraft', 'Visual Studio Code', 'League of Legends', 'Counter-Strike 2', 'Factorio']),
    id: `e${g.hash().slice(-15)}`,
    created_at: 1_748_000_000_000 + g.int(0, 9_999_999),
    application_id: g.snowflake(),
  };
}

function presence(g: Gen, userId: string, guildId?: string): Record<string, unknown> {
  const status = g.pick(STATUSES.slice(0, 3));
  const p: Record<string, unknown> = {
    user: { id: userId },
    status,
    client_status: g.chance(0.7) ? { desktop: status } : { mobile: status },
    broadcast: null,
    activities: g.chance(0.5) ? [activity(g)] : [],
  };
  if (guildId) p.guild_id = guildId;
  return p;
}

function role(g: Gen, guildId: string, position: number, everyone: boolean): Record<string, unknown> {
  return {
    id: everyone ? guildId : g.snowflake(),
    name: everyone ? '@everyone' : g.sentence(1, 2),
    description: null,
    color: everyone ? 0 : g.int(0, 0xffffff),
    colors: { primary_color: g.int(0, 0xffffff), secondary_color: null, tertiary_color: null },
    hoist: g.chance(0.3),
    icon: null,
    unicode_emoji: null,
    position,
    permissions: String(g.int(0, 2 ** 31 - 1) * 1024 + g.int(0, 1023)),
    managed: g.chance(0.05),
    mentionable: g.chance(0.3),
    flags: 0,
    tags: g.chance(0.05) ? { bot_id: g.snowflake() } : undefined,
  };
}

function channel(
  g: Gen,
  guildId: string,
  position: number,
  parentId: string | null,
): Record<string, unknown> {
  const type = parentId === null ? 4 : g.pick([0, 0, 0, 2, 5, 15]);
  const c: Record<string, unknown> = {
    id: g.snowflake(),
    type,
    name: g.sentence(1, 3).replace(/ /g, '-').toLowerCase(),
    position,
    flags: 0,
    parent_id: parentId,
    permission_overwrites: [
      { id: guildId, type: 0, allow: '0', deny: String(g.int(0, 2 ** 20)) },
      ...(g.chance(0.3) ? [{ id: g.snowflake(), type: 0, allow: '1024', deny: '0' }] : []),
    ],
    guild_id: undefined,
  };
  if (type === 0 || type === 5 || type === 15) {
    c.topic = g.chance(0.5) ? g.sentence(3, 20) : null;
    c.nsfw = false;
    c.last_message_id = g.snowflake();
    c.rate_limit_per_user = g.pick([0, 0, 5, 30]);
    c.last_pin_timestamp = g.chance(0.3) ? g.isoAt(Date.UTC(2024, 3, 2)) : null;
  }
  if (type === 2) {
    c.bitrate = 64000;
    c.user_limit = g.pick([0, 10, 25]);
    c.rtc_region = null;
    c.voice_background_display = null;
    c.last_message_id = null;
    c.rate_limit_per_user = 0;
    c.nsfw = false;
  }
  delete c.guild_id;
  return c;
}

function guildCreate(g: Gen, memberCount: number, channelCount: number, roleCount: number, seq: number) {
  const id = g.snowflake(Date.UTC(2018, 3, 4));
  const roles = [role(g, id, 0, true)];
  for (let i = 1; i < roleCount; i++) roles.push(role(g, id, i, false));
  for (const r of roles) if (r.tags === undefined) delete r.tags;
  const roleIds = roles.slice(1).map((r) => r.id as string);
  const channels: Record<string, unknown>[] = [];
  let category: string | null = null;
  for (let i = 0; i < channelCount; i++) {
    const c = channel(g, id, i, i % 10 === 0 ? null : category);
    if (c.type === 4) category = c.id as string;
    channels.push(c);
  }
  const members: Record<string, unknown>[] = [];
  const presences: Record<string, unknown>[] = [];
  const ownerId = g.snowflake();
  for (let i = 0; i < memberCount; i++) {
    const u = user(g, i === 0 ? ownerId : g.snowflake());
    members.push(member(g, roleIds, u));
    if (g.chance(0.35)) presences.push(presence(g, u.id as string));
  }
  const emojis: Record<string, unknown>[] = [];
  for (let i = 0; i < Math.min(50, Math.ceil(memberCount / 40)); i++)
    emojis.push({
      version: 0,
      roles: [],
      require_colons: true,
      name: g.pick(WORDS) + g.pick(WORDS),
      managed: false,
      id: g.snowflake(),
      available: true,
      animated: g.chance(0.2),
    });
  const textChannels = channels.filter((c) => c.type === 0);
  const voiceStates: Record<string, unknown>[] = [];
  const voiceChannels = channels.filter((c) => c.type === 2);
  for (let i = 0; i < Math.min(20, memberCount / 50) && voiceChannels.length > 0; i++)
    voiceStates.push({
      user_id: (members[g.int(0, members.length - 1)]!.user as { id: string }).id,
      suppress: false,
      session_id: g.hash(),
      self_video: false,
      self_mute: g.chance(0.3),
      self_deaf: false,
      request_to_speak_timestamp: null,
      mute: false,
      deaf: false,
      channel_id: g.pick(voiceChannels).id,
    });
  const d = {
    id,
    name: g.sentence(1, 4),
    icon: g.hash(),
    description: g.chance(0.5) ? g.sentence(5, 15) : null,
    home_header: null,
    splash: null,
    discovery_splash: null,
    features: ['COMMUNITY', 'NEWS', 'ANIMATED_ICON', 'INVITE_SPLASH', 'ROLE_ICONS'].slice(0, g.int(0, 5)),
    banner: null,
    owner_id: ownerId,
    application_id: null,
    region: 'deprecated',
    afk_channel_id: null,
    afk_timeout: 300,
    system_channel_id: textChannels[0]?.id ?? null,
    widget_enabled: false,
    widget_channel_id: null,
    verification_level: 1,
    default_message_notifications: 1,
    mfa_level: 0,
    explicit_content_filter: 2,
    max_presences: null,
    max_members: 500000,
    max_stage_video_channel_users: 50,
    max_video_channel_users: 25,
    vanity_url_code: null,
    premium_tier: g.int(0, 3),
    premium_subscription_count: g.int(0, 30),
    system_channel_flags: 0,
    preferred_locale: 'en-US',
    rules_channel_id: textChannels[1]?.id ?? null,
    safety_alerts_channel_id: null,
    public_updates_channel_id: textChannels[2]?.id ?? null,
    hub_type: null,
    premium_progress_bar_enabled: false,
    latest_onboarding_question_id: null,
    incidents_data: null,
    inventory_settings: null,
    nsfw: false,
    nsfw_level: 0,
    version: 1_748_000_000_000 + g.int(0, 9_999_999),
    roles,
    emojis,
    stickers: [],
    joined_at: g.isoAt(Date.UTC(2022, 1, 3)),
    large: memberCount > 250,
    unavailable: false,
    member_count: memberCount,
    lazy: true,
    voice_states: voiceStates,
    members,
    channels,
    threads: [],
    presences,
    stage_instances: [],
    guild_scheduled_events: [],
    soundboard_sounds: [],
    embedded_activities: [],
    activity_instances: [],
    application_command_counts: {},
  };
  return { op: 0, d, s: seq, t: 'GUILD_CREATE' };
}

function ready(g: Gen, guildCount: number): GatewayEnvelope {
  const guilds: Record<string, unknown>[] = [];
  for (let i = 0; i < guildCount; i++) guilds.push({ id: g.snowflake(), unavailable: true });
  const me = user(g);
  me.bot = true;
  me.verified = true;
  me.mfa_enabled = false;
  me.flags = 0;
  me.email = null;
  return {
    op: 0,
    s: 1,
    t: 'READY',
    d: {
      v: 10,
      user_settings: {},
      user: me,
      session_type: 'normal',
      session_id: g.hash(),
      resume_gateway_url: 'wss://gateway-us-east1-b.discord.gg',
      relationships: [],
      private_channels: [],
      presences: [],
      guilds,
      guild_join_requests: [],
      geo_ordered_rtc_regions: ['us-east', 'us-central', 'atlanta', 'us-south', 'newark'],
      game_relationships: [],
      auth: {},
      application: { id: me.id, flags: 565248 },
      _trace: [`["gateway-prd-us-east1-b-${g.int(0, 99)}",{"micros":${g.int(10_000, 90_000)},"calls":[]}]`],
      shard: [0, 1],
    },
  };
}

interface World {
  guildId: string;
  channels: string[];
  users: Record<string, unknown>[];
  roleIds: string[];
  messages: string[];
}

function messageCreate(g: Gen, w: World): unknown {
  const author = g.pick(w.users);
  const mentions: unknown[] = [];
  if (g.chance(0.1)) {
    const m = g.pick(w.users);
    mentions.push({ ...m, member: member(g, w.roleIds, undefined) });
  }
  const id = g.freshSnowflake();
  w.messages.push(id);
  if (w.messages.length > 500) w.messages.shift();
  const embeds: unknown[] = [];
  if (g.chance(0.1))
    embeds.push({
      type: 'rich',
      url: `https://example.com/${g.pick(WORDS)}/${g.int(1, 99999)}`,
      title: g.sentence(3, 8),
      description: g.sentence(10, 40),
      color: g.int(0, 0xffffff),
      content_scan_version: 2,
      thumbnail: {
        url: `https://example.com/i/${g.hash()}.png`,
        proxy_url: `https://images-ext-1.discordapp.net/external/${g.hash()}/https/example.com/i.png`,
        width: 400,
        height: 400,
        flags: 0,
      },
      fields: g.chance(0.5)
        ? [
            { name: g.sentence(1, 3), value: g.sentence(2, 10), inline: true },
            { name: g.sentence(1, 3), value: g.sentence(2, 10), inline: true },
          ]
        : [],
    });
  return {
    type: g.chance(0.9) ? 0 : 19,
    tts: false,
    timestamp: g.isoNow(),
    referenced_message: null,
    pinned: false,
    nonce: g.chance(0.8) ? g.freshSnowflake() : undefined,
    mentions,
    mention_roles: g.chance(0.03) ? [g.pick(w.roleIds)] : [],
    mention_everyone: false,
    member: member(g, w.roleIds, undefined),
    id,
    flags: 0,
    embeds,
    edited_timestamp: null,
    content: g.sentence(1, 25),
    components: [],
    channel_type: 0,
    channel_id: g.pick(w.channels),
    author,
    attachments: [],
    guild_id: w.guildId,
  };
}

function stripUndefined(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(stripUndefined);
  if (value !== null && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) if (v !== undefined) out[k] = stripUndefined(v);
    return out;
  }
  return value;
}

function events(g: Gen, count: number, firstSeq: number): GatewayEnvelope[] {
  const w: World = { guildId: g.snowflake(), channels: [], users: [], roleIds: [], messages: [] };
  for (let i = 0; i < 12; i++) w.channels.push(g.snowflake());
  for (let i = 0; i < 300; i++) w.users.push(user(g));
  for (let i = 0; i < 20; i++) w.roleIds.push(g.snowflake());
  const out: GatewayEnvelope[] = [];
  let seq = firstSeq;
  for (let i = 0; i < count; i++) {
    const r = g.random();
    let t: string;
    let d: unknown;
    if (r < 0.5) {
      t = 'MESSAGE_CREATE';
      d = messageCreate(g, w);
    } else if (r < 0.7) {
      t = 'PRESENCE_UPDATE';
      d = presence(g, g.pick(w.users).id as string, w.guildId);
    } else if (r < 0.85) {
      t = 'TYPING_START';
      const u = g.pick(w.users);
      d = {
        user_id: u.id,
        timestamp: Math.floor(Date.UTC(2025, 5, 1) / 1000) + i,
        member: { ...member(g, w.roleIds, u) },
        channel_id: g.pick(w.channels),
        guild_id: w.guildId,
      };
    } else if (r < 0.93) {
      t = 'GUILD_MEMBER_UPDATE';
      d = { ...member(g, w.roleIds, g.pick(w.users)), guild_id: w.guildId };
    } else {
      t = 'MESSAGE_REACTION_ADD';
      const u = g.pick(w.users);
      d = {
        user_id: u.id,
        type: 0,
        message_id: w.messages.length > 0 ? g.pick(w.messages) : g.snowflake(),
        message_author_id: g.pick(w.users).id,
        member: member(g, w.roleIds, u),
        emoji: g.chance(0.7)
          ? { name: g.pick(['👍', '😂', '❤️', '🔥', '🎉']), id: null }
          : { name: 'pepe', id: g.snowflake() },
        channel_id: g.pick(w.channels),
        burst: false,
        guild_id: w.guildId,
      };
    }
    out.push({ op: 0, s: seq++, t, d: stripUndefined(d) });
  }
  return out;
}

/** Builds the whole corpus deterministically from a seed (JSON form: snowflakes are strings). */
export function createCorpus(options: CorpusOptions = {}): Corpus {
  const g = new Gen(options.seed ?? 42);
  const readyPayload = ready(g, 100);
  const small = stripUndefined(guildCreate(g, 20, 12, 8, 2)) as GatewayEnvelope;
  const large = stripUndefined(
    guildCreate(g, options.largeGuildMembers ?? 2000, 100, 50, 3),
  ) as GatewayEnvelope;
  const stream = events(g, options.eventCount ?? 10_000, 4);
  return {
    ready: readyPayload,
    guildCreateSmall: small,
    guildCreateLarge: large,
    events: stream,
    client: {
      heartbeat: { op: 1, d: 251, s: null, t: null },
      identify: {
        op: 2,
        d: {
          token: 'MTA1.fake-token-for-benchmarks.only',
          properties: { os: 'linux', browser: 'shardline', device: 'shardline' },
          compress: false,
          large_threshold: 250,
          shard: [0, 1],
          presence: {
            since: null,
            activities: [{ name: 'the gateway', type: 3 }],
            status: 'online',
            afk: false,
          },
          intents: 3276799,
        },
        s: null,
        t: null,
      },
      presenceUpdate: {
        op: 3,
        d: {
          since: 1748000000000,
          activities: [{ name: 'Custom Status', type: 4, state: 'benchmarking 🚀' }],
          status: 'idle',
          afk: true,
        },
        s: null,
        t: null,
      },
      requestGuildMembers: {
        op: 8,
        d: {
          guild_id: large.d && (large.d as { id: string }).id,
          query: '',
          limit: 0,
          presences: true,
          nonce: 'chunk-1',
        },
        s: null,
        t: null,
      },
    },
  };
}

const SNOWFLAKE_RE = /^\d{17,20}$/;
const SNOWFLAKE_ARRAY_KEYS = new Set(['roles', 'mention_roles', 'applied_tags']);

function isSnowflakeKey(key: string): boolean {
  return key === 'id' || key.endsWith('_id');
}

/**
 * The ETF form of a payload: every snowflake string (under `id`, `*_id`, or in `roles`-like arrays) becomes a
 * BigInt, as Discord sends 64-bit integers in ETF. Other strings (permissions, nonces) stay strings.
 */
export function toEtfForm(value: unknown, key = ''): unknown {
  if (typeof value === 'string') {
    return isSnowflakeKey(key) && SNOWFLAKE_RE.test(value) ? BigInt(value) : value;
  }
  if (Array.isArray(value)) {
    if (SNOWFLAKE_ARRAY_KEYS.has(key))
      return value.map((v) => (typeof v === 'string' && SNOWFLAKE_RE.test(v) ? BigInt(v) : toEtfForm(v)));
    return value.map((v) => toEtfForm(v));
  }
  if (value !== null && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) out[k] = toEtfForm(v, k);
    return out;
  }
  return value;
}
