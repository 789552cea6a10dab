import type { GatewayIdentifyProperties, GatewayPresenceUpdateData } from 'discord-api-types/v10';
import { COMPRESSIONS, type Compression, ENCODINGS, type Encoding } from '../codec/formats.js';
import { ConfigError } from '../errors.js';
import { encodePayload } from '../transport/codecs.js';
import { type GatewayConnectionFactory, wsGatewayConnection } from '../transport/connection.js';
import { type BackoffOptions, DEFAULT_BACKOFF_OPTIONS } from '../util/backoff.js';
import { type Clock, systemClock } from '../util/clock.js';
import { ALL_INTENTS } from '../util/intents.js';
import { redact, Secret } from '../util/redact.js';
import {
  DEFAULT_MAX_HEARTBEAT_INTERVAL_MS,
  defaultMinHeartbeatIntervalMs,
  gatewayUrlProblem,
  MAX_TIMER_MS,
} from './gateway-values.js';
import { type IdentifyQueue, MemoryIdentifyQueue } from './identify-queue.js';
import type { MachineConfig } from './machine.js';
import { DEFAULT_SEND_LIMIT, type SendLimit } from './send-limiter.js';
import type { SessionStore } from './session-store.js';

// What the `transport` option names, for entry points that may not import transport/ themselves.
export type { GatewayConnection, GatewayConnectionFactory } from '../transport/connection.js';
export type { GatewayEnvelope } from '../transport/envelope.js';
export type { TransportHandlers, TransportOptions } from '../transport/transport.js';

/** The client→server payload limit: larger payloads make the gateway close with 4002. */
export const MAX_SEND_PAYLOAD_BYTES = 4096;

export interface ShardRequiredOptions {
  /** Bot token, without the `Bot ` prefix. Kept in a `Secret`; never printed. */
  readonly token: string;
  /** Gateway intents bitfield. */
  readonly intents: number;
}

export interface ShardOptionalOptions {
  /** This shard's id, `0 <= shardId < shardCount`. Default 0. */
  readonly shardId: number;
  /** The number of shards of the bot (`num_shards` in IDENTIFY). Default 1. */
  readonly shardCount: number;
  /** Gateway URL from `GET /gateway/bot` (ws:// or wss://). Query parameters are set by the shard. */
  readonly gatewayUrl: string;
  /**
   * Payload encoding. Default `etf`: with the default `zlib-stream` compression bench/shard-receive.bench.ts
   * measured the whole receive path 1.30–1.34× faster with ETF than with JSON (1.19–1.20× with zstd-stream;
   * uncompressed, JSON was as fast or faster). See docs/shard.md.
   */
  readonly encoding: Encoding;
  /** Transport compression. Default `zlib-stream`. */
  readonly compression: Compression;
  /** Initial presence sent in Identify. */
  readonly presence: GatewayPresenceUpdateData | undefined;
  /** Member count above which offline members are left out of GUILD_CREATE (50–250). Default 50. */
  readonly largeThreshold: number;
  readonly identifyProperties: GatewayIdentifyProperties;
  /** Grants identify slots. Default: a `MemoryIdentifyQueue` with max_concurrency 1 and a 5 s window. */
  readonly identifyQueue: IdentifyQueue | undefined;
  /** Load/save hooks for session id, sequence and resume URL. Default: none (a new process identifies). */
  readonly sessionStore: SessionStore | undefined;
  readonly clock: Clock;
  /**
   * Opens each gateway connection. Default: a WebSocket (`wsGatewayConnection`). Another factory runs the
   * shard over something else, e.g. an in-memory gateway in tests.
   */
  readonly transport: GatewayConnectionFactory;
  readonly openTimeoutMs: number;
  readonly helloTimeoutMs: number;
  /** Time allowed from Identify to READY (or from Resume to RESUMED). */
  readonly readyTimeoutMs: number;
  /**
   * How long a closing handshake may take before the socket is terminated. Default 5000. Whoever must know
   * the connection is gone by a deadline (a worker giving up a shard before its lease expires) sets it lower.
   */
  readonly closeTimeoutMs: number;
  /** Reconnect backoff (reset after each READY/RESUMED). */
  readonly reconnectBackoff: Partial<BackoffOptions>;
  /** Random wait before re-identifying after op 9 `d:false`, `[min, max]` ms. Default `[1000, 5000]`. */
  readonly invalidSessionDelayMs: readonly [number, number];
  /** Caller payloads that may wait for a connection or a send slot; beyond it `send()` rejects. */
  readonly maxQueuedSends: number;
  /** The gateway's send limit; change only to match a time-scaled simulator. */
  readonly sendLimit: Partial<SendLimit>;
  /**
   * Dispatch types to deliver (e.g. `['MESSAGE_CREATE']`); others are skipped without decoding their `d`
   * (a JSON or ETF envelope peek; a full decode when the peek is unsure). Default: all.
   */
  readonly dispatches: Iterable<string> | undefined;
  /** Largest decompressed payload accepted from the gateway, in bytes. Default 64 MiB. */
  readonly maxPayloadBytes: number;
  /**
   * Lowest Hello `heartbeat_interval` accepted, in ms; a lower one is a protocol violation (reconnect with
   * backoff). Default: the interval at which heartbeats take half the send limit — 1 000 ms with Discord's
   * 120 sends / 60 s, proportionally less with a scaled `sendLimit`.
   */
  readonly minHeartbeatIntervalMs: number | undefined;
  /** Highest Hello `heartbeat_interval` accepted, in ms. Default 600 000 (Discord sends 41 250). */
  readonly maxHeartbeatIntervalMs: number;
  /**
   * How long a connection must stay READY/RESUMED before the reconnect backoff starts over, in ms. A
   * connection told to go away sooner (op 7, op 9, a close) counts as a failed attempt. Default: one
   * heartbeat interval of that connection.
   */
  readonly stableConnectionMs: number | undefined;
}

