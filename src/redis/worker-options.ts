/**
 * `ShardWorker` options: the public option types, the defaults and `resolveShardWorkerOptions()`, which
 * validates everything at construction — the shard options a worker passes to each `Shard` included, so a
 * bad value is a `ConfigError` from `new ShardWorker()`, never a failure after a lease was taken.
 */

import type { GatewayPresenceUpdateData } from 'discord-api-types/v10';
import type { Redis } from 'ioredis';
import { COMPRESSIONS, type Compression, ENCODINGS, type Encoding } from '../codec/formats.js';
import { ConfigError } from '../errors.js';
import { DEFAULT_API_BASE_URL } from '../manager/rest.js';
import { IDENTIFY_WINDOW_MS } from '../shard/identify-queue.js';
import { resolveShardOptions, type ShardPassThroughOptions } from '../shard/options.js';
import { type Clock, systemClock } from '../util/clock.js';
import { Secret } from '../util/redact.js';
import { DEFAULT_KEY_PREFIX } from './client.js';
import type { DispatchTracing } from './tracing.js';

export interface ShardWorkerOptions {
  /** Client for every Redis piece (never closed by the worker; blocking readers use their own copies). */
  readonly redis: Redis;
  /** Key prefix (default `shardline:`). */
  readonly prefix?: string;
  /** Bot token without `Bot `. Kept in a `Secret`; never printed. */
  readonly token: string;
  readonly intents: number;
  /** Shard ids this worker runs, or `'auto'`: a fair share of the free shards, rebalanced as workers come and go. */
  readonly shardIds: readonly number[] | 'auto';
  /** The bot's shard count; `'auto'` (default) takes `GET /gateway/bot`'s recommendation. */
  readonly shardCount?: number | 'auto';
  /** REST base for `GET /gateway/bot` (default https://discord.com/api). */
  readonly api?: string;
  /** `auto` only: never hold more than this many shards (default: the fair share). */
  readonly maxShards?: number;
  /** This worker's id in leases and command groups (default: a random UUID). */
  readonly ownerId?: string;
  /** Lease lifetime (default 10 000 ms). A dead worker's shards are taken over after this. */
  readonly leaseTtlMs?: number;
  /** How often free or wanted shards are claimed (default leaseTtlMs / 3). */
  readonly claimIntervalMs?: number;
  /** Identify window per bucket (default 5 000; smaller against a time-scaled simulator). */
  readonly identifyWindowMs?: number;
  /** Fixed safety margin per identify window; default 5 % of the window. */
  readonly identifyMarginMs?: number;
  /**
   * Time source of every shard and of the worker's own waits (claim interval, pause-log interval); default
   * the system clock. Lease and registry times written to Redis stay wall time (compared across processes).
   */
  readonly clock?: Clock;
  /** Events buffered while Redis is slow or down before reading the gateway pauses (default 10 000). */
  readonly highWaterMark?: number;
  /**
   * A span per dispatch until it is published, its traceparent stored in the stream entry so a consumer's
   * span continues the trace (`otelTracing()` of `shardline/otel`). Off by default.
   */
  readonly tracing?: DispatchTracing;
  /** Event stream partitions; must match the consumers' (default 1). */
  readonly partitions?: number;
  /** Longest wait between publish retries while Redis is down (default 2 000 ms). */
  readonly retryMaxMs?: number;
  /** Session sequence write-behind (default 250 ms). */
  readonly sessionFlushMs?: number;
  /**
   * How long `connect()` waits for Redis to answer, retrying with capped backoff and logging each attempt
   * (default: forever — a worker started before Redis, or while it restarts, waits for it; 0 = no wait).
   */
  readonly redisWaitMs?: number;
  readonly encoding?: Encoding;
  readonly compression?: Compression;
  /** Presence sent in every shard's IDENTIFY. */
  readonly presence?: GatewayPresenceUpdateData;
  /** Shard options passed through to every shard (timeouts, backoff, send limits of a time-scaled simulator…). */
  readonly shardOptions?: ShardPassThroughOptions;
}

