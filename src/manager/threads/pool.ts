/**
 * The shard threads of a `ShardManager` (`threads` option): shard `id` runs in thread `id % count`. Each
 * thread posts its shards' events in ordered batches; a dispatch batch is acknowledged once its events were
 * emitted, which is what bounds the memory between the threads (see entry.ts). A thread that dies is
 * started again with its shards, which RESUME from the last sequence delivered here.
 */
import { Worker } from 'node:worker_threads';
import type { GatewaySendPayload } from 'discord-api-types/v10';
import { ManagerError, SendError, type ShardlineError } from '../../errors.js';
import type { IdentifyQueue } from '../../shard/identify-queue.js';
import type { SessionInfo } from '../../shard/session-store.js';
import type { ResolvedThreadsOptions } from './options.js';
import {
  type FromThread,
  reviveError,
  type SerializedError,
  serializeError,
  TAG,
  type ThreadInit,
  type ToThread,
} from './protocol.js';
import { deferred, type ShardThreadHost, ThreadShard } from './thread-shard.js';

/** The compiled thread entry, next to this file in dist/ (works from an installed package). */
const ENTRY = new URL('./entry.js', import.meta.url);
/** Shard slots per thread in handler mode's shared sequence table. */
const MAX_SLOTS_PER_THREAD = 4096;
/** Thread restarts in a row (without a shard reaching READY/RESUMED in between) before its shards fail. */
const MAX_CONSECUTIVE_RESTARTS = 5;
/** Wait before the n-th restart in a row: 0, 250, 500, 1000, 2000 ms. */
const restartDelayMs = (n: number): number => (n <= 1 ? 0 : Math.min(2000, 125 * 2 ** (n - 1)));
/** How long close() waits for a thread to exit by itself before terminating it. */
const EXIT_TIMEOUT_MS = 5000;

export interface ThreadPoolHost {
  readonly identifyQueue: () => IdentifyQueue;
  debug(message: string): void;
  error(error: ShardlineError): void;
}

interface ThreadState {
  readonly index: number;
  worker: Worker | null;
  /** Thread incarnation, so events of a dead worker are ignored. */
  generation: number;
  readonly shards: Map<number, ThreadShard>;
  /** Slot of each shard key in `handled` (handler mode). */
  readonly slots: Map<number, number>;
  handled: Float64Array | null;
  readonly identifyWaits: Map<number, AbortController>;
  restarts: number;
  /** Batches and dispatches received, for the debug line at close. */
  batches: number;
  dispatches: number;
  restartTimer: NodeJS.Timeout | undefined;
  exited: Promise<void>;
}

const pools = new WeakMap<object, ThreadPool>();

/** The thread pool of a manager, or undefined (for tests: crash a thread, count threads). */
export function threadPoolOf(manager: object): ThreadPool | undefined {
  return pools.get(manager);
}

export class ThreadPool implements ShardThreadHost {
  readonly options: ResolvedThreadsOptions;
  readonly #host: ThreadPoolHost;
  readonly #threads: ThreadState[];
  #nextKey = 1;
  #closed = false;

