/**
 * `ShardManager`: many shards in one process, started as fast as Discord allows (one identify per
 * `shard_id % max_concurrency` bucket per 5 s, all buckets in parallel), re-emitting every shard's events
 * with its shard id, resharded without downtime (see reshard.ts for the exact dedupe guarantee).
 */
import { EventEmitter } from 'node:events';
import type { GatewayDispatchPayload, GatewaySendPayload } from 'discord-api-types/v10';
import { GatewayCloseError, ManagerError, SessionLimitError, ShardlineError } from '../errors.js';
import { MemoryIdentifyQueue } from '../shard/identify-queue.js';
import { type DestroyOptions, Shard } from '../shard/shard.js';
import type { Clock, TimerHandle } from '../util/clock.js';
import { EventRate } from './event-rate.js';
import type {
  LifecycleState,
  ManagerSnapshot,
  ShardManagerEventMap,
  ShardRole,
  ShardSnapshot,
} from './events.js';
import {
  type GuildMembersChunk,
  MemberChunkCollector,
  type MemberRequestOptions,
  type MemberRequestResult,
} from './member-chunks.js';
import { ManagerMetrics } from './metrics.js';
import {
  type ResolvedShardManagerOptions,
  resolveShardManagerOptions,
  type ShardManagerOptions,
  shardOptionsFor,
} from './options.js';
import { guildOfDispatch } from './reshard.js';
import {
  autoReshardNow,
  type Reshard,
  type ReshardHost,
  runReshard,
  startAutoReshard,
} from './reshard-run.js';
import { fetchGatewayBot, type GatewayBotInfo } from './rest.js';
import { shardForGuild } from './routing.js';
import { isSequenceAware, type SequenceAwareSessionStore, scopedSessionStore } from './session-store.js';
import type { IdentifyQueue, SessionStore } from './shard-contract.js';
import {
  createShardSet,
  isSetLoaded,
  type ManagedShard,
  type ShardHandle,
  type ShardSet,
  snapshotOf,
} from './shard-set.js';
import { ThreadPool } from './threads/pool.js';
import { ThreadShard } from './threads/thread-shard.js';

/** connect() attempts when the gateway answers 4011 (sharding required) and autoReshard is on. */
const MAX_CONNECT_ATTEMPTS_ON_4011 = 3;

export class ShardManager extends EventEmitter<ShardManagerEventMap> {
  /** The resolved options (frozen; the token in a `Secret`). */
  readonly options: ResolvedShardManagerOptions;
  readonly #clock: Clock;
  readonly #metrics = new ManagerMetrics();
  /** The session store when it takes per-dispatch sequence updates (resolved once, not per event). */
  readonly #sequenceStore: SequenceAwareSessionStore | null;
  readonly #members: MemberChunkCollector;
  #state: LifecycleState = 'idle';
  #info: GatewayBotInfo | undefined;
  #identifyQueue: IdentifyQueue | undefined;
  #ownQueue: MemoryIdentifyQueue | undefined;
  #identifiesRemaining: number | null = null;
  #active: ShardSet | undefined;
  #retiring: ShardSet | undefined;
  #reshard: Reshard | undefined;
  #autoTimer: TimerHandle | undefined;
  #reshardStarting = false;
  /** The drain after a reshard switch (old set still open); cut short by destroy(). */
  #drain: { timer: TimerHandle; resolve(): void } | undefined;
  /** The manager as the resharding steps (reshard-run.ts) see it. */
  readonly #host: ReshardHost = this.#reshardHost();
  /** Shard threads (`threads` option), or null: every shard in this thread. */
  readonly #pool: ThreadPool | null;
  /** Handler mode: dispatches are handled in the shard threads, never emitted here. */
  readonly #inThread: boolean;

