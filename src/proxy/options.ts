/** Options of `GatewayProxy`, their defaults and their validation. */

import type { Compression, Encoding } from '../codec/formats.js';
import { ConfigError } from '../errors.js';
import type { ShardManagerOptions } from '../manager/options.js';
import { type Clock, systemClock } from '../util/clock.js';
import { Secret } from '../util/redact.js';
import type { GatewayCacheOptions } from './cache/index.js';
import type { RedisUpstreamOptions } from './redis-upstream.js';

export interface GatewayProxyOptions {
  /**
   * The bot token the upstream shards identify with (without `Bot `). Never accepted from clients unless
   * listed in `clientTokens`. Not needed with `redis` (the workers hold the token).
   */
  readonly token?: string;
  /**
   * Serve the shards of a worker fleet over Redis instead of running shards here: the proxy reads their
   * event streams and sends commands through the command streams. Excludes `api`, `shardCount`,
   * `encoding`, `compression` and `upstream`, which configure the proxy's own shards.
   */
  readonly redis?: RedisUpstreamOptions;
  /** Intents of the upstream shards; a client may identify with any subset. */
  readonly intents: number;
  /** Tokens clients must present in IDENTIFY and RESUME (with or without `Bot `). At least one. */
  readonly clientTokens: readonly string[];
  /** Interface to listen on; default 127.0.0.1. */
  readonly host?: string;
  /** Port to listen on; default 0 (a free port). */
  readonly port?: number;
  /** The ws URL given to clients (REST `url`, `resume_gateway_url`); default `ws://HOST:PORT`. */
  readonly publicUrl?: string;
  /** Upstream: REST base, shard count, encoding and compression of the proxy's own shards. */
  readonly api?: string;
  readonly shardCount?: 'auto' | number;
  readonly encoding?: Encoding;
  readonly compression?: Compression;
  /** Anything else for the upstream `ShardManager` (identify window, shard options, session store, …). */
  readonly upstream?: Partial<
    Omit<ShardManagerOptions, 'token' | 'intents' | 'api' | 'shardCount' | 'encoding' | 'compression'>
  >;
  /** What the cache keeps (members and presences are the big kinds); default everything. */
  readonly cache?: GatewayCacheOptions;
  /** Replay buffer of each client session: at most this many events … */
  readonly replayEvents?: number;
  /** … and none older than this (a detached session also ends after this long). */
  readonly replayMs?: number;
  /** HELLO's `heartbeat_interval`. */
  readonly heartbeatIntervalMs?: number;
  /** A connection that sends no heartbeat for interval + grace is closed (4009). */
  readonly heartbeatGraceMs?: number;
  /** Discord's per-connection limits: sends per window (close 4008) and payload size (close 4002). */
  readonly sendLimit?: number;
  readonly sendWindowMs?: number;
  readonly maxPayloadBytes?: number;
  /** Longest wait for the upstream's GUILD_MEMBERS_CHUNKs of a forwarded op 8 before its routing is dropped. */
  readonly memberRequestTimeoutMs?: number;
  /** Most client connections at once; more are refused (HTTP 503). */
  readonly maxConnections?: number;
  /**
   * Most client sessions kept at once (held or awaiting a RESUME); above it the session detached longest
   * ago is dropped, and when every session is held an IDENTIFY gets op 9.
   */
  readonly maxSessions?: number;
  readonly clock?: Clock;
}

export const DEFAULT_GATEWAY_PROXY_OPTIONS = {
  host: '127.0.0.1',
  port: 0,
  replayEvents: 10_000,
  replayMs: 180_000,
  heartbeatIntervalMs: 41_250,
  heartbeatGraceMs: 10_000,
  sendLimit: 120,
  sendWindowMs: 60_000,
  maxPayloadBytes: 4096,
  memberRequestTimeoutMs: 30_000,
  maxConnections: 10_000,
  maxSessions: 10_000,
} as const satisfies Partial<GatewayProxyOptions>;

export interface ResolvedGatewayProxyOptions {
  /** Undefined only with `redis`. */
  readonly token: Secret | undefined;
  readonly redis: RedisUpstreamOptions | undefined;
  readonly intents: number;
  readonly clientTokens: readonly Secret[];
  readonly host: string;
  readonly port: number;
  readonly publicUrl: string | undefined;
  readonly api: string | undefined;
  readonly shardCount: 'auto' | number;
  readonly encoding: Encoding | undefined;
  readonly compression: Compression | undefined;
  readonly upstream: GatewayProxyOptions['upstream'];
  readonly cache: GatewayCacheOptions;
  readonly replayEvents: number;
  readonly replayMs: number;
  readonly heartbeatIntervalMs: number;
  readonly heartbeatGraceMs: number;
  readonly sendLimit: number;
  readonly sendWindowMs: number;
  readonly maxPayloadBytes: number;
  readonly memberRequestTimeoutMs: number;
  readonly maxConnections: number;
  readonly maxSessions: number;
  readonly clock: Clock;
}

