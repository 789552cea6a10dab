/**
 * `ShardWorker`: one process's share of a bot, coordinated through Redis. It takes shard leases (a fixed
 * list, or `auto`: a fair share of the free shards), runs one `Shard` per lease, publishes every dispatch
 * to the event streams, serves the shard's command stream, and gives a shard up at once when its lease is
 * lost. Built on raw `Shard`s rather than `ShardManager`: the manager owns a fixed shard set for its whole
 * life, while a worker's set changes at run time (takeovers, lost leases, rebalancing).
 */
import { EventEmitter } from 'node:events';
import type { GatewayReadyDispatchData, GatewaySendPayload } from 'discord-api-types/v10';
import type { Redis } from 'ioredis';
import { Counter, Gauge } from 'prom-client';
import { ConfigError, GatewayCloseError, ManagerError, RedisError, type ShardlineError } from '../errors.js';
import { EventRate } from '../manager/event-rate.js';
import type { LifecycleState, ShardSnapshot } from '../manager/events.js';
import { ManagerMetrics } from '../manager/metrics.js';
import { guildOfDispatch } from '../manager/reshard.js';
import { fetchGatewayBot } from '../manager/rest.js';
import type { CloseInfo, HeartbeatInfo, LogLevel, ResumedInfo, ShardStatus } from '../shard/events.js';
import { DEFAULT_SHARD_OPTIONS } from '../shard/options.js';
import { Shard } from '../shard/shard.js';
import type { Clock, TimerHandle } from '../util/clock.js';
import { redact } from '../util/redact.js';
import { toRedisError } from './client.js';
import { publishShardCount, serveCommands } from './commands.js';
import { workerRegistryKey } from './fleet.js';
import { RedisIdentifyQueue } from './identify-queue.js';
import type { SessionInfo, SessionStore } from './interfaces.js';
import { ShardLeases } from './leases.js';
import { type PublisherStatus, RedisEventPublisher, type RefusedEvents } from './publisher.js';
import { RedisSessionStore } from './session-store.js';
import { waitForRedis } from './wait-for-redis.js';
import {
  type ResolvedShardWorkerOptions,
  resolveShardWorkerOptions,
  type ShardWorkerOptions,
} from './worker-options.js';

export interface ShardWorkerEventMap {
  /**
   * Human-readable progress: leases, READY/RESUMED, Redis outages, backpressure. Never holds the token.
   * `shardId` names the shard a line is about, null for the worker as a whole.
   */
  log: [level: LogLevel, message: string, shardId: number | null];
  /** The lease on the shard was taken, with its fencing token. */
  acquired: [fence: number, shardId: number];
  ready: [data: GatewayReadyDispatchData, shardId: number];
  resumed: [info: ResumedInfo, shardId: number];
  /** The shard was given up (lease lost, stale, rebalanced or the worker is being destroyed). */
  released: [reason: string, shardId: number];
  redis: [status: PublisherStatus, error?: ShardlineError];
  /** Gateway reads paused (`true`) because the event buffer is full, or resumed. */
  backpressure: [paused: boolean];
  status: [status: ShardStatus, previous: ShardStatus, shardId: number];
  close: [info: CloseInfo, shardId: number];
  heartbeat: [info: HeartbeatInfo, shardId: number];
  error: [error: ShardlineError, shardId: number | null];
  /** Each shard's `debug` firehose with its id (null: the worker's own). Never holds the token. */
  debug: [message: string, shardId: number | null];
  /** A gateway close that no retry can fix (bad token, disallowed intents…): the worker stops. */
  fatal: [error: ShardlineError, shardId: number];
}

interface Owned {
  readonly shardId: number;
  /** Fencing token of the lease; renewed in place when the lease is re-taken after a Redis data loss. */
  readonly lease: { token: number };
  readonly shard: Shard;
  readonly commands: AbortController;
  serving: Promise<void>;
  releasing: Promise<void> | undefined;
  /** For `snapshot()`: last heartbeat round trip, dispatch rate, guilds seen, reconnects. */
  latencyMs: number | null;
  readonly rate: EventRate;
  readonly guilds: Set<string>;
  reconnects: number;
}

