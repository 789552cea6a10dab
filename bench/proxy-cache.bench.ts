/**
 * The gateway proxy's cache: memory per 1,000 guilds of the simulator's default world (20 members per
 * guild plus the bot, 5 channels, 3 roles; GUILD_CREATE as a connection with GUILD_PRESENCES and
 * large_threshold 50 receives it), side by side with a discord.js `Client` cache fed the same packets
 * through its own gateway packet handlers; then the speed of applying and rebuilding a GUILD_CREATE.
 *
 * Each memory figure comes from a fresh child process (`--expose-gc`): the world and the JSON text of
 * every GUILD_CREATE are built first, then a full GC and `heapUsed`; the texts are parsed and fed to the
 * cache; a full GC and `heapUsed` again. The difference is what the cache holds (parsed objects plus its
 * own structures). 20 guilds of another world are fed before the first reading so code compiled on
 * first use is not counted.
 *
 * discord.js is an optional peer: without `discord.js` installed its rows are skipped.
 * Flags: --guilds N (default 1000), --time ms (speed groups).
 */
import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import type { GatewayDispatchPayload } from 'discord-api-types/v10';
import { GatewayCache, type GatewayCacheOptions } from '../src/proxy/cache/index.js';
import { World } from '../src/simulator/index.js';
import { benchFlag, runGroup } from './harness.js';

const VARIANTS = ['shardline', 'shardline+presences', 'discord.js', 'discord.js-no-presences'] as const;
type Variant = (typeof VARIANTS)[number];

interface MemoryResult {
  readonly variant: Variant;
  readonly guilds: number;
  readonly heapBytes: number;
  readonly feedMs: number;
  readonly members: number;
  readonly presences: number;
  readonly channels: number;
  readonly roles: number;
  readonly error?: string;
}

const MEMBERS_PER_GUILD = 20; // the simulator's default world
const LARGE_THRESHOLD = 50;

function worldPackets(seed: number, guilds: number): { world: World; ready: object; creates: string[] } {
  const world = new World({ seed, guilds, membersPerGuild: MEMBERS_PER_GUILD });
  const ready = {
    v: 10,
    user: { ...world.bot, verified: true, flags: 0 },
    guilds: world.guilds.map((g) => ({ id: g.id, unavailable: true })),
    session_id: 'bench',
    resume_gateway_url: 'ws://127.0.0.1/',
    application: { ...world.application },
  };
  const creates = world.guilds.map((g) =>
    JSON.stringify(world.guildCreate(g, { presences: true, largeThreshold: LARGE_THRESHOLD })),
  );
  return { world, ready, creates };
}

function gcHeap(): number {
  const gc = globalThis.gc;
  if (gc === undefined) throw new Error('run with --expose-gc');
  gc();
  gc();
  return process.memoryUsage().heapUsed;
}

type Feeder = {
  feed(t: string, d: unknown): void;
  counts(): Omit<MemoryResult, 'variant' | 'guilds' | 'heapBytes' | 'feedMs'>;
};

function shardlineFeeder(options: GatewayCacheOptions): Feeder {
  const cache = new GatewayCache(options);
  return {
    feed(t, d) {
      cache.apply({ op: 0, s: 1, t, d } as unknown as GatewayDispatchPayload, 0);
    },
    counts() {
      const s = cache.stats();
      return { members: s.members, presences: s.presences, channels: s.channels, roles: s.roles };
    },
  };
}

// discord.js is CommonJS; load it through require so a missing install is a skipped row, not a crash.
const require = createRequire(import.meta.url);
// biome-ignore lint/suspicious/noExplicitAny: an optional peer without its types at build time
type Any = any;
function loadDiscordJs(): Any | undefined {
  try {
    return require('discord.js');
  } catch {
    return undefined;
  }
}

function discordJsFeeder(presences: boolean): Feeder | undefined {
  const djs = loadDiscordJs();
  if (djs === undefined) return undefined;
  const { Client, GatewayIntentBits, Options } = djs;
  const client = new Client({
    intents: [
      GatewayIntentBits.Guilds,
      GatewayIntentBits.GuildMembers,
      GatewayIntentBits.GuildPresences,
      GatewayIntentBits.GuildVoiceStates,
      GatewayIntentBits.GuildEmojisAndStickers,
    ],
    ...(presences
      ? {}
      : { makeCache: Options.cacheWithLimits({ ...Options.DefaultMakeCacheSettings, PresenceManager: 0 }) }),
  });
  // The stand-in for a WebSocketShard: the handlers read `id` and READY calls `checkReady()`.
  const shard = { id: 0, checkReady() {} };
  return {
    feed(t, d) {
      client.ws.handlePacket({ op: 0, s: 1, t, d }, shard);
    },
    counts() {
      let members = 0;
      let presenceCount = 0;
      let roles = 0;
      for (const g of client.guilds.cache.values()) {
        members += g.members.cache.size;
        presenceCount += g.presences.cache.size;
        roles += g.roles.cache.size;
      }
      return { members, presences: presenceCount, channels: client.channels.cache.size, roles };
    },
  };
}

