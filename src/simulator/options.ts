import { ConfigError } from '../errors.js';
import type { Clock } from '../util/clock.js';
import { systemClock } from '../util/clock.js';
import { PRIVILEGED_INTENTS } from '../util/intents.js';
import type { SimulatorObserver } from './observer.js';
import { type ReplayOptions, type ResolvedReplayOptions, resolveReplayOptions } from './replay-options.js';
import { LARGE_BOT_GUILDS, largeBotSessionStartTotal } from './rules.js';

/**
 * Options of `startSimulator()`. Every duration is in milliseconds and configurable, so tests can run the
 * gateway's clocks (heartbeat, identify window, resume window) in milliseconds instead of minutes.
 */
export interface SimulatorOptions {
  /** Interface to listen on. Default `127.0.0.1`. */
  host?: string;
  /** TCP port; `0` picks a free one. Default `0`. */
  port?: number;
  /** Bot tokens the gateway accepts. Default: one token derived from `seed` (read it from `sim.tokens`). */
  tokens?: readonly string[];
  /** Guilds in the synthetic world. Default 10. */
  guilds?: number;
  /** Members generated per guild (the bot comes on top). Default 20. */
  membersPerGuild?: number;
  /**
   * Shard count recommended by `GET /gateway/bot`. Default `ceil(guilds / 1000)`, at least 1, rounded up to
   * a multiple of `largeBotShardMultiple` for a large bot.
   */
  shards?: number;
  /** `session_start_limit.max_concurrency`: identify buckets per identify window. Default 1 (large bot: 16). */
  maxConcurrency?: number;
  /**
   * Daily session-start budget (`session_start_limit.total`). Default 1000; for a large bot
   * `max(2000, (guilds / 1000) * 5)` (Discord's formula, in whole thousands of guilds).
   */
  sessionStartTotal?: number;
  /**
   * Large bot sharding (Discord moves bots in more than 150,000 guilds to it): the shard number Discord
   * assigned. IDENTIFY with a shard count that is not a multiple of it closes with 4010. Default 16 when
   * `guilds` is over 150,000, else 0 (not a large bot).
   */
  largeBotShardMultiple?: number;
  /** When the session-start budget refills, measured from its first use. Default 24 h. */
  sessionStartResetMs?: number;
  /** `heartbeat_interval` sent in Hello. Default 41250. */
  heartbeatIntervalMs?: number;
  /** Slack after `heartbeatIntervalMs` before a silent connection is closed with 4009. Default max(interval/2, 1000). */
  heartbeatGraceMs?: number;
  /** Window in which each `shard_id % max_concurrency` bucket may identify once. Default 5000. */
  identifyWindowMs?: number;
  /** How long a disconnected session stays resumable. Default 120000. */
  sessionTimeoutMs?: number;
  /** Dispatches a session keeps for replay on resume; older ones make a resume fail (op 9 false). Default 10000. */
  replayBufferSize?: number;
  /** Client payloads allowed per `sendWindowMs` on one connection; one more closes with 4008. Default 120. */
  sendLimit?: number;
  /** Sliding window of `sendLimit`. Default 60000. */
  sendWindowMs?: number;
  /** Largest client payload in bytes; larger closes with 4002. Default 4096. */
  maxPayloadBytes?: number;
  /** Max guilds per shard before Identify fails with 4011. Default 2500. */
  maxGuildsPerShard?: number;
  /** Outgoing bytes a connection may have queued before it is dropped as a slow consumer. Default 64 MiB. */
  maxBufferedBytes?: number;
  /** Window of the all-members Request Guild Members limit, per guild. Default 30000. */
  memberRequestWindowMs?: number;
  /** Members per GUILD_MEMBERS_CHUNK. Default 1000. */
  memberChunkSize?: number;
  /** Live random events per second across the world. Default 0 (none). */
  eventsPerSecond?: number;
  /** Seed of the synthetic world and the event stream. Default 1. */
  seed?: number;
  /** Privileged intents the application is allowed (bitfield). Default all (GUILD_MEMBERS | GUILD_PRESENCES | MESSAGE_CONTENT). */
  privilegedIntents?: number;
  /** ETF output: envelope keys (`op`, `d`, `s`, `t`) and `t` as atoms, as Discord does. Default true. */
  etfAtomKeys?: boolean;
  /** ETF output: snowflakes as 64-bit integers (SMALL_BIG_EXT), as Discord does. Default true. */
  etfBigintSnowflakes?: boolean;
  /** zstd-stream output through the shared zstd encoder (real ratio, more CPU) instead of raw blocks. Default false. */
  zstdCompress?: boolean;
  /** Path of `resume_gateway_url` (distinct from the bootstrap path `/`). Default `/resume`. */
  resumePath?: string;
  /**
   * Gap between READY and the first GUILD_CREATE of a new session, in ms. Default 0: the guild burst
   * follows READY in the same write, as a small bot sees it; Discord may take seconds for a large one.
   */
  guildCreateDelayMs?: number;
  /** Time source for every timer of the simulator. Default the system clock. */
  clock?: Clock;
  /**
   * Serve a recording (`shardline record`) instead of the synthetic world: READY and guilds from the file,
   * then its events with their recorded pacing. `guilds` defaults to 0 and `shards` to the recording's count.
   */
  replay?: ReplayOptions;
  /** Tap on every connection's payloads and closes (grading tools). Default none. */
  observer?: SimulatorObserver;
}

