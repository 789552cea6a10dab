import { randomUUID } from 'node:crypto';
import { ConfigError, RedisError } from '../errors.js';
import type { SessionStartLimit } from '../manager/rest.js';
import { IDENTIFY_WINDOW_MS } from '../shard/identify-queue.js';
import {
  abortable,
  abortError,
  DEFAULT_KEY_PREFIX,
  type RedisBaseOptions,
  sleep,
  toRedisError,
} from './client.js';
import type { IdentifyQueue } from './interfaces.js';

/** Gives an identify slot back early; call it only when IDENTIFY was NOT sent (else the window must lapse). */
export type IdentifyRelease = () => Promise<void>;

import { LuaScript } from './script.js';

/** Discord's daily session-start reset period. */
export const SESSION_START_RESET_MS = 86_400_000;

export interface RedisIdentifyQueueOptions extends RedisBaseOptions {
  /** `max_concurrency` from GET /gateway/bot. Every process sharing the Redis must use the same value. */
  maxConcurrency: number;
  /** Length of one bucket's window (default 5 000 ms). */
  windowMs?: number;
  /** Added to every window, against clock drift between Redis and Discord (default 5 % of the window). */
  marginMs?: number;
  /** How often a waiter polls and proves it is alive (default 200 ms). */
  pollIntervalMs?: number;
  /** A waiter that has not polled for this long is dropped from the queue (default 5 000 ms). */
  waiterTtlMs?: number;
}

// KEYS: queue (zset ticket→waiter), alive (zset deadline→waiter), slot (string, PX window), ticket counter,
// budget (hash). ARGV: waiter id, window ms, waiter ttl ms.
// Returns {1, 0} granted · {0, wait ms} not yet · {2, ms until reset} daily budget exhausted.
const ACQUIRE = new LuaScript(`
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local me = ARGV[1]
if not redis.call('ZSCORE', KEYS[1], me) then
  redis.call('ZADD', KEYS[1], redis.call('INCR', KEYS[4]), me)
end
redis.call('ZADD', KEYS[2], now + tonumber(ARGV[3]), me)
local head
for i = 1, 1000 do
  head = redis.call('ZRANGE', KEYS[1], 0, 0)[1]
  if not head then break end
  local deadline = tonumber(redis.call('ZSCORE', KEYS[2], head))
  if deadline and deadline >= now then break end
  redis.call('ZREM', KEYS[1], head)
  redis.call('ZREM', KEYS[2], head)
end
local pttl = redis.call('PTTL', KEYS[3])
if head ~= me then
  if pttl < 0 then pttl = 0 end
  return {0, pttl}
end
if pttl > 0 then return {0, pttl} end
if redis.call('EXISTS', KEYS[5]) == 1 then
  local remaining = tonumber(redis.call('HGET', KEYS[5], 'remaining'))
  local resetAt = tonumber(redis.call('HGET', KEYS[5], 'resetAt'))
  if now >= resetAt then
    remaining = tonumber(redis.call('HGET', KEYS[5], 'total'))
    resetAt = now + tonumber(redis.call('HGET', KEYS[5], 'resetAfter'))
  end
  if remaining <= 0 then
    redis.call('ZREM', KEYS[1], me)
    redis.call('ZREM', KEYS[2], me)
    return {2, resetAt - now}
  end
  redis.call('HSET', KEYS[5], 'remaining', remaining - 1, 'resetAt', resetAt)
end
redis.call('SET', KEYS[3], me, 'PX', ARGV[2])
redis.call('ZREM', KEYS[1], me)
redis.call('ZREM', KEYS[2], me)
return {1, 0}
`);

// KEYS: queue, alive. ARGV: waiter id.
const LEAVE = new LuaScript(`
redis.call('ZREM', KEYS[1], ARGV[1])
redis.call('ZREM', KEYS[2], ARGV[1])
return 1
`);

// KEYS: slot, budget. ARGV: waiter id. Gives the slot back and refunds the session start.
const RELEASE = new LuaScript(`
if redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('DEL', KEYS[1])
  if redis.call('EXISTS', KEYS[2]) == 1 then redis.call('HINCRBY', KEYS[2], 'remaining', 1) end
  return 1
end
return 0
`);

// KEYS: budget. ARGV: total, remaining, reset after ms.
const SET_BUDGET = new LuaScript(`
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call('HSET', KEYS[1], 'total', ARGV[1], 'remaining', ARGV[2], 'resetAt', now + tonumber(ARGV[3]),
  'resetAfter', ${SESSION_START_RESET_MS})
return 1
`);

