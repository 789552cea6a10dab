import { randomBytes } from 'node:crypto';
import { SimulatorError } from '../errors.js';
import type { TimerHandle } from '../util/clock.js';
import { runCommand } from './commands/command.js';
import { type CommandContext, isObject } from './commands/context.js';
import { CompressionCounters, type CompressionStats } from './compression.js';
import type { SimConnection } from './connection.js';
import { Dispatch, FULL, SHARD_ZERO_EVENTS, STRIPPED } from './dispatch.js';
import { type Encoding, etfEncoder, jsonEncoder, type WireEncoder } from './encoding.js';
import type { Fault } from './faults.js';
import { parseFault } from './faults.js';
import { INTENTS } from './intents.js';
import type { ResolvedSimulatorOptions } from './options.js';
import type { ReplayStats } from './replay.js';
import {
  gatewayToken,
  IdentifyBuckets,
  isRuleFailure,
  MemberRequestLimiter,
  SessionStartBudget,
  VIOLATION_KINDS,
  type ViolationKind,
  validateIdentify,
} from './rules.js';
import { Session } from './session.js';
import { World } from './world.js';

/**
 * Where `emitEvent` sends a dispatch. Without any field: routed by `guild_id`, or to shard 0 without one
 * and for entitlement and subscription events.
 */
export interface EmitTarget {
  /** Route as if the event belonged to this guild (default: `d.guild_id` when it is a string). */
  readonly guildId?: string;
  /** Every session whose shard id is this, whatever its shard count. */
  readonly shardId?: number;
  /** Exactly this session. */
  readonly sessionId?: string;
  /** Intent needed to receive it; default from the event name, 0 = always delivered. */
  readonly intent?: number;
}

/** Supplies READY and the first GUILD_CREATEs of new sessions instead of the world (replay of a recording). */
export interface SessionOpening {
  /** READY fields for a session of `[shardId, shardCount]` (session id, resume URL and shard are set after). */
  ready(shard: readonly [number, number]): Record<string, unknown>;
  /** The GUILD_CREATE data the session receives after READY, in order. */
  guildCreates(shard: readonly [number, number]): Iterable<{ readonly d: unknown; readonly guildId: string }>;
  /** The session got its READY and guilds. */
  sessionStarted(shard: readonly [number, number]): void;
  /** Progress of the replay, for `stats().replay`. */
  stats(): ReplayStats;
}

export interface SessionStats {
  readonly sessionId: string;
  readonly shardId: number;
  readonly shardCount: number;
  /** Sequence of the last dispatch of the session. */
  readonly sequence: number;
  readonly connected: boolean;
  readonly ended: boolean;
  readonly intents: number;
}

export interface ShardStats {
  readonly shardId: number;
  readonly shardCount: number;
  /** Dispatch frames written to sockets for this shard, replays included. */
  readonly dispatchesSent: number;
  /** Highest `s` assigned by any session of this shard. */
  readonly sequence: number;
  readonly sessions: number;
}

export interface SimulatorStats {
  readonly connectionsOpen: number;
  readonly connectionsTotal: number;
  /** Connections opened on the resume_gateway_url path. */
  readonly resumeUrlConnections: number;
  readonly identifies: number;
  readonly resumes: number;
  readonly resumedSent: number;
  readonly invalidSessionsSent: number;
  readonly heartbeats: number;
  readonly heartbeatAcks: number;
  readonly clientPayloads: number;
  readonly dispatchesSent: number;
  readonly eventsEmitted: number;
  readonly faultsInjected: number;
  /**
   * Exceptions caught in a socket, HTTP or timer handler (a simulator bug or an input it failed to refuse):
   * the connection was closed with 4000 (its session ended) or the request answered 500; the server went on.
   */
  readonly internalErrors: number;
  /** Connections dropped because they had more than `maxBufferedBytes` queued. */
  readonly slowConsumerDrops: number;
  /** Bytes queued in userland on all sockets (a slow reader makes this grow). */
  readonly outboundBufferedBytes: number;
  /** Close codes of ended connections: the code we sent, the client's code, or 1006 for a drop. */
  readonly closesByCode: Readonly<Record<string, number>>;
  /** Close codes the simulator sent. */
  readonly serverClosesByCode: Readonly<Record<string, number>>;
  readonly violations: Readonly<Record<ViolationKind, number>>;
  /** Who writes zstd-stream, and the messages and bytes each compression sent (before and after). */
  readonly compression: CompressionStats;
  readonly sessionStartLimit: {
    readonly total: number;
    readonly remaining: number;
    readonly reset_after: number;
    readonly max_concurrency: number;
  };
  readonly shards: readonly ShardStats[];
  readonly sessions: readonly SessionStats[];
  /** Progress of the recording being replayed (`startSimulator({ replay })`), if any. */
  readonly replay?: ReplayStats;
}

