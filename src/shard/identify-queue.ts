/**
 * Identify scheduling. Discord allows `max_concurrency` identifies per 5 s, at most one per rate-limit
 * bucket `shard_id % max_concurrency`; breaking it costs an op 9 and a wasted session start. `IdentifyQueue`
 * is the contract a `Shard` waits on; `MemoryIdentifyQueue` is the in-process strategy (the manager's and
 * the shard's default). A file-backed queue (one host) and a Redis-backed one (a fleet) implement the same
 * contract for several processes.
 */
import { ConfigError, ManagerError } from '../errors.js';
import { type Clock, systemClock, type TimerHandle } from '../util/clock.js';

/** Discord's identify window: one IDENTIFY per bucket per 5 s. */
export const IDENTIFY_WINDOW_MS = 5_000;
/** Default safety margin added to every window, as a fraction of it. */
export const DEFAULT_IDENTIFY_MARGIN_RATIO = 0.05;
/** Extra margin per ms of event-loop lag seen recently: a stalled loop delays what the peer sees. */
const LAG_MARGIN_FACTOR = 2;
/** Longest interval between two event-loop lag samples while shards wait. */
const LAG_SAMPLE_MS = 10;

export interface IdentifyQueue {
  /**
   * Resolves when shard `shardId` may identify now. Rejects with `signal.reason` once `signal` aborts
   * (the shard closed or was destroyed while waiting).
   */
  waitForIdentify(shardId: number, signal: AbortSignal): Promise<void>;
}

/** The startup bound: `ceil(shards / maxConcurrency)` identify windows. */
export function startupBoundMs(
  shards: number,
  maxConcurrency: number,
  windowMs = IDENTIFY_WINDOW_MS,
): number {
  return Math.ceil(shards / maxConcurrency) * windowMs;
}

export interface MemoryIdentifyQueueOptions {
  /** `session_start_limit.max_concurrency`: identify buckets per window. Default 1. */
  readonly maxConcurrency?: number;
  /** Length of one bucket window, in ms. Default 5000 (scaled down against the simulator). */
  readonly windowMs?: number;
  /**
   * Fixed safety added to each window, in ms, against jitter between the send and the peer's clock (the
   * network, a busy peer); default 5 % of `windowMs`. Event-loop lag seen while waiting is added on top.
   */
  readonly marginMs?: number;
  readonly clock?: Clock;
}

interface Waiter {
  readonly shardId: number;
  readonly seq: number;
  readonly resolve: () => void;
  readonly reject: (err: unknown) => void;
  readonly signal: AbortSignal;
  readonly onAbort: () => void;
}

interface Bucket {
  /** `clock.now()` by which the bucket's last IDENTIFY was sent (the window runs from there). */
  sentAt: number;
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
    throw new ConfigError(option, `expected a finite number of ms ≥ 0, got ${String(value)}`);
  }
  return value;
}

/**
 * In-process identify queue: one FIFO per bucket, served lowest shard id first, every bucket in parallel,
 * so N shards start in `ceil(N / maxConcurrency)` windows. A bucket's window runs from when its IDENTIFY
 * was sent, not from the grant: the grant's continuation (the shard writing IDENTIFY) finishes before the
 * next timer turn, which the queue measures. The margin is `marginMs` plus twice the event-loop lag seen
 * lately (decaying over a window), so a loaded process spaces identifies further apart, an idle one does not.
 */
export class MemoryIdentifyQueue implements IdentifyQueue {
  readonly #clock: Clock;
  readonly #windowMs: number;
  readonly #marginMs: number;
  #maxConcurrency: number;
  #buckets = new Map<number, Bucket>();
  #seq = 0;
  #granted = 0;
  #destroyed = false;
  /** Largest recent event-loop lag (ms) and when it was seen; decays by half per window. */
  #lagMs = 0;
  #lagAt = 0;
  #sampler: { timer: TimerHandle; dueAt: number } | undefined;
  readonly #settling = new Set<TimerHandle>();

