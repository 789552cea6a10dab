/**
 * A realistic gateway event stream for the end-to-end bench (`--corpus realistic`), built on the
 * simulator's world (its guilds, channels, roles and members, so routing and intents work as for the
 * world's own events). Seeded, deterministic.
 *
 * Where the mix comes from. The one published per-type count we found for a bot receiving every event is a
 * comment on discord-api-docs PR #1307 (Gateway Intents, 2020-01-28): presence updates were 93 % of all
 * events received over two weeks, messages 3 % (the next largest). Presences stayed the bulk of traffic
 * for bots with the GUILD_PRESENCES intent (discord-api-docs issue #6712 describes GUILD_MEMBER_UPDATE
 * bursts on top). We keep presences dominant but lower them to 80 % so that every other type still
 * appears thousands of times in a 50,000-event burst; the remaining shares are our choice, ordered as
 * bots see them (messages, typing, member updates, reactions, edits, deletes, voice):
 *
 *   PRESENCE_UPDATE 80 % · MESSAGE_CREATE 7 % · TYPING_START 4 % · GUILD_MEMBER_UPDATE 3 % ·
 *   MESSAGE_REACTION_ADD 2.5 % · MESSAGE_UPDATE 1.5 % · MESSAGE_DELETE 1 % · VOICE_STATE_UPDATE 1 %
 *
 * Sizes follow today's payloads (discord-api-types v10): a presence carries 0–3 activities (custom
 * status, a game with timestamps and assets, Spotify with party, sync_id and album art) and client_status;
 * a MESSAGE_CREATE carries the full author and member, and a quarter of them an embed (link preview with
 * title, description, thumbnail, provider) or an attachment or a reply (`referenced_message`, a whole
 * nested message); members carry avatar decoration data. `summarize()` reports the mean JSON size.
 */

import type { WorldGuild, WorldMember } from '../src/simulator/index.js';
import { seededRandom } from '../src/util/clock.js';

export interface RealisticEvent {
  readonly t: string;
  readonly d: Record<string, unknown>;
}

export const REALISTIC_MIX: readonly (readonly [string, number])[] = [
  ['PRESENCE_UPDATE', 0.8],
  ['MESSAGE_CREATE', 0.07],
  ['TYPING_START', 0.04],
  ['GUILD_MEMBER_UPDATE', 0.03],
  ['MESSAGE_REACTION_ADD', 0.025],
  ['MESSAGE_UPDATE', 0.015],
  ['MESSAGE_DELETE', 0.01],
  ['VOICE_STATE_UPDATE', 0.01],
];

const WORDS = (
  'the a to and of in is it you that for on this with be are was have not but what all just can if so like ' +
  'lol yeah ok gg nice thanks anyone know how why when server bot role channel voice game play tonight ' +
  'update patch build deploy test merge issue fix broken works again later today tomorrow meme cat dog ' +
  'pizza coffee music stream raid queue ranked match win lose team help question answer docs link code'
).split(' ');
const GAMES = [
  'Minecraft',
  'League of Legends',
  'Valorant',
  'Counter-Strike 2',
  'Genshin Impact',
  'Fortnite',
];
const EMOJI = ['👍', '😂', '❤️', '🔥', '🎉', '💀', '👀'];
const SITES = ['youtube.com', 'github.com', 'twitter.com', 'reddit.com', 'twitch.tv'];

