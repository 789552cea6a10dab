/**
 * `ShardManager`: many shards in one process, started as fast as Discord allows (one identify per
 * `shard_id % max_concurrency` bucket per 5 s, all buckets in parallel), re-emitting every shard's events
 * with its shard id, resharded without downtime (see reshard.ts for the exact dedupe guarantee).
 */
import { EventEmitter } from 'node:events';
import type {
  GatewayDispatchPayload,
  GatewayPresenceUpdateData,
  GatewaySendPayload,
} from 'discord-api-types/v10';
import {
  ConfigError,
  GatewayCloseError,
  ManagerError,
  SessionLimitError,
  ShardlineError,
} from '../errors.js';
import type { CloseInfo, ShardStatus } from '../shard/events.js';
import { IDENTIFY_WINDOW_MS, MemoryIdentifyQueue } from '../shard/identify-queue.js';
import type { Compression, Encoding, ShardOptionalOptions } from '../shard/options.js';
import { Shard } from '../shard/shard.js';
import { type Clock, systemClock, type TimerHandle } from '../util/clock.js';
import { Secret } from '../util/redact.js';
import {
  type GuildMembersChunk,
  MemberChunkCollector,
  type MemberRequestOptions,
  type MemberRequestResult,
} from './member-chunks.js';
import { ManagerMetrics } from './metrics.js';
import { DEFAULT_DEDUPE_WINDOW_MS, guildOfDispatch, planReshard, SwitchoverDeduper } from './reshard.js';
import { DEFAULT_API_BASE_URL, fetchGatewayBot, type GatewayBotInfo } from './rest.js';
import { shardForGuild } from './routing.js';
import { isSequenceAware, type SequenceAwareSessionStore, scopedSessionStore } from './session-store.js';
import type { IdentifyQueue, SessionStore } from './shard-contract.js';

export interface AutoReshardOptions {
  /** Check `/gateway/bot`'s recommended count this often; 0 = never (close 4011 still triggers). */
  readonly intervalMs?: number;
}

export interface ShardManagerOptions {
  /** Bot token without `Bot `. Kept in a `Secret`; never printed. */
  readonly token: string;
  readonly intents: number;
  /** REST base URL; default `https://discord.com/api` (the simulator's `restUrl` in tests). */
  readonly api?: string;
  /** `'auto'` (default) uses `/gateway/bot`'s recommendation. */
  readonly shardCount?: 'auto' | number;
  /** The shards this process runs (default all); lets a bot spread over processes. */
  readonly shardIds?: readonly number[];
  readonly encoding?: Encoding;
  readonly compression?: Compression;
  readonly presence?: GatewayPresenceUpdateData;
  /** Default: a `MemoryIdentifyQueue` sized by `session_start_limit.max_concurrency`. */
  readonly identifyQueue?: IdentifyQueue;
  /** Default: none (every start identifies). A `FileSessionStore` lets a restarted process resume. */
  readonly sessionStore?: SessionStore;
  readonly clock?: Clock;
  /** Identify window of the default queue; 5000 against Discord, scaled down against the simulator. */
  readonly identifyWindowMs?: number;
  /** Safety margin per identify window of the default queue; default 5 % of the window. */
  readonly identifyMarginMs?: number;
  readonly memberRequestTimeoutMs?: number;
  /** Automatic resharding: on an interval and/or when a shard is closed with 4011. Default off. */
  readonly autoReshard?: false | AutoReshardOptions;
  /** Old/new overlap compared around a reshard switch; default 5000 ms. */
  readonly dedupeWindowMs?: number;
  /** Longest wait, after a new shard's READY, for its GUILD_CREATEs before a switch; default 15000 ms. */
  readonly guildReadyTimeoutMs?: number;
  /** Longest a reshard may take before it is abandoned (old set kept); default 10 minutes. */
  readonly reshardTimeoutMs?: number;
  /** Anything else for each `Shard` (timeouts, backoff, send limits of a scaled simulator, …). */
  readonly shardOptions?: Partial<
    Omit<
      ShardOptionalOptions,
      | 'shard'
      | 'gatewayUrl'
      | 'encoding'
      | 'compression'
      | 'presence'
      | 'identifyQueue'
      | 'sessionStore'
      | 'clock'
    >
  >;
}