  constructor(options: MemoryIdentifyQueueOptions = {}) {
    this.#clock = options.clock ?? systemClock;
    this.#maxConcurrency = positiveInt('maxConcurrency', options.maxConcurrency ?? 1);
    this.#windowMs = nonNegative('windowMs', options.windowMs ?? IDENTIFY_WINDOW_MS);
    this.#marginMs = nonNegative(
      'marginMs',
      options.marginMs ?? this.#windowMs * DEFAULT_IDENTIFY_MARGIN_RATIO,
    );
  }

  get maxConcurrency(): number {
    return this.#maxConcurrency;
  }
  get windowMs(): number {
    return this.#windowMs;
  }
  /** Identifies granted so far. */
  get granted(): number {
    return this.#granted;
  }
  /** Shards waiting for their turn. */
  get waiting(): number {
    let n = 0;
    for (const b of this.#buckets.values()) n += b.waiters.length;
    return n;
  }
  /** The margin a window gets now: `marginMs` plus the lag-proportional part. */
  get currentMarginMs(): number {
    return this.#marginMs + LAG_MARGIN_FACTOR * this.#recentLag(this.#clock.now());
  }

  bucketOf(shardId: number): number {
    return shardId % this.#maxConcurrency;
  }

  /**
   * Resolves when `shardId` may identify. Waiters of one bucket are served lowest shard id first (equal ids
   * in request order); buckets never wait for each other. Rejects with `signal.reason` on abort and with
   * `IDENTIFY_ABORTED` after `destroy()`.
   */
  waitForIdentify(shardId: number, signal: AbortSignal): Promise<void> {
    if (typeof shardId !== 'number' || !Number.isInteger(shardId) || shardId < 0) {
      return Promise.reject(new ConfigError('shardId', `expected an integer ≥ 0, got ${String(shardId)}`));
    }
    if (this.#destroyed) {
      return Promise.reject(
        new ManagerError('IDENTIFY_ABORTED', 'the identify queue was destroyed', { shardId }),
      );
    }
    if (signal.aborted) return Promise.reject(signal.reason);
    return new Promise<void>((resolve, reject) => {
      const onAbort = (): void => {
        this.#remove(waiter);
        reject(signal.reason);
      };
      const waiter: Waiter = { shardId, seq: this.#seq++, resolve, reject, signal, onAbort };
      signal.addEventListener('abort', onAbort, { once: true });
      const key = this.bucketOf(shardId);
      const bucket = this.#bucket(key);
      insertByShard(bucket.waiters, waiter);
      this.#pump(key, bucket);
    });
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
      latest = Math.max(latest, b.sentAt);
    }
    waiters.sort((a, b) => a.seq - b.seq);
    this.#maxConcurrency = n;
    this.#buckets = new Map();
    for (let key = 0; key < n; key++) this.#bucket(key).sentAt = latest;
    for (const w of waiters) insertByShard(this.#bucket(this.bucketOf(w.shardId)).waiters, w);
    const heads = [...this.#buckets].filter(([, b]) => b.waiters.length > 0);
    heads.sort(([, a], [, b]) => a.waiters[0]!.seq - b.waiters[0]!.seq);
    for (const [key, b] of heads) this.#pump(key, b);
  }

  /** Rejects every waiter with `IDENTIFY_ABORTED`, refuses new requests and stops every timer. */
  destroy(): void {
    this.#destroyed = true;
    for (const b of this.#buckets.values()) {
      this.#clock.clearTimeout(b.timer);
      b.timer = undefined;
      for (const w of b.waiters.splice(0)) {
        w.signal.removeEventListener('abort', w.onAbort);
        w.reject(
          new ManagerError('IDENTIFY_ABORTED', 'the identify queue was destroyed', { shardId: w.shardId }),
        );
      }
    }
    for (const timer of this.#settling) this.#clock.clearTimeout(timer);
    this.#settling.clear();
    this.#clock.clearTimeout(this.#sampler?.timer);
    this.#sampler = undefined;
  }

  #bucket(key: number): Bucket {
    let b = this.#buckets.get(key);
    if (!b) {
      b = { sentAt: Number.NEGATIVE_INFINITY, waiters: [], timer: undefined };
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

  #recentLag(now: number): number {
    if (this.#lagMs === 0) return 0;
    const halfLives = this.#windowMs > 0 ? (now - this.#lagAt) / this.#windowMs : Infinity;
    return this.#lagMs * 0.5 ** Math.max(0, halfLives);
  }

  #observeLag(lagMs: number, now: number): void {
    if (!(lagMs > 0)) return;
    if (lagMs >= this.#recentLag(now)) {
      this.#lagMs = lagMs;
      this.#lagAt = now;
    }
  }

  /** While shards wait, a short timer measures how late the event loop runs. */
  #sample(): void {
    if (this.#sampler || this.#destroyed || this.waiting === 0) return;
    const interval = Math.min(LAG_SAMPLE_MS, Math.max(1, this.#windowMs / 10));
    const dueAt = this.#clock.now() + interval;
    const timer = this.#clock.setTimeout(() => {
      const now = this.#clock.now();
      this.#observeLag(now - dueAt, now);
      this.#sampler = undefined;
      this.#sample();
    }, interval);
    this.#sampler = { timer, dueAt };
  }

  #pump(key: number, bucket: Bucket): void {
    if (this.#destroyed || bucket.waiters.length === 0 || bucket.timer) return;
    this.#sample();
    const now = this.#clock.now();
    const readyAt = bucket.sentAt + this.#windowMs + this.currentMarginMs;
    if (now < readyAt) {
      const wait = readyAt - now;
      bucket.timer = this.#clock.setTimeout(() => {
        bucket.timer = undefined;
        const late = this.#clock.now();
        this.#observeLag(late - (now + wait), late);
        if (this.#buckets.get(key) === bucket) this.#pump(key, bucket);
      }, wait);
      return;
    }
    const waiter = bucket.waiters.shift()!;
    waiter.signal.removeEventListener('abort', waiter.onAbort);
    bucket.sentAt = now;
    this.#granted++;
    waiter.resolve();
    // The shard writes IDENTIFY in the grant's continuation, before the next timer turn: the window runs from
    // that turn, so a loop stalled between grant and send cannot shorten the gap the peer sees.
    const settle = this.#clock.setTimeout(() => {
      this.#settling.delete(settle);
      const sentBy = this.#clock.now();
      this.#observeLag(sentBy - now, sentBy);
      if (sentBy > bucket.sentAt && this.#buckets.get(key) === bucket) {
        bucket.sentAt = sentBy;
        if (bucket.timer) {
          this.#clock.clearTimeout(bucket.timer);
          bucket.timer = undefined;
          this.#pump(key, bucket);
        }
      }
    }, 0);
    this.#settling.add(settle);
    if (bucket.waiters.length > 0) this.#pump(key, bucket);
  }
}

function insertByShard(waiters: Waiter[], waiter: Waiter): void {
  let i = waiters.length;
  while (i > 0 && waiters[i - 1]!.shardId > waiter.shardId) i--;
  waiters.splice(i, 0, waiter);
}
