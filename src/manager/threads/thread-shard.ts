/**
 * `ThreadShard`: the main thread's stand-in for a `Shard` that runs in a shard thread. It has the methods
 * and events of a `Shard` the manager uses, answers the thread's identify and session requests, and keeps
 * what a restarted thread needs to RESUME exactly where the main thread stopped: the last saved session and
 * the sequence of the last dispatch delivered (or, in handler mode, handled in the thread).
 */
import { EventEmitter } from 'node:events';
import type { GatewaySendPayload } from 'discord-api-types/v10';
import { SendError, ShardError, type ShardlineError } from '../../errors.js';
import type { ShardEventMap, ShardStatus } from '../../shard/events.js';
import { type ResolvedShardOptions, resolveShardOptions, type ShardOptions } from '../../shard/options.js';
import type { SessionInfo } from '../../shard/session-store.js';
import type { DestroyOptions } from '../../shard/shard.js';
import type { ThreadShardOptions } from './protocol.js';

interface Deferred<T> {
  readonly promise: Promise<T>;
  resolve(value: T): void;
  reject(error: unknown): void;
}

export function deferred<T>(): Deferred<T> {
  let resolve!: (value: T) => void;
  let reject!: (error: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

/** What a `ThreadShard` asks of the pool that runs it. */
export interface ShardThreadHost {
  start(shard: ThreadShard): void;
  send(shard: ThreadShard, id: number, payload: GatewaySendPayload): void;
  destroy(shard: ThreadShard, code: number, reason: string): void;
}

export class ThreadShard extends EventEmitter<ShardEventMap> {
  readonly options: ResolvedShardOptions;
  /** Unique in the pool (a shard id may run twice during a reshard, with two shard counts). */
  readonly key: number;
  /** The options the thread rebuilds the `Shard` from (no queue, store or clock: those stay here). */
  readonly threadOptions: ThreadShardOptions;
  /** Handler mode: `count` dispatches were handled in the thread, the last with sequence `seq`. */
  onHandled: ((count: number, seq: number | null) => void) | undefined;
  #host: ShardThreadHost;
  #status: ShardStatus = 'idle';
  #connecting: Deferred<void> | null = null;
  #started = false;
  #destroyed = false;
  #destroying: Deferred<void> | null = null;
  #nextSendId = 1;
  readonly #sends = new Map<number, Deferred<void>>();
  /** Last session the thread saved (null: none or forgotten) and the save's generation in this thread. */
  saved: { info: SessionInfo | null; generation: number } = { info: null, generation: 0 };
  /** Sequence of the last dispatch delivered on the main thread. */
  lastSequence: number | null = null;
  /** Set when the thread died: the session the next thread resumes (null: identify). Read once. */
  #resumeFrom: SessionInfo | null | undefined;
  #storeChain: Promise<void> = Promise.resolve();

  constructor(key: number, options: ShardOptions, host: ShardThreadHost) {
    super();
    this.options = resolveShardOptions(options);
    this.key = key;
    this.#host = host;
    const { identifyQueue: _q, sessionStore: _s, clock: _c, dispatches, ...rest } = options;
    this.threadOptions = {
      ...rest,
      ...(dispatches !== undefined ? { dispatches: [...dispatches] } : {}),
    } as ThreadShardOptions;
  }

  get id(): number {
    return this.options.shardId;
  }

  get status(): ShardStatus {
    return this.#status;
  }

  get destroyed(): boolean {
    return this.#destroyed;
  }

  connect(): Promise<void> {
    if (this.#started || this.#destroyed) {
      return Promise.reject(
        new ShardError(
          'SHARD_ALREADY_STARTED',
          `connect() called while ${this.#status}; the shard runs already`,
        ),
      );
    }
    this.#started = true;
    const d = deferred<void>();
    this.#connecting = d;
    this.#host.start(this);
    return d.promise;
  }

  destroy(options: DestroyOptions = {}): Promise<void> {
    if (this.#destroying) return this.#destroying.promise;
    const resumable = options.resumable ?? this.options.sessionStore !== undefined;
    const code = options.code ?? (resumable ? 4000 : 1000);
    this.#destroyed = true;
    const d = deferred<void>();
    this.#destroying = d;
    const connecting = this.#connecting;
    this.#connecting = null;
    connecting?.reject(new ShardError('SHARD_DESTROYED', 'the shard was destroyed before it was ready'));
    if (!this.#started) d.resolve();
    else this.#host.destroy(this, code, options.reason ?? '');
    return d.promise.then(() => this.#storeChain);
  }

  send(payload: GatewaySendPayload): Promise<void> {
    if (this.#destroyed) {
      return Promise.reject(new SendError('SHARD_DESTROYED', 'the shard was destroyed'));
    }
    if (payload === null || typeof payload !== 'object' || typeof payload.op !== 'number') {
      return Promise.reject(new SendError('SEND_INVALID', 'a payload is an object with a numeric op'));
    }
    const id = this.#nextSendId++;
    const d = deferred<void>();
    this.#sends.set(id, d);
    try {
      this.#host.send(this, id, payload);
    } catch (cause) {
      this.#sends.delete(id);
      return Promise.reject(
        new SendError('SEND_INVALID', 'payload could not be passed to its thread', { cause }),
      );
    }
    return d.promise;
  }

  // ------------------------------------------------------------------------- called by the thread pool

  /** An event of the shard in its thread, in order. */
  event(name: string, args: unknown[]): void {
    if (name === 'status') {
      const status = args[0] as ShardStatus;
      const previous = this.#status;
      this.#status = status;
      this.#emit('status', status, previous);
      return;
    }
    if (name === 'failed') {
      // connect() of the thread's shard rejected: a fatal close, or our own destroy.
      const connecting = this.#connecting;
      this.#connecting = null;
      connecting?.reject(args[0]);
      return;
    }
    this.#emit(name, ...args);
    if (name === 'ready' || name === 'resumed') {
      const connecting = this.#connecting;
      this.#connecting = null;
      connecting?.resolve();
    }
  }

  dispatch(payload: unknown): void {
    const s = (payload as { s?: unknown }).s;
    if (typeof s === 'number') this.lastSequence = s;
    this.#emit('dispatch', payload);
  }

  handled(count: number, seq: number | null): void {
    if (seq !== null) this.lastSequence = seq;
    this.onHandled?.(count, seq);
  }

  sendResult(id: number, error: Error | null): void {
    const d = this.#sends.get(id);
    this.#sends.delete(id);
    if (error) d?.reject(error);
    else d?.resolve();
  }

  /** The session the thread's shard starts from: the record kept here after a crash, else the store's. */
  async loadSession(): Promise<SessionInfo | null> {
    if (this.#resumeFrom !== undefined) {
      const s = this.#resumeFrom;
      this.#resumeFrom = undefined;
      return s;
    }
    const store = this.options.sessionStore;
    if (!store) return null;
    try {
      return (await store.load(this.id)) ?? null;
    } catch (cause) {
      this.#emitError(
        new ShardError('SESSION_STORE_FAILED', 'sessionStore.load failed; identifying', { cause }),
      );
      return null;
    }
  }

  saveSession(info: SessionInfo | null, generation: number): void {
    this.saved = { info, generation };
    const store = this.options.sessionStore;
    if (!store) return;
    this.#storeChain = this.#storeChain.then(async () => {
      try {
        await store.save(this.id, info);
      } catch (cause) {
        this.#emitError(new ShardError('SESSION_STORE_FAILED', 'sessionStore.save failed', { cause }));
      }
    });
  }

  destroyed_(): void {
    this.#destroying?.resolve();
  }

  /**
   * The thread died. `handledSeq`: in handler mode, the generation and sequence the thread last wrote.
   * Pending sends fail (whether they were written is unknown); the next thread resumes from what was
   * delivered, so the gateway replays exactly the rest.
   */
  threadLost(handled: { generation: number; sequence: number } | null): void {
    for (const d of this.#sends.values()) {
      d.reject(new SendError('SHARD_DESTROYED', "the shard's thread exited before the payload was sent"));
    }
    this.#sends.clear();
    if (this.#destroying) {
      this.#destroying.resolve();
      return;
    }
    const { info } = this.saved;
    if (!info) this.#resumeFrom = null;
    else if (handled) {
      this.#resumeFrom =
        handled.generation === this.saved.generation ? { ...info, sequence: handled.sequence } : null;
    } else {
      this.#resumeFrom = { ...info, sequence: this.lastSequence ?? info.sequence };
    }
    this.saved = { info: this.#resumeFrom, generation: 0 };
    // The next thread starts counting from here (a second death before any dispatch resumes the same).
    if (this.#resumeFrom) this.lastSequence = this.#resumeFrom.sequence;
    this.#emit('close', { code: 1006, reason: 'shard thread exited', byClient: false, action: 'resume' });
    const previous = this.#status;
    this.#status = 'backoff';
    this.#emit('status', 'backoff', previous);
  }

  /** The thread cannot be restarted: the shard stops. */
  failed(error: ShardlineError): void {
    const connecting = this.#connecting;
    this.#connecting = null;
    connecting?.reject(error);
    this.#destroyed = true;
    this.#destroying?.resolve();
    const previous = this.#status;
    this.#status = 'closed';
    this.#emit('status', 'closed', previous);
  }

  #emit(name: string, ...args: unknown[]): void {
    try {
      (this.emit as (n: string, ...a: unknown[]) => boolean)(name, ...args);
    } catch (cause) {
      this.#emitError(new ShardError('LISTENER_FAILED', `a '${name}' listener threw`, { cause }));
    }
  }

  #emitError(error: ShardlineError): void {
    if (this.listenerCount('error') === 0) return;
    try {
      this.emit('error', error);
    } catch {
      // A throwing error listener must not break the stream.
    }
  }
}
