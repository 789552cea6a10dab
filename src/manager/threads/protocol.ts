/**
 * Messages between the manager's main thread (pool.ts) and a shard thread (entry.ts). Everything a thread
 * reports travels in one ordered stream of batches, so a shard's events reach the main thread in the order
 * the shard emitted them; requests of the main thread are single messages.
 */
import * as errors from '../../errors.js';
import type { SessionInfo } from '../../shard/session-store.js';

/** How dispatches cross to the main thread: structured clone of the payload, or its JSON text. */
export type ThreadDelivery = 'clone' | 'json';

/** The `Shard` options a thread can rebuild: everything but the queue, the store and the clock. */
export type ThreadShardOptions = Record<string, unknown> & { readonly shardId: number };

export interface ThreadInit {
  readonly delivery: ThreadDelivery;
  /** Module whose default export receives every dispatch inside the thread (handler mode), or null. */
  readonly handler: string | null;
  readonly handlerData: unknown;
  readonly threadIndex: number;
  /** Dispatches posted but not yet acknowledged by the main thread before the thread pauses reading. */
  readonly highWaterMark: number;
  /** Handler mode: per shard slot, [session generation, last handled sequence] (Float64). */
  readonly handled: SharedArrayBuffer | null;
}

export type ToThread =
  | {
      readonly type: 'start';
      readonly key: number;
      readonly slot: number;
      readonly options: ThreadShardOptions;
    }
  | { readonly type: 'send'; readonly key: number; readonly id: number; readonly payload: unknown }
  | { readonly type: 'destroy'; readonly key: number; readonly code: number; readonly reason: string }
  | { readonly type: 'identify'; readonly req: number; readonly error: SerializedError | null }
  | { readonly type: 'session'; readonly req: number; readonly session: SessionInfo | null }
  | { readonly type: 'ack'; readonly events: number }
  | { readonly type: 'exit' }
  /** Test hook: throws an uncaught exception in the thread. */
  | { readonly type: 'crash' };

/**
 * One batch from a thread: a flat list of items, each `[tag, key, ...]`. Tags:
 *   D key payload              a dispatch (object, or JSON text with `json` delivery)
 *   B key payload              handler mode: a dispatch the manager needs for its bookkeeping only
 *   N key count seq            handler mode: `count` dispatches handled, the last with sequence `seq`
 *   E key name args            another shard event (`ready`, `status`, `close`, `error`, …)
 *   S key session generation   the shard saved its session (null: forgot it)
 *   I key req                  the shard asks for an identify slot
 *   A req                      the shard stopped waiting for identify slot `req`
 *   L key req                  the shard loads its session
 *   R key id error             result of a send (error null: written)
 *   X key                      the shard is destroyed
 */
export interface FromThread {
  readonly type: 'batch';
  readonly items: unknown[];
  /** Dispatches (tag D) in this batch, to acknowledge. */
  readonly events: number;
}

export const TAG = {
  dispatch: 0,
  bookkeeping: 1,
  handled: 2,
  event: 3,
  save: 4,
  identify: 5,
  identifyAbort: 6,
  load: 7,
  sendResult: 8,
  destroyed: 9,
} as const;

export interface SerializedError {
  readonly name: string;
  readonly message: string;
  readonly stack: string | undefined;
  /** Own enumerable fields with cloneable values (`code`, `closeCode`, `shardId`, …). */
  readonly fields: Record<string, unknown>;
  readonly cause: SerializedError | null;
}

/** An error as data: class name, message and its own primitive fields. */
export function serializeError(err: unknown, depth = 0): SerializedError {
  if (!(err instanceof Error)) {
    return { name: 'Error', message: String(err), stack: undefined, fields: {}, cause: null };
  }
  const fields: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(err)) {
    if (v === null || ['string', 'number', 'boolean', 'undefined'].includes(typeof v)) fields[k] = v;
    else if (v instanceof Date) fields[k] = v;
  }
  const cause = depth < 3 && err.cause !== undefined ? serializeError(err.cause, depth + 1) : null;
  return { name: err.name, message: err.message, stack: err.stack, fields, cause };
}

const ERROR_CLASSES = new Map<string, { prototype: Error }>(
  Object.values(errors)
    .filter((v): v is typeof errors.ShardlineError => typeof v === 'function' && v.prototype instanceof Error)
    .map((cls) => [cls.name, cls]),
);

/** The error again, of its Shardline class (so `instanceof` and `code` work on the main thread). */
export function reviveError(e: SerializedError): Error {
  const cls = ERROR_CLASSES.get(e.name);
  const err: Error = cls ? Object.create(cls.prototype) : new Error(e.message);
  Object.defineProperty(err, 'message', { value: e.message, writable: true, configurable: true });
  if (e.stack !== undefined)
    Object.defineProperty(err, 'stack', { value: e.stack, writable: true, configurable: true });
  if (e.cause) Object.defineProperty(err, 'cause', { value: reviveError(e.cause), configurable: true });
  Object.assign(err, e.fields);
  return err;
}
