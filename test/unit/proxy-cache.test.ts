import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { GatewayDispatchPayload } from 'discord-api-types/v10';
import { ConfigError } from '../../src/errors.js';
import {
  DEFAULT_GATEWAY_CACHE_OPTIONS,
  GatewayCache,
  type GatewayCacheOptions,
  resolveGatewayCacheOptions,
} from '../../src/proxy/cache/index.js';
import { World } from '../../src/simulator/index.js';
import { seededRandom } from '../../src/util/clock.js';

type Json = Record<string, unknown>;

function dispatch(t: string, d: unknown): GatewayDispatchPayload {
  return { op: 0, s: 1, t, d } as unknown as GatewayDispatchPayload;
}

/** What a decoder hands over: a fresh copy, as JSON.parse would produce it. */
function wire<T>(value: T): T {
  return JSON.parse(JSON.stringify(value)) as T;
}

const BOT = {
  id: '100000000000000001',
  username: 'bot',
  global_name: null,
  discriminator: '0',
  avatar: null,
  bot: true,
};
const G = '200000000000000001';
const ROLE = '300000000000000001';
const CH = '400000000000000001';
const THREAD = '500000000000000001';
const U1 = '600000000000000001';
const U2 = '600000000000000002';
const U3 = '600000000000000003';

function user(id: string, username: string, global_name: string | null = null): Json {
  return { id, username, global_name, discriminator: '0', avatar: null, bot: false };
}

function member(u: Json, extra: Json = {}): Json {
  return {
    user: u,
    nick: null,
    roles: [],
    joined_at: '2024-01-01T00:00:00.000Z',
    deaf: false,
    mute: false,
    flags: 0,
    ...extra,
  };
}

function readyPayload(guildIds: string[], shard: [number, number] = [0, 1]): Json {
  return {
    v: 10,
    user: { ...BOT, verified: true, flags: 0 },
    guilds: guildIds.map((id) => ({ id, unavailable: true })),
    session_id: 'abc',
    resume_gateway_url: 'wss://example',
    shard,
    application: { id: BOT.id, flags: 0 },
  };
}

function baseGuild(extra: Json = {}): Json {
  return {
    id: G,
    name: 'guild',
    owner_id: U1,
    joined_at: '2024-01-01T00:00:00.000Z',
    large: false,
    unavailable: false,
    member_count: 3,
    roles: [
      { id: G, name: '@everyone', position: 0, permissions: '0' },
      { id: ROLE, name: 'mod', position: 1, permissions: '8' },
    ],
    emojis: [{ id: '700000000000000001', name: 'e1' }],
    stickers: [{ id: '800000000000000001', name: 's1' }],
    channels: [{ id: CH, type: 0, name: 'general', position: 0 }],
    threads: [
      { id: THREAD, type: 11, name: 't', parent_id: CH, guild_id: G, thread_metadata: { archived: false } },
    ],
    members: [
      member(BOT),
      member(user(U1, 'Alice', 'Ally'), { roles: [ROLE] }),
      member(user(U2, 'bob'), { nick: 'Builder' }),
    ],
    presences: [
      { user: { id: U1 }, status: 'online', activities: [], client_status: { desktop: 'online' } },
      { user: { id: U2 }, status: 'idle', activities: [], client_status: { mobile: 'idle' } },
    ],
    voice_states: [{ user_id: U1, channel_id: CH, session_id: 'x', deaf: false, mute: false }],
    stage_instances: [{ id: '900000000000000001', guild_id: G, channel_id: CH, topic: 'talk' }],
    guild_scheduled_events: [{ id: '910000000000000001', guild_id: G, name: 'party', user_count: 2 }],
    soundboard_sounds: [{ sound_id: '920000000000000001', name: 'beep', guild_id: G }],
    ...extra,
  };
}

/** A cache that has seen READY and the base guild on shard 0. */
function seeded(options: GatewayCacheOptions = { presences: true }): GatewayCache {
  const cache = new GatewayCache(options);
  cache.apply(dispatch('READY', wire(readyPayload([G]))), 0);
  cache.apply(dispatch('GUILD_CREATE', wire(baseGuild())), 0);
  return cache;
}

function ids(list: readonly unknown[], key = 'id'): string[] {
  return list.map((x) => String((x as unknown as Json)[key])).sort();
}

function memberIds(cache: GatewayCache, guildId = G): string[] {
  return cache
    .members(guildId)
    .map((m) => m.user!.id)
    .sort();
}

// ---------------------------------------------------------------- options

test('options default to everything on but presences, frozen', () => {
  const o = resolveGatewayCacheOptions();
  assert.deepEqual(o, DEFAULT_GATEWAY_CACHE_OPTIONS);
  assert.equal(o.presences, false);
  assert.equal(o.members, true);
  assert.ok(Object.isFrozen(o));
  assert.equal(resolveGatewayCacheOptions({ presences: true, members: false }).members, false);
});

test('options reject unknown kinds, non-booleans and non-objects with the option named', () => {
  const cases: [unknown, RegExp][] = [
    [{ member: true }, /cache\.member: unknown cache kind; known kinds are members, presences/],
    [{ members: 'yes' }, /cache\.members: must be true or false, got "yes"/],
    [{ presences: 1 }, /cache\.presences: must be true or false, got 1/],
    [null, /cache: must be an object/],
    [[], /cache: must be an object of per-kind switches, got an array/],
    [JSON.parse('{"__proto__": true}'), /cache\.__proto__: unknown cache kind/],
  ];
  for (const [input, message] of cases) {
    assert.throws(
      () => resolveGatewayCacheOptions(input as GatewayCacheOptions),
      (err: unknown) =>
        err instanceof ConfigError && err.code === 'CONFIG_INVALID' && message.test(err.message),
      String(message),
    );
  }
});