export type ShardOptions = ShardRequiredOptions & Partial<ShardOptionalOptions>;

/**
 * What a `ShardManager` or `ShardWorker` passes through to each of its shards (`shardOptions`): every
 * optional `Shard` option except those the owner sets itself (ids, URL, formats, presence, queue, store, clock).
 */
export type ShardPassThroughOptions = Partial<
  Omit<
    ShardOptionalOptions,
    | 'shardId'
    | 'shardCount'
    | 'gatewayUrl'
    | 'encoding'
    | 'compression'
    | 'presence'
    | 'identifyQueue'
    | 'sessionStore'
    | 'clock'
  >
>;

export const DEFAULT_SHARD_OPTIONS = {
  shardId: 0,
  shardCount: 1,
  gatewayUrl: 'wss://gateway.discord.gg',
  encoding: 'etf',
  compression: 'zlib-stream',
  presence: undefined,
  largeThreshold: 50,
  identifyProperties: { os: process.platform, browser: 'shardline', device: 'shardline' },
  identifyQueue: undefined,
  sessionStore: undefined,
  clock: systemClock,
  transport: wsGatewayConnection,
  openTimeoutMs: 15_000,
  helloTimeoutMs: 15_000,
  readyTimeoutMs: 15_000,
  closeTimeoutMs: 5_000,
  reconnectBackoff: DEFAULT_BACKOFF_OPTIONS,
  invalidSessionDelayMs: [1_000, 5_000],
  maxQueuedSends: 2_000,
  sendLimit: DEFAULT_SEND_LIMIT,
  dispatches: undefined,
  maxPayloadBytes: 64 * 1024 * 1024,
  minHeartbeatIntervalMs: undefined,
  maxHeartbeatIntervalMs: DEFAULT_MAX_HEARTBEAT_INTERVAL_MS,
  stableConnectionMs: undefined,
} as const satisfies ShardOptionalOptions;

export interface ResolvedShardOptions {
  readonly token: Secret;
  readonly intents: number;
  readonly shardId: number;
  readonly shardCount: number;
  readonly gatewayUrl: string;
  readonly encoding: Encoding;
  readonly compression: Compression;
  readonly presence: GatewayPresenceUpdateData | undefined;
  readonly largeThreshold: number;
  readonly identifyProperties: GatewayIdentifyProperties;
  readonly identifyQueue: IdentifyQueue;
  readonly sessionStore: SessionStore | undefined;
  readonly clock: Clock;
  readonly transport: GatewayConnectionFactory;
  readonly openTimeoutMs: number;
  readonly helloTimeoutMs: number;
  readonly readyTimeoutMs: number;
  readonly closeTimeoutMs: number;
  readonly reconnectBackoff: BackoffOptions;
  readonly invalidSessionDelayMs: readonly [number, number];
  readonly maxQueuedSends: number;
  readonly sendLimit: SendLimit;
  readonly dispatches: ReadonlySet<string> | null;
  readonly maxPayloadBytes: number;
  readonly minHeartbeatIntervalMs: number;
  readonly maxHeartbeatIntervalMs: number;
  readonly stableConnectionMs: number | undefined;
}