function makeFeeder(variant: Variant): Feeder | undefined {
  switch (variant) {
    case 'shardline':
      return shardlineFeeder({});
    case 'shardline+presences':
      return shardlineFeeder({ presences: true });
    case 'discord.js':
      return discordJsFeeder(true);
    case 'discord.js-no-presences':
      return discordJsFeeder(false);
  }
}

function measure(variant: Variant, guilds: number): MemoryResult {
  const warm = worldPackets(2, 20);
  const { ready, creates } = worldPackets(1, guilds);
  const feeder = makeFeeder(variant);
  if (feeder === undefined) {
    return {
      variant,
      guilds,
      heapBytes: Number.NaN,
      feedMs: Number.NaN,
      members: 0,
      presences: 0,
      channels: 0,
      roles: 0,
      error: 'discord.js not installed: npm i -D discord.js',
    };
  }
  feeder.feed('READY', {
    ...ready,
    guilds: [
      ...(ready as { guilds: unknown[] }).guilds,
      ...JSON.parse(JSON.stringify((warm.ready as { guilds: unknown[] }).guilds)),
    ],
  });
  for (const text of warm.creates) feeder.feed('GUILD_CREATE', JSON.parse(text));
  const before = gcHeap();
  const start = performance.now();
  for (const text of creates) feeder.feed('GUILD_CREATE', JSON.parse(text));
  const feedMs = performance.now() - start;
  const heapBytes = gcHeap() - before;
  const counts = feeder.counts();
  void creates.length; // keep the texts alive through the second reading
  return { variant, guilds, heapBytes, feedMs, ...counts };
}

function runChild(variant: Variant, guilds: number): MemoryResult {
  const self = fileURLToPath(import.meta.url);
  const out = spawnSync(
    process.execPath,
    ['--expose-gc', self, '--memory-child', variant, '--guilds', String(guilds)],
    {
      encoding: 'utf8',
    },
  );
  const line = out.stdout.trim().split('\n').pop() ?? '';
  try {
    return JSON.parse(line) as MemoryResult;
  } catch {
    return {
      variant,
      guilds,
      heapBytes: Number.NaN,
      feedMs: Number.NaN,
      members: 0,
      presences: 0,
      channels: 0,
      roles: 0,
      error: out.stderr.trim().split('\n').slice(-3).join(' '),
    };
  }
}

function main(): void {
  const child = benchFlag('memory-child');
  const guilds = Number(benchFlag('guilds') ?? 1000);
  if (!Number.isInteger(guilds) || guilds < 1)
    throw new Error(`--guilds: expected a positive integer, got ${benchFlag('guilds')}`);
  if (child !== undefined) {
    if (!(VARIANTS as readonly string[]).includes(child))
      throw new Error(`--memory-child: one of ${VARIANTS.join(', ')}`);
    console.log(JSON.stringify(measure(child as Variant, guilds)));
    return;
  }

  console.log(
    `\nGateway cache memory, simulator default world scaled to ${guilds} guilds (${MEMBERS_PER_GUILD} members + bot each), heap per 1,000 guilds`,
  );
  const rows = VARIANTS.map((v) => runChild(v, guilds));
  const ref = rows.find((r) => r.variant === 'discord.js' && r.error === undefined);
  const table = rows.map((r) => ({
    cache: r.variant,
    'MiB / 1k guilds': r.error ? r.error : (((r.heapBytes / r.guilds) * 1000) / 2 ** 20).toFixed(2),
    'KiB / guild': r.error ? '' : (r.heapBytes / r.guilds / 1024).toFixed(1),
    '× discord.js': r.error || !ref ? '' : `${(r.heapBytes / ref.heapBytes).toFixed(2)}×`,
    'feed µs / guild': r.error ? '' : ((r.feedMs / r.guilds) * 1000).toFixed(0),
    members: r.members,
    presences: r.presences,
    channels: r.channels,
    roles: r.roles,
  }));
  console.table(table);

  const { world, creates } = worldPackets(1, 64);
  const cache = new GatewayCache({ presences: true });
  const parsed = creates.map((t) => JSON.parse(t) as unknown);
  let i = 0;
  runGroup('GatewayCache: one GUILD_CREATE (21 members) applied from parsed JSON', [
    {
      name: 'apply GUILD_CREATE',
      fn: () =>
        cache.apply(
          { op: 0, s: 1, t: 'GUILD_CREATE', d: parsed[i++ & 63] } as unknown as GatewayDispatchPayload,
          0,
        ),
    },
  ]);
  const ids = world.guilds.map((g) => g.id);
  runGroup('GatewayCache: read side', [
    { name: 'guildCreate() rebuild', fn: () => cache.guildCreate(ids[i++ & 63]!) },
    { name: 'rebuild + JSON.stringify', fn: () => JSON.stringify(cache.guildCreate(ids[i++ & 63]!)) },
    {
      name: "queryMembers('s', 10)",
      fn: () => cache.queryMembers(ids[i++ & 63]!, { query: 's', limit: 10 }),
    },
  ]);
}

main();