export interface ResolvedSimulatorOptions {
  readonly host: string;
  readonly port: number;
  readonly tokens: readonly string[];
  readonly guilds: number;
  readonly membersPerGuild: number;
  readonly shards: number;
  readonly maxConcurrency: number;
  readonly sessionStartTotal: number;
  readonly largeBotShardMultiple: number;
  readonly sessionStartResetMs: number;
  readonly heartbeatIntervalMs: number;
  readonly heartbeatGraceMs: number;
  readonly identifyWindowMs: number;
  readonly sessionTimeoutMs: number;
  readonly replayBufferSize: number;
  readonly sendLimit: number;
  readonly sendWindowMs: number;
  readonly maxPayloadBytes: number;
  readonly maxGuildsPerShard: number;
  readonly maxBufferedBytes: number;
  readonly memberRequestWindowMs: number;
  readonly memberChunkSize: number;
  readonly eventsPerSecond: number;
  readonly seed: number;
  readonly privilegedIntents: number;
  readonly etfAtomKeys: boolean;
  readonly etfBigintSnowflakes: boolean;
  readonly zstdCompress: boolean;
  readonly resumePath: string;
  readonly guildCreateDelayMs: number;
  readonly clock: Clock;
  readonly replay: ResolvedReplayOptions | undefined;
  readonly observer: SimulatorObserver | undefined;
}

export const DEFAULT_SIMULATOR_OPTIONS = {
  host: '127.0.0.1',
  port: 0,
  guilds: 10,
  membersPerGuild: 20,
  maxConcurrency: 1,
  sessionStartTotal: 1000,
  sessionStartResetMs: 86_400_000,
  heartbeatIntervalMs: 41_250,
  identifyWindowMs: 5000,
  sessionTimeoutMs: 120_000,
  replayBufferSize: 10_000,
  sendLimit: 120,
  sendWindowMs: 60_000,
  maxPayloadBytes: 4096,
  maxGuildsPerShard: 2500,
  maxBufferedBytes: 64 * 1024 * 1024,
  memberRequestWindowMs: 30_000,
  memberChunkSize: 1000,
  eventsPerSecond: 0,
  seed: 1,
  privilegedIntents: PRIVILEGED_INTENTS,
  etfAtomKeys: true,
  etfBigintSnowflakes: true,
  zstdCompress: false,
  resumePath: '/resume',
  guildCreateDelayMs: 0,
} as const satisfies Partial<ResolvedSimulatorOptions>;

/**
 * What a bot moved to large bot sharding usually gets (Discord names neither number, it assigns them): a
 * shard multiple of 16 and a `max_concurrency` of 16.
 */
const LARGE_BOT_SHARD_MULTIPLE = 16;
const LARGE_BOT_MAX_CONCURRENCY = 16;

function int(
  name: string,
  value: number | undefined,
  fallback: number,
  min: number,
  max = 2 ** 31 - 1,
): number {
  if (value === undefined) return fallback;
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new ConfigError(name, `expected an integer in [${min}, ${max}], got ${String(value)}`);
  }
  return value;
}

/** The token the simulator accepts when none is configured: stable for a given seed. */
export function defaultToken(seed: number): string {
  const a = Buffer.from(String(1_000_000_000_000_000_000n + BigInt(seed >>> 0))).toString('base64url');
  return `${a}.sim.${(seed >>> 0).toString(36).padStart(6, '0')}`;
}