/** `ShardWorker.snapshot()`: the worker and every shard it runs (rows shaped as `ShardManager`'s). */
export interface WorkerSnapshot {
  readonly state: LifecycleState;
  /** The bot's shard count (0 before `connect()`). */
  readonly shardCount: number;
  /** Shard ids this worker runs now. */
  readonly shardIds: readonly number[];
  readonly shards: readonly ShardSnapshot[];
  /** This worker's id in leases and command groups. */
  readonly ownerId: string;
  /** Whether gateway reads are paused because the event buffer is full. */
  readonly readsPaused: boolean;
}

const PAUSE_LOG_INTERVAL_MS = 10_000;

export class ShardWorker extends EventEmitter<ShardWorkerEventMap> {
  readonly options: ResolvedShardWorkerOptions;
  readonly ownerId: string;
  readonly #redis: Redis;
  readonly #leases: ShardLeases;
  readonly #store: RedisSessionStore;
  readonly #publisher: RedisEventPublisher;
  readonly #owned = new Map<number, Owned>();
  /** Highest sequence known durable in the event stream, per shard and session. */
  readonly #durable = new Map<number, { sessionId: string; seq: number }>();
  /** Shards another worker held at our last attempt (logged once). */
  readonly #busy = new Set<number>();
  readonly #metrics = new ManagerMetrics();
  readonly #clock: Clock;
  readonly #ownedGauge: Gauge;
  readonly #bufferedGauge: Gauge;
  readonly #redisUp: Gauge;
  readonly #published: Counter;
  readonly #refused: Counter;
  readonly #dataLosses: Counter;
  /** The last session each shard of ours saved (sequence clamped to the stream): outlives a Redis data loss. */
  readonly #sessions = new Map<number, SessionInfo>();
  /** What `connect()` wrote to Redis (shard count, session start limit): written again after a data loss. */
  #seed: (() => Promise<void>) | undefined;
  #identifyQueue: RedisIdentifyQueue | undefined;
  #gatewayUrl = '';
  #total = 0;
  #state: LifecycleState = 'idle';
  #loop: Promise<void> | undefined;
  #wake: (() => void) | undefined;
  #paused = false;
  #redisDownSince: number | undefined;
  #stopping: Promise<void> | undefined;
  /** Aborted by `stop()`: ends a wait for Redis at startup. */
  readonly #stopped = new AbortController();
  #pauseLoggedAt = Number.NEGATIVE_INFINITY;
  #pauseLogged = false;
  #pausesUnlogged = 0;

