import { ConfigError } from '../errors.js';
import { type Clock, systemClock, type TimerHandle } from '../util/clock.js';

/**
 * Decides when a shard may send Identify. Discord allows `max_concurrency` identifies per 5 s, one per
 * bucket `shard_id % max_concurrency`; breaking it costs an op 9 and a wasted session start. A manager or a
 * Redis-backed queue can coordinate many processes by implementing this interface.
 */
export interface IdentifyQueue {
  /**
   * Resolves when shard `shardId` may identify now. Rejects with `signal.reason` once `signal` aborts
   * (the shard closed or was destroyed while waiting).
   */
  waitForIdentify(shardId: number, signal: AbortSignal): Promise<void>;
}

export interface MemoryIdentifyQueueOptions {
  /** Identifies allowed per window across buckets (`session_start_limit.max_concurrency`). Default 1. */
  readonly maxConcurrency?: number;
  /** Length of one window per bucket, in ms. Default 5000. */
  readonly windowMs?: number;
  readonly clock?: Clock;
}

interface Waiter {
  readonly resolve: () => void;
  readonly reject: (reason: unknown) => void;
  readonly signal: AbortSignal;
  readonly onAbort: () => void;
}

interface Bucket {
  nextAt: number;
  readonly waiters: Waiter[];
  timer: TimerHandle | undefined;
}

/** In-process identify queue: one grant per bucket per `windowMs`, first come first served. */
export class MemoryIdentifyQueue implements IdentifyQueue {
  readonly maxConcurrency: number;
  readonly windowMs: number;
  readonly #clock: Clock;
  readonly #buckets = new Map<number, Bucket>();

  constructor(options: MemoryIdentifyQueueOptions = {}) {
    const maxConcurrency = options.maxConcurrency ?? 1;
    const windowMs = options.windowMs ?? 5_000;
    if (!Number.isInteger(maxConcurrency) || maxConcurrency < 1) {
      throw new ConfigError('maxConcurrency', `must be an integer ≥ 1, got ${String(maxConcurrency)}`);
    }
    if (!Number.isFinite(windowMs) || windowMs < 0) {
      throw new ConfigError('windowMs', `must be a finite number ≥ 0, got ${String(windowMs)}`);
    }
    this.maxConcurrency = maxConcurrency;
    this.windowMs = windowMs;
    this.#clock = options.clock ?? systemClock;
  }

  waitForIdentify(shardId: number, signal: AbortSignal): Promise<void> {
    if (signal.aborted) return Promise.reject(signal.reason);
    const key = shardId % this.maxConcurrency;
    let bucket = this.#buckets.get(key);
    if (!bucket) {
      bucket = { nextAt: Number.NEGATIVE_INFINITY, waiters: [], timer: undefined };
      this.#buckets.set(key, bucket);
    }
    const b = bucket;
    return new Promise<void>((resolve, reject) => {
      const onAbort = (): void => {
        const i = b.waiters.indexOf(waiter);
        if (i >= 0) b.waiters.splice(i, 1);
        reject(signal.reason);
      };
      const waiter: Waiter = { resolve, reject, signal, onAbort };
      signal.addEventListener('abort', onAbort, { once: true });
      b.waiters.push(waiter);
      this.#pump(b);
    });
  }

  #pump(bucket: Bucket): void {
    if (bucket.timer !== undefined || bucket.waiters.length === 0) return;
    const now = this.#clock.now();
    if (now >= bucket.nextAt) {
      const waiter = bucket.waiters.shift()!;
      waiter.signal.removeEventListener('abort', waiter.onAbort);
      bucket.nextAt = now + this.windowMs;
      waiter.resolve();
      if (bucket.waiters.length === 0) return;
    }
    bucket.timer = this.#clock.setTimeout(() => {
      bucket.timer = undefined;
      this.#pump(bucket);
    }, bucket.nextAt - this.#clock.now());
  }
}