// ---------------------------------------------------------------- READY and GUILD_CREATE

test('READY caches the bot user, the application and the shard guilds as unavailable, not the session', () => {
  const cache = new GatewayCache();
  const a = '210000000000000001';
  const b = '210000000000000002';
  cache.apply(dispatch('READY', wire(readyPayload([a, b], [1, 2]))), 1);
  assert.equal(cache.user()?.id, BOT.id);
  assert.deepEqual(cache.application(), { id: BOT.id, flags: 0 });
  assert.deepEqual(cache.shardGuildIds(1), [a, b]);
  assert.deepEqual(cache.shardGuildIds(0), []);
  assert.deepEqual(cache.readyGuilds(1), [
    { id: a, unavailable: true },
    { id: b, unavailable: true },
  ]);
  assert.deepEqual(cache.unavailableGuild(a), { id: a, unavailable: true });
  assert.equal(cache.guildCreate(a), undefined);
  assert.equal(JSON.stringify(cache).includes('abc'), false);
  assert.equal(cache.guildShard(b), 1);
});

test('a new READY drops guilds the shard no longer lists and makes the listed ones unavailable', () => {
  const cache = seeded();
  const other = '210000000000000009';
  cache.apply(dispatch('GUILD_CREATE', wire(baseGuild({ id: other }))), 0);
  assert.deepEqual(cache.shardGuildIds(0).sort(), [G, other].sort());
  cache.apply(dispatch('READY', wire(readyPayload([G]))), 0);
  assert.deepEqual(cache.shardGuildIds(0), [G]);
  assert.equal(cache.guildCreate(G), undefined);
  assert.deepEqual(cache.unavailableGuild(G), { id: G, unavailable: true });
  assert.equal(cache.guildShard(other), undefined);
});

test('GUILD_CREATE of a guild joined later adds it to the shard', () => {
  const cache = seeded();
  const joined = '210000000000000005';
  cache.apply(dispatch('GUILD_CREATE', wire(baseGuild({ id: joined }))), 0);
  assert.deepEqual(
    cache.readyGuilds(0).map((g) => g.id),
    [G, joined],
  );
  assert.equal(cache.guildCreate(joined)?.id, joined);
});

test('the rebuilt GUILD_CREATE equals the one received when every kind is on', () => {
  const cache = seeded();
  assert.deepEqual(cache.guildCreate(G), baseGuild());
  assert.equal(cache.unavailableGuild(G), undefined);
});

test('rebuilt GUILD_CREATE equals what the simulator world sent, for small and large guilds', () => {
  const world = new World({ seed: 7, guilds: 12, membersPerGuild: 20 });
  world.addGuild(80); // above large_threshold 50: Discord sends only the online members
  for (const presences of [true, false]) {
    const cache = new GatewayCache({ presences: true });
    const ready = readyPayload(world.guilds.map((g) => g.id));
    ready.user = { ...world.bot };
    cache.apply(dispatch('READY', wire(ready)), 0);
    const sent = new Map<string, Json>();
    for (const g of world.guilds) {
      const d = world.guildCreate(g, { presences, largeThreshold: 50 });
      sent.set(g.id, d);
      cache.apply(dispatch('GUILD_CREATE', wire(d)), 0);
    }
    for (const [id, d] of sent) assert.deepEqual(cache.guildCreate(id), wire(d), `guild ${id}`);
    assert.equal(cache.stats().guilds, 13);
    assert.equal(cache.stats().ignored, 0);
  }
});

test('presences are off by default: the rebuilt GUILD_CREATE carries none, members stay', () => {
  const cache = seeded({});
  const d = cache.guildCreate(G)!;
  assert.deepEqual(d.presences, []);
  assert.equal(d.members.length, 3);
  assert.deepEqual({ ...d, presences: baseGuild().presences }, baseGuild());
});

test('GUILD_CREATE with unavailable: true keeps the guild as unavailable', () => {
  const cache = seeded();
  cache.apply(dispatch('GUILD_CREATE', { id: G, unavailable: true }), 0);
  assert.deepEqual(cache.unavailableGuild(G), { id: G, unavailable: true });
  assert.equal(cache.stats().members, 0);
});

test('archived threads in GUILD_CREATE are not kept (Discord lists only active ones)', () => {
  const cache = new GatewayCache();
  const archived = { id: '500000000000000009', type: 11, parent_id: CH, thread_metadata: { archived: true } };
  cache.apply(dispatch('GUILD_CREATE', wire(baseGuild({ threads: [archived] }))), 0);
  assert.deepEqual(cache.guildCreate(G)?.threads, []);
});

// ---------------------------------------------------------------- dispatch semantics, table driven

interface Case {
  readonly name: string;
  readonly events: [string, unknown][];
  readonly check: (cache: GatewayCache) => void;
}