  constructor(options: ShardWorkerOptions) {
    super();
    if (!options || typeof options !== 'object' || !options.redis) {
      throw new ConfigError('redis', 'must be an ioredis client (createRedisClient)');
    }
    this.options = resolveShardWorkerOptions(options);
    const o = this.options;
    this.#clock = o.clock;
    this.#redis = options.redis;
    this.#leases = new ShardLeases({
      redis: this.#redis,
      prefix: o.prefix,
      ttlMs: o.leaseTtlMs,
      ...(o.ownerId ? { ownerId: o.ownerId } : {}),
      onLost: (shardId, err) => this.#giveUp(shardId, `lease lost: ${err.message}`, 'warn'),
      onDataLoss: (err) => this.#onDataLoss(err),
      onReestablished: (shardId, previous, token) => this.#onReestablished(shardId, previous, token),
    });
    this.ownerId = this.#leases.ownerId;
    this.#store = new RedisSessionStore({
      redis: this.#redis,
      prefix: o.prefix,
      flushIntervalMs: o.sessionFlushMs,
      onError: (err) => this.#redisTrouble(toRedisError(err)),
    });
    this.#publisher = new RedisEventPublisher({
      redis: this.#redis,
      prefix: o.prefix,
      partitions: o.partitions,
      highWaterMark: o.highWaterMark,
      retryMaxMs: o.retryMaxMs,
      ...(o.tracing !== undefined ? { tracing: o.tracing } : {}),
      onPublished: (shardId, sessionId, seq) => this.#onPublished(shardId, sessionId, seq),
      onStale: (shardId, err, refused) => this.#onStale(shardId, err, refused),
      onBackpressure: (full) => this.#setPaused(full),
      onStatus: (status, err) => this.#onRedisStatus(status, err),
    });
    const registers = [this.#metrics.registry];
    this.#ownedGauge = new Gauge({
      name: 'shardline_worker_shards_owned',
      help: 'Shards this worker holds a lease for',
      registers,
    });
    this.#bufferedGauge = new Gauge({
      name: 'shardline_worker_events_buffered',
      help: 'Dispatches buffered, not yet confirmed by Redis',
      registers,
      collect: () => this.#bufferedGauge.set(this.#publisher.buffered),
    });
    this.#redisUp = new Gauge({
      name: 'shardline_worker_redis_up',
      help: '1 when the last publish to Redis succeeded, 0 while Redis is unavailable',
      registers,
    });
    this.#redisUp.set(1);
    this.#published = new Counter({
      name: 'shardline_worker_events_published_total',
      help: 'Dispatches handed to the publisher',
      registers,
    });
    this.#refused = new Counter({
      name: 'shardline_worker_events_refused_total',
      help: 'Dispatches Redis refused for a stale lease fence (the shard is given up and resumed)',
      registers,
    });
    this.#dataLosses = new Counter({
      name: 'shardline_worker_redis_data_losses_total',
      help: 'Times Redis was found to have lost its data (epoch key gone or new)',
      registers,
    });
  }

  /** Shard ids this worker runs now. */
  get shardIds(): number[] {
    return [...this.#owned.keys()].sort((a, b) => a - b);
  }

  /** The bot's shard count (0 before `connect()`). */
  get shardCount(): number {
    return this.#total;
  }

  /** Whether gateway reads are paused because the event buffer is full. */
  get readsPaused(): boolean {
    return this.#paused;
  }

  /** A snapshot of the worker and every shard it runs (`role` is always `active`). */
  snapshot(): WorkerSnapshot {
    const now = this.#clock.now();
    const shardIds = this.shardIds;
    return {
      state: this.#state,
      shardCount: this.#total,
      shardIds,
      shards: shardIds.map((id): ShardSnapshot => {
        const o = this.#owned.get(id)!;
        const sequence = o.shard.sequence;
        return {
          shardId: id,
          shardCount: this.#total,
          role: 'active',
          status: o.shard.status,
          latencyMs: o.latencyMs,
          eventsPerSecond: o.rate.perSecond(now),
          sequence: sequence > 0 ? sequence : null,
          guilds: o.guilds.size,
          reconnects: o.reconnects,
        };
      }),
      ownerId: this.ownerId,
      readsPaused: this.#paused,
    };
  }

  /** Content type of `collectMetrics()`. */
  get metricsContentType(): string {
    return this.#metrics.contentType;
  }

  /** Prometheus text format (`prom-client`), for a `/metrics` endpoint (see `serveMetrics`). */
  collectMetrics(): Promise<string> {
    this.#ownedGauge.set(this.#owned.size);
    return this.#metrics.collect();
  }

  /**
   * Fetches `GET /gateway/bot` (gateway URL, shard count, max_concurrency), records the shard count for
   * command routing and starts claiming shards. Resolves once claiming runs; shards connect in the
   * background (see the `acquired` / `ready` / `resumed` events).
   */
  async connect(): Promise<void> {
    if (this.#state === 'destroying' || this.#state === 'destroyed') {
      throw new ManagerError('MANAGER_DESTROYED', 'the worker was destroyed; create a new one to start over');
    }
    if (this.#state !== 'idle') {
      throw new ManagerError(
        'SHARD_ALREADY_STARTED',
        `connect() called while ${this.#state}; call it once (destroy() and a new worker to start over)`,
      );
    }
    this.#state = 'connecting';
    const o = this.options;
    let info: Awaited<ReturnType<typeof fetchGatewayBot>>;
    try {
      info = await fetchGatewayBot({ token: o.token, api: o.api, clock: o.clock });
    } catch (err) {
      this.#state = 'idle';
      throw err;
    }
    this.#gatewayUrl = info.url;
    this.#total = o.shardCount === 'auto' ? info.shards : o.shardCount;
    if (o.shardIds !== 'auto' && o.shardIds.at(-1)! >= this.#total) {
      this.#state = 'idle';
      throw new ConfigError(
        'shardIds',
        `shard ${o.shardIds.at(-1)} does not exist with ${this.#total} shards`,
      );
    }
    this.#identifyQueue = new RedisIdentifyQueue({
      redis: this.#redis,
      prefix: o.prefix,
      maxConcurrency: info.sessionStartLimit.maxConcurrency,
      windowMs: o.identifyWindowMs,
      ...(o.identifyMarginMs !== undefined ? { marginMs: o.identifyMarginMs } : {}),
    });
    const queue = this.#identifyQueue;
    // Discord's answer is authoritative for the cluster-wide daily budget the identify queue spends.
    const limit = info.sessionStartLimit;
    this.#seed = async () => {
      await publishShardCount({ redis: this.#redis, prefix: o.prefix, shardCount: this.#total });
      await queue.setSessionStartLimit({ ...limit, total: Math.max(1, limit.total) });
    };
    const seed = this.#seed;
    const ready = await waitForRedis({
      redis: this.#redis,
      waitMs: o.redisWaitMs,
      signal: this.#stopped.signal,
      log: (level, message) => this.#log(level, message),
      attempt: async () => {
        await seed();
        // first contact: remember Redis' epoch, so that a later data loss is recognised
        await this.#leases.checkEpoch();
      },
    }).catch((err: unknown) => {
      if (this.#state === 'connecting') this.#state = 'idle';
      throw err;
    });
    if (!ready || (this.#state as string) !== 'connecting') return; // destroy() came first
    this.#leases.start();
    this.#state = 'ready';
    this.#log(
      'info',
      `worker ${this.ownerId} started: ${o.shardIds === 'auto' ? 'auto (fair share of free shards)' : `shards ${o.shardIds.join(',')}`} of ${this.#total}, max_concurrency ${info.sessionStartLimit.maxConcurrency}`,
    );
    this.#loop = this.#claimLoop();
  }

  /**
   * Stops taking shards, closes every shard resumably (another worker or a restart RESUMEs), flushes the
   * publisher and the session store, and releases the leases. Idempotent.
   */
  destroy(): Promise<void> {
    this.#stopping ??= this.#stop();
    return this.#stopping;
  }

  async #stop(): Promise<void> {
    const wasRunning = this.#state === 'ready';
    this.#state = 'destroying';
    this.#stopped.abort();
    this.#wake?.();
    await this.#loop;
    if (wasRunning) this.#log('info', `stopping: closing ${this.#owned.size} shard(s) resumably`);
    await Promise.all([...this.#owned.keys()].map((id) => this.#release(id, 'worker stopping', 'stop')));
    // While Redis is down this waits (bounded by the caller's patience): events are never dropped.
    await this.#publisher.close();
    await this.#store.close().catch((err: unknown) => this.#redisTrouble(toRedisError(err)));
    await this.#leases.close();
    if (wasRunning) {
      await this.#redis.zrem(workerRegistryKey(this.options.prefix), this.ownerId).catch(() => undefined);
    }
    this.#metrics.close();
    this.#state = 'destroyed';
    if (wasRunning) this.#log('info', `stopped: events flushed, leases released`);
  }

  // ------------------------------------------------------------------------------------------ claiming

  async #sleep(ms: number): Promise<void> {
    await new Promise<void>((resolve) => {
      const timer: TimerHandle = this.#clock.setTimeout(resolve, ms);
      this.#wake = () => {
        this.#clock.clearTimeout(timer);
        resolve();
      };
    });
    this.#wake = undefined;
  }

  async #claimLoop(): Promise<void> {
    const o = this.options;
    if (o.shardIds === 'auto') {
      // Register first and give peers started at the same moment one round to do the same.
      await this.#register().catch(() => 0);
      await this.#sleep(o.claimIntervalMs);
    }
    while (this.#state === 'ready') {
      try {
        if (o.shardIds === 'auto') await this.#claimAuto();
        else await this.#claimFixed(o.shardIds);
      } catch (err) {
        this.#redisTrouble(toRedisError(err));
      }
      if (this.#state !== 'ready') break;
      await this.#sleep(o.claimIntervalMs);
    }
  }

  /** Heartbeats this worker into the registry and returns the number of live workers. */
  async #register(): Promise<number> {
    // Wall time, not the injected clock: the registry's scores are compared across processes.
    const now = Date.now();
    const key = workerRegistryKey(this.options.prefix);
    const [, , count] = ((await this.#redis
      .multi()
      .zadd(key, now + this.options.leaseTtlMs, this.ownerId)
      .zremrangebyscore(key, '-inf', now)
      .zcard(key)
      .exec()) ?? []) as [unknown, unknown][];
    return Math.max(1, Number(count?.[1] ?? 1));
  }

  async #claimFixed(ids: readonly number[]): Promise<void> {
    for (const shardId of ids) {
      if (this.#state !== 'ready') return;
      if (this.#owned.has(shardId)) continue;
      const lease = await this.#leases.acquire(shardId);
      if (!lease) {
        if (!this.#busy.has(shardId)) {
          this.#busy.add(shardId);
          this.#log(
            'info',
            `shard ${shardId} is leased by another worker; waiting for it to be free`,
            shardId,
          );
        }
        continue;
      }
      this.#busy.delete(shardId);
      this.#run(shardId, lease.token);
    }
  }

  async #claimAuto(): Promise<void> {
    const workers = await this.#register();
    const share = Math.min(
      this.options.maxShards ?? Number.MAX_SAFE_INTEGER,
      Math.ceil(this.#total / workers),
    );
    const held = this.shardIds.filter((id) => !this.#owned.get(id)!.releasing);
    if (held.length > share && this.#publisher.status === 'ok') {
      // A worker joined: hand the highest shards over (closed resumably, so the new owner RESUMEs).
      // Never mid-handshake: a shard identifying now would lose its new session and identify twice.
      const movable = held.filter((id) => {
        const status = this.#owned.get(id)!.shard.status;
        return status !== 'identifying' && status !== 'resuming';
      });
      for (const shardId of movable.slice(-(held.length - share)).reverse()) {
        await this.#release(shardId, `rebalancing: ${workers} workers, share ${share}`, 'hand-over');
      }
      return;
    }
    if (held.length >= share) return;
    for (const lease of await this.#leases.claimFree(this.#total, share - held.length)) {
      if (this.#state !== 'ready' || this.#owned.has(lease.shardId)) {
        await this.#leases.release(lease.shardId).catch(() => false);
        continue;
      }
      this.#run(lease.shardId, lease.token);
    }
  }

  // ------------------------------------------------------------------------------------------ shards

  /**
   * The session store one shard sees: never ahead of the stream, and silent once the lease is gone. Each
   * save is also kept in memory: a session Redis no longer has (it lost its data) is resumed from there.
   */
  #sessionStoreFor(lease: { readonly token: number }): SessionStore {
    return {
      load: async (id) => {
        let s = await this.#store.load(id);
        const mine = this.#sessions.get(id);
        if (!s && mine && mine.shardCount === this.#total) {
          this.#log(
            'info',
            `shard ${id}: no session in Redis; resuming this worker's last session of it`,
            id,
          );
          s = mine;
        }
        if (s) this.#raiseDurable(id, s.sessionId, s.sequence);
        return s;
      },
      save: async (id, session: SessionInfo | null) => {
        if (session === null) this.#sessions.delete(id);
        if (this.#leases.tokenOf(id) !== lease.token) return; // another worker owns it now: leave its session alone
        if (session === null) {
          this.#durable.delete(id);
          await this.#store.save(id, null);
          return;
        }
        const d = this.#durable.get(id);
        const durable = d && d.sessionId === session.sessionId ? d.seq : 0;
        const clamped = { ...session, sequence: Math.min(session.sequence, durable) };
        this.#sessions.set(id, clamped);
        await this.#store.save(id, clamped);
      },
    };
  }

  #raiseDurable(shardId: number, sessionId: string, seq: number): void {
    const d = this.#durable.get(shardId);
    if (!d || d.sessionId !== sessionId || seq > d.seq) this.#durable.set(shardId, { sessionId, seq });
  }

  #onPublished(shardId: number, sessionId: string, seq: number): void {
    this.#raiseDurable(shardId, sessionId, seq);
    const mine = this.#sessions.get(shardId);
    if (mine && mine.sessionId === sessionId && seq > mine.sequence) {
      this.#sessions.set(shardId, { ...mine, sequence: seq });
    }
    // While the lease is ours — also after the shard closed for stop() or a hand-over, whose buffered
    // events are flushed before the lease is released — the stored sequence follows the stream.
    if (this.#leases.tokenOf(shardId) !== undefined) {
      this.#store.updateSequence(shardId, this.#total, seq, sessionId);
    }
  }

  /**
   * Redis refused events of a shard for a stale fence. Never silent: a warning and a metric. When they
   * carry the fence of the lease we hold now, that lease cannot publish (Redis holds a higher fence, e.g.
   * written by events from before a data loss): the shard is given up — closed resumably, so this worker
   * or another resumes it under a new lease with a token above the stored fence.
   */
  #onStale(shardId: number, err: RedisError, refused: RefusedEvents): void {
    this.#refused.inc(refused.events);
    this.#leases.raiseFloor(shardId, refused.storedFence);
    void this.#leases
      .raiseFence(shardId, refused.storedFence)
      .catch((e: unknown) => this.#redisTrouble(toRedisError(e)));
    const owned = this.#owned.get(shardId);
    const current = owned !== undefined && !owned.releasing && refused.fence >= owned.lease.token;
    this.#log(
      'warn',
      `${err.message}${current ? '' : '; they were from an older lease of this worker'} [${err.code}]`,
      shardId,
    );
    if (current) {
      const why = 'its lease cannot publish (Redis holds a higher fence)';
      this.#log(
        'warn',
        `gave up shard ${shardId}: ${why}; closed it resumably, will take it again with a higher fence`,
        shardId,
      );
      void this.#release(shardId, why, 'refused');
    }
  }

  #onDataLoss(err: RedisError): void {
    this.#dataLosses.inc();
    this.#log('warn', `${err.message} [${err.code}]`);
    this.emit('error', err, null);
    // what connect() wrote is gone too: the shard count (command routing) and the session start budget
    void this.#seed?.().catch((e: unknown) => this.#redisTrouble(toRedisError(e)));
  }

  #onReestablished(shardId: number, previous: number, token: number): void {
    const owned = this.#owned.get(shardId);
    if (!owned) return;
    owned.lease.token = token;
    this.#log(
      'info',
      `shard ${shardId}: lease re-taken after the data loss (token ${previous} → ${token})`,
      shardId,
    );
    // the session went with the data: write this worker's copy back, so a takeover can resume it
    const mine = this.#sessions.get(shardId);
    if (mine) void this.#store.save(shardId, mine).catch((e: unknown) => this.#redisTrouble(toRedisError(e)));
  }

  #run(shardId: number, token: number): void {
    const o = this.options;
    const lease = { token };
    const shard = new Shard({
      ...o.shardOptions,
      // A shard given up for a lost lease must be off the gateway within the margin between the local loss
      // (ttl − ttl/3) and the lease's expiry in Redis: a gateway that never answers our close frame must not
      // hold the socket open past it.
      closeTimeoutMs: Math.min(
        o.shardOptions.closeTimeoutMs ?? DEFAULT_SHARD_OPTIONS.closeTimeoutMs,
        Math.max(50, Math.floor(o.leaseTtlMs / 6)),
      ),
      token: o.token.reveal(),
      intents: o.intents,
      shardId,
      shardCount: this.#total,
      gatewayUrl: this.#gatewayUrl,
      encoding: o.encoding,
      compression: o.compression,
      identifyQueue: this.#identifyQueue!,
      clock: this.#clock,
      ...(o.presence !== undefined ? { presence: o.presence } : {}),
      sessionStore: this.#sessionStoreFor(lease),
    });
    if (this.#paused) shard.pauseReading();
    const commands = new AbortController();
    const owned: Owned = {
      shardId,
      lease,
      shard,
      commands,
      serving: Promise.resolve(),
      releasing: undefined,
      latencyMs: null,
      rate: new EventRate(this.#clock.now()),
      guilds: new Set(),
      reconnects: 0,
    };
    this.#owned.set(shardId, owned);
    this.#ownedGauge.set(this.#owned.size);
    this.emit('acquired', token, shardId);
    this.#log('info', `owns shard ${shardId} (lease token ${token})`, shardId);

    shard.on('dispatch', (p) => {
      owned.rate.count(this.#clock.now());
      if (p.t === 'GUILD_CREATE' || p.t === 'GUILD_DELETE') {
        const gid = guildOfDispatch(p.t, p.d);
        if (gid !== undefined) {
          if (p.t === 'GUILD_CREATE') owned.guilds.add(gid);
          else if (!(p.d as { unavailable?: boolean }).unavailable) owned.guilds.delete(gid);
        }
      }
      const sessionId = shard.sessionId;
      if (typeof p.s !== 'number' || sessionId === null) return;
      try {
        this.#publisher.publish({ shardId, sessionId, seq: p.s, type: p.t, data: p.d, fence: lease.token });
        this.#published.inc();
        this.#metrics.countEvent(p.t);
      } catch (err) {
        this.#error(toRedisError(err, shardId), shardId);
      }
    });
    shard.on('ready', (data) => {
      owned.guilds.clear();
      for (const g of data.guilds ?? []) owned.guilds.add(String(g.id));
      this.#log('info', `shard ${shardId} ready (identified, session ${shard.sessionId ?? '?'})`, shardId);
      this.emit('ready', data, shardId);
    });
    shard.on('resumed', (info) => {
      this.#log('info', `shard ${shardId} resumed (replayed ${info.replayed})`, shardId);
      this.emit('resumed', info, shardId);
    });
    shard.on('status', (status, previous) => {
      this.#metrics.setShardStatus(shardId, status);
      this.#emit('status', status, previous, shardId);
    });
    shard.on('close', (info) => {
      if (info.action === 'resume' || info.action === 'reidentify') {
        owned.reconnects++;
        this.#metrics.reconnects.inc({ reason: String(info.code) });
      }
      this.#emit('close', info, shardId);
    });
    shard.on('heartbeat', (hb) => {
      owned.latencyMs = hb.latencyMs;
      this.#metrics.heartbeatLatency.observe({ shard: String(shardId) }, hb.latencyMs / 1000);
      this.#emit('heartbeat', hb, shardId);
    });
    shard.on('debug', (message) => {
      if (this.listenerCount('debug') > 0) this.#emit('debug', redact(message, this.options.token), shardId);
    });
    shard.on('error', (err) => this.#error(err, shardId));

    shard.connect().catch((err: unknown) => {
      if (owned.releasing || this.#owned.get(shardId) !== owned) return; // closed by us
      if (err instanceof GatewayCloseError) {
        this.#log('warn', `shard ${shardId} stopped: ${err.message}`, shardId);
        this.emit('fatal', err, shardId);
        // No retry can fix it (and every worker would hit it): stop this worker.
        void this.#release(shardId, 'fatal gateway close', 'fatal').then(() => this.destroy());
      }
    });

    owned.serving = serveCommands({
      redis: this.#redis,
      prefix: o.prefix,
      shardId,
      consumer: this.ownerId,
      signal: commands.signal,
      handler: async (payload) => {
        await shard.send(payload as GatewaySendPayload);
        return { sent: true };
      },
      onError: (err) => {
        if (err.code !== 'REDIS_UNAVAILABLE') this.#error(err, shardId);
      },
    }).catch((err: unknown) => this.#error(toRedisError(err, shardId), shardId));
  }

  /** Lease lost or stale: close the shard at once, resumably; the claim loop retries it later. */
  #giveUp(shardId: number, why: string, level: LogLevel): void {
    const owned = this.#owned.get(shardId);
    if (!owned || owned.releasing) return;
    this.#log(
      level,
      `gave up shard ${shardId}: ${why}; closed it resumably, will try to take it again`,
      shardId,
    );
    void this.#release(shardId, why, 'give-up');
  }

  /**
   * Closes a shard with a resumable close code and stops its command server. `hand-over` (rebalancing)
   * then flushes its events and session and releases the lease, so the next owner RESUMEs from the latest
   * event; `give-up` (lease lost) leaves the lease alone, it is not ours any more; `refused` (our lease's
   * events were refused) flushes and releases like a hand-over, so the next lease gets a higher fence; `stop` leaves
   * the release to `stop()`, after the publisher and the store are flushed; `fatal` releases at once.
   */
  #release(
    shardId: number,
    why: string,
    mode: 'hand-over' | 'give-up' | 'refused' | 'stop' | 'fatal',
  ): Promise<void> {
    const owned = this.#owned.get(shardId);
    if (!owned) return Promise.resolve();
    owned.releasing ??= (async () => {
      owned.commands.abort();
      // A paused socket is not read, so the gateway's answer to our close frame would sit unread and the
      // connection stay open until the transport's close timeout (5 s) — longer than the margin between a
      // lease lost locally and its expiry in Redis, when another worker may connect. Read it again first.
      owned.shard.resumeReading();
      await owned.shard.destroy({ code: 4000, reason: why.slice(0, 100) });
      await owned.serving;
      if (mode === 'hand-over' || mode === 'refused') {
        await this.#publisher.flush();
        await this.#store.flush().catch((err: unknown) => this.#redisTrouble(toRedisError(err)));
      }
      if (mode !== 'give-up' && mode !== 'stop' && this.#leases.tokenOf(shardId) === owned.lease.token) {
        await this.#leases.release(shardId).catch(() => false);
      }
      if (this.#owned.get(shardId) === owned) this.#owned.delete(shardId);
      this.#ownedGauge.set(this.#owned.size);
      this.#metrics.removeShard(shardId);
      if (mode !== 'stop') this.#log('info', `released shard ${shardId} (${why})`, shardId);
      this.emit('released', why, shardId);
    })();
    return owned.releasing;
  }

  // ------------------------------------------------------------------------------------------ Redis health

  #setPaused(full: boolean): void {
    this.#paused = full;
    for (const { shard } of this.#owned.values()) {
      if (full) shard.pauseReading();
      else shard.resumeReading();
    }
    this.emit('backpressure', full);
    // A slow Redis can flip this many times a second: report a pause at most every 10 s (with a count).
    const now = this.#clock.now();
    if (full) {
      if (now - this.#pauseLoggedAt < PAUSE_LOG_INTERVAL_MS) {
        this.#pausesUnlogged++;
        this.#pauseLogged = false;
        return;
      }
      const more =
        this.#pausesUnlogged > 0 ? ` (${this.#pausesUnlogged} more pauses since the last report)` : '';
      this.#pausesUnlogged = 0;
      this.#pauseLoggedAt = now;
      this.#pauseLogged = true;
      this.#log(
        'warn',
        `event buffer full (${this.#publisher.buffered} events): paused reading the gateway; heartbeats keep the connections alive and the gateway replays on resume${more}`,
      );
    } else if (this.#pauseLogged) {
      this.#pauseLogged = false;
      this.#log(
        'info',
        `event buffer drained (${this.#publisher.buffered} events): reading the gateway again`,
      );
    }
  }

  #onRedisStatus(status: PublisherStatus, err?: ShardlineError): void {
    this.#redisUp.set(status === 'ok' ? 1 : 0);
    if (status === 'unavailable') {
      this.#redisDownSince = this.#clock.now();
      this.#log(
        'warn',
        `Redis unavailable (${err?.message ?? 'unknown error'}): keeping gateway connections, buffering events (${this.#publisher.buffered} buffered, pause at ${this.options.highWaterMark}), retrying with backoff`,
      );
    } else {
      const ms = this.#redisDownSince === undefined ? 0 : this.#clock.now() - this.#redisDownSince;
      this.#redisDownSince = undefined;
      this.#log(
        'info',
        `Redis available again after ${ms} ms: publishing the ${this.#publisher.buffered} buffered events`,
      );
    }
    this.emit('redis', status, ...(err ? [err] : []));
  }

  #redisTrouble(err: ShardlineError): void {
    // Outages are reported once by the publisher's status; other Redis errors are worth an error event.
    if (err.code === 'REDIS_UNAVAILABLE') return;
    this.#error(err, err instanceof RedisError ? (err.shardId ?? null) : null);
  }

  #error(err: ShardlineError, shardId: number | null): void {
    if (this.listenerCount('error') > 0) {
      try {
        this.emit('error', err, shardId);
        return;
      } catch {
        // fall through to the log line
      }
    }
    this.#log('warn', `${shardId === null ? '' : `shard ${shardId}: `}${err.message} [${err.code}]`, shardId);
  }

  #log(level: LogLevel, message: string, shardId: number | null = null): void {
    if (this.listenerCount('log') === 0) return;
    this.#emit('log', level, redact(message, this.options.token), shardId);
  }

  /** Emits an informational event; a throwing listener must not break the worker or a shard. */
  #emit<K extends 'log' | 'status' | 'close' | 'heartbeat' | 'debug'>(
    name: K,
    ...args: ShardWorkerEventMap[K]
  ): void {
    try {
      (this.emit as (n: K, ...a: ShardWorkerEventMap[K]) => boolean)(name, ...args);
    } catch {
      // swallowed on purpose: these events only inform
    }
  }
}