export type ShardRole = 'active' | 'joining' | 'retiring';

export interface ShardSnapshot {
  readonly id: number;
  readonly shardCount: number;
  readonly role: ShardRole;
  readonly state: ShardStatus;
  /** Last heartbeat round trip, ms; null before the first ACK. */
  readonly latencyMs: number | null;
  /** Dispatches per second over the last 10 s. */
  readonly eventsPerSecond: number;
  readonly lastSequence: number | null;
  readonly guilds: number;
  readonly reconnects: number;
}

export interface ManagerStatus {
  readonly state: 'idle' | 'connecting' | 'ready' | 'destroyed';
  readonly shardCount: number;
  readonly shardIds: readonly number[];
  readonly shards: readonly ShardSnapshot[];
  readonly identifiesRemaining: number | null;
  readonly reshard: { readonly from: number; readonly to: number; readonly phase: ReshardPhase } | null;
}

export type ReshardPhase = 'started' | 'switched' | 'completed' | 'failed';

export interface ReshardEvent {
  readonly phase: ReshardPhase;
  readonly from: number;
  readonly to: number;
  readonly error?: ShardlineError;
}

export interface ShardManagerEventMap {
  dispatch: [payload: GatewayDispatchPayload, shardId: number];
  ready: [shardId: number];
  resumed: [shardId: number];
  /** Every shard of the set reached READY/RESUMED once (after `connect()` and after each reshard switch). */
  allReady: [];
  status: [shardId: number, status: ShardStatus, previous: ShardStatus];
  close: [shardId: number, info: CloseInfo];
  reshard: [event: ReshardEvent];
  /** Emitted only when someone listens; errors are never thrown into the event loop. */
  error: [error: ShardlineError, shardId: number | null];
  debug: [message: string, shardId: number | null];
}

const EVENT_RATE_WINDOW_S = 10;
/** connect() attempts when the gateway answers 4011 (sharding required) and autoReshard is on. */
const MAX_CONNECT_ATTEMPTS_ON_4011 = 3;

interface ManagedShard {
  readonly id: number;
  readonly count: number;
  readonly shard: Shard;
  set: ShardSet;
  state: ShardStatus;
  latencyMs: number | null;
  lastSequence: number | null;
  readonly guilds: Set<string>;
  /** Guilds of READY not yet created on this session (initial GUILD_CREATE burst). */
  readonly pendingGuilds: Set<string>;
  guildsTimer: TimerHandle | undefined;
  reconnects: number;
  /** Dispatch counts per second slot, for events/s. */
  readonly rate: number[];
  rateSecond: number;
  readyOnce: boolean;
}

interface ShardSet {
  readonly count: number;
  role: ShardRole;
  readonly shards: Map<number, ManagedShard>;
  readonly ready: Promise<void>;
  readonly settle: { resolve(): void; reject(err: ShardlineError): void };
  settled: boolean;
  closing: boolean;
}

interface Reshard {
  readonly from: number;
  readonly to: number;
  phase: ReshardPhase;
  readonly deduper: SwitchoverDeduper<{
    t: string;
    d: unknown;
    payload: GatewayDispatchPayload;
    shardId: number;
  }>;
  readonly next: ShardSet;
}

function int(option: string, value: unknown, min: number): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min) {
    throw new ConfigError(option, `expected an integer ≥ ${min}, got ${String(value)}`);
  }
  return value;
}

function duration(option: string, value: unknown, fallback: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) {
    throw new ConfigError(option, `expected a finite number of ms ≥ 0, got ${String(value)}`);
  }
  return value;
}