/** Validates options with actionable messages and fills defaults. Throws `ConfigError`. */
export function resolveSimulatorOptions(options: SimulatorOptions = {}): ResolvedSimulatorOptions {
  const d = DEFAULT_SIMULATOR_OPTIONS;
  const seed = int('seed', options.seed, d.seed, 0, 2 ** 32 - 1);
  const guilds = int('guilds', options.guilds, d.guilds, 0, 1_000_000);
  const heartbeatIntervalMs = int(
    'heartbeatIntervalMs',
    options.heartbeatIntervalMs,
    d.heartbeatIntervalMs,
    1,
  );
  const tokens = options.tokens ?? [defaultToken(seed)];
  if (
    !Array.isArray(tokens) ||
    tokens.length === 0 ||
    tokens.some((t) => typeof t !== 'string' || t === '')
  ) {
    throw new ConfigError('tokens', 'expected a non-empty list of non-empty strings');
  }
  const host = options.host ?? d.host;
  if (typeof host !== 'string' || host === '')
    throw new ConfigError('host', 'expected a host name or address');
  const resumePath = options.resumePath ?? d.resumePath;
  if (typeof resumePath !== 'string' || !resumePath.startsWith('/') || resumePath === '/') {
    throw new ConfigError(
      'resumePath',
      `expected a path such as '/resume', got ${JSON.stringify(resumePath)}`,
    );
  }
  const eventsPerSecond = options.eventsPerSecond ?? d.eventsPerSecond;
  if (!Number.isFinite(eventsPerSecond) || eventsPerSecond < 0) {
    throw new ConfigError('eventsPerSecond', `expected a finite number ≥ 0, got ${String(eventsPerSecond)}`);
  }
  const privilegedIntents = int('privilegedIntents', options.privilegedIntents, d.privilegedIntents, 0);
  if ((privilegedIntents & ~PRIVILEGED_INTENTS) !== 0) {
    throw new ConfigError(
      'privilegedIntents',
      `only GUILD_MEMBERS (2), GUILD_PRESENCES (256) and MESSAGE_CONTENT (32768) are privileged, got ${privilegedIntents}`,
    );
  }
  const largeBotShardMultiple = int(
    'largeBotShardMultiple',
    options.largeBotShardMultiple,
    guilds > LARGE_BOT_GUILDS ? LARGE_BOT_SHARD_MULTIPLE : 0,
    0,
    1024,
  );
  const large = largeBotShardMultiple > 0;
  const minShards = Math.max(1, Math.ceil(guilds / 1000));
  const shards = int(
    'shards',
    options.shards,
    large ? Math.ceil(minShards / largeBotShardMultiple) * largeBotShardMultiple : minShards,
    1,
    1_000_000,
  );
  if (large && shards % largeBotShardMultiple !== 0) {
    throw new ConfigError(
      'shards',
      `a large bot's shard count must be a multiple of largeBotShardMultiple (${largeBotShardMultiple}), got ${shards}`,
    );
  }
  return Object.freeze({
    host,
    port: int('port', options.port, d.port, 0, 65535),
    tokens: Object.freeze([...tokens]),
    guilds,
    membersPerGuild: int('membersPerGuild', options.membersPerGuild, d.membersPerGuild, 0, 1_000_000),
    shards,
    maxConcurrency: int(
      'maxConcurrency',
      options.maxConcurrency,
      large ? LARGE_BOT_MAX_CONCURRENCY : d.maxConcurrency,
      1,
      1024,
    ),
    sessionStartTotal: int(
      'sessionStartTotal',
      options.sessionStartTotal,
      large ? largeBotSessionStartTotal(guilds) : d.sessionStartTotal,
      0,
    ),
    largeBotShardMultiple,
    sessionStartResetMs: int('sessionStartResetMs', options.sessionStartResetMs, d.sessionStartResetMs, 1),
    heartbeatIntervalMs,
    heartbeatGraceMs: int(
      'heartbeatGraceMs',
      options.heartbeatGraceMs,
      Math.max(Math.round(heartbeatIntervalMs / 2), 1000),
      0,
    ),
    identifyWindowMs: int('identifyWindowMs', options.identifyWindowMs, d.identifyWindowMs, 0),
    sessionTimeoutMs: int('sessionTimeoutMs', options.sessionTimeoutMs, d.sessionTimeoutMs, 0),
    replayBufferSize: int('replayBufferSize', options.replayBufferSize, d.replayBufferSize, 1, 10_000_000),
    sendLimit: int('sendLimit', options.sendLimit, d.sendLimit, 1),
    sendWindowMs: int('sendWindowMs', options.sendWindowMs, d.sendWindowMs, 1),
    maxPayloadBytes: int('maxPayloadBytes', options.maxPayloadBytes, d.maxPayloadBytes, 16, 1 << 20),
    maxGuildsPerShard: int('maxGuildsPerShard', options.maxGuildsPerShard, d.maxGuildsPerShard, 1),
    maxBufferedBytes: int('maxBufferedBytes', options.maxBufferedBytes, d.maxBufferedBytes, 1024, 2 ** 40),
    memberRequestWindowMs: int(
      'memberRequestWindowMs',
      options.memberRequestWindowMs,
      d.memberRequestWindowMs,
      0,
    ),
    memberChunkSize: int('memberChunkSize', options.memberChunkSize, d.memberChunkSize, 1, 1000),
    eventsPerSecond,
    seed,
    privilegedIntents,
    etfAtomKeys: options.etfAtomKeys ?? d.etfAtomKeys,
    etfBigintSnowflakes: options.etfBigintSnowflakes ?? d.etfBigintSnowflakes,
    zstdCompress: options.zstdCompress ?? d.zstdCompress,
    resumePath,
    guildCreateDelayMs: int('guildCreateDelayMs', options.guildCreateDelayMs, d.guildCreateDelayMs, 0),
    clock: options.clock ?? systemClock,
    replay: options.replay === undefined ? undefined : resolveReplayOptions(options.replay),
    observer: options.observer,
  });
}