// KEYS: budget. Returns {remaining, ms until reset, total} or false.
const GET_BUDGET = new LuaScript(`
if redis.call('EXISTS', KEYS[1]) == 0 then return false end
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local resetAt = tonumber(redis.call('HGET', KEYS[1], 'resetAt'))
local total = tonumber(redis.call('HGET', KEYS[1], 'total'))
if now >= resetAt then
  return {total, 0, total}
end
return {tonumber(redis.call('HGET', KEYS[1], 'remaining')), resetAt - now, total}
`);

/** Key of the cluster-wide daily session-start budget (a hash `{total, remaining, resetAt, resetAfter}`). */
export function sessionStartBudgetKey(prefix: string): string {
  return `${prefix}identify:budget`;
}

/** The daily session-start budget as Redis sees it now. */
export interface SessionStartBudget {
  readonly remaining: number;
  readonly resetAfterMs: number;
  readonly total: number;
}

/**
 * Reads the budget the workers recorded (`setSessionStartLimit`), or `null` when none was set. A reply
 * that is not three non-negative integers is a `REDIS_BAD_REPLY`.
 */
export async function readSessionStartBudget(options: RedisBaseOptions): Promise<SessionStartBudget | null> {
  let reply: unknown;
  try {
    reply = await GET_BUDGET.run(
      options.redis,
      [sessionStartBudgetKey(options.prefix ?? DEFAULT_KEY_PREFIX)],
      [],
    );
  } catch (err) {
    throw toRedisError(err);
  }
  if (reply === null) return null;
  const [remaining, resetAfterMs, total] = Array.isArray(reply) ? (reply as unknown[]) : [];
  const ok = (v: unknown): v is number => Number.isSafeInteger(v) && (v as number) >= 0;
  if (!ok(remaining) || !ok(resetAfterMs) || !ok(total))
    throw new RedisError('REDIS_BAD_REPLY', `the session-start budget in Redis is not what Shardline writes`);
  return { remaining, resetAfterMs, total };
}

function positiveInt(option: string, value: number): number {
  if (!Number.isInteger(value) || value < 1) {
    throw new ConfigError(option, `must be a positive integer, got ${String(value)}`);
  }
  return value;
}

/**
 * Cluster-wide identify throttle on Redis. Each bucket (`shard_id % max_concurrency`) has a slot key that
 * lives for one window after each grant, and a FIFO of waiters ordered by ticket: the earliest waiter goes
 * first. A waiter that crashes stops polling and is dropped after `waiterTtlMs`; a holder that crashes
 * simply lets the slot's TTL lapse. No lock can get stuck. Every grant also spends one unit of the daily
 * session-start budget when one is set (`setSessionStartLimit`); an exhausted budget rejects with
 * `IDENTIFY_BUDGET_EXHAUSTED` carrying `retryAfterMs`.
 */
export class RedisIdentifyQueue implements IdentifyQueue {
  readonly maxConcurrency: number;
  readonly windowMs: number;
  readonly #redis: RedisBaseOptions['redis'];
  readonly #prefix: string;
  readonly #pollMs: number;
  readonly #waiterTtlMs: number;
  readonly #slotMs: number;

  constructor(options: RedisIdentifyQueueOptions) {
    this.#redis = options.redis;
    this.#prefix = options.prefix ?? DEFAULT_KEY_PREFIX;
    this.maxConcurrency = positiveInt('maxConcurrency', options.maxConcurrency);
    this.windowMs = positiveInt('windowMs', options.windowMs ?? IDENTIFY_WINDOW_MS);
    const margin = options.marginMs ?? Math.ceil(this.windowMs * 0.05);
    if (!Number.isInteger(margin) || margin < 0) {
      throw new ConfigError('marginMs', `must be a non-negative integer, got ${String(margin)}`);
    }
    this.#slotMs = this.windowMs + margin;
    this.#pollMs = positiveInt('pollIntervalMs', options.pollIntervalMs ?? 200);
    this.#waiterTtlMs = positiveInt('waiterTtlMs', options.waiterTtlMs ?? 5_000);
    if (this.#waiterTtlMs < this.#pollMs * 3) {
      throw new ConfigError('waiterTtlMs', `must be at least 3 × pollIntervalMs (${this.#pollMs * 3})`);
    }
  }

  /** The concurrency bucket of a shard. */
  bucketOf(shardId: number): number {
    return shardId % this.maxConcurrency;
  }

