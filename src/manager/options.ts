/** `ShardManager` options: what a caller may pass, the defaults, and the one resolver that validates them. */
import type { GatewayPresenceUpdateData } from 'discord-api-types/v10';
import type { Compression, Encoding } from '../codec/formats.js';
import { ConfigError } from '../errors.js';
import { IDENTIFY_WINDOW_MS, type IdentifyQueue } from '../shard/identify-queue.js';
import {
  DEFAULT_SHARD_OPTIONS,
  type ResolvedShardOptions,
  resolveShardOptions,
  type ShardOptions,
  type ShardPassThroughOptions,
} from '../shard/options.js';
import type { SessionStore } from '../shard/session-store.js';
import { type Clock, systemClock } from '../util/clock.js';
import { Secret } from '../util/redact.js';
import { DEFAULT_DEDUPE_WINDOW_MS } from './reshard.js';
import { DEFAULT_API_BASE_URL } from './rest.js';
import {
  type ResolvedThreadsOptions,
  resolveThreadsOptions,
  type ThreadsOptions,
} from './threads/options.js';

export interface AutoReshardOptions {
  /** Check `/gateway/bot`'s recommended count this often; 0 = never (close 4011 still triggers). */
  readonly intervalMs?: number;
}

export interface ShardManagerOptions {
  /** Bot token without `Bot `. Kept in a `Secret`; never printed. */
  readonly token: string;
  readonly intents: number;
  /** REST base URL; default `https://discord.com/api` (the simulator's `restUrl` in tests). */
  readonly api?: string;
  /** `'auto'` (default) uses `/gateway/bot`'s recommendation. */
  readonly shardCount?: 'auto' | number;
  /** The shards this process runs (default all); lets a bot spread over processes. */
  readonly shardIds?: readonly number[];
  readonly encoding?: Encoding;
  readonly compression?: Compression;
  readonly presence?: GatewayPresenceUpdateData;
  /** Default: a `MemoryIdentifyQueue` sized by `session_start_limit.max_concurrency`. */
  readonly identifyQueue?: IdentifyQueue;
  /** Default: none (every start identifies). A `FileSessionStore` lets a restarted process resume. */
  readonly sessionStore?: SessionStore;
  readonly clock?: Clock;
  /** Identify window of the default queue; 5000 against Discord, scaled down against the simulator. */
  readonly identifyWindowMs?: number;
  /** Fixed safety margin per identify window of the default queue; default 5 % of the window. */
  readonly identifyMarginMs?: number;
  readonly memberRequestTimeoutMs?: number;
  /** Automatic resharding: on an interval and/or when a shard is closed with 4011. Default off. */
  readonly autoReshard?: false | AutoReshardOptions;
  /** Old/new overlap compared around a reshard switch; default 5000 ms. */
  readonly dedupeWindowMs?: number;
  /** Longest wait, after a new shard's READY, for its GUILD_CREATEs before a switch; default 15000 ms. */
  readonly guildReadyTimeoutMs?: number;
  /** Longest a reshard may take before it is abandoned (old set kept); default 10 minutes. */
  readonly reshardTimeoutMs?: number;
  /** Anything else for each `Shard` (timeouts, backoff, send limits of a scaled simulator, …). */
  readonly shardOptions?: ShardPassThroughOptions;
  /**
   * Run the shards in worker threads (a count, `'auto'` for one per core, or `ThreadsOptions`): sockets,
   * decompression and decoding leave the main thread. Default: every shard in the main thread.
   */
  readonly threads?: number | 'auto' | ThreadsOptions;
}

export const DEFAULT_SHARD_MANAGER_OPTIONS = {
  api: DEFAULT_API_BASE_URL,
  shardCount: 'auto',
  identifyWindowMs: IDENTIFY_WINDOW_MS,
  dedupeWindowMs: DEFAULT_DEDUPE_WINDOW_MS,
  guildReadyTimeoutMs: 15_000,
  reshardTimeoutMs: 600_000,
  autoReshardIntervalMs: 0,
} as const;