const CASES: Case[] = [
  {
    name: 'GUILD_UPDATE merges fields and keeps member_count, large, joined_at and lists',
    events: [
      [
        'GUILD_UPDATE',
        { id: G, name: 'renamed', icon: 'abc', roles: [{ id: G, name: '@everyone', permissions: '1' }] },
      ],
    ],
    check(c) {
      const d = c.guildCreate(G)!;
      assert.equal(d.name, 'renamed');
      assert.equal(d.icon, 'abc');
      assert.equal(d.owner_id, U1);
      assert.equal(d.member_count, 3);
      assert.equal(d.joined_at, '2024-01-01T00:00:00.000Z');
      assert.deepEqual(ids(d.roles), [G]);
      assert.equal(d.channels.length, 1);
    },
  },
  {
    name: 'GUILD_DELETE with unavailable keeps the guild as unavailable on its shard',
    events: [['GUILD_DELETE', { id: G, unavailable: true }]],
    check(c) {
      assert.equal(c.guildCreate(G), undefined);
      assert.deepEqual(c.unavailableGuild(G), { id: G, unavailable: true });
      assert.deepEqual(c.readyGuilds(0), [{ id: G, unavailable: true }]);
    },
  },
  {
    name: 'GUILD_DELETE without unavailable removes the guild',
    events: [['GUILD_DELETE', { id: G }]],
    check(c) {
      assert.equal(c.guildCreate(G), undefined);
      assert.equal(c.unavailableGuild(G), undefined);
      assert.deepEqual(c.shardGuildIds(0), []);
    },
  },
  {
    name: 'CHANNEL_CREATE adds, CHANNEL_UPDATE merges, CHANNEL_DELETE removes with its threads',
    events: [
      ['CHANNEL_CREATE', { id: '400000000000000002', guild_id: G, type: 0, name: 'new', position: 1 }],
      ['CHANNEL_UPDATE', { id: '400000000000000002', guild_id: G, name: 'renamed' }],
      ['CHANNEL_DELETE', { id: CH, guild_id: G, type: 0 }],
    ],
    check(c) {
      const d = c.guildCreate(G)!;
      assert.deepEqual(ids(d.channels), ['400000000000000002']);
      assert.equal((d.channels[0] as unknown as Json).name, 'renamed');
      assert.equal((d.channels[0] as unknown as Json).position, 1);
      assert.deepEqual(d.threads, []);
    },
  },
  {
    name: 'channel events without guild_id (DMs) change nothing and are not malformed',
    events: [['CHANNEL_CREATE', { id: '400000000000000003', type: 1, recipients: [] }]],
    check(c) {
      assert.equal(c.guildCreate(G)!.channels.length, 1);
      assert.equal(c.stats().malformed, 0);
    },
  },
  {
    name: 'CHANNEL_PINS_UPDATE sets last_pin_timestamp',
    events: [
      [
        'CHANNEL_PINS_UPDATE',
        { guild_id: G, channel_id: CH, last_pin_timestamp: '2025-01-01T00:00:00.000Z' },
      ],
    ],
    check(c) {
      assert.equal(
        (c.guildCreate(G)!.channels[0] as unknown as Json).last_pin_timestamp,
        '2025-01-01T00:00:00.000Z',
      );
    },
  },
  {
    name: 'THREAD_CREATE adds, THREAD_UPDATE merges, THREAD_DELETE removes',
    events: [
      [
        'THREAD_CREATE',
        { id: '500000000000000002', guild_id: G, parent_id: CH, type: 11, name: 'a', newly_created: true },
      ],
      ['THREAD_UPDATE', { id: '500000000000000002', guild_id: G, parent_id: CH, type: 11, name: 'b' }],
      ['THREAD_DELETE', { id: THREAD, guild_id: G, parent_id: CH, type: 11 }],
    ],
    check(c) {
      const threads = c.guildCreate(G)!.threads as unknown as Json[];
      assert.deepEqual(ids(threads), ['500000000000000002']);
      assert.equal(threads[0]!.name, 'b');
      assert.equal('newly_created' in threads[0]!, false);
    },
  },
  {
    name: 'THREAD_UPDATE archiving a thread removes it from the active list',
    events: [
      [
        'THREAD_UPDATE',
        { id: THREAD, guild_id: G, parent_id: CH, type: 11, thread_metadata: { archived: true } },
      ],
    ],
    check(c) {
      assert.deepEqual(c.guildCreate(G)!.threads, []);
    },
  },
  {
    name: 'THREAD_LIST_SYNC with channel_ids replaces the threads of those parents and attaches the bot member',
    events: [
      ['THREAD_CREATE', { id: '500000000000000003', guild_id: G, parent_id: '400000000000000009', type: 11 }],
      [
        'THREAD_LIST_SYNC',
        {
          guild_id: G,
          channel_ids: [CH],
          threads: [{ id: '500000000000000004', guild_id: G, parent_id: CH, type: 11 }],
          members: [{ id: '500000000000000004', user_id: BOT.id, flags: 0 }],
        },
      ],
    ],
    check(c) {
      const threads = c.guildCreate(G)!.threads as unknown as Json[];
      assert.deepEqual(ids(threads), ['500000000000000003', '500000000000000004']);
      assert.deepEqual(threads.find((t) => t.id === '500000000000000004')!.member, {
        id: '500000000000000004',
        user_id: BOT.id,
        flags: 0,
      });
    },
  },
  {
    name: 'THREAD_LIST_SYNC without channel_ids replaces every thread of the guild',
    events: [['THREAD_LIST_SYNC', { guild_id: G, threads: [], members: [] }]],
    check(c) {
      assert.deepEqual(c.guildCreate(G)!.threads, []);
    },
  },
  {
    name: 'THREAD_MEMBERS_UPDATE updates member_count and the bot membership',
    events: [
      [
        'THREAD_MEMBERS_UPDATE',
        {
          id: THREAD,
          guild_id: G,
          member_count: 5,
          added_members: [{ id: THREAD, user_id: BOT.id, flags: 1 }],
        },
      ],
    ],
    check(c) {
      const t = c.guildCreate(G)!.threads[0] as unknown as Json;
      assert.equal(t.member_count, 5);
      assert.deepEqual(t.member, { id: THREAD, user_id: BOT.id, flags: 1 });
    },
  },
  {
    name: 'THREAD_MEMBERS_UPDATE removing the bot drops its thread member',
    events: [
      ['THREAD_MEMBER_UPDATE', { id: THREAD, guild_id: G, user_id: BOT.id, flags: 0 }],
      ['THREAD_MEMBERS_UPDATE', { id: THREAD, guild_id: G, member_count: 0, removed_member_ids: [BOT.id] }],
    ],
    check(c) {
      const t = c.guildCreate(G)!.threads[0] as unknown as Json;
      assert.equal('member' in t, false);
      assert.equal(t.member_count, 0);
    },
  },
  {
    name: 'GUILD_ROLE_CREATE adds, UPDATE merges, DELETE removes the role and strips it from members',
    events: [
      ['GUILD_ROLE_CREATE', { guild_id: G, role: { id: '300000000000000002', name: 'new', position: 2 } }],
      ['GUILD_ROLE_UPDATE', { guild_id: G, role: { id: '300000000000000002', name: 'renamed' } }],
      ['GUILD_ROLE_DELETE', { guild_id: G, role_id: ROLE }],
    ],
    check(c) {
      const roles = c.guildCreate(G)!.roles as unknown as Json[];
      assert.deepEqual(ids(roles), [G, '300000000000000002']);
      assert.equal(roles.find((r) => r.id === '300000000000000002')!.position, 2);
      assert.equal(roles.find((r) => r.id === '300000000000000002')!.name, 'renamed');
      assert.deepEqual(c.member(G, U1)!.roles, []);
    },
  },
  {
    name: 'GUILD_EMOJIS_UPDATE and GUILD_STICKERS_UPDATE replace the lists',
    events: [
      ['GUILD_EMOJIS_UPDATE', { guild_id: G, emojis: [{ id: '700000000000000002', name: 'e2' }] }],
      ['GUILD_STICKERS_UPDATE', { guild_id: G, stickers: [] }],
    ],
    check(c) {
      const d = c.guildCreate(G)!;
      assert.deepEqual(ids(d.emojis), ['700000000000000002']);
      assert.deepEqual(d.stickers, []);
    },
  },
  {
    name: 'GUILD_MEMBER_ADD adds and counts, UPDATE merges, REMOVE removes member and presence and counts',
    events: [
      ['GUILD_MEMBER_ADD', { guild_id: G, ...member(user(U3, 'carol')) }],
      ['GUILD_MEMBER_UPDATE', { guild_id: G, user: user(U3, 'carol2'), roles: [ROLE], nick: 'cc' }],
      ['GUILD_MEMBER_REMOVE', { guild_id: G, user: { id: U1 } }],
    ],
    check(c) {
      assert.deepEqual(memberIds(c), [BOT.id, U2, U3].sort());
      const m = c.member(G, U3)! as unknown as Json;
      assert.equal(m.nick, 'cc');
      assert.deepEqual(m.roles, [ROLE]);
      assert.equal(m.joined_at, '2024-01-01T00:00:00.000Z');
      assert.equal((m.user as unknown as Json).username, 'carol2');
      assert.equal('guild_id' in m, false);
      assert.equal(c.guildCreate(G)!.member_count, 3);
      assert.equal(c.presence(G, U1), undefined);
      assert.equal(c.membersComplete(G), true);
    },
  },
  {
    name: 'GUILD_MEMBERS_CHUNK adds members and their presences (offline ones are not kept)',
    events: [
      [
        'GUILD_MEMBERS_CHUNK',
        {
          guild_id: G,
          members: [member(user(U3, 'carol'))],
          presences: [
            { user: { id: U3 }, status: 'dnd', activities: [] },
            { user: { id: U2 }, status: 'offline', activities: [] },
          ],
          chunk_index: 0,
          chunk_count: 1,
        },
      ],
    ],
    check(c) {
      assert.deepEqual(memberIds(c), [BOT.id, U1, U2, U3].sort());
      assert.equal(c.presence(G, U3)?.status, 'dnd');
      assert.equal(c.presence(G, U2), undefined);
      assert.equal(c.guildCreate(G)!.member_count, 3);
    },
  },
  {
    name: 'PRESENCE_UPDATE merges a partial presence and updates the member user; offline removes it',
    events: [
      [
        'PRESENCE_UPDATE',
        {
          guild_id: G,
          user: { id: U1, username: 'alice2' },
          status: 'dnd',
          activities: [{ name: 'x', type: 0 }],
        },
      ],
      ['PRESENCE_UPDATE', { guild_id: G, user: { id: U2 }, status: 'offline', activities: [] }],
    ],
    check(c) {
      const p = c.presence(G, U1)! as unknown as Json;
      assert.equal(p.status, 'dnd');
      assert.deepEqual(p.client_status, { desktop: 'online' });
      assert.deepEqual(p.user, { id: U1, username: 'alice2' });
      assert.equal(c.member(G, U1)!.user!.username, 'alice2');
      assert.equal(c.member(G, U1)!.user!.global_name, 'Ally');
      assert.equal(c.presence(G, U2), undefined);
    },
  },
  {
    name: 'VOICE_STATE_UPDATE joins, moves and leaves; the member it carries is cached',
    events: [
      [
        'VOICE_STATE_UPDATE',
        { guild_id: G, user_id: U2, channel_id: CH, session_id: 's', member: member(user(U2, 'bobby')) },
      ],
      ['VOICE_STATE_UPDATE', { guild_id: G, user_id: U1, channel_id: null, session_id: 'x' }],
    ],
    check(c) {
      const vs = c.guildCreate(G)!.voice_states as unknown as Json[];
      assert.deepEqual(ids(vs, 'user_id'), [U2]);
      assert.deepEqual(vs[0], { user_id: U2, channel_id: CH, session_id: 's' });
      assert.equal(c.member(G, U2)!.user!.username, 'bobby');
    },
  },
  {
    name: 'USER_UPDATE of the bot merges into the bot user and its members; of another user changes nothing',
    events: [
      ['USER_UPDATE', { id: BOT.id, username: 'renamed-bot' }],
      ['USER_UPDATE', { id: U1, username: 'x' }],
    ],
    check(c) {
      assert.equal(c.user()?.username, 'renamed-bot');
      assert.equal(c.user()?.bot, true);
      assert.equal(c.member(G, BOT.id)?.user?.username, 'renamed-bot');
      assert.equal(c.member(G, U1)?.user?.username, 'Alice');
    },
  },
  {
    name: 'GUILD_SCHEDULED_EVENT_* create, update, count users and delete',
    events: [
      ['GUILD_SCHEDULED_EVENT_CREATE', { id: '910000000000000002', guild_id: G, name: 'b', user_count: 0 }],
      ['GUILD_SCHEDULED_EVENT_UPDATE', { id: '910000000000000002', guild_id: G, name: 'c' }],
      [
        'GUILD_SCHEDULED_EVENT_USER_ADD',
        { guild_scheduled_event_id: '910000000000000002', guild_id: G, user_id: U1 },
      ],
      ['GUILD_SCHEDULED_EVENT_DELETE', { id: '910000000000000001', guild_id: G }],
    ],
    check(c) {
      const events = c.guildCreate(G)!.guild_scheduled_events as unknown as Json[];
      assert.deepEqual(events, [{ id: '910000000000000002', guild_id: G, name: 'c', user_count: 1 }]);
    },
  },
  {
    name: 'STAGE_INSTANCE_* and GUILD_SOUNDBOARD_SOUND_* create, update and delete',
    events: [
      ['STAGE_INSTANCE_UPDATE', { id: '900000000000000001', guild_id: G, topic: 'new topic' }],
      ['STAGE_INSTANCE_CREATE', { id: '900000000000000002', guild_id: G, channel_id: CH, topic: 'b' }],
      ['STAGE_INSTANCE_DELETE', { id: '900000000000000001', guild_id: G }],
      ['GUILD_SOUNDBOARD_SOUND_CREATE', { sound_id: '920000000000000002', guild_id: G, name: 'boop' }],
      ['GUILD_SOUNDBOARD_SOUND_DELETE', { sound_id: '920000000000000001', guild_id: G }],
    ],
    check(c) {
      const d = c.guildCreate(G)!;
      assert.deepEqual(ids(d.stage_instances), ['900000000000000002']);
      assert.deepEqual(ids(d.soundboard_sounds, 'sound_id'), ['920000000000000002']);
    },
  },
  {
    name: 'dispatch types the cache does not follow are counted as ignored and change nothing',
    events: [
      ['MESSAGE_CREATE', { id: '1', channel_id: CH, guild_id: G, content: 'hi' }],
      ['TYPING_START', { channel_id: CH }],
      ['RESUMED', null],
    ],
    check(c) {
      assert.deepEqual(c.guildCreate(G), baseGuild());
      assert.equal(c.stats().ignored, 3);
      assert.equal(c.stats().malformed, 0);
    },
  },
];