export function realisticEvents(guilds: readonly WorldGuild[], count: number, seed = 7): RealisticEvent[] {
  const rand = seededRandom(seed);
  const int = (n: number) => Math.floor(rand() * n);
  const pick = <T>(a: readonly T[]): T => a[int(a.length)]!;
  const chance = (p: number) => rand() < p;
  const hex = (n: number) => {
    let s = '';
    for (let i = 0; i < n; i++) s += '0123456789abcdef'[int(16)];
    return s;
  };
  let idTail = 0;
  const snowflake = () => String((BigInt(1_750_000_000_000 - 1_420_070_400_000 + idTail++) << 22n) | 1n);
  const sentence = (min: number, max: number) => {
    const n = min + int(max - min + 1);
    const w: string[] = [];
    for (let i = 0; i < n; i++) w.push(chance(0.03) ? pick(EMOJI) : pick(WORDS));
    return w.join(' ');
  };
  const iso = () => new Date(Date.UTC(2026, 5, 1) + int(86_400_000)).toISOString();
  const someone = (g: WorldGuild): WorldMember =>
    g.members[1 + int(Math.max(1, g.members.length - 1))] ?? g.members[0]!;
  const textChannel = (g: WorldGuild) => g.channels[1 + int(3)] ?? g.channels[0]!;
  const user = (m: WorldMember) => ({
    id: m.user.id,
    username: m.user.username,
    global_name: m.user.global_name,
    discriminator: '0',
    avatar: m.user.avatar ?? hex(32),
    avatar_decoration_data: chance(0.2)
      ? { asset: `a_${hex(32)}`, sku_id: snowflake(), expires_at: null }
      : null,
    public_flags: chance(0.3) ? 64 : 0,
    primary_guild: null,
    collectibles: null,
    clan: null,
  });
  const member = (m: WorldMember, withUser: boolean) => ({
    ...(withUser ? { user: user(m) } : {}),
    roles: m.roles,
    premium_since: null,
    pending: false,
    nick: m.nick,
    mute: false,
    joined_at: m.joined_at,
    flags: 0,
    deaf: false,
    communication_disabled_until: null,
    banner: null,
    avatar: null,
  });
  const activity = () => {
    const r = rand();
    if (r < 0.35)
      return {
        type: 4,
        state: sentence(1, 6),
        name: 'Custom Status',
        id: 'custom',
        emoji: chance(0.5) ? { name: pick(EMOJI) } : null,
        created_at: 1_750_000_000_000 + int(1e9),
      };
    if (r < 0.65)
      return {
        type: 2,
        name: 'Spotify',
        id: 'spotify:1',
        flags: 48,
        details: sentence(2, 5),
        state: sentence(1, 3),
        timestamps: { start: 1_750_000_000_000 + int(1e9), end: 1_750_000_200_000 + int(1e9) },
        assets: { large_image: `spotify:ab67616d0000b273${hex(24)}`, large_text: sentence(2, 5) },
        party: { id: `spotify:${snowflake()}` },
        sync_id: hex(22),
        session_id: hex(32),
        created_at: 1_750_000_000_000 + int(1e9),
      };
    return {
      type: 0,
      name: pick(GAMES),
      application_id: snowflake(),
      state: chance(0.5) ? sentence(1, 4) : undefined,
      details: chance(0.5) ? sentence(2, 5) : undefined,
      timestamps: { start: 1_750_000_000_000 + int(1e9) },
      assets: chance(0.7)
        ? {
            large_image: snowflake(),
            large_text: sentence(1, 3),
            small_image: snowflake(),
            small_text: 'ranked',
          }
        : undefined,
      created_at: 1_750_000_000_000 + int(1e9),
    };
  };
  const message = (g: WorldGuild, withExtras: boolean): Record<string, unknown> => {
    const m = someone(g);
    const extra = withExtras ? rand() : 1;
    const site = pick(SITES);
    return {
      type: extra < 0.08 ? 19 : 0,
      tts: false,
      timestamp: iso(),
      pinned: false,
      nonce: snowflake(),
      mentions: chance(0.1) ? [user(someone(g))] : [],
      mention_roles: [],
      mention_everyone: false,
      member: member(m, false),
      id: snowflake(),
      flags: 0,
      embeds:
        extra < 0.16 && extra >= 0.08
          ? [
              {
                type: 'link',
                url: `https://${site}/${hex(11)}`,
                title: sentence(4, 10),
                description: sentence(10, 30),
                color: int(0xffffff),
                provider: { name: site.split('.')[0] },
                thumbnail: {
                  url: `https://i.${site}/vi/${hex(11)}/maxresdefault.jpg`,
                  proxy_url: `https://images-ext-1.discordapp.net/external/${hex(43)}/https/i.${site}/vi/${hex(11)}/maxresdefault.jpg`,
                  width: 1280,
                  height: 720,
                  placeholder: hex(28),
                  placeholder_version: 1,
                  flags: 0,
                },
                content_scan_version: 2,
              },
            ]
          : [],
      edited_timestamp: null,
      content: extra < 0.16 && extra >= 0.08 ? `https://${site}/${hex(11)}` : sentence(1, 30),
      components: [],
      channel_id: textChannel(g).id,
      author: user(m),
      attachments:
        extra < 0.22 && extra >= 0.16
          ? [
              {
                id: snowflake(),
                filename: `image_${hex(6)}.png`,
                size: 20_000 + int(2_000_000),
                url: `https://cdn.discordapp.com/attachments/${snowflake()}/${snowflake()}/image.png?ex=${hex(8)}&is=${hex(8)}&hm=${hex(64)}&`,
                proxy_url: `https://media.discordapp.net/attachments/${snowflake()}/${snowflake()}/image.png?ex=${hex(8)}&is=${hex(8)}&hm=${hex(64)}&`,
                width: 1920,
                height: 1080,
                content_type: 'image/png',
                placeholder: hex(28),
                placeholder_version: 1,
              },
            ]
          : [],
      guild_id: g.id,
      ...(extra < 0.08
        ? {
            message_reference: {
              type: 0,
              channel_id: textChannel(g).id,
              message_id: snowflake(),
              guild_id: g.id,
            },
            referenced_message: { ...message(g, false), member: undefined },
          }
        : {}),
    };
  };

  const out: RealisticEvent[] = [];
  for (let i = 0; i < count; i++) {
    const g = pick(guilds);
    let r = rand();
    let t = REALISTIC_MIX.at(-1)![0];
    for (const [name, share] of REALISTIC_MIX) {
      if (r < share) {
        t = name;
        break;
      }
      r -= share;
    }
    const m = someone(g);
    let d: Record<string, unknown>;
    switch (t) {
      case 'PRESENCE_UPDATE': {
        const status = pick(['online', 'online', 'idle', 'dnd', 'offline'] as const);
        const activities = status === 'offline' ? [] : Array.from({ length: int(4) }, activity);
        d = {
          user: { id: m.user.id },
          status,
          guild_id: g.id,
          client_status:
            status === 'offline'
              ? {}
              : chance(0.3)
                ? { mobile: status, desktop: status }
                : { desktop: status },
          activities,
          ...(chance(0.1) ? { processed_at_timestamp: 1_750_000_000_000 + int(1e9) } : {}),
        };
        break;
      }
      case 'MESSAGE_CREATE':
        d = message(g, true);
        break;
      case 'MESSAGE_UPDATE':
        d = { ...message(g, true), edited_timestamp: iso() };
        break;
      case 'TYPING_START':
        d = {
          user_id: m.user.id,
          timestamp: 1_750_000_000 + int(1e6),
          member: member(m, true),
          channel_id: textChannel(g).id,
          guild_id: g.id,
        };
        break;
      case 'GUILD_MEMBER_UPDATE':
        d = { ...member(m, true), guild_id: g.id, unusual_dm_activity_until: null };
        break;
      case 'MESSAGE_REACTION_ADD':
        d = {
          user_id: m.user.id,
          type: 0,
          message_id: snowflake(),
          message_author_id: someone(g).user.id,
          member: member(m, true),
          emoji: chance(0.7)
            ? { name: pick(EMOJI), id: null }
            : { name: 'pepe', id: snowflake(), animated: false },
          channel_id: textChannel(g).id,
          burst: false,
          burst_colors: [],
          guild_id: g.id,
        };
        break;
      case 'MESSAGE_DELETE':
        d = { id: snowflake(), channel_id: textChannel(g).id, guild_id: g.id };
        break;
      default:
        d = {
          member: member(m, true),
          user_id: m.user.id,
          suppress: false,
          session_id: hex(32),
          self_video: false,
          self_mute: chance(0.3),
          self_deaf: false,
          request_to_speak_timestamp: null,
          mute: false,
          guild_id: g.id,
          deaf: false,
          channel_id: chance(0.8) ? (g.channels.at(-1) ?? g.channels[0]!).id : null,
        };
    }
    out.push({ t, d: JSON.parse(JSON.stringify(d)) as Record<string, unknown> });
  }
  return out;
}

/** Mean JSON size of the envelopes and the share of each type, for the bench's header line. */
export function summarize(events: readonly RealisticEvent[]): { meanBytes: number; mix: string } {
  let bytes = 0;
  const byType = new Map<string, number>();
  for (const e of events) {
    bytes += Buffer.byteLength(JSON.stringify({ t: e.t, s: 100_000, op: 0, d: e.d }));
    byType.set(e.t, (byType.get(e.t) ?? 0) + 1);
  }
  const mix = [...byType]
    .sort((a, b) => b[1] - a[1])
    .map(([t, n]) => `${t} ${((100 * n) / events.length).toFixed(1)}%`)
    .join(', ');
  return { meanBytes: bytes / events.length, mix };
}