export interface ResolvedShardManagerOptions {
  readonly token: Secret;
  readonly intents: number;
  readonly api: string;
  readonly shardCount: 'auto' | number;
  /** Sorted ascending; undefined = every shard of the count. */
  readonly shardIds: readonly number[] | undefined;
  readonly encoding: Encoding | undefined;
  readonly compression: Compression | undefined;
  readonly presence: GatewayPresenceUpdateData | undefined;
  readonly identifyQueue: IdentifyQueue | undefined;
  readonly sessionStore: SessionStore | undefined;
  readonly clock: Clock;
  readonly identifyWindowMs: number;
  readonly identifyMarginMs: number | undefined;
  readonly memberRequestTimeoutMs: number | undefined;
  /** `false` = off; otherwise the check interval (0 = only on close 4011). */
  readonly autoReshard: false | { readonly intervalMs: number };
  readonly dedupeWindowMs: number;
  readonly guildReadyTimeoutMs: number;
  readonly reshardTimeoutMs: number;
  readonly shardOptions: Readonly<ShardPassThroughOptions>;
  /** null = shards in the main thread. */
  readonly threads: ResolvedThreadsOptions | null;
}

function int(option: string, value: unknown, min: number): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min) {
    throw new ConfigError(option, `expected an integer ≥ ${min}, got ${String(value)}`);
  }
  return value;
}

function duration(option: string, value: unknown, fallback: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) {
    throw new ConfigError(option, `expected a finite number of ms ≥ 0, got ${String(value)}`);
  }
  return value;
}

function optionalDuration(option: string, value: unknown): number | undefined {
  return value === undefined ? undefined : duration(option, value, 0);
}

function hasMethods(value: unknown, names: readonly string[]): boolean {
  return (
    typeof value === 'object' &&
    value !== null &&
    names.every((n) => typeof (value as Record<string, unknown>)[n] === 'function')
  );
}

/** The options of one `Shard` of the manager. */
export function shardOptionsFor(
  o: ResolvedShardManagerOptions,
  shardId: number,
  shardCount: number,
  gatewayUrl: string,
  identifyQueue: IdentifyQueue,
  sessionStore: SessionStore | undefined,
): ShardOptions {
  return {
    ...o.shardOptions,
    token: o.token.reveal(),
    intents: o.intents,
    shardId,
    shardCount,
    gatewayUrl,
    ...(o.encoding !== undefined ? { encoding: o.encoding } : {}),
    ...(o.compression !== undefined ? { compression: o.compression } : {}),
    ...(o.presence !== undefined ? { presence: o.presence } : {}),
    identifyQueue,
    ...(sessionStore ? { sessionStore } : {}),
    clock: o.clock,
  };
}

/**
 * Validates every option with a message naming it, the bad value and what is allowed, fills defaults and
 * returns a frozen object. The options each `Shard` will get are resolved here too, so a bad `shardOptions`
 * fails the constructor (named `shardOptions.<name>`) instead of every shard at `connect()`.
 */