function describe(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'bigint') return `${value}n`;
  if (Array.isArray(value)) return `array of length ${value.length}`;
  if (value === null) return 'null';
  if (typeof value === 'object') return 'an object';
  return String(value);
}

function int(option: string, value: unknown, min: number, max = Number.MAX_SAFE_INTEGER): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    const range = max === Number.MAX_SAFE_INTEGER ? `an integer ≥ ${min}` : `an integer in [${min}, ${max}]`;
    throw new ConfigError(option, `must be ${range}, got ${describe(value)}`);
  }
  return value;
}

/** A number of ms that feeds a timer: Node fires anything above 2^31−1 ms after 1 ms, so that is the cap. */
function duration(option: string, value: unknown, min = 1): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value < min || value > MAX_TIMER_MS) {
    throw new ConfigError(
      option,
      `must be a number of ms in [${min}, ${MAX_TIMER_MS}], got ${describe(value)}`,
    );
  }
  return value;
}

function oneOf<T extends string>(option: string, value: unknown, allowed: readonly T[]): T {
  if (typeof value !== 'string' || !(allowed as readonly string[]).includes(value)) {
    throw new ConfigError(
      option,
      `must be one of ${allowed.map((a) => `'${a}'`).join(', ')}, got ${describe(value)}`,
    );
  }
  return value as T;
}

function pick<K extends keyof ShardOptionalOptions>(options: ShardOptions, key: K): ShardOptionalOptions[K] {
  const value = options[key];
  return (value === undefined ? DEFAULT_SHARD_OPTIONS[key] : value) as ShardOptionalOptions[K];
}

/** Validates shard options up front and returns a frozen, fully defaulted copy (token in a `Secret`). */
export function resolveShardOptions(options: ShardOptions): ResolvedShardOptions {
  if (options === null || typeof options !== 'object') {
    throw new ConfigError('options', `must be an object, got ${describe(options)}`);
  }
  const rawToken: unknown = options.token;
  const tokenValue = rawToken instanceof Secret ? rawToken.reveal() : rawToken;
  try {
    return resolveChecked(options, tokenValue);
  } catch (err) {
    // Any option may echo its bad value; make sure none of them echoes the token.
    if (err instanceof ConfigError && typeof tokenValue === 'string' && tokenValue.length > 0) {
      const message = err.message.slice(err.option.length + 2);
      if (message.includes(tokenValue) || err.option.includes(tokenValue)) {
        throw new ConfigError(err.option, redact(message, tokenValue));
      }
    }
    throw err;
  }
}