/** How many ended sessions `stats().sessions` keeps. */
const ENDED_SESSIONS_KEPT = 2000;

interface ShardCounter {
  readonly shardId: number;
  readonly shardCount: number;
  dispatchesSent: number;
  sequence: number;
  sessions: number;
}

/**
 * The gateway's brain, independent of sockets: sessions, routing, rules and counters. `SimConnection`s call
 * in with decoded payloads; `emitEvent` fans dispatches out to sessions.
 */
export class SimulatorCore {
  readonly options: ResolvedSimulatorOptions;
  readonly world: World;
  /** One wire encoder per encoding, shared by every connection. */
  readonly encoders: Readonly<Record<Encoding, WireEncoder>>;
  readonly connections = new Set<SimConnection>();
  /** Compression settings and byte counters shared by every connection. */
  readonly compression: CompressionCounters;
  readonly sessions = new Map<string, Session>();
  /** Live (not ended) sessions by shard count, then shard id. */
  readonly #byShard = new Map<number, Map<number, Set<Session>>>();
  readonly #endedOrder: string[] = [];
  readonly #buckets: IdentifyBuckets;
  readonly #budget: SessionStartBudget;
  readonly #memberRequests: MemberRequestLimiter;
  readonly #shardCounters = new Map<string, ShardCounter>();
  #eventTimer: TimerHandle | undefined;
  /** Delayed initial guild bursts (`guildCreateDelayMs`), cleared on shutdown. */
  readonly #guildTimers = new Set<TimerHandle>();
  /** Faults armed with `next` for connections still to open, each with how many it still hits. */
  readonly #armed: Array<{ readonly fault: Fault; left: number }> = [];
  readonly #pool: Dispatch[] = [];
  #poolAt = 0;
  /** `prepareRandomEvents`: the connection of each held frame in send order, and each event's last frame. */
  #heldOrder: SimConnection[] = [];
  #heldAt = 0;
  #preparedEnds: number[] = [];
  #preparedAt = 0;
  #preparing = false;
  #eventsPerSecond = 0;
  #eventCarry = 0;
  #lastTick = 0;
  gatewayUrl = '';
  resumeGatewayUrl = '';
  closed = false;
  /** What new sessions receive first instead of the world (set while a recording is replayed). */
  opening: SessionOpening | undefined;