for (const c of CASES) {
  test(c.name, () => {
    const cache = seeded();
    for (const [t, d] of c.events) cache.apply(dispatch(t, wire(d)), 0);
    c.check(cache);
    if (!/ignored/.test(c.name)) assert.equal(cache.stats().ignored, 0, 'no event was ignored');
  });
}

// ---------------------------------------------------------------- switches

test('members off keeps only the bot member and never claims completeness', () => {
  const cache = seeded({ members: false, presences: true });
  assert.deepEqual(memberIds(cache), [BOT.id]);
  cache.apply(dispatch('GUILD_MEMBER_ADD', { guild_id: G, ...member(user(U3, 'c')) }), 0);
  cache.apply(dispatch('GUILD_MEMBERS_CHUNK', { guild_id: G, members: [member(user(U1, 'a'))] }), 0);
  assert.deepEqual(memberIds(cache), [BOT.id]);
  assert.equal(cache.guildCreate(G)!.member_count, 4);
  assert.equal(cache.membersComplete(G), false);
  assert.equal(cache.stats().ignored, 0);
});

test('each list switch off sends that list empty and ignores its events', () => {
  const kinds: [keyof GatewayCacheOptions, string, [string, unknown]][] = [
    ['channels', 'channels', ['CHANNEL_CREATE', { id: '400000000000000002', guild_id: G, type: 0 }]],
    [
      'threads',
      'threads',
      ['THREAD_CREATE', { id: '500000000000000002', guild_id: G, parent_id: CH, type: 11 }],
    ],
    ['roles', 'roles', ['GUILD_ROLE_CREATE', { guild_id: G, role: { id: '300000000000000002' } }]],
    ['emojis', 'emojis', ['GUILD_EMOJIS_UPDATE', { guild_id: G, emojis: [{ id: '700000000000000002' }] }]],
    [
      'stickers',
      'stickers',
      ['GUILD_STICKERS_UPDATE', { guild_id: G, stickers: [{ id: '800000000000000002' }] }],
    ],
    ['presences', 'presences', ['PRESENCE_UPDATE', { guild_id: G, user: { id: U1 }, status: 'online' }]],
    ['voiceStates', 'voice_states', ['VOICE_STATE_UPDATE', { guild_id: G, user_id: U2, channel_id: CH }]],
    [
      'stageInstances',
      'stage_instances',
      ['STAGE_INSTANCE_CREATE', { id: '900000000000000002', guild_id: G }],
    ],
    [
      'scheduledEvents',
      'guild_scheduled_events',
      ['GUILD_SCHEDULED_EVENT_CREATE', { id: '910000000000000002', guild_id: G }],
    ],
    [
      'soundboardSounds',
      'soundboard_sounds',
      ['GUILD_SOUNDBOARD_SOUND_CREATE', { sound_id: '920000000000000002', guild_id: G }],
    ],
  ];
  for (const [option, field, [t, d]] of kinds) {
    const cache = seeded({ presences: true, [option]: false });
    cache.apply(dispatch(t, wire(d)), 0);
    const rebuilt = cache.guildCreate(G)! as unknown as Json;
    assert.deepEqual(rebuilt[field], [], option);
    assert.deepEqual({ ...rebuilt, [field]: baseGuild()[field] }, baseGuild(), option);
    assert.equal(cache.stats().ignored, 0, option);
  }
});