function resolveChecked(options: ShardOptions, tokenValue: unknown): ResolvedShardOptions {
  if (typeof tokenValue !== 'string' || tokenValue.trim().length === 0) {
    throw new ConfigError('token', 'must be a non-empty string (the bot token, without "Bot ")');
  }
  if (/^Bot\s/i.test(tokenValue)) {
    throw new ConfigError('token', 'must not start with "Bot " — pass the bare token');
  }
  if (/\s/.test(tokenValue)) throw new ConfigError('token', 'must not contain whitespace');
  const intents = int('intents', options.intents, 0, 2 ** 31 - 1);
  if ((intents & ~ALL_INTENTS) !== 0) {
    throw new ConfigError(
      'intents',
      `contains undocumented bits ${intents & ~ALL_INTENTS} (the gateway closes with 4013); allowed mask ${ALL_INTENTS}`,
    );
  }

  const shardCount = int('shardCount', pick(options, 'shardCount'), 1);
  const shardId = int('shardId', pick(options, 'shardId'), 0, shardCount - 1);

  const gatewayUrl = pick(options, 'gatewayUrl');
  const urlProblem = gatewayUrlProblem(gatewayUrl);
  if (urlProblem !== null) {
    throw new ConfigError(
      'gatewayUrl',
      `must be a ws:// or wss:// URL; ${describe(gatewayUrl)} ${urlProblem}`,
    );
  }

  const encoding = oneOf('encoding', pick(options, 'encoding'), ENCODINGS);
  const compression = oneOf('compression', pick(options, 'compression'), COMPRESSIONS);
  const largeThreshold = int('largeThreshold', pick(options, 'largeThreshold'), 50, 250);

  const props = pick(options, 'identifyProperties');
  if (
    props === null ||
    typeof props !== 'object' ||
    typeof props.os !== 'string' ||
    typeof props.browser !== 'string' ||
    typeof props.device !== 'string'
  ) {
    throw new ConfigError('identifyProperties', 'must be { os, browser, device } with string values');
  }
  const presence = pick(options, 'presence');
  if (presence !== undefined && (presence === null || typeof presence !== 'object')) {
    throw new ConfigError('presence', `must be a presence object, got ${describe(presence)}`);
  }
  if (presence !== undefined) {
    // It goes into every Identify: one that cannot be encoded must fail here, not inside a timer.
    try {
      encodePayload(encoding, { op: 3, d: presence });
    } catch (cause) {
      throw new ConfigError('presence', `cannot be encoded as ${encoding}`, { cause });
    }
  }

  const clock = pick(options, 'clock');
  if (!clock || typeof clock.now !== 'function' || typeof clock.setTimeout !== 'function') {
    throw new ConfigError('clock', 'must implement Clock (now, setTimeout, clearTimeout, random)');
  }
  const transport = pick(options, 'transport');
  if (typeof transport !== 'function') {
    throw new ConfigError(
      'transport',
      `must be a function (options, handlers) => GatewayConnection, got ${describe(transport)}`,
    );
  }
  const identifyQueue = pick(options, 'identifyQueue') ?? new MemoryIdentifyQueue({ clock });
  if (typeof identifyQueue.waitForIdentify !== 'function') {
    throw new ConfigError('identifyQueue', 'must implement IdentifyQueue (waitForIdentify)');
  }
  const sessionStore = pick(options, 'sessionStore');
  if (
    sessionStore !== undefined &&
    (typeof sessionStore.load !== 'function' || typeof sessionStore.save !== 'function')
  ) {
    throw new ConfigError('sessionStore', 'must implement SessionStore (load, save)');
  }

  const b = { ...DEFAULT_BACKOFF_OPTIONS, ...pick(options, 'reconnectBackoff') };
  const reconnectBackoff: BackoffOptions = sharedFrozen('reconnectBackoff', {
    baseMs: duration('reconnectBackoff.baseMs', b.baseMs, 0),
    maxMs: duration('reconnectBackoff.maxMs', b.maxMs, 0),
    factor: duration('reconnectBackoff.factor', b.factor, 1),
    jitter: duration('reconnectBackoff.jitter', b.jitter, 0),
  });
  if (reconnectBackoff.jitter > 1) throw new ConfigError('reconnectBackoff.jitter', 'must be in [0, 1]');
  if (reconnectBackoff.maxMs < reconnectBackoff.baseMs) {
    throw new ConfigError('reconnectBackoff.maxMs', 'must be ≥ reconnectBackoff.baseMs');
  }

  const delay = pick(options, 'invalidSessionDelayMs');
  if (!Array.isArray(delay) || delay.length !== 2) {
    throw new ConfigError('invalidSessionDelayMs', `must be [minMs, maxMs], got ${describe(delay)}`);
  }
  const delayMin = duration('invalidSessionDelayMs[0]', delay[0], 0);
  const delayMax = duration('invalidSessionDelayMs[1]', delay[1], 0);
  if (delayMax < delayMin) throw new ConfigError('invalidSessionDelayMs', 'max must be ≥ min');

  const l = { ...DEFAULT_SEND_LIMIT, ...pick(options, 'sendLimit') };
  const sendLimit: SendLimit = sharedFrozen('sendLimit', {
    perWindow: int('sendLimit.perWindow', l.perWindow, 2),
    windowMs: duration('sendLimit.windowMs', l.windowMs),
    marginMs: duration('sendLimit.marginMs', l.marginMs, 0),
  });

  const filter = pick(options, 'dispatches');
  let dispatches: ReadonlySet<string> | null = null;
  if (filter !== undefined) {
    if (filter === null || typeof (filter as Iterable<string>)[Symbol.iterator] !== 'function') {
      throw new ConfigError('dispatches', 'must be an iterable of dispatch type names');
    }
    const set = new Set<string>();
    for (const t of filter) {
      if (typeof t !== 'string' || !/^[A-Z0-9_]+$/.test(t)) {
        throw new ConfigError(
          'dispatches',
          `entries must be dispatch names like 'MESSAGE_CREATE', got ${describe(t)}`,
        );
      }
      set.add(t);
    }
    dispatches = set;
  }

  const maxHeartbeatIntervalMs = duration('maxHeartbeatIntervalMs', pick(options, 'maxHeartbeatIntervalMs'));
  const minBeat = pick(options, 'minHeartbeatIntervalMs');
  const minHeartbeatIntervalMs =
    minBeat === undefined
      ? Math.min(defaultMinHeartbeatIntervalMs(sendLimit), maxHeartbeatIntervalMs)
      : duration('minHeartbeatIntervalMs', minBeat);
  if (minHeartbeatIntervalMs > maxHeartbeatIntervalMs) {
    throw new ConfigError('minHeartbeatIntervalMs', 'must be ≤ maxHeartbeatIntervalMs');
  }
  const stable = pick(options, 'stableConnectionMs');
  const stableConnectionMs = stable === undefined ? undefined : duration('stableConnectionMs', stable, 0);

  return Object.freeze({
    token: new Secret(tokenValue),
    intents,
    shardId,
    shardCount,
    gatewayUrl,
    encoding,
    compression,
    presence,
    largeThreshold,
    identifyProperties: sharedFrozen('identifyProperties', { ...props }),
    identifyQueue,
    sessionStore,
    clock,
    transport,
    openTimeoutMs: duration('openTimeoutMs', pick(options, 'openTimeoutMs')),
    helloTimeoutMs: duration('helloTimeoutMs', pick(options, 'helloTimeoutMs')),
    readyTimeoutMs: duration('readyTimeoutMs', pick(options, 'readyTimeoutMs')),
    closeTimeoutMs: duration('closeTimeoutMs', pick(options, 'closeTimeoutMs')),
    reconnectBackoff,
    invalidSessionDelayMs: sharedFrozen('invalidSessionDelayMs', [delayMin, delayMax] as const),
    maxQueuedSends: int('maxQueuedSends', pick(options, 'maxQueuedSends'), 1),
    sendLimit,
    dispatches,
    maxPayloadBytes: int('maxPayloadBytes', pick(options, 'maxPayloadBytes'), 4096),
    minHeartbeatIntervalMs,
    maxHeartbeatIntervalMs,
    stableConnectionMs,
  });
}