function integer(option: string, value: unknown, fallback: number, min: number, max: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max)
    throw new ConfigError(option, `expected an integer from ${min} to ${max}, got ${String(value)}`);
  return value;
}

function token(option: string, value: unknown): Secret {
  if (typeof value !== 'string' || value.trim() === '')
    throw new ConfigError(option, 'expected a non-empty token string');
  return new Secret(value.replace(/^Bot\s+/i, '').trim());
}

/** Validates `options` with actionable messages and returns them frozen, with defaults filled in. */
export function resolveGatewayProxyOptions(options: GatewayProxyOptions): ResolvedGatewayProxyOptions {
  if (typeof options !== 'object' || options === null)
    throw new ConfigError('options', 'expected an options object');
  const d = DEFAULT_GATEWAY_PROXY_OPTIONS;
  if (!Array.isArray(options.clientTokens) || options.clientTokens.length === 0)
    throw new ConfigError('clientTokens', 'expected at least one token that clients identify with');
  const host = options.host ?? d.host;
  if (typeof host !== 'string' || host === '')
    throw new ConfigError('host', 'expected a host name or address');
  const publicUrl = options.publicUrl;
  if (publicUrl !== undefined && (typeof publicUrl !== 'string' || !/^wss?:\/\/[^\s]+$/.test(publicUrl)))
    throw new ConfigError('publicUrl', `expected a ws:// or wss:// URL, got ${String(publicUrl)}`);
  const redis = options.redis;
  if (redis !== undefined) {
    if (
      typeof redis !== 'object' ||
      redis === null ||
      typeof redis.redis !== 'object' ||
      redis.redis === null
    )
      throw new ConfigError('redis', 'expected { redis: <ioredis client>, prefix?, … }');
    for (const own of ['api', 'shardCount', 'encoding', 'compression', 'upstream'] as const) {
      if (options[own] !== undefined)
        throw new ConfigError(
          own,
          `configures the proxy's own shards; with redis the worker fleet runs them`,
        );
    }
    for (const name of [
      'partitions',
      'snapshotIntervalMs',
      'maxSnapshotBytes',
      'commandTimeoutMs',
      'shardCountPollMs',
      'readCount',
      'blockMs',
      'sessionSyncMs',
      'maxSessionRecordBytes',
      'maxResumeScan',
      'resumeWaitMs',
    ] as const)
      integer(`redis.${name}`, redis[name], 1, name === 'snapshotIntervalMs' ? 0 : 1, 2 ** 31 - 1);
  }
  const shardCount = options.shardCount ?? 'auto';
  if (shardCount !== 'auto') integer('shardCount', shardCount, 1, 1, 100_000);
  return Object.freeze({
    token: redis !== undefined && options.token === undefined ? undefined : token('token', options.token),
    redis,
    intents: integer('intents', options.intents, 0, 0, 2 ** 31 - 1),
    clientTokens: Object.freeze(options.clientTokens.map((t, i) => token(`clientTokens[${i}]`, t))),
    host,
    port: integer('port', options.port, d.port, 0, 65_535),
    publicUrl: publicUrl?.replace(/\/+$/, ''),
    api: options.api,
    shardCount,
    encoding: options.encoding,
    compression: options.compression,
    upstream: options.upstream,
    cache: options.cache ?? {},
    replayEvents: integer('replayEvents', options.replayEvents, d.replayEvents, 0, 10_000_000),
    replayMs: integer('replayMs', options.replayMs, d.replayMs, 0, 86_400_000),
    heartbeatIntervalMs: integer(
      'heartbeatIntervalMs',
      options.heartbeatIntervalMs,
      d.heartbeatIntervalMs,
      1,
      3_600_000,
    ),
    heartbeatGraceMs: integer('heartbeatGraceMs', options.heartbeatGraceMs, d.heartbeatGraceMs, 0, 3_600_000),
    sendLimit: integer('sendLimit', options.sendLimit, d.sendLimit, 1, 1_000_000),
    sendWindowMs: integer('sendWindowMs', options.sendWindowMs, d.sendWindowMs, 1, 3_600_000),
    maxPayloadBytes: integer('maxPayloadBytes', options.maxPayloadBytes, d.maxPayloadBytes, 64, 1_048_576),
    memberRequestTimeoutMs: integer(
      'memberRequestTimeoutMs',
      options.memberRequestTimeoutMs,
      d.memberRequestTimeoutMs,
      1,
      3_600_000,
    ),
    maxConnections: integer('maxConnections', options.maxConnections, d.maxConnections, 1, 1_000_000),
    maxSessions: integer('maxSessions', options.maxSessions, d.maxSessions, 1, 1_000_000),
    clock: options.clock ?? systemClock,
  });
}