export interface ResolvedShardWorkerOptions {
  readonly prefix: string;
  readonly token: Secret;
  readonly intents: number;
  readonly shardIds: readonly number[] | 'auto';
  readonly shardCount: number | 'auto';
  readonly api: string;
  readonly maxShards: number | undefined;
  readonly ownerId: string | undefined;
  readonly leaseTtlMs: number;
  readonly claimIntervalMs: number;
  readonly identifyWindowMs: number;
  readonly identifyMarginMs: number | undefined;
  readonly clock: Clock;
  readonly highWaterMark: number;
  readonly tracing: DispatchTracing | undefined;
  readonly partitions: number;
  readonly retryMaxMs: number;
  readonly sessionFlushMs: number;
  readonly redisWaitMs: number;
  readonly encoding: Encoding;
  readonly compression: Compression;
  readonly presence: GatewayPresenceUpdateData | undefined;
  readonly shardOptions: ShardPassThroughOptions;
}

export const DEFAULT_SHARD_WORKER_OPTIONS = {
  prefix: DEFAULT_KEY_PREFIX,
  api: DEFAULT_API_BASE_URL,
  leaseTtlMs: 10_000,
  identifyWindowMs: IDENTIFY_WINDOW_MS,
  highWaterMark: 10_000,
  partitions: 1,
  retryMaxMs: 2_000,
  sessionFlushMs: 250,
  redisWaitMs: Number.POSITIVE_INFINITY,
  encoding: 'etf',
  compression: 'zlib-stream',
} as const satisfies Partial<ResolvedShardWorkerOptions>;

function int(option: string, value: unknown, min: number, max = 2 ** 31 - 1): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    throw new ConfigError(option, `must be an integer in [${min}, ${max}], got ${String(value)}`);
  }
  return value;
}

function waitMs(value: unknown): number {
  if (value === undefined || value === Number.POSITIVE_INFINITY) return Number.POSITIVE_INFINITY;
  return int('redisWaitMs', value, 0);
}

function clockOf(value: unknown): Clock {
  if (value === undefined) return systemClock;
  const c = value as Partial<Clock> | null;
  if (
    !c ||
    typeof c.now !== 'function' ||
    typeof c.setTimeout !== 'function' ||
    typeof c.clearTimeout !== 'function' ||
    typeof c.random !== 'function'
  ) {
    throw new ConfigError('clock', 'must implement Clock (now, setTimeout, clearTimeout, random)');
  }
  return c as Clock;
}

function presenceOf(value: unknown): GatewayPresenceUpdateData | undefined {
  if (value !== undefined && (value === null || typeof value !== 'object' || Array.isArray(value))) {
    throw new ConfigError('presence', 'must be a presence object (as in IDENTIFY)');
  }
  return value as GatewayPresenceUpdateData | undefined;
}