  constructor(owner: object, options: ResolvedThreadsOptions, host: ThreadPoolHost) {
    this.options = options;
    this.#host = host;
    this.#threads = Array.from({ length: options.count }, (_, index) => ({
      index,
      worker: null,
      generation: 0,
      shards: new Map(),
      slots: new Map(),
      handled: null,
      identifyWaits: new Map(),
      restarts: 0,
      batches: 0,
      dispatches: 0,
      restartTimer: undefined,
      exited: Promise.resolve(),
    }));
    pools.set(owner, this);
  }

  /** The running workers, by thread index (null while one restarts). */
  get workers(): readonly (Worker | null)[] {
    return this.#threads.map((t) => t.worker);
  }

  /** A shard run by this pool (not started until `connect()`). */
  createShard(options: ConstructorParameters<typeof ThreadShard>[1]): ThreadShard {
    return new ThreadShard(this.#nextKey++, options, this);
  }

  /** Test hook: makes thread `index` throw an uncaught exception. */
  crash(index: number): void {
    this.#threads[index]?.worker?.postMessage({ type: 'crash' } satisfies ToThread);
  }

  start(shard: ThreadShard): void {
    if (this.#closed) {
      shard.failed(new ManagerError('MANAGER_DESTROYED', 'the thread pool is closed', { shardId: shard.id }));
      return;
    }
    const t = this.#threads[shard.id % this.#threads.length]!;
    t.shards.set(shard.key, shard);
    if (!t.worker) {
      if (t.restartTimer === undefined) this.#spawn(t);
      return; // #spawn starts every shard of the thread
    }
    this.#startIn(t, shard);
  }

  send(shard: ThreadShard, id: number, payload: GatewaySendPayload): void {
    const t = this.#threadOf(shard);
    if (!t?.worker) {
      shard.sendResult(id, new SendError('SHARD_DESTROYED', 'the shard thread is restarting; not sent'));
      return;
    }
    t.worker.postMessage({ type: 'send', key: shard.key, id, payload } satisfies ToThread);
  }

  destroy(shard: ThreadShard, code: number, reason: string): void {
    const t = this.#threadOf(shard);
    if (!t?.worker) {
      t?.shards.delete(shard.key);
      shard.destroyed_();
      return;
    }
    t.worker.postMessage({ type: 'destroy', key: shard.key, code, reason } satisfies ToThread);
  }

  /** Ends every thread (after the manager destroyed the shards). */
  async close(): Promise<void> {
    this.#closed = true;
    await Promise.all(
      this.#threads.map(async (t) => {
        clearTimeout(t.restartTimer);
        t.restartTimer = undefined;
        const w = t.worker;
        for (const s of t.shards.values()) s.failed(new ManagerError('MANAGER_DESTROYED', 'destroyed'));
        t.shards.clear();
        if (t.batches > 0) {
          const per = (t.dispatches / t.batches).toFixed(1);
          this.#host.debug(
            `shard thread ${t.index}: ${t.dispatches} dispatches in ${t.batches} batches (${per} per batch)`,
          );
        }
        if (!w) {
          await t.exited; // a retired thread finishing its exit
          return;
        }
        w.postMessage({ type: 'exit' } satisfies ToThread);
        const timer = setTimeout(() => void w.terminate(), EXIT_TIMEOUT_MS);
        await t.exited;
        clearTimeout(timer);
      }),
    );
  }

  // ---------------------------------------------------------------------------------------- internals

  #threadOf(shard: ThreadShard): ThreadState | undefined {
    const t = this.#threads[shard.id % this.#threads.length];
    return t?.shards.has(shard.key) ? t : undefined;
  }

  #spawn(t: ThreadState): void {
    t.restartTimer = undefined;
    if (t.shards.size === 0) return;
    const handled = this.options.handler ? new SharedArrayBuffer(MAX_SLOTS_PER_THREAD * 16) : null;
    const init: ThreadInit = {
      delivery: this.options.delivery,
      handler: this.options.handler,
      handlerData: this.options.handlerData,
      threadIndex: t.index,
      highWaterMark: this.options.highWaterMark,
      handled,
    };
    const worker = new Worker(ENTRY, { workerData: init, name: `shardline-shards-${t.index}` });
    const generation = ++t.generation;
    t.worker = worker;
    t.handled = handled ? new Float64Array(handled) : null;
    t.slots.clear();
    const exited = deferred<void>();
    t.exited = exited.promise;
    let failure: unknown;
    worker.on('message', (m: FromThread) => {
      if (t.generation === generation) this.#onBatch(t, worker, m);
    });
    worker.on('error', (err) => {
      failure = err;
    });
    worker.on('exit', (code) => {
      exited.resolve();
      if (t.generation !== generation) return;
      t.worker = null;
      if (!this.#closed) this.#lost(t, code, failure);
    });
    this.#host.debug(`shard thread ${t.index} started`);
    for (const s of t.shards.values()) this.#startIn(t, s);
  }

  #startIn(t: ThreadState, shard: ThreadShard): void {
    let slot = 0;
    if (t.handled) {
      const used = new Set(t.slots.values());
      while (used.has(slot)) slot++;
      if (slot >= MAX_SLOTS_PER_THREAD) {
        shard.failed(
          new ManagerError('CONNECT_FAILED', 'too many shards in one thread', { shardId: shard.id }),
        );
        return;
      }
      t.slots.set(shard.key, slot);
      t.handled[slot * 2] = 0;
      t.handled[slot * 2 + 1] = shard.lastSequence ?? 0;
    }
    t.worker!.postMessage({
      type: 'start',
      key: shard.key,
      slot,
      options: shard.threadOptions,
    } satisfies ToThread);
  }

  /** The thread died: its shards keep their place and RESUME in a new thread. */
  #lost(t: ThreadState, code: number, failure: unknown): void {
    for (const ac of t.identifyWaits.values()) ac.abort();
    t.identifyWaits.clear();
    const why = failure instanceof Error ? `: ${failure.message}` : '';
    this.#host.error(
      new ManagerError(
        'THREAD_CRASHED',
        `shard thread ${t.index} exited with code ${code}${why}`,
        {},
        {
          cause: failure,
        },
      ),
    );
    for (const [key, s] of t.shards) {
      const slot = t.slots.get(key);
      const handled =
        t.handled && slot !== undefined
          ? { generation: t.handled[slot * 2]!, sequence: t.handled[slot * 2 + 1]! }
          : null;
      s.threadLost(handled);
      if (s.destroyed) t.shards.delete(key);
    }
    t.restarts++;
    if (t.restarts > MAX_CONSECUTIVE_RESTARTS) {
      const error = new ManagerError(
        'THREAD_CRASHED',
        `shard thread ${t.index} exited ${t.restarts} times in a row; its shards stop`,
      );
      for (const s of t.shards.values()) s.failed(error);
      t.shards.clear();
      return;
    }
    if (t.shards.size === 0) return;
    t.restartTimer = setTimeout(() => this.#spawn(t), restartDelayMs(t.restarts));
  }

  #onBatch(t: ThreadState, worker: Worker, m: FromThread): void {
    const items = m.items;
    t.batches++;
    t.dispatches += m.events;
    const json = this.options.delivery === 'json';
    let i = 0;
    while (i < items.length) {
      const tag = items[i] as number;
      const shard = t.shards.get(items[i + 1] as number);
      switch (tag) {
        case TAG.dispatch: {
          const v = items[i + 2];
          shard?.dispatch(json && typeof v === 'string' ? JSON.parse(v) : v);
          i += 3;
          break;
        }
        case TAG.bookkeeping:
          shard?.dispatch(items[i + 2]);
          i += 3;
          break;
        case TAG.handled:
          shard?.handled(items[i + 2] as number, items[i + 3] as number | null);
          i += 4;
          break;
        case TAG.event: {
          const name = items[i + 2] as string;
          let args = items[i + 3] as unknown[];
          if (name === 'error' || name === 'failed') args = [reviveError(args[0] as SerializedError)];
          if (name === 'ready' || name === 'resumed') t.restarts = 0;
          if (shard) shard.event(name, args);
          else if (name === 'debug') this.#host.debug(`shard thread ${t.index}: ${String(args[0])}`);
          i += 4;
          break;
        }
        case TAG.save:
          shard?.saveSession(items[i + 2] as SessionInfo | null, items[i + 3] as number);
          i += 4;
          break;
        case TAG.identify:
          if (shard) this.#identify(t, worker, shard, items[i + 2] as number);
          i += 3;
          break;
        case TAG.identifyAbort: {
          const req = items[i + 1] as number;
          t.identifyWaits.get(req)?.abort();
          t.identifyWaits.delete(req);
          i += 2;
          break;
        }
        case TAG.load: {
          const req = items[i + 2] as number;
          const load = shard ? shard.loadSession() : Promise.resolve(null);
          void load.then((session) => {
            if (t.worker === worker) worker.postMessage({ type: 'session', req, session } satisfies ToThread);
          });
          i += 3;
          break;
        }
        case TAG.sendResult: {
          const e = items[i + 3] as SerializedError | null;
          shard?.sendResult(items[i + 2] as number, e ? reviveError(e) : null);
          i += 4;
          break;
        }
        case TAG.destroyed:
          if (shard) {
            t.shards.delete(shard.key);
            t.slots.delete(shard.key);
            shard.destroyed_();
          }
          i += 2;
          break;
        default:
          // Our own protocol: an unknown tag is a bug; drop the rest of the batch rather than misread it.
          this.#host.debug(`shard thread ${t.index}: unknown batch item ${String(tag)}`);
          i = items.length;
      }
    }
    if (t.worker !== worker) return;
    // A thread left without shards (all destroyed, e.g. after a failed connect) ends, so it keeps no
    // process alive; the next shard started there gets a new one.
    if (t.shards.size === 0) this.#retire(t, worker);
    else if (m.events > 0) worker.postMessage({ type: 'ack', events: m.events } satisfies ToThread);
  }

  #retire(t: ThreadState, worker: Worker): void {
    t.generation++; // its exit is not a crash
    t.worker = null;
    t.slots.clear();
    worker.postMessage({ type: 'exit' } satisfies ToThread);
    const timer = setTimeout(() => void worker.terminate(), EXIT_TIMEOUT_MS);
    void t.exited.then(() => clearTimeout(timer));
  }

  #identify(t: ThreadState, worker: Worker, shard: ThreadShard, req: number): void {
    const ac = new AbortController();
    t.identifyWaits.set(req, ac);
    const reply = (error: SerializedError | null): void => {
      t.identifyWaits.delete(req);
      if (t.worker === worker && !ac.signal.aborted) {
        worker.postMessage({ type: 'identify', req, error } satisfies ToThread);
      }
    };
    let wait: Promise<void>;
    try {
      wait = Promise.resolve(this.#host.identifyQueue().waitForIdentify(shard.id, ac.signal));
    } catch (err) {
      wait = Promise.reject(err);
    }
    wait.then(
      () => reply(null),
      (err: unknown) => reply(serializeError(err)),
    );
  }
}