  readonly #counts = {
    connectionsTotal: 0,
    resumeUrlConnections: 0,
    identifies: 0,
    resumes: 0,
    resumedSent: 0,
    invalidSessionsSent: 0,
    heartbeats: 0,
    heartbeatAcks: 0,
    clientPayloads: 0,
    dispatchesSent: 0,
    eventsEmitted: 0,
    faultsInjected: 0,
    internalErrors: 0,
    slowConsumerDrops: 0,
  };
  readonly #closes: Record<string, number> = {};
  readonly #serverCloses: Record<string, number> = {};
  readonly #violations = Object.fromEntries(VIOLATION_KINDS.map((k) => [k, 0])) as Record<
    ViolationKind,
    number
  >;

  constructor(options: ResolvedSimulatorOptions) {
    this.options = options;
    this.compression = new CompressionCounters(options.zstdEncoder);
    this.world = new World({
      seed: options.seed,
      guilds: options.guilds,
      membersPerGuild: options.membersPerGuild,
    });
    this.#buckets = new IdentifyBuckets(options.maxConcurrency, options.identifyWindowMs);
    this.#budget = new SessionStartBudget(options.sessionStartTotal, options.sessionStartResetMs);
    this.#memberRequests = new MemberRequestLimiter(options.memberRequestWindowMs);
    this.#commands = {
      options,
      world: this.world,
      memberRequests: this.#memberRequests,
      deliver: (session, dispatch) => this.#deliver(session, dispatch),
      countViolation: (kind) => this.countViolation(kind),
    };
    this.encoders = {
      json: jsonEncoder,
      etf: etfEncoder({ atomKeys: options.etfAtomKeys, bigintSnowflakes: options.etfBigintSnowflakes }),
    };
    this.setEventsPerSecond(options.eventsPerSecond);
  }

  // ── counters ────────────────────────────────────────────────────────────────────────────────────

  countViolation(kind: ViolationKind): void {
    this.#violations[kind]++;
  }
  countServerClose(code: number): void {
    this.#serverCloses[code] = (this.#serverCloses[code] ?? 0) + 1;
  }
  countInvalidSession(): void {
    this.#counts.invalidSessionsSent++;
  }
  countHeartbeat(acked: boolean): void {
    this.#counts.heartbeats++;
    if (acked) this.#counts.heartbeatAcks++;
  }
  countInternalError(): void {
    this.#counts.internalErrors++;
  }
  countSlowConsumer(): void {
    this.#counts.slowConsumerDrops++;
  }
  countClientPayload(): void {
    this.#counts.clientPayloads++;
  }
  countDispatchSent(conn: SimConnection): void {
    this.#counts.dispatchesSent++;
    const s = conn.session;
    if (!s) return;
    s.counter ??= this.#shardCounter(s.shard);
    s.counter.dispatchesSent++;
  }

  #shardCounter(shard: readonly [number, number]): ShardCounter {
    const key = `${shard[0]}/${shard[1]}`;
    let c = this.#shardCounters.get(key);
    if (!c) {
      c = { shardId: shard[0], shardCount: shard[1], dispatchesSent: 0, sequence: 0, sessions: 0 };
      this.#shardCounters.set(key, c);
    }
    return c;
  }

  connectionOpened(conn: SimConnection): void {
    this.connections.add(conn);
    this.#counts.connectionsTotal++;
    if (conn.viaResumeUrl) this.#counts.resumeUrlConnections++;
  }

  connectionClosed(conn: SimConnection, code: number): void {
    this.connections.delete(conn);
    this.#closes[code] = (this.#closes[code] ?? 0) + 1;
  }

  // ── sessions ────────────────────────────────────────────────────────────────────────────────────

  #index(session: Session, add: boolean): void {
    const [id, count] = session.shard;
    let byId = this.#byShard.get(count);
    if (!byId) {
      if (!add) return;
      byId = new Map();
      this.#byShard.set(count, byId);
    }
    let set = byId.get(id);
    if (!set) {
      if (!add) return;
      set = new Set();
      byId.set(id, set);
    }
    if (add) set.add(session);
    else {
      set.delete(session);
      if (set.size === 0) byId.delete(id);
      if (byId.size === 0) this.#byShard.delete(count);
    }
  }

  /** Ends a session now: it can no longer be resumed. */
  endSession(session: Session): void {
    if (session.ended) return;
    session.ended = true;
    this.options.clock.clearTimeout(session.expiry);
    session.expiry = undefined;
    this.#index(session, false);
    this.#shardCounter(session.shard).sessions--;
    const conn = session.connection;
    session.connection = undefined;
    if (conn && conn.session === session) {
      conn.session = undefined;
      if (conn.state === 'identified') conn.state = 'awaiting-auth';
    }
    this.#endedOrder.push(session.id);
    while (this.#endedOrder.length > ENDED_SESSIONS_KEPT) this.sessions.delete(this.#endedOrder.shift()!);
  }

  /** The connection of a session went away; the session stays resumable for `sessionTimeoutMs`. */
  detach(session: Session): void {
    session.connection = undefined;
    if (session.ended || this.closed) return;
    this.options.clock.clearTimeout(session.expiry);
    session.expiry = this.options.clock.setTimeout(
      () => this.endSession(session),
      this.options.sessionTimeoutMs,
    );
  }

  #attach(conn: SimConnection, session: Session): void {
    this.options.clock.clearTimeout(session.expiry);
    session.expiry = undefined;
    session.connection = conn;
    conn.session = session;
    conn.state = 'identified';
  }

  /** Numbers, buffers and (when connected) sends one dispatch to one session; false if intents filter it. */
  #deliver(session: Session, dispatch: Dispatch): boolean {
    const variant = dispatch.variantFor(session.intents);
    if (variant === undefined) return false;
    const seq = session.push(dispatch);
    session.counter ??= this.#shardCounter(session.shard);
    const counter = session.counter;
    if (seq > counter.sequence) counter.sequence = seq;
    const conn = session.connection;
    if (conn) {
      try {
        conn.sendDispatch(dispatch, variant, seq);
      } catch {
        // One connection failing must not stop the fan-out to the others.
        conn.internalError();
      }
    }
    return true;
  }

  identify(conn: SimConnection, d: unknown): void {
    const o = this.options;
    const req = validateIdentify(d, {
      tokens: o.tokens,
      privilegedIntents: o.privilegedIntents,
      maxGuildsPerShard: o.maxGuildsPerShard,
      shardMultiple: o.largeBotShardMultiple,
      guildsOnShard: (id, count) => this.world.countGuildsForShard(id, count),
    });
    if (isRuleFailure(req)) {
      conn.closeWith(req.close, req.reason, req.violation);
      return;
    }
    const now = o.clock.now();
    const [shardId, shardCount] = req.shard ?? [0, 1];
    if (this.#budget.remaining(now) <= 0) {
      this.countViolation('session-start-limit');
      conn.invalidSession(false);
      return;
    }
    if (!this.#buckets.take(shardId, now)) {
      this.countViolation('identify-concurrency');
      conn.invalidSession(false);
      return;
    }
    this.#budget.take(now);
    const session = new Session({
      id: randomBytes(16).toString('hex'),
      token: req.token,
      shard: [shardId, shardCount],
      shardGiven: req.shard !== undefined,
      intents: req.intents,
      largeThreshold: req.largeThreshold,
      presence: req.presence,
      capacity: o.replayBufferSize,
    });
    this.sessions.set(session.id, session);
    this.#index(session, true);
    this.#shardCounter(session.shard).sessions++;
    this.#attach(conn, session);
    this.#counts.identifies++;
    const opening = this.opening;
    const guilds = opening ? [] : this.world.guildsForShard(shardId, shardCount);
    const ready: Record<string, unknown> = {
      v: 10,
      user_settings: {},
      user: { ...this.world.bot, verified: true, mfa_enabled: false, email: null, flags: 0 },
      guilds: guilds.map((g) => ({ id: g.id, unavailable: true })),
      session_id: session.id,
      session_type: 'normal',
      resume_gateway_url: this.resumeGatewayUrl,
      relationships: [],
      private_channels: [],
      presences: [],
      guild_join_requests: [],
      geo_ordered_rtc_regions: ['local'],
      application: { ...this.world.application },
      _trace: ['["shardline-simulator",{"micros":0.0}]'],
    };
    if (opening) {
      Object.assign(ready, opening.ready(session.shard), {
        session_id: session.id,
        resume_gateway_url: this.resumeGatewayUrl,
      });
      delete ready.shard;
    }
    if (session.shardGiven) ready.shard = [shardId, shardCount];
    this.#deliver(session, new Dispatch('READY', ready, undefined, 0));
    const presences = (req.intents & INTENTS.GUILD_PRESENCES) !== 0;
    const burst = (): void => {
      for (const g of guilds) {
        if (session.ended || !session.connection) break;
        const d = this.world.guildCreate(g, { presences, largeThreshold: req.largeThreshold });
        this.#deliver(session, new Dispatch('GUILD_CREATE', d, g.id));
      }
      if (!opening) return;
      for (const g of opening.guildCreates(session.shard)) {
        if (session.ended || !session.connection) return;
        const dispatch = new Dispatch('GUILD_CREATE', g.d, g.guildId);
        try {
          this.#prepare(dispatch);
        } catch {
          continue;
        }
        this.#deliver(session, dispatch);
      }
      opening.sessionStarted(session.shard);
    };
    if (o.guildCreateDelayMs === 0) {
      burst();
      return;
    }
    const timer = o.clock.setTimeout(() => {
      this.#guildTimers.delete(timer);
      if (!this.closed) burst();
    }, o.guildCreateDelayMs);
    this.#guildTimers.add(timer);
  }

  resume(conn: SimConnection, d: unknown): void {
    if (
      !isObject(d) ||
      typeof d.session_id !== 'string' ||
      typeof d.token !== 'string' ||
      !(d.seq === null || (typeof d.seq === 'number' && Number.isInteger(d.seq) && d.seq >= 0))
    ) {
      conn.closeWith(4001, 'invalid resume payload', 'invalid-payload');
      return;
    }
    const token = gatewayToken(d.token)!;
    if (!this.options.tokens.includes(token)) {
      conn.closeWith(4004, 'authentication failed', 'authentication');
      return;
    }
    const session = this.sessions.get(d.session_id);
    if (!session || session.ended || session.token !== token) {
      conn.invalidSession(false);
      return;
    }
    const seq = (d.seq as number | null) ?? 0;
    if (seq > session.seq) {
      // The session cannot be trusted any more: end it with 4007 (start a new session).
      this.#attach(conn, session);
      conn.closeWith(4007, 'invalid seq', 'invalid-seq');
      return;
    }
    const missed = session.since(seq);
    if (!missed) {
      this.endSession(session);
      conn.invalidSession(false);
      return;
    }
    const previous = session.connection;
    if (previous && previous !== conn) {
      previous.session = undefined;
      previous.closeWith(4000, 'session resumed elsewhere', undefined, true);
    }
    this.#attach(conn, session);
    this.#counts.resumes++;
    for (const m of missed) {
      const variant = m.dispatch.variantFor(session.intents) ?? 0;
      conn.sendDispatch(m.dispatch, variant, m.seq);
    }
    this.#counts.resumedSent++;
    this.#deliver(
      session,
      new Dispatch('RESUMED', { _trace: ['["shardline-simulator",{"micros":0.0}]'] }, undefined, 0),
    );
  }

  // ── commands of an identified connection ────────────────────────────────────────────────────────

  /** What the command handlers (commands/) may use of the core. */
  readonly #commands: CommandContext<Session>;

  command(conn: SimConnection, session: Session, op: number, d: unknown): void {
    runCommand(this.#commands, conn, session, op, d);
  }

  // ── events ──────────────────────────────────────────────────────────────────────────────────────

  /** Sends a dispatch to the sessions it routes to (see `EmitTarget`). Returns how many sessions got it. */
  emitEvent(t: string, d: unknown, target: EmitTarget = {}): number {
    if (this.closed) throw new SimulatorError('SIMULATOR_CLOSED', 'the simulator is closed');
    const invalid = (message: string): never => {
      throw new SimulatorError('SIMULATOR_EVENT_INVALID', message);
    };
    if (typeof t !== 'string' || !/^[A-Z0-9_]{1,64}$/.test(t)) {
      invalid(`event name must match [A-Z0-9_]{1,64}, got ${JSON.stringify(t)}`);
    }
    if (!isObject(target)) invalid('target must be an object');
    const { guildId: targetGuild, shardId, sessionId, intent } = target;
    if (targetGuild !== undefined && typeof targetGuild !== 'string')
      invalid(`guildId must be a string, got ${typeof targetGuild}`);
    if (shardId !== undefined && !(Number.isInteger(shardId) && shardId >= 0 && shardId < 1_000_000))
      invalid(`shardId must be an integer in [0, 999999], got ${JSON.stringify(shardId)}`);
    if (sessionId !== undefined && typeof sessionId !== 'string')
      invalid(`sessionId must be a string, got ${typeof sessionId}`);
    if (intent !== undefined && !(Number.isInteger(intent) && intent >= 0 && intent < 2 ** 31))
      invalid(`intent must be an intent bit (an integer ≥ 0), got ${JSON.stringify(intent)}`);
    let guildId = targetGuild;
    if (guildId === undefined && isObject(d) && typeof d.guild_id === 'string' && !SHARD_ZERO_EVENTS.has(t))
      guildId = d.guild_id;
    if (guildId !== undefined && !/^\d{1,20}$/.test(guildId)) {
      invalid(`guild id must be a snowflake, got ${JSON.stringify(guildId)}`);
    }
    const dispatch = new Dispatch(t, d, guildId, intent);
    this.#prepare(dispatch);
    this.world.applyEvent(t, d);
    return this.#fanOut(dispatch, target);
  }

  /**
   * Encodes a dispatch in every encoding and variant before any session numbers it: `d` that some encoding
   * cannot carry (±Infinity, NaN, cycles, nesting over 256, BigInt in JSON, functions) is refused here, so
   * no sequence number is spent on it and no later send or RESUME replay can fail on it.
   */
  #prepare(dispatch: Dispatch): void {
    const variants = dispatch.hasContent ? [FULL, STRIPPED] : [FULL];
    try {
      for (const encoder of Object.values(this.encoders))
        for (const v of variants) encoder.prepare(dispatch, v);
    } catch (err) {
      const why =
        err instanceof RangeError && /call stack/i.test(err.message)
          ? 'nested too deeply'
          : (err as Error).message;
      throw new SimulatorError('SIMULATOR_EVENT_INVALID', `d cannot be encoded for every encoding: ${why}`, {
        cause: err,
      });
    }
  }

  /**
   * Sends a dispatch of a recording: sessions with the recorded shard count get it on the recorded shard id;
   * sessions with another count (or when the shard is unknown) get it by guild, shard 0 without one.
   * Throws `SimulatorError` when `d` cannot be encoded.
   */
  emitRecorded(
    t: string,
    d: unknown,
    guildId: string | undefined,
    recorded: readonly [number, number] | undefined,
  ): number {
    if (this.closed) throw new SimulatorError('SIMULATOR_CLOSED', 'the simulator is closed');
    const dispatch = new Dispatch(t, d, guildId);
    this.#prepare(dispatch);
    this.#counts.eventsEmitted++;
    let n = 0;
    for (const [count, byId] of this.#byShard) {
      let id: number;
      if (recorded && recorded[1] === count) id = recorded[0];
      else if (dispatch.routeKey < 0) id = 0;
      else id = dispatch.routeKey % count;
      const set = byId.get(id);
      if (!set) continue;
      for (const s of set) if (this.#deliver(s, dispatch)) n++;
    }
    return n;
  }

  #fanOut(dispatch: Dispatch, target: EmitTarget): number {
    this.#counts.eventsEmitted++;
    let n = 0;
    if (target.sessionId !== undefined) {
      const s = this.sessions.get(target.sessionId);
      return s && !s.ended && this.#deliver(s, dispatch) ? 1 : 0;
    }
    for (const [count, byId] of this.#byShard) {
      let id: number;
      if (target.shardId !== undefined) id = target.shardId;
      else if (dispatch.routeKey < 0) id = 0;
      else id = dispatch.routeKey % count;
      const set = byId.get(id);
      if (!set) continue;
      for (const s of set) if (this.#deliver(s, dispatch)) n++;
    }
    return n;
  }

  /**
   * Emits `count` random world events now; returns how many deliveries happened. With `pool`, the events
   * come round-robin from a pool of that many pre-generated (hence pre-encoded) dispatches: for load tests.
   */
  emitRandomEvents(count: number, options: { pool?: number } = {}): number {
    let n = 0;
    const poolSize = options.pool;
    if (poolSize !== undefined && poolSize > 0) {
      while (this.#pool.length < poolSize) {
        const e = this.world.randomEvent();
        this.#pool.push(new Dispatch(e.t, e.d, e.guildId));
      }
      for (let i = 0; i < count; i++) {
        this.#poolAt = (this.#poolAt + 1) % poolSize;
        n += this.#fanOut(this.#pool[this.#poolAt]!, {});
      }
      return n;
    }
    for (let i = 0; i < count; i++) {
      const e = this.world.randomEvent();
      n += this.#fanOut(new Dispatch(e.t, e.d, e.guildId), {});
    }
    return n;
  }

  /**
   * Load tests: does all the work of `emitRandomEvents(count, options)` now — sequence numbers, session
   * buffers, each connection's encoding and its own compression stream, counters — but keeps every
   * connection's frames, in order, instead of writing them; `releasePrepared` writes them. The bytes each
   * client receives are exactly those `emitRandomEvents` would have sent, so a measured burst costs the
   * simulator little more than socket writes. Output a connection produces meanwhile (a heartbeat ACK) is
   * compressed after the prepared frames and queued behind them. Returns how many deliveries happened.
   */
  prepareRandomEvents(count: number, options: { pool?: number } = {}): number {
    if (this.#preparing || this.preparedEvents > 0) {
      throw new SimulatorError(
        'SIMULATOR_EVENT_INVALID',
        'prepared events are still held: release them (releasePrepared) before preparing more',
      );
    }
    this.#preparing = true;
    for (const c of this.connections) c.hold(true);
    let n = 0;
    try {
      for (let i = 0; i < count; i++) {
        n += this.emitRandomEvents(1, options);
        this.#preparedEnds.push(this.#heldOrder.length);
      }
    } finally {
      this.#preparing = false;
      for (const c of this.connections) c.hold(false);
    }
    return n;
  }

  /** A connection kept back a frame of the event being prepared (`SimConnection.hold`). */
  noteHeld(conn: SimConnection): void {
    this.#heldOrder.push(conn);
  }

  /** Prepared events not yet released. */
  get preparedEvents(): number {
    return this.#preparedEnds.length - this.#preparedAt;
  }

  /** Writes the frames of the next `count` prepared events (in the order they were prepared); returns how many events. */
  releasePrepared(count: number): number {
    let events = 0;
    while (events < count && this.#preparedAt < this.#preparedEnds.length) {
      const end = this.#preparedEnds[this.#preparedAt++]!;
      while (this.#heldAt < end) {
        const conn = this.#heldOrder[this.#heldAt++]!;
        try {
          conn.releaseHeld();
        } catch {
          conn.internalError();
        }
      }
      events++;
    }
    if (this.#preparedAt === this.#preparedEnds.length) {
      this.#heldOrder = [];
      this.#heldAt = 0;
      this.#preparedEnds = [];
      this.#preparedAt = 0;
    }
    return events;
  }

  setEventsPerSecond(n: number): void {
    if (!Number.isFinite(n) || n < 0) {
      throw new SimulatorError(
        'SIMULATOR_EVENT_INVALID',
        `events per second must be a finite number ≥ 0, got ${n}`,
      );
    }
    this.#eventsPerSecond = n;
    const clock = this.options.clock;
    if (n === 0 || this.closed) {
      clock.clearTimeout(this.#eventTimer);
      this.#eventTimer = undefined;
      return;
    }
    if (this.#eventTimer === undefined) {
      this.#lastTick = clock.now();
      this.#eventCarry = 0;
      this.#scheduleTick();
    }
  }

  #scheduleTick(): void {
    const period = Math.max(10, Math.min(250, 1000 / this.#eventsPerSecond));
    this.#eventTimer = this.options.clock.setTimeout(() => {
      this.#eventTimer = undefined;
      if (this.closed || this.#eventsPerSecond === 0) return;
      const now = this.options.clock.now();
      this.#eventCarry += ((now - this.#lastTick) * this.#eventsPerSecond) / 1000;
      this.#lastTick = now;
      const n = Math.floor(this.#eventCarry);
      this.#eventCarry -= n;
      try {
        this.emitRandomEvents(Math.min(n, 1_000_000));
      } catch {
        this.countInternalError();
      }
      this.#scheduleTick();
    }, period);
  }

  // ── faults ──────────────────────────────────────────────────────────────────────────────────────

  /** Applies a fault to its target connections; returns how many connections it hit. */
  inject(fault: Fault): number {
    if (this.closed) throw new SimulatorError('SIMULATOR_CLOSED', 'the simulator is closed');
    const f = parseFault(fault);
    this.#counts.faultsInjected++;
    if (f.next !== undefined) {
      this.#armed.push({ fault: f, left: f.next });
      return 0;
    }
    const targets = [...this.connections].filter((c) => {
      if (!c.open) return false;
      if (f.sessionId !== undefined) return c.session?.id === f.sessionId;
      if (f.shardId !== undefined) return c.session?.shard[0] === f.shardId;
      return true;
    });
    for (const c of targets) c.applyFault(f);
    return targets.length;
  }

  /** The armed faults a connection that just opened must apply before HELLO (each counted down once). */
  takeArmedFaults(): Fault[] {
    const out: Fault[] = [];
    for (const a of this.#armed) {
      out.push(a.fault);
      a.left--;
    }
    for (let i = this.#armed.length - 1; i >= 0; i--) if (this.#armed[i]!.left <= 0) this.#armed.splice(i, 1);
    return out;
  }

  // ── stats ───────────────────────────────────────────────────────────────────────────────────────

  sessionStartLimit(): SimulatorStats['sessionStartLimit'] {
    const now = this.options.clock.now();
    return {
      total: this.#budget.total,
      remaining: this.#budget.remaining(now),
      reset_after: Math.round(this.#budget.resetAfter(now)),
      max_concurrency: this.options.maxConcurrency,
    };
  }

  stats(): SimulatorStats {
    let open = 0;
    let buffered = 0;
    for (const c of this.connections) {
      if (c.state !== 'closed') open++;
      buffered += c.ws.bufferedAmount;
    }
    return {
      connectionsOpen: open,
      outboundBufferedBytes: buffered,
      ...this.#counts,
      closesByCode: { ...this.#closes },
      serverClosesByCode: { ...this.#serverCloses },
      violations: { ...this.#violations },
      compression: this.compression.snapshot(),
      sessionStartLimit: this.sessionStartLimit(),
      shards: [...this.#shardCounters.values()].map((c) => ({ ...c })),
      sessions: [...this.sessions.values()].map((s) => ({
        sessionId: s.id,
        shardId: s.shard[0],
        shardCount: s.shard[1],
        sequence: s.seq,
        connected: s.connection !== undefined,
        ended: s.ended,
        intents: s.intents,
      })),
      ...(this.opening ? { replay: this.opening.stats() } : {}),
    };
  }

  shutdown(): void {
    this.closed = true;
    this.#armed.length = 0;
    this.options.clock.clearTimeout(this.#eventTimer);
    this.#eventTimer = undefined;
    for (const s of this.sessions.values()) this.options.clock.clearTimeout(s.expiry);
    for (const timer of this.#guildTimers) this.options.clock.clearTimeout(timer);
    this.#guildTimers.clear();
  }
}
