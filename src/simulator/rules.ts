/**
 * Discord's gateway rules as small pure pieces: close codes, the per-connection send
 * window, identify buckets, the session-start budget, the all-members request limit and Identify validation.
 */
import { ALL_INTENTS, PRIVILEGED_INTENTS } from '../util/intents.js';

export const CLOSE_CODES = {
  UNKNOWN_ERROR: 4000,
  UNKNOWN_OPCODE: 4001,
  DECODE_ERROR: 4002,
  NOT_AUTHENTICATED: 4003,
  AUTHENTICATION_FAILED: 4004,
  ALREADY_AUTHENTICATED: 4005,
  INVALID_SEQ: 4007,
  RATE_LIMITED: 4008,
  /** Also our stand-in for "missed heartbeats" (Discord's code for that is undocumented). */
  SESSION_TIMED_OUT: 4009,
  INVALID_SHARD: 4010,
  SHARDING_REQUIRED: 4011,
  INVALID_API_VERSION: 4012,
  INVALID_INTENTS: 4013,
  DISALLOWED_INTENTS: 4014,
} as const;

/** Server close codes after which the session cannot be resumed (the client must Identify again). */
export const SESSION_ENDING_CLOSE_CODES: ReadonlySet<number> = new Set([
  4003, 4004, 4007, 4009, 4010, 4011, 4012, 4013, 4014,
]);

export const OPCODES = {
  DISPATCH: 0,
  HEARTBEAT: 1,
  IDENTIFY: 2,
  PRESENCE_UPDATE: 3,
  VOICE_STATE_UPDATE: 4,
  RESUME: 6,
  RECONNECT: 7,
  REQUEST_GUILD_MEMBERS: 8,
  INVALID_SESSION: 9,
  HELLO: 10,
  HEARTBEAT_ACK: 11,
  REQUEST_SOUNDBOARD_SOUNDS: 31,
  REQUEST_CHANNEL_INFO: 43,
} as const;

/** Opcodes a client may send. Anything else closes with 4001. */
export const CLIENT_OPCODES: ReadonlySet<number> = new Set([1, 2, 3, 4, 6, 8, 31, 43]);

export const VIOLATION_KINDS = [
  'send-rate',
  'payload-size',
  'decode',
  'unknown-opcode',
  'invalid-payload',
  'not-authenticated',
  'already-authenticated',
  'authentication',
  'invalid-shard',
  'sharding-required',
  'invalid-intents',
  'disallowed-intents',
  'invalid-api-version',
  'identify-concurrency',
  'session-start-limit',
  'invalid-seq',
  'heartbeat-timeout',
  'member-request-rate',
  'missing-intent',
] as const;
export type ViolationKind = (typeof VIOLATION_KINDS)[number];