// ---------------------------------------------------------------- members: op 8 and completeness

test('membersComplete is true only when every member_count member is cached', () => {
  const world = new World({ seed: 3, guilds: 0, membersPerGuild: 0 });
  const g = world.addGuild(80);
  const cache = new GatewayCache();
  cache.apply(
    dispatch('GUILD_CREATE', wire(world.guildCreate(g, { presences: true, largeThreshold: 50 }))),
    0,
  );
  assert.equal(cache.guildCreate(g.id)!.large, true);
  assert.equal(cache.membersComplete(g.id), false);
  const members = g.members.map((m) => world.memberJson(g, m));
  cache.apply(
    dispatch('GUILD_MEMBERS_CHUNK', wire({ guild_id: g.id, members, chunk_index: 0, chunk_count: 1 })),
    0,
  );
  assert.equal(cache.membersComplete(g.id), true);
  assert.equal(cache.members(g.id).length, 81);
  assert.equal(cache.membersComplete('999'), false);
  assert.equal(cache.membersComplete('not-an-id'), false);
});

test('queryMembers follows op 8: case-insensitive prefix of username, global name or nick, limit, user_ids', () => {
  const cache = seeded();
  const names = (list: { user?: { id: string } }[]) => list.map((m) => m.user!.id).sort();
  assert.deepEqual(names(cache.queryMembers(G, { query: 'al', limit: 10 })), [U1]);
  assert.deepEqual(names(cache.queryMembers(G, { query: 'ALL', limit: 10 })), [U1]); // global name
  assert.deepEqual(names(cache.queryMembers(G, { query: 'build', limit: 10 })), [U2]); // nick
  assert.deepEqual(names(cache.queryMembers(G, { query: 'ob', limit: 10 })), []); // not a prefix
  assert.deepEqual(names(cache.queryMembers(G, { query: '', limit: 0 })), [BOT.id, U1, U2].sort());
  assert.equal(cache.queryMembers(G, { query: '', limit: 2 }).length, 2);
  assert.deepEqual(names(cache.queryMembers(G, { user_ids: [U2, U2, 'junk', '1'] })), [U2]);
  assert.deepEqual(names(cache.queryMembers(G, { user_ids: U1 })), [U1]);
  assert.deepEqual(cache.queryMembers('210000000000000077', { query: '' }), []);
});