/** Validates worker options (actionable messages, never echoing the token) and returns a frozen copy. */
export function resolveShardWorkerOptions(
  options: Omit<ShardWorkerOptions, 'redis'>,
): ResolvedShardWorkerOptions {
  const d = DEFAULT_SHARD_WORKER_OPTIONS;
  if (typeof options.token !== 'string' || options.token.trim() === '' || /\s/.test(options.token)) {
    throw new ConfigError('token', 'must be a non-empty string without whitespace (the bare bot token)');
  }
  const shardCount =
    options.shardCount === undefined || options.shardCount === 'auto'
      ? 'auto'
      : int('shardCount', options.shardCount, 1, 1_000_000);
  let shardIds: readonly number[] | 'auto';
  if (options.shardIds === 'auto') shardIds = 'auto';
  else if (Array.isArray(options.shardIds) && options.shardIds.length > 0) {
    const ids = [...new Set(options.shardIds.map((s, i) => int(`shardIds[${i}]`, s, 0, 999_999)))].sort(
      (a, b) => a - b,
    );
    if (shardCount !== 'auto' && ids.at(-1)! >= shardCount) {
      throw new ConfigError('shardIds', `shard ${ids.at(-1)} does not exist with shardCount ${shardCount}`);
    }
    shardIds = Object.freeze(ids);
  } else throw new ConfigError('shardIds', "must be a non-empty list of shard ids or 'auto'");
  const maxShards = options.maxShards === undefined ? undefined : int('maxShards', options.maxShards, 1);
  if (maxShards !== undefined && shardIds !== 'auto') {
    throw new ConfigError('maxShards', "only applies to shardIds: 'auto'");
  }
  const leaseTtlMs = int('leaseTtlMs', options.leaseTtlMs ?? d.leaseTtlMs, 300);
  const claimIntervalMs = int(
    'claimIntervalMs',
    options.claimIntervalMs ?? Math.max(50, Math.floor(leaseTtlMs / 3)),
    10,
  );
  const ownerId = options.ownerId;
  if (ownerId !== undefined && (ownerId === '' || /\s/.test(ownerId))) {
    throw new ConfigError('ownerId', 'must be a non-empty string without whitespace');
  }
  const api = options.api ?? d.api;
  if (!/^https?:\/\//.test(api))
    throw new ConfigError('api', `must be an http(s) URL, got ${JSON.stringify(api)}`);
  const encoding = options.encoding ?? d.encoding;
  if (!(ENCODINGS as readonly string[]).includes(encoding))
    throw new ConfigError('encoding', "must be 'json' or 'etf'");
  const compression = options.compression ?? d.compression;
  if (!(COMPRESSIONS as readonly string[]).includes(compression)) {
    throw new ConfigError('compression', "must be 'zlib-stream', 'zstd-stream' or 'none'");
  }
  return Object.freeze({
    prefix: options.prefix ?? d.prefix,
    token: new Secret(options.token),
    intents: int('intents', options.intents, 0),
    shardIds,
    shardCount,
    api,
    maxShards,
    ownerId,
    leaseTtlMs,
    claimIntervalMs,
    identifyWindowMs: int('identifyWindowMs', options.identifyWindowMs ?? d.identifyWindowMs, 1),
    identifyMarginMs:
      options.identifyMarginMs === undefined
        ? undefined
        : int('identifyMarginMs', options.identifyMarginMs, 0),
    clock: clockOf(options.clock),
    highWaterMark: int('highWaterMark', options.highWaterMark ?? d.highWaterMark, 1),
    tracing: tracingOf(options.tracing),
    partitions: int('partitions', options.partitions ?? d.partitions, 1, 1024),
    retryMaxMs: int('retryMaxMs', options.retryMaxMs ?? d.retryMaxMs, 100),
    sessionFlushMs: int('sessionFlushMs', options.sessionFlushMs ?? d.sessionFlushMs, 1),
    redisWaitMs: waitMs(options.redisWaitMs),
    encoding,
    compression,
    presence: presenceOf(options.presence),
    shardOptions: resolveShardPassThroughOptions(options.shardOptions, options.token),
  });
}

/** Shard options the worker sets itself, per shard; passing one is a mistake, not an override. */
const WORKER_SET_SHARD_OPTIONS = [
  'token',
  'intents',
  'shard',
  'gatewayUrl',
  'encoding',
  'compression',
  'identifyQueue',
  'sessionStore',
  'clock',
  'presence',
] as const;

/**
 * Checks the pass-through shard options as a `Shard` would (with the worker's own values for what it
 * sets per shard), so a bad value fails at construction instead of in every claim round after a lease
 * was taken. Returns a frozen copy of what was given; each shard applies it on top of its defaults.
 */
function resolveShardPassThroughOptions(value: unknown, token: string): ShardPassThroughOptions {
  if (value === undefined) return Object.freeze({});
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new ConfigError('shardOptions', 'must be an object of Shard options');
  }
  const given = value as Record<string, unknown>;
  for (const key of WORKER_SET_SHARD_OPTIONS) {
    if (given[key] !== undefined) {
      throw new ConfigError(
        `shardOptions.${key}`,
        'is set by the worker for each shard; use the worker option of that name instead',
      );
    }
  }
  try {
    resolveShardOptions({
      ...(given as ShardPassThroughOptions),
      token,
      intents: 0,
      shardId: 0,
      shardCount: 1,
      gatewayUrl: 'wss://gateway.discord.gg',
    });
  } catch (err) {
    if (err instanceof ConfigError) {
      throw new ConfigError(`shardOptions.${err.option}`, err.message.slice(err.option.length + 2), {
        cause: err,
      });
    }
    throw err;
  }
  return Object.freeze({ ...(given as ShardPassThroughOptions) });
}

function tracingOf(value: unknown): DispatchTracing | undefined {
  if (value === undefined) return undefined;
  const t = value as Partial<DispatchTracing> | null;
  if (
    t === null ||
    typeof t !== 'object' ||
    typeof t.publish !== 'function' ||
    typeof t.consume !== 'function'
  )
    throw new ConfigError(
      'tracing',
      'must be a DispatchTracing (publish and consume functions), such as otelTracing()',
    );
  return value as DispatchTracing;
}
