/**
 * Waiting for Redis at startup (compose ordering, Redis restarting): the first call that needs Redis is
 * retried until it succeeds, each failed attempt logged with the delay before the next one really is.
 * While the client is disconnected, ioredis itself spaces the connection attempts (its `retryStrategy`,
 * announced by the `reconnecting` event): a command sent meanwhile would only sit in the offline queue for
 * several of those attempts and then fail, so this waits for the connection instead and reports each
 * failed connection attempt with ioredis' own delay.
 */
import type { Redis } from 'ioredis';
import { RedisError, type ShardlineError } from '../errors.js';
import { sleep, toRedisError } from './client.js';

export interface WaitForRedisOptions {
  readonly redis: Redis;
  /** The first thing that needs Redis; run once the connection is up, retried while Redis is unavailable. */
  readonly attempt: () => Promise<void>;
  /** Longest wait in ms (`Infinity`: as long as it takes; 0: the first connection attempt only). */
  readonly waitMs: number;
  /** Ends the wait (resolves false). */
  readonly signal: AbortSignal;
  /** One line per failed attempt (`warn`) and one when Redis answered after a failure (`info`). */
  readonly log: (level: 'info' | 'warn', message: string) => void;
  /** Backoff between attempts while connected but refused for the moment (LOADING…); default 100 ms … 5 s. */
  readonly retryMinMs?: number;
  readonly retryMaxMs?: number;
}

/** `redis://host:port` of a client, for messages (never with a password). */
export function redisAddress(redis: Redis): string {
  const { host, port, path } = redis.options;
  return path ? `redis+unix://${path}` : `redis://${host ?? 'localhost'}:${port ?? 6379}`;
}

type ConnectionEvent =
  | { kind: 'ready' }
  | { kind: 'failed'; delayMs: number }
  | { kind: 'end' }
  | { kind: 'timeout' }
  | { kind: 'aborted' };

/** The next connection outcome of a client that is not ready: up, one failed attempt, closed for good. */
function nextConnectionEvent(redis: Redis, signal: AbortSignal, timeoutMs: number): Promise<ConnectionEvent> {
  return new Promise((resolve) => {
    const done = (event: ConnectionEvent): void => {
      redis.off('ready', onReady);
      redis.off('reconnecting', onReconnecting);
      redis.off('end', onEnd);
      signal.removeEventListener('abort', onAbort);
      if (timer) clearTimeout(timer);
      resolve(event);
    };
    const onReady = (): void => done({ kind: 'ready' });
    const onReconnecting = (delayMs: unknown): void =>
      done({ kind: 'failed', delayMs: typeof delayMs === 'number' ? delayMs : 0 });
    const onEnd = (): void => done({ kind: 'end' });
    const onAbort = (): void => done({ kind: 'aborted' });
    const timer =
      timeoutMs === Number.POSITIVE_INFINITY
        ? undefined
        : setTimeout(() => done({ kind: 'timeout' }), Math.max(0, timeoutMs));
    redis.on('ready', onReady);
    redis.on('reconnecting', onReconnecting);
    redis.on('end', onEnd);
    signal.addEventListener('abort', onAbort, { once: true });
  });
}

/** `promise`, or a REDIS_UNAVAILABLE rejection after `ms` (the late settlement is ignored). */
function within(promise: Promise<void>, ms: number): Promise<void> {
  if (ms === Number.POSITIVE_INFINITY) return promise;
  return new Promise<void>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new RedisError('REDIS_UNAVAILABLE', 'Redis is unavailable: no answer in time')),
      Math.max(0, ms),
    );
    promise.then(
      () => {
        clearTimeout(timer);
        resolve();
      },
      (err: unknown) => {
        clearTimeout(timer);
        reject(err);
      },
    );
  });
}