test('queryMembers caps a query at 100 members, and limit 0 means all only for the empty query', () => {
  const cache = seeded();
  const members = [];
  for (let i = 0; i < 250; i++)
    members.push(member(user(String(700000000000000000n + BigInt(i)), `zed${i}`)));
  cache.apply(dispatch('GUILD_MEMBERS_CHUNK', { guild_id: G, members }), 0);
  assert.equal(cache.queryMembers(G, { query: 'zed', limit: 0 }).length, 100);
  assert.equal(cache.queryMembers(G, { query: 'zed', limit: 1000 }).length, 100);
  assert.equal(cache.queryMembers(G, { query: 'zed1', limit: 5 }).length, 5);
  assert.equal(cache.queryMembers(G, { query: '', limit: 0 }).length, 253);
  assert.equal(cache.queryMembers(G, { query: '', limit: Number.NaN }).length, 253);
});

// ---------------------------------------------------------------- hostile payloads

test('malformed payloads never throw, change nothing and are counted', () => {
  const cache = seeded();
  const before = cache.guildCreate(G);
  const bad: unknown[] = [
    null,
    42,
    'READY',
    [],
    { t: 42, d: {} },
    { t: '__proto__', d: {} },
    { t: 'constructor', d: {} },
    { t: 'hasOwnProperty', d: {} },
    { t: 'GUILD_CREATE' },
    { t: 'GUILD_CREATE', d: null },
    { t: 'GUILD_CREATE', d: [] },
    { t: 'GUILD_CREATE', d: { id: 12.5 } },
    { t: 'GUILD_CREATE', d: { id: '-1' } },
    { t: 'GUILD_CREATE', d: { id: '123456789012345678901' } },
    { t: 'GUILD_CREATE', d: { id: '12a' } },
    { t: 'READY', d: { user: null, guilds: [] } },
    { t: 'READY', d: { user: { id: BOT.id }, guilds: 'all' } },
    { t: 'GUILD_UPDATE', d: { id: '210000000000000077' } },
    { t: 'GUILD_MEMBER_ADD', d: { guild_id: G, user: 'x' } },
    { t: 'GUILD_MEMBER_ADD', d: { guild_id: G } },
    { t: 'GUILD_MEMBER_REMOVE', d: { guild_id: G, user: null } },
    { t: 'GUILD_MEMBERS_CHUNK', d: { guild_id: G, members: {} } },
    { t: 'PRESENCE_UPDATE', d: { guild_id: G, user: [] } },
    { t: 'GUILD_ROLE_CREATE', d: { guild_id: G, role: 'admin' } },
    { t: 'GUILD_ROLE_DELETE', d: { guild_id: G, role_id: { id: ROLE } } },
    { t: 'GUILD_EMOJIS_UPDATE', d: { guild_id: G, emojis: 'none' } },
    { t: 'CHANNEL_UPDATE', d: { guild_id: G, id: null } },
    { t: 'CHANNEL_UPDATE', d: { guild_id: 'x', id: CH } },
    { t: 'THREAD_LIST_SYNC', d: { guild_id: G, threads: null } },
    { t: 'VOICE_STATE_UPDATE', d: { guild_id: G, user_id: true } },
    { t: 'USER_UPDATE', d: 'me' },
  ];
  for (const p of bad)
    assert.doesNotThrow(() => cache.apply(p as GatewayDispatchPayload, 0), JSON.stringify(p));
  assert.deepEqual(cache.guildCreate(G), before);
  assert.equal(cache.user()?.id, BOT.id);
  assert.equal(cache.stats().ignored, bad.length);
  assert.equal(cache.stats().malformed, bad.length - 8); // the first eight name no type the cache follows
  assert.doesNotThrow(() => cache.apply(dispatch('GUILD_CREATE', baseGuild()), -1));
  assert.doesNotThrow(() => cache.apply(dispatch('GUILD_CREATE', baseGuild()), Number.NaN));
  assert.equal(cache.stats().malformed, bad.length - 6);
});

