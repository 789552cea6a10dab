/**
 * Identify scheduling. Discord allows `max_concurrency` identifies per 5 s, at most one per rate-limit
 * bucket `shard_id % max_concurrency` (gateway.md §5, §6). `BucketIdentifyQueue` keeps one FIFO per bucket
 * and grants the head of every bucket as soon as that bucket's window has passed, so all buckets run in
 * parallel and N shards start in `ceil(N / max_concurrency)` windows. Pure logic on an injected `Clock`.
 */
import { ConfigError, ManagerError } from '../errors.js';
import { type Clock, systemClock, type TimerHandle } from '../util/clock.js';
import type { IdentifyQueue } from './shard-contract.js';

export const IDENTIFY_WINDOW_MS = 5_000;

/** Permission for one shard to send one Identify. */
export interface IdentifyLease {
  readonly shardId: number;
  readonly bucket: number;
  /** `clock.now()` when the lease was granted. */
  readonly grantedAt: number;
  /**
   * Give the slot back because no Identify was sent (the socket died first). The bucket becomes free again
   * at once, as if this lease had never been granted. A no-op after the window has passed or on a 2nd call.
   */
  release(): void;
}

export interface BucketIdentifyQueueOptions {
  /** `session_start_limit.max_concurrency`; default 1. */
  readonly maxConcurrency?: number;
  /** Length of one bucket window; default 5000 ms (scaled down in tests). */
  readonly windowMs?: number;
  /**
   * Safety added to each window so that network jitter between two identifies of one bucket cannot make
   * them arrive closer than `windowMs`; default 5 % of `windowMs`.
   */
  readonly marginMs?: number;
  readonly clock?: Clock;
}

interface Waiter {
  readonly shardId: number;
  readonly seq: number;
  readonly resolve: (lease: IdentifyLease) => void;
  readonly reject: (err: Error) => void;
  readonly signal: AbortSignal | undefined;
  readonly onAbort: (() => void) | undefined;
}

interface Bucket {
  /** Earliest `clock.now()` at which the next lease may be granted. */
  nextAt: number;
  waiters: Waiter[];
  timer: TimerHandle | undefined;
}

function positiveInt(option: string, value: unknown): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1) {
    throw new ConfigError(option, `expected an integer ≥ 1, got ${String(value)}`);
  }
  return value;
}

function nonNegative(option: string, value: unknown): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) {
    throw new ConfigError(option, `expected a finite number ≥ 0, got ${String(value)}`);
  }
  return value;
}

export class BucketIdentifyQueue implements IdentifyQueue {
  readonly #clock: Clock;
  readonly #windowMs: number;
  readonly #marginMs: number;
  #maxConcurrency: number;
  #buckets = new Map<number, Bucket>();
  #seq = 0;
  #granted = 0;
  #destroyed = false;

  constructor(options: BucketIdentifyQueueOptions = {}) {
    this.#clock = options.clock ?? systemClock;
    this.#maxConcurrency = positiveInt('maxConcurrency', options.maxConcurrency ?? 1);
    this.#windowMs = nonNegative('windowMs', options.windowMs ?? IDENTIFY_WINDOW_MS);
    this.#marginMs = nonNegative('marginMs', options.marginMs ?? this.#windowMs * 0.05);
  }