  #keys(bucket: number): { queue: string; alive: string; slot: string; ticket: string } {
    const base = `${this.#prefix}identify:${bucket}:`;
    return { queue: `${base}queue`, alive: `${base}alive`, slot: `${base}slot`, ticket: `${base}ticket` };
  }

  get #budgetKey(): string {
    return sessionStartBudgetKey(this.#prefix);
  }

  /** The shard's `IdentifyQueue` contract: resolves when `shardId` may identify; rejects with `signal.reason`. */
  async waitForIdentify(shardId: number, signal: AbortSignal): Promise<void> {
    try {
      await this.acquire(shardId, signal);
    } catch (err) {
      if (signal.aborted && err instanceof RedisError && err.code === 'REDIS_ABORTED') throw signal.reason;
      throw err;
    }
  }

  /**
   * Waits for an identify slot of `shardId`'s bucket (FIFO across processes) and takes it. The returned
   * function gives the slot back early — call it only when IDENTIFY was not sent. Rejects with
   * `REDIS_ABORTED` when `signal` aborts and `IDENTIFY_BUDGET_EXHAUSTED` when the daily budget is spent.
   */
  async acquire(shardId: number, signal?: AbortSignal): Promise<IdentifyRelease> {
    if (!Number.isInteger(shardId) || shardId < 0) {
      throw new ConfigError('shardId', `must be a non-negative integer, got ${String(shardId)}`);
    }
    const k = this.#keys(this.bucketOf(shardId));
    const me = randomUUID();
    const keys = [k.queue, k.alive, k.slot, k.ticket, this.#budgetKey];
    const args = [me, this.#slotMs, this.#waiterTtlMs];
    for (;;) {
      if (signal?.aborted) {
        await LEAVE.run(this.#redis, [k.queue, k.alive], [me]).catch(() => undefined);
        throw abortError(signal, `identify slot for shard ${shardId}`);
      }
      let reply: [number, number];
      try {
        const run = ACQUIRE.run(this.#redis, keys, args);
        reply = (await abortable(run, signal, `identify slot for shard ${shardId}`)) as [number, number];
        if (signal?.aborted && reply[0] === 1) {
          await RELEASE.run(this.#redis, [k.slot, this.#budgetKey], [me]).catch(() => undefined);
          throw abortError(signal, `identify slot for shard ${shardId}`);
        }
      } catch (err) {
        if (signal?.aborted) {
          void LEAVE.run(this.#redis, [k.queue, k.alive], [me]).catch(() => undefined);
          throw abortError(signal, `identify slot for shard ${shardId}`);
        }
        // Redis unreachable: keep waiting (our queue entry survives up to waiterTtlMs); never grant blindly.
        const typed = toRedisError(err, shardId);
        if (typed instanceof RedisError && typed.code !== 'REDIS_UNAVAILABLE') throw typed;
        await sleep(this.#pollMs, signal);
        continue;
      }
      const [state, ms] = reply;
      if (state === 1) {
        return async () => {
          await RELEASE.run(this.#redis, [k.slot, this.#budgetKey], [me]);
        };
      }
      if (state === 2) {
        throw new RedisError(
          'IDENTIFY_BUDGET_EXHAUSTED',
          `daily session-start budget exhausted; resets in ${ms} ms`,
          { shardId, retryAfterMs: ms },
        );
      }
      await sleep(Math.max(1, Math.min(this.#pollMs, ms || this.#pollMs)), signal);
    }
  }

  /** Records the daily session-start budget from GET /gateway/bot (shared by every process). */
  async setSessionStartLimit(limit: SessionStartLimit): Promise<void> {
    if (!Number.isInteger(limit.remaining) || limit.remaining < 0) {
      throw new ConfigError('remaining', `must be a non-negative integer, got ${String(limit.remaining)}`);
    }
    positiveInt('total', limit.total);
    if (!Number.isFinite(limit.resetAfterMs) || limit.resetAfterMs < 0) {
      throw new ConfigError(
        'resetAfterMs',
        `must be a non-negative number, got ${String(limit.resetAfterMs)}`,
      );
    }
    await SET_BUDGET.run(
      this.#redis,
      [this.#budgetKey],
      [limit.total, limit.remaining, Math.ceil(limit.resetAfterMs)],
    );
  }

  /** The budget as Redis sees it now, or `null` when none was set. */
  async sessionStartBudget(): Promise<{ remaining: number; resetAfterMs: number } | null> {
    const reply = (await GET_BUDGET.run(this.#redis, [this.#budgetKey], [])) as [number, number] | null;
    return reply ? { remaining: reply[0], resetAfterMs: reply[1] } : null;
  }
}