/** Sliding window of client payloads on one connection: `limit` per `windowMs`. */
export class SendWindow {
  readonly #times: number[];
  #head = 0;
  #count = 0;
  readonly #windowMs: number;
  constructor(limit: number, windowMs: number) {
    this.#times = new Array<number>(limit).fill(0);
    this.#windowMs = windowMs;
  }
  /** Records a payload at `now`; false when it is one too many for the window. */
  admit(now: number): boolean {
    const limit = this.#times.length;
    if (this.#count === limit) {
      const oldest = this.#times[this.#head]!;
      if (now - oldest < this.#windowMs) return false;
      this.#head = (this.#head + 1) % limit;
      this.#count--;
    }
    this.#times[(this.#head + this.#count) % limit] = now;
    this.#count++;
    return true;
  }
}

/** Identify concurrency: each `shard_id % maxConcurrency` bucket may identify once per window. */
export class IdentifyBuckets {
  readonly #last = new Map<number, number>();
  readonly maxConcurrency: number;
  readonly windowMs: number;
  constructor(maxConcurrency: number, windowMs: number) {
    this.maxConcurrency = maxConcurrency;
    this.windowMs = windowMs;
  }
  bucketOf(shardId: number): number {
    return shardId % this.maxConcurrency;
  }
  /** Takes the bucket's slot at `now`; false when the bucket already identified within the window. */
  take(shardId: number, now: number): boolean {
    const bucket = this.bucketOf(shardId);
    const last = this.#last.get(bucket);
    if (last !== undefined && now - last < this.windowMs) return false;
    this.#last.set(bucket, now);
    return true;
  }
}

/** Daily session-start budget (`session_start_limit`), refilled `resetMs` after its first use. */
export class SessionStartBudget {
  readonly total: number;
  readonly resetMs: number;
  #used = 0;
  #windowStart: number | undefined;
  constructor(total: number, resetMs: number) {
    this.total = total;
    this.resetMs = resetMs;
  }
  #roll(now: number): void {
    if (this.#windowStart !== undefined && now - this.#windowStart >= this.resetMs) {
      this.#windowStart = undefined;
      this.#used = 0;
    }
  }
  remaining(now: number): number {
    this.#roll(now);
    return this.total - this.#used;
  }
  resetAfter(now: number): number {
    this.#roll(now);
    return this.#windowStart === undefined ? this.resetMs : this.resetMs - (now - this.#windowStart);
  }
  /** Spends one session start; false when none is left. */
  take(now: number): boolean {
    this.#roll(now);
    if (this.#used >= this.total) return false;
    if (this.#windowStart === undefined) this.#windowStart = now;
    this.#used++;
    return true;
  }
}

/** Bots in more than this many guilds are moved to large bot sharding. */
export const LARGE_BOT_GUILDS = 150_000;

/**
 * Daily session starts of a bot under large bot sharding: `max(2000, (guild_count / 1000) * 5)` (Discord's
 * formula; the division is read as whole thousands).
 */
export function largeBotSessionStartTotal(guildCount: number): number {
  return Math.max(2000, Math.floor(guildCount / 1000) * 5);
}

/** The all-members Request Guild Members limit: one per guild per window. */
export class MemberRequestLimiter {
  readonly #last = new Map<string, number>();
  readonly windowMs: number;
  constructor(windowMs: number) {
    this.windowMs = windowMs;
  }
  /** Milliseconds until the guild may be asked again, or 0 when the request is allowed (and recorded). */
  take(guildId: string, now: number): number {
    const last = this.#last.get(guildId);
    if (last !== undefined && now - last < this.windowMs) return this.windowMs - (now - last);
    this.#last.set(guildId, now);
    return 0;
  }
}

export interface IdentifyRequest {
  readonly token: string;
  readonly intents: number;
  readonly shard: readonly [number, number] | undefined;
  readonly largeThreshold: number;
  readonly properties: Record<string, unknown>;
  readonly presence: unknown;
}

export type RuleFailure = {
  readonly close: number;
  readonly violation: ViolationKind;
  readonly reason: string;
};

export interface IdentifyContext {
  readonly tokens: readonly string[];
  readonly privilegedIntents: number;
  readonly maxGuildsPerShard: number;
  /** Large bot sharding: the shard count must be a multiple of this (0 or 1: any count). */
  readonly shardMultiple?: number;
  /** Guild count a session with this shard would carry. */
  guildsOnShard(shardId: number, shardCount: number): number;
}

const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

const PRESENCE_STATUSES: ReadonlySet<string> = new Set(['online', 'dnd', 'idle', 'invisible', 'offline']);

/** Whether `d` is a presence update Discord accepts (op 3, and Identify's `presence`). */
export function isPresenceUpdate(d: unknown): d is Record<string, unknown> {
  return (
    isObject(d) &&
    typeof d.status === 'string' &&
    PRESENCE_STATUSES.has(d.status) &&
    // null: Eris sends `activities: null` in IDENTIFY's presence, and Discord accepts it.
    (d.activities === undefined || d.activities === null || Array.isArray(d.activities)) &&
    (d.since === undefined || d.since === null || typeof d.since === 'number') &&
    (d.afk === undefined || typeof d.afk === 'boolean')
  );
}

/**
 * The token of an IDENTIFY or RESUME without a leading `Bot ` (Eris, Oceanic and discordeno send
 * `Bot <token>`, and Discord accepts both); undefined when it is not a string.
 */
export function gatewayToken(value: unknown): string | undefined {
  if (typeof value !== 'string') return undefined;
  return value.startsWith('Bot ') ? value.slice(4) : value;
}

/** Validates Identify `d` in Discord's order: payload shape, token, intents, shard, guilds per shard. */
export function validateIdentify(d: unknown, ctx: IdentifyContext): IdentifyRequest | RuleFailure {
  if (!isObject(d))
    return { close: 4001, violation: 'invalid-payload', reason: 'identify d is not an object' };
  const token = gatewayToken(d.token);
  if (token === undefined || !ctx.tokens.includes(token)) {
    return { close: 4004, violation: 'authentication', reason: 'authentication failed' };
  }
  const intents = d.intents;
  if (
    typeof intents !== 'number' ||
    !Number.isInteger(intents) ||
    intents < 0 ||
    intents > 0x7fffffff || // bitwise operators below would see 2^53 as 0
    (intents & ~ALL_INTENTS) !== 0
  ) {
    return { close: 4013, violation: 'invalid-intents', reason: 'invalid intent(s)' };
  }
  if ((intents & PRIVILEGED_INTENTS & ~ctx.privilegedIntents) !== 0) {
    return { close: 4014, violation: 'disallowed-intents', reason: 'disallowed intent(s)' };
  }
  let shard: [number, number] | undefined;
  if (d.shard !== undefined && d.shard !== null) {
    const s = d.shard;
    const ok =
      Array.isArray(s) &&
      s.length === 2 &&
      Number.isInteger(s[0]) &&
      Number.isInteger(s[1]) &&
      (s[0] as number) >= 0 &&
      (s[1] as number) >= 1 &&
      (s[0] as number) < (s[1] as number) &&
      (s[1] as number) <= 1_000_000;
    if (!ok) return { close: 4010, violation: 'invalid-shard', reason: 'invalid shard' };
    shard = [s[0] as number, s[1] as number];
  }
  const [id, count] = shard ?? [0, 1];
  const multiple = ctx.shardMultiple ?? 0;
  if (multiple > 1 && count % multiple !== 0) {
    return {
      close: 4010,
      violation: 'invalid-shard',
      reason: `shard count must be a multiple of ${multiple}`,
    };
  }
  if (ctx.guildsOnShard(id, count) > ctx.maxGuildsPerShard) {
    return { close: 4011, violation: 'sharding-required', reason: 'sharding required' };
  }
  let largeThreshold = 50;
  if (d.large_threshold !== undefined) {
    const lt = d.large_threshold;
    if (typeof lt !== 'number' || !Number.isInteger(lt) || lt < 50 || lt > 250) {
      return { close: 4001, violation: 'invalid-payload', reason: 'large_threshold must be 50–250' };
    }
    largeThreshold = lt;
  }
  // Optional fields, when present, must have their documented type (4001 otherwise, as for op 3).
  if (d.properties !== undefined && !isObject(d.properties)) {
    return { close: 4001, violation: 'invalid-payload', reason: 'properties must be an object' };
  }
  // Oceanic.js sends its transport compression name ('zlib-stream') here, and Discord serves it.
  if (d.compress !== undefined && typeof d.compress !== 'boolean' && typeof d.compress !== 'string') {
    return { close: 4001, violation: 'invalid-payload', reason: 'compress must be a boolean' };
  }
  if (d.presence !== undefined && d.presence !== null && !isPresenceUpdate(d.presence)) {
    return { close: 4001, violation: 'invalid-payload', reason: 'invalid presence' };
  }
  const properties = isObject(d.properties) ? d.properties : {};
  return { token, intents, shard, largeThreshold, properties, presence: d.presence ?? null };
}

export function isRuleFailure(v: IdentifyRequest | RuleFailure): v is RuleFailure {
  return 'close' in v;
}