  get maxConcurrency(): number {
    return this.#maxConcurrency;
  }
  get windowMs(): number {
    return this.#windowMs;
  }
  /** Leases granted so far (released ones included). */
  get granted(): number {
    return this.#granted;
  }
  /** Shards waiting for a lease. */
  get waiting(): number {
    let n = 0;
    for (const b of this.#buckets.values()) n += b.waiters.length;
    return n;
  }

  bucketOf(shardId: number): number {
    return shardId % this.#maxConcurrency;
  }

  /**
   * Resolves with a lease when `shardId` may identify. Waiters of one bucket are served lowest shard id
   * first (so buckets start in order: shards 0…c−1, then c…2c−1, …), equal ids in request order; different
   * buckets never wait for each other. Rejects with `IDENTIFY_ABORTED` on abort or `destroy()`.
   */
  acquire(shardId: number, signal?: AbortSignal): Promise<IdentifyLease> {
    if (typeof shardId !== 'number' || !Number.isInteger(shardId) || shardId < 0) {
      return Promise.reject(new ConfigError('shardId', `expected an integer ≥ 0, got ${String(shardId)}`));
    }
    if (this.#destroyed) {
      return Promise.reject(
        new ManagerError('IDENTIFY_ABORTED', 'the identify queue was destroyed', { shardId }),
      );
    }
    if (signal?.aborted) {
      return Promise.reject(new ManagerError('IDENTIFY_ABORTED', 'identify request aborted', { shardId }));
    }
    return new Promise<IdentifyLease>((resolve, reject) => {
      const onAbort = signal
        ? () => {
            this.#remove(waiter);
            reject(new ManagerError('IDENTIFY_ABORTED', 'identify request aborted', { shardId }));
          }
        : undefined;
      const waiter: Waiter = { shardId, seq: this.#seq++, resolve, reject, signal, onAbort };
      if (signal && onAbort) signal.addEventListener('abort', onAbort, { once: true });
      const key = this.bucketOf(shardId);
      const bucket = this.#bucket(key);
      insertByShard(bucket.waiters, waiter);
      this.#pump(key, bucket);
    });
  }

  /** The shard's `IdentifyQueue` contract: resolves when the shard may identify; rejects with `signal.reason`. */
  waitForIdentify(shardId: number, signal: AbortSignal): Promise<void> {
    return this.acquire(shardId, signal).then(
      () => undefined,
      (err: unknown) => {
        throw signal.aborted ? signal.reason : err;
      },
    );
  }

  /**
   * Re-keys the buckets after `/gateway/bot` reported a new `max_concurrency`. Waiters keep their order;
   * every new bucket conservatively waits for the latest window of the old ones.
   */
  setMaxConcurrency(maxConcurrency: number): void {
    const n = positiveInt('maxConcurrency', maxConcurrency);
    if (n === this.#maxConcurrency) return;
    const waiters: Waiter[] = [];
    let latest = Number.NEGATIVE_INFINITY;
    for (const b of this.#buckets.values()) {
      this.#clock.clearTimeout(b.timer);
      waiters.push(...b.waiters);
      latest = Math.max(latest, b.nextAt);
    }
    waiters.sort((a, b) => a.seq - b.seq);
    this.#maxConcurrency = n;
    this.#buckets = new Map();
    for (let key = 0; key < n; key++) this.#bucket(key).nextAt = latest;
    for (const w of waiters) insertByShard(this.#bucket(this.bucketOf(w.shardId)).waiters, w);
    const heads = [...this.#buckets].filter(([, b]) => b.waiters.length > 0);
    heads.sort(([, a], [, b]) => a.waiters[0]!.seq - b.waiters[0]!.seq);
    for (const [key, b] of heads) this.#pump(key, b);
  }

  /** Rejects every waiter with `IDENTIFY_ABORTED` and refuses new requests. */
  destroy(): void {
    this.#destroyed = true;
    for (const b of this.#buckets.values()) {
      this.#clock.clearTimeout(b.timer);
      b.timer = undefined;
      for (const w of b.waiters.splice(0)) {
        if (w.signal && w.onAbort) w.signal.removeEventListener('abort', w.onAbort);
        w.reject(
          new ManagerError('IDENTIFY_ABORTED', 'the identify queue was destroyed', { shardId: w.shardId }),
        );
      }
    }
  }

  #bucket(key: number): Bucket {
    let b = this.#buckets.get(key);
    if (!b) {
      b = { nextAt: Number.NEGATIVE_INFINITY, waiters: [], timer: undefined };
      this.#buckets.set(key, b);
    }
    return b;
  }

  #remove(waiter: Waiter): void {
    for (const [key, b] of this.#buckets) {
      const i = b.waiters.indexOf(waiter);
      if (i >= 0) {
        b.waiters.splice(i, 1);
        if (b.waiters.length === 0) {
          this.#clock.clearTimeout(b.timer);
          b.timer = undefined;
        }
        this.#pump(key, b);
        return;
      }
    }
  }

  #pump(key: number, bucket: Bucket): void {
    if (this.#destroyed || bucket.waiters.length === 0 || bucket.timer) return;
    const now = this.#clock.now();
    if (now < bucket.nextAt) {
      bucket.timer = this.#clock.setTimeout(() => {
        bucket.timer = undefined;
        if (this.#buckets.get(key) === bucket) this.#pump(key, bucket);
      }, bucket.nextAt - now);
      return;
    }
    const waiter = bucket.waiters.shift()!;
    if (waiter.signal && waiter.onAbort) waiter.signal.removeEventListener('abort', waiter.onAbort);
    const previousNextAt = bucket.nextAt;
    const nextAt = now + this.#windowMs + this.#marginMs;
    bucket.nextAt = nextAt;
    this.#granted++;
    let released = false;
    const lease: IdentifyLease = {
      shardId: waiter.shardId,
      bucket: key,
      grantedAt: now,
      release: () => {
        if (released) return;
        released = true;
        // Only the latest lease of a bucket can be handed back, and only while its window is running.
        if (this.#buckets.get(key) !== bucket || bucket.nextAt !== nextAt) return;
        if (this.#clock.now() >= nextAt) return;
        bucket.nextAt = previousNextAt;
        this.#clock.clearTimeout(bucket.timer);
        bucket.timer = undefined;
        this.#pump(key, bucket);
      },
    };
    waiter.resolve(lease);
    if (bucket.waiters.length > 0) this.#pump(key, bucket);
  }
}

function insertByShard(waiters: Waiter[], waiter: Waiter): void {
  let i = waiters.length;
  while (i > 0 && waiters[i - 1]!.shardId > waiter.shardId) i--;
  waiters.splice(i, 0, waiter);
}

/** The startup bound of issue #6: `ceil(shards / maxConcurrency)` identify windows. */
export function startupBoundMs(
  shards: number,
  maxConcurrency: number,
  windowMs = IDENTIFY_WINDOW_MS,
): number {
  return Math.ceil(shards / maxConcurrency) * windowMs;
}