/**
 * The last frozen value resolved for each option object (identify properties, backoff, send limit, invalid
 * session delay): a shard whose value is equal gets that same object, so the shards of one manager share
 * one copy instead of holding one each.
 */
const lastResolved = new Map<string, Readonly<Record<string, unknown>>>();

function sharedFrozen<T extends object>(option: string, value: T): Readonly<T> {
  const last = lastResolved.get(option);
  if (last !== undefined && Array.isArray(last) === Array.isArray(value)) {
    const keys = Object.keys(value);
    if (
      keys.length === Object.keys(last).length &&
      keys.every((k) => Object.is(last[k], (value as Record<string, unknown>)[k]))
    )
      return last as Readonly<T>;
  }
  const frozen = Object.freeze(value);
  lastResolved.set(option, frozen as Readonly<Record<string, unknown>>);
  return frozen;
}

/** The part of the resolved options the pure machine needs. */
export function machineConfig(o: ResolvedShardOptions): MachineConfig {
  return {
    gatewayUrl: o.gatewayUrl,
    shardId: o.shardId,
    shardCount: o.shardCount,
    openTimeoutMs: o.openTimeoutMs,
    helloTimeoutMs: o.helloTimeoutMs,
    readyTimeoutMs: o.readyTimeoutMs,
    backoff: o.reconnectBackoff,
    invalidSessionDelayMs: o.invalidSessionDelayMs,
    maxQueuedSends: o.maxQueuedSends,
    sendLimit: o.sendLimit,
    dispatchFilter: o.dispatches,
    minHeartbeatIntervalMs: o.minHeartbeatIntervalMs,
    maxHeartbeatIntervalMs: o.maxHeartbeatIntervalMs,
    stableConnectionMs: o.stableConnectionMs ?? null,
  };
}