/**
 * Runs `attempt` once Redis answers. Resolves true when it succeeded, false when `signal` aborted first;
 * rejects with REDIS_UNAVAILABLE once `waitMs` is exceeded (the first connection attempt always gets to
 * finish, so `waitMs: 0` means "fail unless Redis answers at once"), and at once on any other error (a
 * refused command is not fixed by waiting).
 */
export async function waitForRedis(o: WaitForRedisOptions): Promise<boolean> {
  const { redis, signal } = o;
  const address = redisAddress(redis);
  const retryMinMs = o.retryMinMs ?? 100;
  const retryMaxMs = o.retryMaxMs ?? 5_000;
  const started = Date.now();
  let lastError: string | undefined;
  const onError = (err: unknown): void => {
    lastError = err instanceof Error ? err.message : String(err);
  };
  let attempts = 0;
  let failedAttempts = 0;
  const giveUp = (cause: unknown): ShardlineError => {
    const waited = Date.now() - started;
    return new RedisError(
      'REDIS_UNAVAILABLE',
      `Redis at ${address} did not answer within ${Math.round(waited / 1000)} s (${Math.max(1, attempts)} attempt${attempts === 1 ? '' : 's'}): ${lastError ?? 'no answer'}`,
      {},
      cause === undefined ? undefined : { cause },
    );
  };
  const bound = (left: number): string =>
    o.waitMs === Number.POSITIVE_INFINITY ? '' : `, giving up in ${Math.ceil(Math.max(0, left) / 1000)} s`;
  redis.on('error', onError);
  try {
    for (;;) {
      if (signal.aborted) return false;
      const left = o.waitMs - (Date.now() - started);
      if (redis.status === 'end') {
        throw new RedisError('REDIS_UNAVAILABLE', `Redis at ${address}: the client is closed`);
      }
      if (redis.status !== 'ready' && redis.status !== 'wait') {
        // ioredis is connecting or waiting to reconnect: its outcome, not a command, is the next attempt
        const event = await nextConnectionEvent(
          redis,
          signal,
          attempts === 0 ? Number.POSITIVE_INFINITY : left,
        );
        if (event.kind === 'aborted') return false;
        if (event.kind === 'ready') continue;
        if (event.kind === 'end') {
          attempts++;
          throw new RedisError(
            'REDIS_UNAVAILABLE',
            `Redis at ${address}: the client stopped reconnecting: ${lastError ?? 'connection closed'}`,
          );
        }
        if (event.kind === 'timeout') throw giveUp(undefined);
        attempts++;
        failedAttempts++;
        const after = o.waitMs - (Date.now() - started);
        if (after <= 0) throw giveUp(undefined);
        o.log(
          'warn',
          `waiting for Redis at ${address} (attempt ${attempts}): ${lastError ?? 'no answer'}; retrying in ${event.delayMs} ms${bound(after)}`,
        );
        continue;
      }
      attempts++;
      try {
        await within(o.attempt(), attempts === 1 ? Math.max(left, 10_000) : left);
        if (failedAttempts > 0) o.log('info', `Redis at ${address} answered (attempt ${attempts})`);
        return true;
      } catch (err) {
        const e = toRedisError(err);
        if (e.code !== 'REDIS_UNAVAILABLE') throw e;
        lastError ??= e.message.replace(/^Redis is unavailable: /, '');
        if (redis.status !== 'ready') {
          // the connection dropped meanwhile: the reconnect is reported above, one line per attempt
          attempts--;
          continue;
        }
        lastError = e.message.replace(/^Redis is unavailable: /, '');
        failedAttempts++;
        const after = o.waitMs - (Date.now() - started);
        if (after <= 0) throw giveUp(err);
        const ms = Math.min(after, retryMaxMs, retryMinMs * 2 ** Math.min(failedAttempts - 1, 6));
        o.log(
          'warn',
          `waiting for Redis at ${address} (attempt ${attempts}): ${lastError}; retrying in ${ms} ms${bound(after)}`,
        );
        if (!(await sleep(ms, signal))) return false;
      }
    }
  } finally {
    redis.off('error', onError);
  }
}