test('wrong-typed entries inside lists are skipped, the rest is kept', () => {
  const cache = new GatewayCache({ presences: true });
  cache.apply(
    dispatch(
      'GUILD_CREATE',
      baseGuild({
        channels: [null, 1, 'x', [], { id: 5.5 }, { name: 'no id' }, { id: CH, type: 0 }],
        members: [{ user: null }, { user: { id: {} } }, member(user(U1, 'a'))],
        presences: { not: 'an array' },
        roles: 'roles',
      }),
    ),
    0,
  );
  const d = cache.guildCreate(G)!;
  assert.deepEqual(ids(d.channels), [CH]);
  assert.deepEqual(memberIds(cache), [U1]);
  assert.deepEqual(d.presences, []);
  assert.deepEqual(d.roles, []);
});

test('__proto__ keys are kept as data and never reach a prototype', () => {
  const cache = seeded();
  const hostile = JSON.parse(
    `{"id":"${G}","name":"p","__proto__":{"polluted":true},"channels":[{"id":"${CH}","__proto__":{"polluted":true}}],"members":[]}`,
  );
  cache.apply(dispatch('GUILD_CREATE', hostile), 0);
  cache.apply(
    dispatch(
      'GUILD_UPDATE',
      JSON.parse(`{"id":"${G}","__proto__":{"polluted":true},"constructor":{"prototype":{"polluted":true}}}`),
    ),
    0,
  );
  cache.apply(
    dispatch(
      'GUILD_MEMBER_ADD',
      JSON.parse(`{"guild_id":"${G}","user":{"id":"${U1}"},"__proto__":{"polluted":true}}`),
    ),
    0,
  );
  cache.apply(
    dispatch(
      'GUILD_MEMBER_UPDATE',
      JSON.parse(`{"guild_id":"${G}","user":{"id":"${U1}"},"__proto__":{"isAdmin":true}}`),
    ),
    0,
  );
  cache.apply(
    dispatch('THREAD_MEMBER_UPDATE', JSON.parse(`{"id":"${THREAD}","guild_id":"${G}","__proto__":{"x":1}}`)),
    0,
  );
  assert.equal(({} as unknown as Json).polluted, undefined);
  assert.equal(Object.hasOwn(Object.prototype, 'polluted'), false);
  const d = cache.guildCreate(G)! as unknown as Json;
  assert.equal(Object.getPrototypeOf(d), Object.prototype);
  assert.equal(d.polluted, undefined);
  assert.deepEqual(Object.getOwnPropertyDescriptor(d, '__proto__')?.value, { polluted: true });
  const m = cache.member(G, U1)! as unknown as Json;
  assert.equal(Object.getPrototypeOf(m), Object.prototype);
  assert.equal(m.isAdmin, undefined);
  assert.equal(m.polluted, undefined);
  // The JSON a proxy sends still carries the key as data, as received.
  assert.match(JSON.stringify(d), /"__proto__":\{"polluted":true\}/);
});

