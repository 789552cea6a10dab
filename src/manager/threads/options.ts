/** The `threads` option of `ShardManager`: how many shard threads, and what crosses back to the main thread. */
import { availableParallelism } from 'node:os';
import { isAbsolute, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { ConfigError } from '../../errors.js';
import type { ThreadDelivery } from './protocol.js';

export type { ThreadDelivery } from './protocol.js';

export interface ThreadsOptions {
  /** Shard threads; `'auto'` = `os.availableParallelism()`. Shard `id` runs in thread `id % count`. */
  readonly count: number | 'auto';
  /**
   * Handler mode: a module (path or `file:` URL) whose default export `(payload, shardId) => void` receives
   * every dispatch inside the shard threads. The manager then emits no `dispatch` event.
   */
  readonly handler?: string | URL;
  /**
   * Handler mode: passed (structured clone; a `SharedArrayBuffer` stays shared) to the module's optional
   * `setup(data, threadIndex)` export, awaited before the thread's shards start.
   */
  readonly handlerData?: unknown;
  /**
   * How dispatches reach the main thread: `'json'` (JSON text parsed on the main thread; with the JSON
   * encoding the wire text itself, validated but not parsed in the thread) or `'clone'` (structured clone
   * of the payload decoded in the thread). Default: `'json'` with the JSON encoding, `'clone'` with ETF
   * (re-encoding ETF to JSON costs more than the clone); see docs/manager.md for the measured costs.
   */
  readonly delivery?: ThreadDelivery;
  /** Dispatches a thread may have posted but the main thread not yet emitted before it stops reading. */
  readonly highWaterMark?: number;
}

export const DEFAULT_THREADS_OPTIONS = {
  highWaterMark: 8192,
} as const satisfies Partial<ThreadsOptions>;

/** Upper bound of `count`: more threads than this is a typo, not a plan. */
export const MAX_THREADS = 256;

export interface ResolvedThreadsOptions {
  readonly count: number;
  /** `file:` URL of the handler module, or null (dispatches are emitted on the main thread). */
  readonly handler: string | null;
  readonly handlerData: unknown;
  readonly delivery: ThreadDelivery;
  readonly highWaterMark: number;
}

/** Validates `threads` (a count, `'auto'` or `ThreadsOptions`); undefined = shards in the main thread. */
export function resolveThreadsOptions(
  value: number | 'auto' | ThreadsOptions | undefined,
  encoding: 'json' | 'etf' = 'etf',
): ResolvedThreadsOptions | null {
  if (value === undefined) return null;
  const o: ThreadsOptions =
    typeof value === 'number' || value === 'auto' ? { count: value } : (value as ThreadsOptions);
  if (o === null || typeof o !== 'object') {
    throw new ConfigError('threads', `expected a thread count, 'auto' or { count, … }, got ${String(value)}`);
  }
  let count: number;
  if (o.count === 'auto') count = availableParallelism();
  else if (
    typeof o.count === 'number' &&
    Number.isInteger(o.count) &&
    o.count >= 1 &&
    o.count <= MAX_THREADS
  ) {
    count = o.count;
  } else {
    throw new ConfigError(
      'threads.count',
      `expected an integer 1–${MAX_THREADS} or 'auto', got ${String(o.count)}`,
    );
  }
  const delivery = o.delivery ?? (encoding === 'json' ? 'json' : 'clone');
  if (delivery !== 'clone' && delivery !== 'json') {
    throw new ConfigError('threads.delivery', `expected 'clone' or 'json', got ${String(delivery)}`);
  }
  const highWaterMark = o.highWaterMark ?? DEFAULT_THREADS_OPTIONS.highWaterMark;
  if (!Number.isInteger(highWaterMark) || highWaterMark < 1) {
    throw new ConfigError('threads.highWaterMark', `expected an integer ≥ 1, got ${String(highWaterMark)}`);
  }
  let handler: string | null = null;
  if (o.handler !== undefined) {
    if (o.handler instanceof URL) {
      if (o.handler.protocol !== 'file:') {
        throw new ConfigError('threads.handler', `expected a file: URL, got ${o.handler.protocol}`);
      }
      handler = o.handler.href;
    } else if (typeof o.handler === 'string' && o.handler !== '') {
      if (o.handler.startsWith('file:')) handler = new URL(o.handler).href;
      else handler = pathToFileURL(isAbsolute(o.handler) ? o.handler : resolve(o.handler)).href;
    } else {
      throw new ConfigError('threads.handler', 'expected a module path or a file: URL');
    }
  }
  if (o.handlerData !== undefined && handler === null) {
    throw new ConfigError(
      'threads.handlerData',
      'is only passed to a threads.handler module; set handler too',
    );
  }
  return Object.freeze({ count, handler, handlerData: o.handlerData, delivery, highWaterMark });
}
