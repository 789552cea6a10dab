/**
 * An `IdentifyQueue` shared by several processes on one host through a directory: one lock file and one
 * state file per bucket `shard_id % max_concurrency`. The state file holds the wall-clock time before which
 * the bucket must not identify again. Every process of the bot must use the same directory, the same
 * `maxConcurrency` and the same window. Unlike `MemoryIdentifyQueue`, waiters of different processes are
 * not ordered among themselves; each bucket still grants at most one identify per window.
 */
import { mkdir, open, readFile, rename, stat, unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ConfigError } from '../errors.js';
import { IDENTIFY_WINDOW_MS, type IdentifyQueue } from '../shard/identify-queue.js';
import { type Clock, systemClock } from '../util/clock.js';

export interface FileIdentifyQueueOptions {
  readonly directory: string;
  readonly maxConcurrency: number;
  readonly windowMs?: number;
  /** Default 5 % of the window. */
  readonly marginMs?: number;
  /** Poll interval while a bucket is locked by another process; default 25 ms. */
  readonly pollMs?: number;
  /** A lock older than this is considered abandoned by a crashed process; default 10 s. */
  readonly staleLockMs?: number;
  /** Wall clock shared by the processes (epoch ms); default `Date.now`. */
  readonly now?: () => number;
  /** Timers for the waits; default the system clock. */
  readonly clock?: Clock;
}

export class FileIdentifyQueue implements IdentifyQueue {
  readonly directory: string;
  readonly maxConcurrency: number;
  readonly windowMs: number;
  readonly #marginMs: number;
  readonly #pollMs: number;
  readonly #staleLockMs: number;
  readonly #now: () => number;
  readonly #clock: Clock;
  #ready: Promise<void> | undefined;

  constructor(options: FileIdentifyQueueOptions) {
    if (typeof options?.directory !== 'string' || options.directory === '') {
      throw new ConfigError('directory', 'expected a directory path');
    }
    if (!Number.isInteger(options.maxConcurrency) || options.maxConcurrency < 1) {
      throw new ConfigError(
        'maxConcurrency',
        `expected an integer ≥ 1, got ${String(options.maxConcurrency)}`,
      );
    }
    this.directory = options.directory;
    this.maxConcurrency = options.maxConcurrency;
    this.windowMs = nonNegative('windowMs', options.windowMs ?? IDENTIFY_WINDOW_MS);
    this.#marginMs = nonNegative('marginMs', options.marginMs ?? this.windowMs * 0.05);
    this.#pollMs = nonNegative('pollMs', options.pollMs ?? 25);
    this.#staleLockMs = nonNegative('staleLockMs', options.staleLockMs ?? 10_000);
    this.#now = options.now ?? Date.now;
    this.#clock = options.clock ?? systemClock;
  }

  async waitForIdentify(shardId: number, signal: AbortSignal): Promise<void> {
    if (!Number.isInteger(shardId) || shardId < 0) {
      throw new ConfigError('shardId', `expected an integer ≥ 0, got ${String(shardId)}`);
    }
    this.#ready ??= mkdir(this.directory, { recursive: true }).then(() => undefined);
    await this.#ready;
    const bucket = shardId % this.maxConcurrency;
    const lockPath = join(this.directory, `bucket-${bucket}.lock`);
    const statePath = join(this.directory, `bucket-${bucket}.json`);
    for (;;) {
      if (signal.aborted) throw signal.reason;
      const locked = await this.#lock(lockPath);
      if (!locked) {
        await this.#sleep(this.#pollMs, signal);
        continue;
      }
      let wait = 0;
      try {
        const nextAt = await readNextAt(statePath);
        const now = this.#now();
        if (now < nextAt) wait = nextAt - now;
        else if (!signal.aborted) {
          const tmp = `${statePath}.${process.pid}.tmp`;
          await writeFile(tmp, JSON.stringify({ nextAt: now + this.windowMs + this.#marginMs, shardId }));
          await rename(tmp, statePath);
        }
      } finally {
        await unlink(lockPath).catch(() => {});
      }
      if (wait === 0) {
        if (signal.aborted) throw signal.reason;
        return;
      }
      await this.#sleep(Math.min(wait, Math.max(this.#pollMs, wait)), signal);
    }
  }

  async #lock(path: string): Promise<boolean> {
    try {
      const handle = await open(path, 'wx');
      await handle.close();
      return true;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      try {
        const s = await stat(path);
        if (Date.now() - s.mtimeMs > this.#staleLockMs) await unlink(path).catch(() => {});
      } catch {
        // Released meanwhile.
      }
      return false;
    }
  }

  #sleep(ms: number, signal: AbortSignal): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const onAbort = () => {
        this.#clock.clearTimeout(timer);
        reject(signal.reason);
      };
      const timer = this.#clock.setTimeout(() => {
        signal.removeEventListener('abort', onAbort);
        resolve();
      }, ms);
      signal.addEventListener('abort', onAbort, { once: true });
    });
  }
}

function nonNegative(option: string, value: number): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) {
    throw new ConfigError(option, `expected a finite number ≥ 0, got ${String(value)}`);
  }
  return value;
}

async function readNextAt(path: string): Promise<number> {
  try {
    const parsed = JSON.parse(await readFile(path, 'utf8')) as { nextAt?: unknown };
    return typeof parsed.nextAt === 'number' && Number.isFinite(parsed.nextAt) ? parsed.nextAt : 0;
  } catch {
    return 0;
  }
}