test('huge lists are taken whole without error', () => {
  const cache = seeded();
  const members = [];
  for (let i = 0; i < 100_000; i++)
    members.push(member(user(String(800000000000000000n + BigInt(i)), `u${i}`)));
  cache.apply(
    dispatch('GUILD_MEMBERS_CHUNK', { guild_id: G, members, presences: new Array(100_000).fill(null) }),
    0,
  );
  assert.equal(cache.stats().members, 100_003);
  const sparse: unknown[] = [];
  sparse.length = 1_000_000; // holes read as undefined
  cache.apply(dispatch('GUILD_EMOJIS_UPDATE', { guild_id: G, emojis: sparse }), 0);
  assert.deepEqual(cache.guildCreate(G)!.emojis, []);
});

test('random mutations of valid dispatches never throw', () => {
  const random = seededRandom(42);
  const samples: [string, Json][] = [
    ['READY', readyPayload([G])],
    ['GUILD_CREATE', baseGuild()],
    ...CASES.flatMap((c) => c.events.map(([t, d]) => [t, d as unknown as Json] as [string, Json])),
  ];
  const junk = [
    null,
    undefined,
    0,
    -1,
    1e308,
    '',
    'x',
    '__proto__',
    [],
    {},
    [null],
    { id: null },
    true,
    Number.NaN,
  ];
  function mutate(value: unknown, depth: number): unknown {
    if (random() < 0.1) return junk[Math.floor(random() * junk.length)];
    if (depth > 4 || value === null || typeof value !== 'object') return value;
    if (Array.isArray(value)) return value.map((v) => mutate(v, depth + 1));
    const out: Json = {};
    for (const [k, v] of Object.entries(value)) if (random() > 0.05) out[k] = mutate(v, depth + 1);
    return out;
  }
  const cache = seeded({ presences: true });
  for (let i = 0; i < 5000; i++) {
    const [t, d] = samples[Math.floor(random() * samples.length)]!;
    assert.doesNotThrow(() => cache.apply(dispatch(t, mutate(wire(d), 0)), Math.floor(random() * 2)));
  }
  for (const id of cache.guildIds()) assert.doesNotThrow(() => JSON.stringify(cache.guildCreate(id)));
  const s = cache.stats();
  assert.equal(s.applied + s.ignored, 5002);
});

test('clearShard forgets the guilds of one shard only', () => {
  const cache = seeded();
  const other = '210000000000000011';
  cache.apply(dispatch('GUILD_CREATE', wire(baseGuild({ id: other }))), 1);
  cache.clearShard(0);
  assert.deepEqual(cache.guildIds(), [other]);
  assert.deepEqual(cache.shardGuildIds(0), []);
  assert.deepEqual(cache.shardGuildIds(1), [other]);
});

test('a snapshot round-trips through JSON into an equal cache', () => {
  const cache = seeded();
  const other = '210000000000000011';
  cache.apply(dispatch('READY', wire(readyPayload([other, '210000000000000012'], [1, 2]))), 1);
  cache.apply(dispatch('GUILD_CREATE', wire(baseGuild({ id: other }))), 1);
  const restored = new GatewayCache({ presences: true });
  assert.equal(restored.restore(JSON.parse(JSON.stringify(cache.snapshot()))), true);
  assert.deepEqual(restored.snapshot(), cache.snapshot());
  assert.deepEqual(restored.readyGuilds(1), cache.readyGuilds(1));
  assert.deepEqual(restored.guildCreate(other), cache.guildCreate(other));
  assert.deepEqual(restored.user(), cache.user());
  assert.equal(restored.stats().malformed, 0);
  assert.deepEqual({ ...restored.stats(), applied: 0 }, { ...cache.stats(), applied: 0 });
});

test('restore refuses what is not a snapshot and skips its unusable parts', () => {
  const cache = seeded();
  for (const bad of [null, 'x', [], { version: 2, shards: [] }, { version: 1, shards: {} }]) {
    assert.equal(cache.restore(bad), false);
    assert.deepEqual(cache.guildIds(), []);
  }
  const snap = JSON.parse(JSON.stringify(seeded().snapshot()));
  snap.shards.push({ shardId: 'one', guilds: [] }, null);
  snap.shards[0].guilds.push({ id: 'nope' }, 7);
  assert.equal(cache.restore(snap), true);
  assert.deepEqual(cache.guildCreate(G), baseGuild());
  assert.equal(cache.stats().malformed, 4);
});