export function resolveShardManagerOptions(options: ShardManagerOptions): ResolvedShardManagerOptions {
  if (options === null || typeof options !== 'object') {
    throw new ConfigError('options', 'expected an object');
  }
  if (typeof options.token !== 'string' || options.token.trim() === '') {
    throw new ConfigError('token', 'expected a non-empty string (the bot token, without "Bot ")');
  }
  const token = new Secret(options.token);
  const intents = int('intents', options.intents, 0);
  const shardCount = options.shardCount ?? DEFAULT_SHARD_MANAGER_OPTIONS.shardCount;
  if (shardCount !== 'auto') int('shardCount', shardCount, 1);
  let shardIds: number[] | undefined;
  if (options.shardIds !== undefined) {
    if (!Array.isArray(options.shardIds) || options.shardIds.length === 0) {
      throw new ConfigError('shardIds', 'expected a non-empty array of shard ids');
    }
    for (const id of options.shardIds) int('shardIds', id, 0);
    if (new Set(options.shardIds).size !== options.shardIds.length) {
      throw new ConfigError('shardIds', 'contains duplicates');
    }
    if (shardCount === 'auto') {
      throw new ConfigError(
        'shardIds',
        'a subset of shards needs an explicit shardCount shared by every process',
      );
    }
    shardIds = [...options.shardIds].sort((a, b) => a - b);
    const max = shardIds.at(-1)!;
    if (max >= shardCount) {
      throw new ConfigError('shardIds', `shard id ${max} is not below shardCount ${shardCount}`);
    }
  }
  const api = options.api ?? DEFAULT_SHARD_MANAGER_OPTIONS.api;
  if (typeof api !== 'string' || !/^https?:\/\//.test(api)) {
    throw new ConfigError('api', `expected an http(s) URL, got ${String(api)}`);
  }
  if (options.identifyQueue !== undefined && !hasMethods(options.identifyQueue, ['waitForIdentify'])) {
    throw new ConfigError('identifyQueue', 'expected an object with waitForIdentify(shardId, signal)');
  }
  if (options.sessionStore !== undefined && !hasMethods(options.sessionStore, ['load', 'save'])) {
    throw new ConfigError('sessionStore', 'expected an object with load(shardId) and save(shardId, session)');
  }
  const clock = options.clock ?? systemClock;
  if (!hasMethods(clock, ['now', 'setTimeout', 'clearTimeout'])) {
    throw new ConfigError('clock', 'expected a Clock (now, setTimeout, clearTimeout)');
  }
  const auto = options.autoReshard ?? false;
  if (auto !== false && (typeof auto !== 'object' || auto === null)) {
    throw new ConfigError('autoReshard', `expected false or { intervalMs }, got ${String(auto)}`);
  }
  const autoReshard =
    auto === false
      ? false
      : {
          intervalMs: duration(
            'autoReshard.intervalMs',
            auto.intervalMs,
            DEFAULT_SHARD_MANAGER_OPTIONS.autoReshardIntervalMs,
          ),
        };
  const shardOptions = options.shardOptions ?? {};
  if (typeof shardOptions !== 'object' || shardOptions === null) {
    throw new ConfigError('shardOptions', 'expected an object of Shard options');
  }
  const resolved: ResolvedShardManagerOptions = {
    token,
    intents,
    api,
    shardCount,
    shardIds,
    encoding: options.encoding,
    compression: options.compression,
    presence: options.presence,
    identifyQueue: options.identifyQueue,
    sessionStore: options.sessionStore,
    clock,
    identifyWindowMs: duration(
      'identifyWindowMs',
      options.identifyWindowMs,
      DEFAULT_SHARD_MANAGER_OPTIONS.identifyWindowMs,
    ),
    identifyMarginMs: optionalDuration('identifyMarginMs', options.identifyMarginMs),
    memberRequestTimeoutMs: optionalDuration('memberRequestTimeoutMs', options.memberRequestTimeoutMs),
    autoReshard,
    dedupeWindowMs: duration(
      'dedupeWindowMs',
      options.dedupeWindowMs,
      DEFAULT_SHARD_MANAGER_OPTIONS.dedupeWindowMs,
    ),
    guildReadyTimeoutMs: duration(
      'guildReadyTimeoutMs',
      options.guildReadyTimeoutMs,
      DEFAULT_SHARD_MANAGER_OPTIONS.guildReadyTimeoutMs,
    ),
    reshardTimeoutMs: duration(
      'reshardTimeoutMs',
      options.reshardTimeoutMs,
      DEFAULT_SHARD_MANAGER_OPTIONS.reshardTimeoutMs,
    ),
    shardOptions: Object.freeze({ ...shardOptions }),
    threads: resolveThreadsOptions(options.threads, options.encoding ?? DEFAULT_SHARD_OPTIONS.encoding),
  };
  if (resolved.threads) checkThreadable(resolved);
  checkShardOptions(resolved);
  return Object.freeze(resolved);
}

/** Resolves the options one shard would get, with a stand-in gateway URL and queue: the checks are the same. */
function checkShardOptions(o: ResolvedShardManagerOptions): ResolvedShardOptions {
  const queue: IdentifyQueue = { waitForIdentify: () => Promise.resolve() };
  try {
    return resolveShardOptions(shardOptionsFor(o, 0, 1, 'wss://gateway.discord.gg', queue, o.sessionStore));
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    const managerLevel = ['encoding', 'compression', 'presence', 'intents', 'token'];
    const option = managerLevel.includes(err.option) ? err.option : `shardOptions.${err.option}`;
    throw new ConfigError(option, err.message.slice(err.option.length + 2), { cause: err });
  }
}

/** What cannot cross into a shard thread: functions and objects that live on the main thread. */
function checkThreadable(o: ResolvedShardManagerOptions): void {
  if (o.clock !== systemClock) {
    throw new ConfigError(
      'clock',
      'a custom clock cannot be used with threads (each thread keeps its own time)',
    );
  }
  if (o.shardOptions.transport !== undefined) {
    throw new ConfigError('shardOptions.transport', 'a custom transport cannot be used with threads');
  }
  if (o.threads?.handler && o.autoReshard !== false) {
    throw new ConfigError(
      'autoReshard',
      'resharding compares dispatches on the main thread; it cannot be used with threads.handler',
    );
  }
}