  constructor(options: ShardManagerOptions) {
    super();
    const o = resolveShardManagerOptions(options);
    this.options = o;
    this.#clock = o.clock;
    this.#sequenceStore = isSequenceAware(o.sessionStore) ? o.sessionStore : null;
    this.#members = new MemberChunkCollector({
      clock: this.#clock,
      ...(o.memberRequestTimeoutMs !== undefined ? { timeoutMs: o.memberRequestTimeoutMs } : {}),
      send: (guildId, payload) => this.#send(this.shardForGuild(guildId), payload as GatewaySendPayload),
    });
    this.#inThread = o.threads?.handler != null;
    this.#pool = o.threads
      ? new ThreadPool(this, o.threads, {
          identifyQueue: () => this.#identifyQueue!,
          debug: (message) => this.#debug(message, null),
          error: (error) => this.#error(error, null),
        })
      : null;
  }

  /** The shards this process runs in the serving set, ascending (empty before `connect()`). */
  get shardIds(): readonly number[] {
    return [...(this.#active?.shards.keys() ?? [])].sort((a, b) => a - b);
  }

  /** Shard count of the serving set (0 before `connect()`). */
  get shardCount(): number {
    return this.#active?.count ?? 0;
  }

  /** `GET /gateway/bot` as last fetched. */
  get gatewayInfo(): GatewayBotInfo | undefined {
    return this.#info;
  }

  /**
   * Fetches `/gateway/bot`, refuses to start when the daily budget cannot cover the identifies needed
   * (`SessionLimitError`, saying when it resets), then starts every shard and resolves once all are READY
   * and have received the guilds of their READY (at most `guildReadyTimeoutMs`), or RESUMED from the store.
   * With `autoReshard`, a close 4011 (sharding required) at startup starts again with more shards.
   */
  async connect(): Promise<void> {
    if (this.#state === 'destroyed') throw new ManagerError('MANAGER_DESTROYED', 'the manager was destroyed');
    if (this.#state !== 'idle') {
      throw new ManagerError(
        'SHARD_ALREADY_STARTED',
        `connect() called while ${this.#state}; call it once (destroy() and a new manager to start over)`,
      );
    }
    this.#state = 'connecting';
    let count: number | undefined;
    for (let attempt = 1; ; attempt++) {
      try {
        await this.#connectOnce(count);
        this.#state = 'ready';
        startAutoReshard(this.#host);
        this.emit('allReady');
        return;
      } catch (err) {
        const failedCount = this.#active?.count;
        const still = this.#state === 'connecting';
        if (still) {
          // Resumable close: sessions that did start stay in the store for the next attempt.
          await this.#destroySets(4000);
          this.#active = undefined;
        }
        if (
          still &&
          attempt < MAX_CONNECT_ATTEMPTS_ON_4011 &&
          this.options.autoReshard &&
          !this.options.shardIds &&
          failedCount !== undefined &&
          err instanceof GatewayCloseError &&
          err.closeCode === 4011
        ) {
          // Sharding required: too many guilds per shard. Start over with more shards.
          count = Math.max(this.#info?.shards ?? 0, failedCount * 2);
          this.#debug(`close 4011 with ${failedCount} shards: starting again with ${count}`, null);
          continue;
        }
        if (still) this.#state = 'idle';
        throw err;
      }
    }
  }

  async #connectOnce(countOverride: number | undefined): Promise<void> {
    const info = await this.#fetchInfo();
    const explicit = this.options.shardCount;
    const count =
      countOverride !== undefined
        ? Math.max(countOverride, info.shards)
        : explicit === undefined || explicit === 'auto'
          ? info.shards
          : explicit;
    const ids = this.options.shardIds ?? range(count);
    const resumable = await this.#countResumable(ids, count);
    this.#checkBudget(ids.length - resumable);
    this.#setupQueue(info);
    if (this.#state !== 'connecting')
      throw new ManagerError('MANAGER_DESTROYED', 'destroyed while connecting');
    const set = this.#createSet(count, ids, 'active');
    this.#active = set;
    this.#startSet(set);
    await set.ready;
    if (this.#state !== 'connecting')
      throw new ManagerError('MANAGER_DESTROYED', 'destroyed while connecting');
  }

  /** Sends a payload on one shard of the serving set. */
  send(shardId: number, payload: GatewaySendPayload): Promise<void> {
    return this.#send(shardId, payload);
  }

  #send(shardId: number, payload: GatewaySendPayload): Promise<void> {
    const managed = this.#active?.shards.get(shardId);
    if (!managed) {
      return Promise.reject(
        new ManagerError('SHARD_NOT_MANAGED', `shard ${shardId} is not run by this manager`, { shardId }),
      );
    }
    return managed.shard.send(payload);
  }

  /** Sends a payload on every shard of the serving set; rejects with the first failure after trying all. */
  async broadcast(payload: GatewaySendPayload): Promise<void> {
    const shards = [...(this.#active?.shards.values() ?? [])];
    const results = await Promise.allSettled(shards.map((m) => m.shard.send(payload)));
    const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed) throw failed.reason;
  }

  /** The shard of the serving set that receives `guildId`: `(id >> 22) % shardCount`, BigInt-exact. */
  shardForGuild(guildId: string | bigint): number {
    if (!this.#active) throw new ManagerError('MANAGER_NOT_CONNECTED', 'no shards yet; call connect() first');
    return shardForGuild(guildId, this.#active.count);
  }

  /**
   * Request Guild Members (op 8) on the guild's shard; resolves with every member once all chunks arrived.
   * RATE_LIMITED is honoured (the request is sent again after `retry_after`).
   */
  requestGuildMembers(options: MemberRequestOptions): Promise<MemberRequestResult> {
    return this.#members.request(options);
  }

  /** The same request, chunk by chunk, as an async iterator. */
  streamGuildMembers(options: MemberRequestOptions): AsyncIterableIterator<GuildMembersChunk> {
    return this.#members.stream(options);
  }

  /** A snapshot of the manager and every shard (serving, joining and retiring sets). */
  snapshot(): ManagerSnapshot {
    const shards: ShardSnapshot[] = [];
    // After a reshard switch the joining set is the active one: list it once.
    for (const set of new Set([this.#active, this.#reshard?.next, this.#retiring])) {
      if (!set) continue;
      for (const m of set.shards.values()) shards.push(snapshotOf(m, this.#clock.now()));
    }
    return {
      state: this.#state,
      shardCount: this.#active?.count ?? 0,
      shardIds: this.shardIds,
      shards,
      identifiesRemaining: this.#identifiesRemaining,
      reshard: this.#reshard
        ? { from: this.#reshard.from, to: this.#reshard.to, phase: this.#reshard.phase }
        : null,
    };
  }

  /** Prometheus text format (`prom-client`), for a `/metrics` endpoint (see `serveMetrics`). */
  async collectMetrics(): Promise<string> {
    if (this.#identifiesRemaining !== null) this.#metrics.identifiesRemaining.set(this.#identifiesRemaining);
    return this.#metrics.collect();
  }

  /** Content type of `collectMetrics()`. */
  get metricsContentType(): string {
    return this.#metrics.contentType;
  }

  /**
   * Starts `newCount` shards beside the serving ones, switches once all are READY with their guilds, then
   * closes the old set. Resolves when the old set is closed. See reshard.ts for the no-loss/no-dup guarantee.
   */
  reshard(newCount: number): Promise<void> {
    if (this.#inThread) {
      return Promise.reject(
        new ManagerError(
          'NOT_SUPPORTED_IN_THREADS',
          'resharding compares dispatches on the main thread; not available with threads.handler',
        ),
      );
    }
    return runReshard(this.#host, newCount);
  }

  /**
   * Closes every shard. With a session store, by default with a resumable close code (4000), so a process
   * restarted with the same store resumes instead of identifying; `{ resumable: false }` ends the sessions
   * (1000), as does a manager without a store (nobody could resume them).
   */
  async destroy(options: Omit<DestroyOptions, 'code'> = {}): Promise<void> {
    if (this.#state === 'destroyed') return;
    this.#state = 'destroyed';
    this.#clock.clearTimeout(this.#autoTimer);
    this.#autoTimer = undefined;
    if (this.#drain) {
      this.#clock.clearTimeout(this.#drain.timer);
      this.#drain.resolve();
      this.#drain = undefined;
    }
    this.#members.destroy();
    const resumable = options.resumable ?? this.options.sessionStore !== undefined;
    await this.#destroySets(resumable ? 4000 : 1000, options.reason);
    await this.#pool?.close();
    this.#ownQueue?.destroy();
    const store = this.options.sessionStore;
    if (isSequenceAware(store)) await store.flush();
    this.#metrics.close();
  }

  // ------------------------------------------------------------------------------------------ internals

  async #fetchInfo(): Promise<GatewayBotInfo> {
    const info = await fetchGatewayBot({
      token: this.options.token,
      api: this.options.api,
      clock: this.options.clock,
    });
    this.#info = info;
    this.#identifiesRemaining = info.sessionStartLimit.remaining;
    this.#metrics.identifiesRemaining.set(info.sessionStartLimit.remaining);
    return info;
  }

  #checkBudget(needed: number): void {
    const limit = this.#info!.sessionStartLimit;
    if (needed > limit.remaining) {
      throw new SessionLimitError({
        needed,
        remaining: limit.remaining,
        total: limit.total,
        resetAfterMs: limit.resetAfterMs,
      });
    }
  }

  async #countResumable(ids: readonly number[], count: number): Promise<number> {
    const store = this.options.sessionStore;
    if (!store) return 0;
    let n = 0;
    for (const id of ids) {
      let s: Awaited<ReturnType<SessionStore['load']>>;
      try {
        s = await store.load(id);
      } catch (cause) {
        throw new ManagerError(
          'SESSION_STORE_FAILED',
          `sessionStore.load(${id}) failed: ${cause instanceof Error ? cause.message : String(cause)}`,
          { shardId: id },
          { cause },
        );
      }
      if (s && s.shardCount === count) n++;
    }
    return n;
  }

  #setupQueue(info: GatewayBotInfo): void {
    if (this.#identifyQueue) {
      this.#ownQueue?.setMaxConcurrency(info.sessionStartLimit.maxConcurrency);
      return;
    }
    let inner = this.options.identifyQueue;
    if (!inner) {
      this.#ownQueue = new MemoryIdentifyQueue({
        maxConcurrency: info.sessionStartLimit.maxConcurrency,
        windowMs: this.options.identifyWindowMs,
        ...(this.options.identifyMarginMs !== undefined ? { marginMs: this.options.identifyMarginMs } : {}),
        clock: this.#clock,
      });
      inner = this.#ownQueue;
    }
    const queue = inner;
    // Count every granted identify against the daily budget.
    this.#identifyQueue = {
      waitForIdentify: async (shardId, signal) => {
        await queue.waitForIdentify(shardId, signal);
        if (this.#identifiesRemaining !== null)
          this.#identifiesRemaining = Math.max(0, this.#identifiesRemaining - 1);
        this.#metrics.identifies.inc();
      },
    };
  }

  #createSet(count: number, ids: readonly number[], role: ShardRole): ShardSet {
    const set = createShardSet(count, role);
    const store = this.options.sessionStore
      ? scopedSessionStore(this.options.sessionStore, count)
      : undefined;
    const info = this.#info!;
    for (const id of ids) {
      const shardOptions = shardOptionsFor(this.options, id, count, info.url, this.#identifyQueue!, store);
      const shard: ShardHandle = this.#pool ? this.#pool.createShard(shardOptions) : new Shard(shardOptions);
      const managed: ManagedShard = {
        id,
        count,
        shard,
        set,
        state: 'idle',
        latencyMs: null,
        lastSequence: null,
        guilds: new Set(),
        pendingGuilds: new Set(),
        guildsTimer: undefined,
        reconnects: 0,
        rate: new EventRate(this.#clock.now()),
        readyOnce: false,
      };
      this.#wire(managed);
      set.shards.set(id, managed);
    }
    return set;
  }

  #startSet(set: ShardSet): void {
    // Ascending order, synchronously: each bucket's FIFO then serves its shards in id order.
    for (const m of set.shards.values()) {
      this.#metrics.setShardStatus(m.id, m.state);
      void Promise.resolve()
        .then(() => m.shard.connect())
        .catch((err: unknown) => this.#fail(set, m, err));
    }
  }

  #fail(set: ShardSet, m: ManagedShard, err: unknown): void {
    if (set.closing) return;
    const error =
      err instanceof ShardlineError
        ? err
        : new ManagerError(
            set.role === 'joining' ? 'RESHARD_FAILED' : 'CONNECT_FAILED',
            `shard ${m.id} failed: ${String(err)}`,
            { shardId: m.id },
            {
              cause: err,
            },
          );
    if (!set.settled) {
      set.settled = true;
      set.settle.reject(error);
    }
    this.#error(error, m.id);
  }

  #checkSetReady(set: ShardSet): void {
    if (set.settled || !isSetLoaded(set)) return;
    set.settled = true;
    set.settle.resolve();
  }

  #wire(m: ManagedShard): void {
    const shard = m.shard;
    shard.on('error', (error) => this.#error(error, m.id));
    shard.on('debug', (message) => this.emit('debug', message, m.id));
    shard.on('status', (status, previous) => {
      m.state = status;
      if (m.set.role === 'active') this.#metrics.setShardStatus(m.id, status);
      // `status: ready` comes before the READY dispatch names the guilds to wait for: the set is checked
      // on the `ready`/`resumed` events below instead.
      if (m.set.role === 'active') this.emit('status', status, previous, m.id);
    });
    shard.on('heartbeat', (info) => {
      m.latencyMs = info.latencyMs;
      this.#metrics.heartbeatLatency.observe({ shard: String(m.id) }, info.latencyMs / 1000);
      if (m.set.role === 'active') this.emit('heartbeat', info, m.id);
    });
    shard.on('ready', (data) => {
      this.#expectGuilds(m, data.guilds ?? []);
      m.readyOnce = true;
      this.#checkSetReady(m.set);
      if (m.set.role === 'active') this.emit('ready', data, m.id);
    });
    shard.on('resumed', (info) => {
      m.readyOnce = true;
      this.#checkSetReady(m.set);
      if (m.set.role === 'active') this.emit('resumed', info, m.id);
    });
    shard.on('close', (info) => {
      if (info.action === 'resume' || info.action === 'reidentify') {
        m.reconnects++;
        this.#metrics.reconnects.inc({ reason: String(info.code) });
      }
      if (m.set.role === 'active') this.emit('close', info, m.id);
      if (info.code === 4011 && this.options.autoReshard && m.set.role === 'active') {
        this.#debug('close 4011 (sharding required): resharding', m.id);
        void autoReshardNow(this.#host, true);
      }
    });
    shard.on('dispatch', (payload) => this.#onDispatch(m, payload));
    if (shard instanceof ThreadShard && this.#inThread) {
      shard.onHandled = (count, seq) => {
        if (seq !== null) {
          m.lastSequence = seq;
          this.#sequenceStore?.updateSequence(m.id, m.count, seq);
        }
        m.rate.count(this.#clock.now(), count);
      };
    }
  }

  /** The guilds of a new session's READY: the shard counts as loaded once each arrived (or timed out). */
  #expectGuilds(m: ManagedShard, guilds: readonly { readonly id: unknown }[]): void {
    m.guilds.clear();
    m.pendingGuilds.clear();
    for (const g of guilds) {
      m.guilds.add(String(g.id));
      m.pendingGuilds.add(String(g.id));
    }
    this.#clock.clearTimeout(m.guildsTimer);
    m.guildsTimer = undefined;
    // A dispatch filter without GUILD_CREATE: the guilds will never be seen, so none is waited for.
    if (m.shard.options.dispatches?.has('GUILD_CREATE') === false) m.pendingGuilds.clear();
    if (m.pendingGuilds.size === 0) return;
    m.guildsTimer = this.#clock.setTimeout(() => {
      m.guildsTimer = undefined;
      if (m.pendingGuilds.size === 0) return;
      this.#debug(
        `${m.pendingGuilds.size} guilds did not arrive after READY; treating them as unavailable`,
        m.id,
      );
      m.pendingGuilds.clear();
      this.#checkSetReady(m.set);
    }, this.options.guildReadyTimeoutMs);
  }

  #onDispatch(m: ManagedShard, payload: GatewayDispatchPayload): void {
    // Handler mode: only dispatches the manager keeps books on cross; counted by `onHandled`.
    if (!this.#inThread) {
      if (typeof payload.s === 'number') {
        m.lastSequence = payload.s;
        this.#sequenceStore?.updateSequence(m.id, m.count, payload.s);
      }
      m.rate.count(this.#clock.now());
    }
    const t = payload.t as string;
    const d = payload.d as unknown;
    let initial = false;
    if (t === 'GUILD_CREATE' || t === 'GUILD_DELETE') {
      const gid = guildOfDispatch(t, d);
      if (gid !== undefined) {
        if (t === 'GUILD_CREATE') {
          initial = m.pendingGuilds.delete(gid);
          m.guilds.add(gid);
          if (initial && m.pendingGuilds.size === 0) {
            this.#clock.clearTimeout(m.guildsTimer);
            m.guildsTimer = undefined;
            this.#checkSetReady(m.set);
          }
        } else if (!(d as { unavailable?: boolean }).unavailable) {
          m.guilds.delete(gid);
        }
      }
    }
    this.#members.handleDispatch(t, d);
    if (this.#inThread) return;
    const reshard = this.#reshard;
    if (!reshard) {
      if (m.set.role === 'active') this.#emitDispatch(payload, m.id);
      return;
    }
    const item = { t, d, payload, shardId: m.id };
    if (m.set === reshard.next) {
      // The joining set's READY and initial guild burst are bookkeeping, never news to the application.
      if (reshard.phase === 'started' && (t === 'READY' || initial)) return;
      if (reshard.deduper.fromNew(item)) this.#emitDispatch(payload, m.id);
    } else if (reshard.deduper.fromOld(item)) {
      this.#emitDispatch(payload, m.id);
    }
  }

  #emitDispatch(payload: GatewayDispatchPayload, shardId: number): void {
    this.#metrics.countEvent(payload.t);
    this.emit('dispatch', payload, shardId);
  }

  async #destroySets(code: number, reason?: string): Promise<void> {
    const sets = [...new Set([this.#reshard?.next, this.#retiring, this.#active])].filter(
      (s): s is ShardSet => s !== undefined,
    );
    await Promise.all(sets.map((s) => this.#destroySet(s, code, reason)));
  }

  async #destroySet(set: ShardSet, code: number, reason?: string): Promise<void> {
    set.closing = true;
    if (!set.settled) {
      set.settled = true;
      set.settle.reject(new ManagerError('MANAGER_DESTROYED', 'the shard set was closed'));
    }
    await Promise.all(
      [...set.shards.values()].map(async (m) => {
        this.#clock.clearTimeout(m.guildsTimer);
        m.guildsTimer = undefined;
        try {
          await m.shard.destroy({ code, ...(reason !== undefined ? { reason } : {}) });
        } catch (err) {
          if (err instanceof ShardlineError) this.#error(err, m.id);
        }
      }),
    );
  }

  #reshardHost(): ReshardHost {
    const manager = this;
    return {
      get options() {
        return manager.options;
      },
      get clock() {
        return manager.#clock;
      },
      get metrics() {
        return manager.#metrics;
      },
      get state() {
        return manager.#state;
      },
      get active() {
        return manager.#active;
      },
      set active(set) {
        manager.#active = set;
      },
      get retiring() {
        return manager.#retiring;
      },
      set retiring(set) {
        manager.#retiring = set;
      },
      get reshard() {
        return manager.#reshard;
      },
      set reshard(reshard) {
        manager.#reshard = reshard;
      },
      get reshardStarting() {
        return manager.#reshardStarting;
      },
      set reshardStarting(starting) {
        manager.#reshardStarting = starting;
      },
      get drain() {
        return manager.#drain;
      },
      set drain(drain) {
        manager.#drain = drain;
      },
      get autoTimer() {
        return manager.#autoTimer;
      },
      set autoTimer(timer) {
        manager.#autoTimer = timer;
      },
      fetchInfo: () => this.#fetchInfo(),
      checkBudget: (needed) => this.#checkBudget(needed),
      setupQueue: (info) => this.#setupQueue(info),
      createSet: (count, ids, role) => this.#createSet(count, ids, role),
      startSet: (set) => this.#startSet(set),
      destroySet: (set, code, reason) => this.#destroySet(set, code, reason),
      emitDispatch: (payload, shardId) => this.#emitDispatch(payload, shardId),
      emitReshard: (event) => this.emit('reshard', event),
      emitAllReady: () => this.emit('allReady'),
      reshardNow: (newCount) => this.reshard(newCount),
      debug: (message, shardId) => this.#debug(message, shardId),
      error: (error, shardId) => this.#error(error, shardId),
    };
  }

  #error(error: ShardlineError, shardId: number | null): void {
    if (this.listenerCount('error') > 0) this.emit('error', error, shardId);
    else this.#debug(`unhandled error: ${error.message}`, shardId);
  }

  #debug(message: string, shardId: number | null): void {
    this.emit('debug', message, shardId);
  }
}

function range(n: number): number[] {
  return Array.from({ length: n }, (_, i) => i);
}