export class ShardManager extends EventEmitter<ShardManagerEventMap> {
  readonly #token: Secret;
  readonly #options: ShardManagerOptions;
  readonly #clock: Clock;
  readonly #api: string;
  readonly #metrics = new ManagerMetrics();
  /** The session store when it takes per-dispatch sequence updates (resolved once, not per event). */
  readonly #sequenceStore: SequenceAwareSessionStore | null;
  readonly #members: MemberChunkCollector;
  readonly #dedupeWindowMs: number;
  readonly #guildReadyTimeoutMs: number;
  readonly #reshardTimeoutMs: number;
  #state: ManagerStatus['state'] = 'idle';
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

  constructor(options: ShardManagerOptions) {
    super();
    if (options === null || typeof options !== 'object')
      throw new ConfigError('options', 'expected an object');
    if (typeof options.token !== 'string' || options.token.trim() === '') {
      throw new ConfigError('token', 'expected a non-empty string (the bot token, without "Bot ")');
    }
    int('intents', options.intents, 0);
    if (options.shardCount !== undefined && options.shardCount !== 'auto')
      int('shardCount', options.shardCount, 1);
    if (options.shardIds !== undefined) {
      if (!Array.isArray(options.shardIds) || options.shardIds.length === 0) {
        throw new ConfigError('shardIds', 'expected a non-empty array of shard ids');
      }
      for (const id of options.shardIds) int('shardIds', id, 0);
      if (new Set(options.shardIds).size !== options.shardIds.length) {
        throw new ConfigError('shardIds', 'contains duplicates');
      }
      if (options.shardCount === undefined || options.shardCount === 'auto') {
        throw new ConfigError(
          'shardIds',
          'a subset of shards needs an explicit shardCount shared by every process',
        );
      }
      const max = Math.max(...options.shardIds);
      if (max >= options.shardCount) {
        throw new ConfigError('shardIds', `shard id ${max} is not below shardCount ${options.shardCount}`);
      }
    }
    if (options.api !== undefined && (typeof options.api !== 'string' || !/^https?:\/\//.test(options.api))) {
      throw new ConfigError('api', `expected an http(s) URL, got ${String(options.api)}`);
    }
    this.#token = new Secret(options.token);
    this.#options = { ...options, token: '[redacted]' };
    this.#clock = options.clock ?? systemClock;
    this.#sequenceStore = isSequenceAware(options.sessionStore) ? options.sessionStore : null;
    this.#api = options.api ?? DEFAULT_API_BASE_URL;
    this.#dedupeWindowMs = duration('dedupeWindowMs', options.dedupeWindowMs, DEFAULT_DEDUPE_WINDOW_MS);
    this.#guildReadyTimeoutMs = duration('guildReadyTimeoutMs', options.guildReadyTimeoutMs, 15_000);
    this.#reshardTimeoutMs = duration('reshardTimeoutMs', options.reshardTimeoutMs, 600_000);
    duration('identifyWindowMs', options.identifyWindowMs, IDENTIFY_WINDOW_MS);
    this.#members = new MemberChunkCollector({
      clock: this.#clock,
      ...(options.memberRequestTimeoutMs !== undefined ? { timeoutMs: options.memberRequestTimeoutMs } : {}),
      send: (guildId, payload) => this.#send(this.shardForGuild(guildId), payload as GatewaySendPayload),
    });
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
        this.#startAutoReshard();
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
          this.#options.autoReshard &&
          !this.#options.shardIds &&
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
    const explicit = this.#options.shardCount;
    const count =
      countOverride !== undefined
        ? Math.max(countOverride, info.shards)
        : explicit === undefined || explicit === 'auto'
          ? info.shards
          : explicit;
    const ids = this.#options.shardIds ? [...this.#options.shardIds].sort((a, b) => a - b) : range(count);
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

