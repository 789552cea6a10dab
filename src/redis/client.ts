import { Redis, type RedisOptions } from 'ioredis';
import { RedisError, ShardlineError } from '../errors.js';

/** Default key prefix of every Shardline key in Redis. */
export const DEFAULT_KEY_PREFIX = 'shardline:';

/**
 * Options every Redis piece takes: the ioredis client and the key prefix. Pieces never close a client they
 * were given; blocking readers `duplicate()` it and close their copy.
 */
export interface RedisBaseOptions {
  redis: Redis;
  /** Prefix of every key (default `shardline:`). Tests use a random one and delete it afterwards. */
  prefix?: string;
}

/**
 * Creates an ioredis client with the defaults Shardline relies on: a command fails (instead of queueing
 * forever) after two reconnect attempts, reconnects go on for ever with a capped backoff, and connection
 * errors are reported to `onError` (never an unhandled `'error'` event).
 */
export function createRedisClient(
  url: string,
  options: {
    onError?: (err: ShardlineError) => void;
    redisOptions?: Omit<RedisOptions, 'replyMapping'>;
  } = {},
): Redis {
  const redisOptions: Omit<RedisOptions, 'replyMapping'> = {
    maxRetriesPerRequest: 2,
    retryStrategy: (times: number) => Math.min(50 * 2 ** Math.min(times, 10), 2_000),
    ...options.redisOptions,
  };
  const redis = new Redis(url, redisOptions as Omit<RedisOptions, 'replyMapping'>);
  redis.on('error', (err: unknown) => options.onError?.(toRedisError(err)));
  return redis;
}

/** Opens a blocking-capable copy of `redis` (XREADGROUP BLOCK, BLPOP) that reports errors to `onError`. */
export function duplicateClient(redis: Redis, onError?: (err: ShardlineError) => void): Redis {
  const copy = redis.duplicate();
  copy.on('error', (err: unknown) => onError?.(toRedisError(err)));
  return copy;
}

/** Closes a client without waiting for pending replies when it is not connected. */
export async function closeClient(redis: Redis): Promise<void> {
  if (redis.status === 'end') return;
  if (redis.status === 'ready') {
    try {
      await redis.quit();
      return;
    } catch {
      // fall through to a hard disconnect
    }
  }
  redis.disconnect(false);
}

/** Server replies that mean "not now" rather than "wrong": loading, busy, out of memory, failover. */
const TRANSIENT_REPLY = /^(LOADING|BUSY|OOM|READONLY|MASTERDOWN|TRYAGAIN|CLUSTERDOWN|NOREPLICAS)\b/;

/**
 * Wraps anything thrown by ioredis into a typed error (already-typed errors pass through):
 * `REDIS_SCRIPT_FAILED` for Lua errors, `REDIS_REPLY_ERROR` for other error replies (NOGROUP, WRONGTYPE…),
 * `REDIS_UNAVAILABLE` for connection trouble and transient replies (LOADING, OOM, READONLY…).
 */
export function toRedisError(err: unknown, shardId?: number): ShardlineError {
  if (err instanceof ShardlineError) return err;
  const message = err instanceof Error ? err.message : String(err);
  const details = shardId === undefined ? {} : { shardId };
  if (/NOSCRIPT|ERR Error (running|compiling) script|user_script/i.test(message)) {
    return new RedisError('REDIS_SCRIPT_FAILED', `Redis script failed: ${message}`, details, { cause: err });
  }
  if (err instanceof Error && err.name === 'ReplyError' && !TRANSIENT_REPLY.test(message)) {
    return new RedisError('REDIS_REPLY_ERROR', `Redis refused a command: ${message}`, details, {
      cause: err,
    });
  }
  return new RedisError('REDIS_UNAVAILABLE', `Redis is unavailable: ${message}`, details, { cause: err });
}

/** Deletes every key starting with `prefix` (SCAN + UNLINK). For tests and `shardline` maintenance. */
export async function deleteKeysWithPrefix(redis: Redis, prefix: string): Promise<number> {
  let cursor = '0';
  let deleted = 0;
  const pattern = `${prefix.replace(/[*?[\]\\]/g, '\\$&')}*`;
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', pattern, 'COUNT', 500);
    cursor = next;
    if (keys.length > 0) deleted += await redis.unlink(...keys);
  } while (cursor !== '0');
  return deleted;
}

/** `AbortSignal` → typed error; used by every waiting call. */
export function abortError(signal: AbortSignal, what: string): RedisError {
  return new RedisError('REDIS_ABORTED', `${what} aborted`, {}, { cause: signal.reason });
}

/** Wait before retry number `attempt` (0-based) of a failed Redis loop: 100 ms doubling, at most 5 s. */
export function retryDelayMs(attempt: number): number {
  return Math.min(5_000, 100 * 2 ** Math.min(attempt, 6));
}

/** Sleeps `ms`, resolving early (with `false`) when `signal` aborts. */
export function sleep(ms: number, signal?: AbortSignal): Promise<boolean> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve(false);
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve(true);
    }, ms);
    const onAbort = (): void => {
      clearTimeout(timer);
      resolve(false);
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/** Races `promise` against `signal`: rejects with `REDIS_ABORTED` as soon as the signal aborts. */
export function abortable<T>(promise: Promise<T>, signal: AbortSignal | undefined, what: string): Promise<T> {
  if (!signal) return promise;
  if (signal.aborted) {
    promise.catch(() => undefined);
    return Promise.reject(abortError(signal, what));
  }
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void => reject(abortError(signal, what));
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(
      (value) => {
        signal.removeEventListener('abort', onAbort);
        resolve(value);
      },
      (err: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(err);
      },
    );
  });
}