  /** A snapshot of every shard (serving, joining and retiring sets). */
  status(): ManagerStatus {
    const shards: ShardSnapshot[] = [];
    // After a reshard switch the joining set is the active one: list it once.
    for (const set of new Set([this.#active, this.#reshard?.next, this.#retiring])) {
      if (!set) continue;
      for (const m of set.shards.values()) shards.push(this.#snapshot(m));
    }
    return {
      state: this.#state,
      shardCount: this.#active?.count ?? 0,
      shardIds: [...(this.#active?.shards.keys() ?? [])],
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
  async reshard(newCount: number): Promise<void> {
    if (this.#state !== 'ready' || !this.#active) {
      throw new ManagerError('MANAGER_NOT_CONNECTED', 'reshard() needs a connected manager');
    }
    if (this.#reshard)
      throw new ManagerError('RESHARD_IN_PROGRESS', `already resharding to ${this.#reshard.to}`);
    if (this.#options.shardIds) {
      throw new ManagerError(
        'RESHARD_FAILED',
        'a manager running a subset of shards (shardIds) cannot reshard alone',
      );
    }
    if (this.#reshardStarting) throw new ManagerError('RESHARD_IN_PROGRESS', 'a reshard is starting');
    const from = this.#active.count;
    const plan = planReshard(from, newCount);
    this.#reshardStarting = true;
    try {
      const info = await this.#fetchInfo();
      this.#checkBudget(plan.shardIds.length);
      this.#setupQueue(info);
    } finally {
      this.#reshardStarting = false;
    }
    if (this.#state !== 'ready') throw new ManagerError('MANAGER_DESTROYED', 'destroyed during reshard');
    const next = this.#createSet(plan.to, plan.shardIds, 'joining');
    const reshard: Reshard = {
      from,
      to: plan.to,
      phase: 'started',
      deduper: new SwitchoverDeduper({ windowMs: this.#dedupeWindowMs, clock: this.#clock }),
      next,
    };
    this.#reshard = reshard;
    this.emit('reshard', { phase: 'started', from, to: plan.to });
    this.#debug(`reshard ${from} → ${plan.to}: starting the new set beside the old one`, null);
    let timer: TimerHandle | undefined;
    try {
      this.#startSet(next);
      await Promise.race([
        next.ready,
        new Promise<never>((_, reject) => {
          timer = this.#clock.setTimeout(
            () =>
              reject(
                new ManagerError(
                  'RESHARD_FAILED',
                  `the new set was not ready in ${this.#reshardTimeoutMs} ms`,
                ),
              ),
            this.#reshardTimeoutMs,
          );
        }),
      ]);
    } catch (err) {
      this.#clock.clearTimeout(timer);
      reshard.phase = 'failed';
      this.#reshard = undefined;
      await this.#destroySet(next, 1000);
      const error =
        err instanceof ManagerError && err.code === 'RESHARD_FAILED'
          ? err
          : new ManagerError(
              'RESHARD_FAILED',
              `reshard ${from} → ${plan.to} failed: ${(err as Error).message}`,
              {},
              {
                cause: err,
              },
            );
      this.emit('reshard', { phase: 'failed', from, to: plan.to, error });
      throw error;
    }
    this.#clock.clearTimeout(timer);
    if (this.#state !== 'ready') throw new ManagerError('MANAGER_DESTROYED', 'destroyed during reshard');
    // The switch: one instant in the event order. Old dispatches stop, buffered new ones are flushed.
    const old = this.#active;
    old.role = 'retiring';
    next.role = 'active';
    this.#retiring = old;
    this.#active = next;
    reshard.phase = 'switched';
    for (const m of next.shards.values()) this.#metrics.setShardStatus(m.id, m.state);
    // Listeners learn of the switch before the first new-set dispatch reaches them.
    this.emit('reshard', { phase: 'switched', from, to: plan.to });
    for (const item of reshard.deduper.switch()) this.#emitDispatch(item.payload, item.shardId);
    this.emit('allReady');
    // Drain: the old set keeps running one dedupe window so late copies are matched, then closes.
    await new Promise<void>((resolve) => {
      const timer = this.#clock.setTimeout(() => {
        this.#drain = undefined;
        resolve();
      }, this.#dedupeWindowMs);
      this.#drain = { timer, resolve };
    });
    if (this.#state !== 'ready') return;
    await this.#destroySet(old, 1000);
    for (const id of old.shards.keys()) if (!next.shards.has(id)) this.#metrics.removeShard(id);
    this.#retiring = undefined;
    this.#reshard = undefined;
    reshard.phase = 'completed';
    this.emit('reshard', { phase: 'completed', from, to: plan.to });
  }

  /**
   * Closes every shard. By default with a resumable close code, so a process restarted with the same
   * session store resumes instead of identifying; `{ resumable: false }` ends the sessions (code 1000).
   */
  async destroy(options: { resumable?: boolean } = {}): Promise<void> {
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
    await this.#destroySets(options.resumable === false ? 1000 : 4000);
    this.#ownQueue?.destroy();
    const store = this.#options.sessionStore;
    if (isSequenceAware(store)) await store.flush();
    this.#metrics.close();
  }

  // ------------------------------------------------------------------------------------------ internals

  async #fetchInfo(): Promise<GatewayBotInfo> {
    const info = await fetchGatewayBot({ token: this.#token, api: this.#api });
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
    const store = this.#options.sessionStore;
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
    let inner = this.#options.identifyQueue;
    if (!inner) {
      this.#ownQueue = new MemoryIdentifyQueue({
        maxConcurrency: info.sessionStartLimit.maxConcurrency,
        windowMs: this.#options.identifyWindowMs ?? IDENTIFY_WINDOW_MS,
        ...(this.#options.identifyMarginMs !== undefined ? { marginMs: this.#options.identifyMarginMs } : {}),
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
    let settle!: ShardSet['settle'];
    const ready = new Promise<void>((resolve, reject) => {
      settle = { resolve, reject };
    });
    ready.catch(() => {});
    const set: ShardSet = { count, role, shards: new Map(), ready, settle, settled: false, closing: false };
    const store = this.#options.sessionStore
      ? scopedSessionStore(this.#options.sessionStore, count)
      : undefined;
    const info = this.#info!;
    for (const id of ids) {
      const shard = new Shard({
        ...this.#options.shardOptions,
        token: this.#token.reveal(),
        intents: this.#options.intents,
        shard: [id, count],
        gatewayUrl: info.url,
        ...(this.#options.encoding !== undefined ? { encoding: this.#options.encoding } : {}),
        ...(this.#options.compression !== undefined ? { compression: this.#options.compression } : {}),
        ...(this.#options.presence !== undefined ? { presence: this.#options.presence } : {}),
        identifyQueue: this.#identifyQueue!,
        ...(store ? { sessionStore: store } : {}),
        clock: this.#clock,
      });
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
        rate: new Array<number>(EVENT_RATE_WINDOW_S).fill(0),
        rateSecond: Math.floor(this.#clock.now() / 1000),
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
    if (set.settled) return;
    for (const m of set.shards.values()) {
      if (!m.readyOnce || m.pendingGuilds.size > 0) return;
    }
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
      if (m.set.role === 'active') this.emit('status', m.id, status, previous);
    });
    shard.on('heartbeat', ({ latencyMs }) => {
      m.latencyMs = latencyMs;
      this.#metrics.heartbeatLatency.observe({ shard: String(m.id) }, latencyMs / 1000);
    });
    shard.on('ready', (data) => {
      this.#expectGuilds(m, data.guilds ?? []);
      m.readyOnce = true;
      this.#checkSetReady(m.set);
      if (m.set.role === 'active') this.emit('ready', m.id);
    });
    shard.on('resumed', () => {
      m.readyOnce = true;
      this.#checkSetReady(m.set);
      if (m.set.role === 'active') this.emit('resumed', m.id);
    });
    shard.on('close', (info) => {
      if (info.action === 'resume' || info.action === 'reidentify') {
        m.reconnects++;
        this.#metrics.reconnects.inc({ reason: String(info.code) });
      }
      if (m.set.role === 'active') this.emit('close', m.id, info);
      if (info.code === 4011 && this.#options.autoReshard && m.set.role === 'active') {
        this.#debug('close 4011 (sharding required): resharding', m.id);
        void this.#autoReshardNow(true);
      }
    });
    shard.on('dispatch', (payload) => this.#onDispatch(m, payload));
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
    }, this.#guildReadyTimeoutMs);
  }

  #onDispatch(m: ManagedShard, payload: GatewayDispatchPayload): void {
    if (typeof payload.s === 'number') {
      m.lastSequence = payload.s;
      this.#sequenceStore?.updateSequence(m.id, m.count, payload.s);
    }
    this.#countRate(m);
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

  #countRate(m: ManagedShard): void {
    const second = Math.floor(this.#clock.now() / 1000);
    this.#advanceRate(m, second);
    m.rate[second % EVENT_RATE_WINDOW_S]! += 1;
  }

  #advanceRate(m: ManagedShard, second: number): void {
    if (second <= m.rateSecond) return;
    const steps = Math.min(second - m.rateSecond, EVENT_RATE_WINDOW_S);
    for (let i = 1; i <= steps; i++) m.rate[(m.rateSecond + i) % EVENT_RATE_WINDOW_S] = 0;
    m.rateSecond = second;
  }

  #snapshot(m: ManagedShard): ShardSnapshot {
    this.#advanceRate(m, Math.floor(this.#clock.now() / 1000));
    const total = m.rate.reduce((a, b) => a + b, 0);
    return {
      id: m.id,
      shardCount: m.count,
      role: m.set.role,
      state: m.state,
      latencyMs: m.latencyMs,
      eventsPerSecond: total / EVENT_RATE_WINDOW_S,
      lastSequence: m.lastSequence,
      guilds: m.guilds.size,
      reconnects: m.reconnects,
    };
  }

  #startAutoReshard(): void {
    const auto = this.#options.autoReshard;
    const interval = auto === false || auto === undefined ? 0 : (auto.intervalMs ?? 0);
    if (interval <= 0) return;
    const tick = () => {
      this.#autoTimer = undefined;
      void this.#autoReshardNow(false).finally(() => {
        if (this.#state === 'ready') this.#autoTimer = this.#clock.setTimeout(tick, interval);
      });
    };
    this.#autoTimer = this.#clock.setTimeout(tick, interval);
  }

  async #autoReshardNow(forced: boolean): Promise<void> {
    if (this.#state !== 'ready' || this.#reshard || !this.#active) return;
    try {
      const info = await this.#fetchInfo();
      const current = this.#active.count;
      const target = info.shards > current ? info.shards : forced ? current * 2 : current;
      if (target === current) return;
      this.#debug(`auto reshard: ${current} → ${target} (recommended ${info.shards})`, null);
      await this.reshard(target);
    } catch (err) {
      this.#error(
        err instanceof ManagerError
          ? err
          : new ManagerError(
              'RESHARD_FAILED',
              `auto reshard failed: ${(err as Error).message}`,
              {},
              { cause: err },
            ),
        null,
      );
    }
  }

  async #destroySets(code: number): Promise<void> {
    const sets = [...new Set([this.#reshard?.next, this.#retiring, this.#active])].filter(
      (s): s is ShardSet => s !== undefined,
    );
    await Promise.all(sets.map((s) => this.#destroySet(s, code)));
  }

  async #destroySet(set: ShardSet, code: number): Promise<void> {
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
          await m.shard.destroy({ code });
        } catch (err) {
          if (err instanceof ShardlineError) this.#error(err, m.id);
        }
      }),
    );
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
