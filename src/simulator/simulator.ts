import { randomBytes } from 'node:crypto';
import { SimulatorError } from '../errors.js';
import type { TimerHandle } from '../util/clock.js';
import type { SimConnection } from './connection.js';
import { Dispatch } from './dispatch.js';
import type { Fault } from './faults.js';
import { parseFault } from './faults.js';
import { INTENTS } from './intents.js';
import type { ResolvedSimulatorOptions } from './options.js';
import {
  IdentifyBuckets,
  isRuleFailure,
  MemberRequestLimiter,
  OPCODES,
  SessionStartBudget,
  VIOLATION_KINDS,
  type ViolationKind,
  validateIdentify,
} from './rules.js';
import { Session } from './session.js';
import type { WorldGuild, WorldMember } from './world.js';
import { World } from './world.js';

/** Where `emitEvent` sends a dispatch. Without any field: routed by `guild_id` (or to shard 0 without one). */
export interface EmitTarget {
  /** Route as if the event belonged to this guild (default: `d.guild_id` when it is a string). */
  readonly guildId?: string;
  /** Every session whose shard id is this, whatever its shard count. */
  readonly shard?: number;
  /** Exactly this session. */
  readonly sessionId?: string;
  /** Intent needed to receive it; default from the event name (gateway.md §10), 0 = always delivered. */
  readonly intent?: number;
}

export interface SessionStats {
  readonly sessionId: string;
  readonly shard: readonly [number, number];
  readonly lastSeq: number;
  readonly connected: boolean;
  readonly ended: boolean;
  readonly intents: number;
}

export interface ShardStats {
  readonly shard: readonly [number, number];
  /** Dispatch frames written to sockets for this shard, replays included. */
  readonly dispatchesSent: number;
  /** Highest `s` assigned by any session of this shard. */
  readonly lastSeq: number;
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
  /** Connections dropped because they had more than `maxBufferedBytes` queued. */
  readonly slowConsumerDrops: number;
  /** Bytes queued in userland on all sockets (a slow reader makes this grow). */
  readonly outboundBufferedBytes: number;
  /** Close codes of ended connections: the code we sent, the client's code, or 1006 for a drop. */
  readonly closesByCode: Readonly<Record<string, number>>;
  /** Close codes the simulator sent. */
  readonly serverClosesByCode: Readonly<Record<string, number>>;
  readonly violations: Readonly<Record<ViolationKind, number>>;
  readonly sessionStartLimit: {
    readonly total: number;
    readonly remaining: number;
    readonly reset_after: number;
    readonly max_concurrency: number;
  };
  readonly shards: readonly ShardStats[];
  readonly sessions: readonly SessionStats[];
}

/** How many ended sessions `stats().sessions` keeps. */
const ENDED_SESSIONS_KEPT = 2000;
const NONCE_MAX_BYTES = 32;
const PRESENCE_STATUSES = new Set(['online', 'dnd', 'idle', 'invisible', 'offline']);

const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

interface ShardCounter {
  shard: readonly [number, number];
  dispatchesSent: number;
  lastSeq: number;
  sessions: number;
}

/**
 * The gateway's brain, independent of sockets: sessions, routing, rules and counters. `SimConnection`s call
 * in with decoded payloads; `emitEvent` fans dispatches out to sessions.
 */
export class SimulatorCore {
  readonly options: ResolvedSimulatorOptions;
  readonly world: World;
  readonly connections = new Set<SimConnection>();
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
  readonly #pool: Dispatch[] = [];
  #poolAt = 0;
  #eventsPerSecond = 0;
  #eventCarry = 0;
  #lastTick = 0;
  gatewayUrl = '';
  resumeGatewayUrl = '';
  closed = false;

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
    this.world = new World({
      seed: options.seed,
      guilds: options.guilds,
      membersPerGuild: options.membersPerGuild,
    });
    this.#buckets = new IdentifyBuckets(options.maxConcurrency, options.identifyWindowMs);
    this.#budget = new SessionStartBudget(options.sessionStartTotal, options.sessionStartResetMs);
    this.#memberRequests = new MemberRequestLimiter(options.memberRequestWindowMs);
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
      c = { shard, dispatchesSent: 0, lastSeq: 0, sessions: 0 };
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
    if (seq > counter.lastSeq) counter.lastSeq = seq;
    const conn = session.connection;
    if (conn) conn.sendDispatch(dispatch, variant, seq);
    return true;
  }

  identify(conn: SimConnection, d: unknown): void {
    const o = this.options;
    const req = validateIdentify(d, {
      tokens: o.tokens,
      privilegedIntents: o.privilegedIntents,
      maxGuildsPerShard: o.maxGuildsPerShard,
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
    const guilds = this.world.guildsForShard(shardId, shardCount);
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
    if (session.shardGiven) ready.shard = [shardId, shardCount];
    this.#deliver(session, new Dispatch('READY', ready, undefined, 0));
    const presences = (req.intents & INTENTS.GUILD_PRESENCES) !== 0;
    const burst = (): void => {
      for (const g of guilds) {
        if (session.ended || !session.connection) break;
        const d = this.world.guildCreate(g, { presences, largeThreshold: req.largeThreshold });
        this.#deliver(session, new Dispatch('GUILD_CREATE', d, g.id));
      }
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
    if (!this.options.tokens.includes(d.token)) {
      conn.closeWith(4004, 'authentication failed', 'authentication');
      return;
    }
    const session = this.sessions.get(d.session_id);
    if (!session || session.ended || session.token !== d.token) {
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

  command(conn: SimConnection, session: Session, op: number, d: unknown): void {
    switch (op) {
      case OPCODES.PRESENCE_UPDATE:
        this.#presenceUpdate(conn, session, d);
        return;
      case OPCODES.VOICE_STATE_UPDATE:
        this.#voiceStateUpdate(conn, session, d);
        return;
      case OPCODES.REQUEST_GUILD_MEMBERS:
        this.#requestGuildMembers(conn, session, d);
        return;
      case OPCODES.REQUEST_SOUNDBOARD_SOUNDS:
        this.#requestSoundboard(conn, session, d);
        return;
      case OPCODES.REQUEST_CHANNEL_INFO:
        this.#requestChannelInfo(conn, session, d);
        return;
    }
  }

  #guildOf(session: Session, id: unknown): WorldGuild | undefined {
    if (typeof id !== 'string') return undefined;
    const g = this.world.guild(id);
    if (!g || g.routeKey % session.shard[1] !== session.shard[0]) return undefined;
    return g;
  }

  #presenceUpdate(conn: SimConnection, session: Session, d: unknown): void {
    if (
      !isObject(d) ||
      typeof d.status !== 'string' ||
      !PRESENCE_STATUSES.has(d.status) ||
      (d.activities !== undefined && !Array.isArray(d.activities)) ||
      (d.since !== undefined && d.since !== null && typeof d.since !== 'number') ||
      (d.afk !== undefined && typeof d.afk !== 'boolean')
    ) {
      conn.closeWith(4001, 'invalid presence update', 'invalid-payload');
      return;
    }
    session.presence = d;
  }

  #voiceStateUpdate(conn: SimConnection, session: Session, d: unknown): void {
    if (
      !isObject(d) ||
      typeof d.guild_id !== 'string' ||
      !(d.channel_id === null || typeof d.channel_id === 'string') ||
      (d.self_mute !== undefined && typeof d.self_mute !== 'boolean') ||
      (d.self_deaf !== undefined && typeof d.self_deaf !== 'boolean')
    ) {
      conn.closeWith(4001, 'invalid voice state update', 'invalid-payload');
      return;
    }
    const guild = this.#guildOf(session, d.guild_id);
    if (!guild) return; // Discord ignores guilds that are not on this session.
    const bot = guild.members.find((m) => m.user.id === this.world.bot.id);
    const voiceSessionId = randomBytes(16).toString('hex');
    this.#deliver(
      session,
      new Dispatch(
        'VOICE_STATE_UPDATE',
        {
          guild_id: guild.id,
          channel_id: d.channel_id,
          user_id: this.world.bot.id,
          member: bot ? this.world.memberJson(guild, bot) : undefined,
          session_id: voiceSessionId,
          deaf: false,
          mute: false,
          self_deaf: d.self_deaf ?? false,
          self_mute: d.self_mute ?? false,
          self_video: false,
          suppress: false,
          request_to_speak_timestamp: null,
        },
        guild.id,
      ),
    );
    if (d.channel_id !== null) {
      this.#deliver(
        session,
        new Dispatch(
          'VOICE_SERVER_UPDATE',
          {
            token: randomBytes(8).toString('hex'),
            guild_id: guild.id,
            endpoint: 'voice.simulator.invalid:443',
          },
          guild.id,
          0,
        ),
      );
    }
  }

  #requestGuildMembers(conn: SimConnection, session: Session, d: unknown): void {
    const o = this.options;
    const hasQuery = isObject(d) && d.query !== undefined;
    const hasIds = isObject(d) && d.user_ids !== undefined;
    if (
      !isObject(d) ||
      typeof d.guild_id !== 'string' ||
      (!hasQuery && !hasIds) ||
      (hasQuery &&
        (typeof d.query !== 'string' ||
          typeof d.limit !== 'number' ||
          !Number.isInteger(d.limit) ||
          d.limit < 0)) ||
      (hasIds &&
        !(
          typeof d.user_ids === 'string' ||
          (Array.isArray(d.user_ids) && d.user_ids.every((x) => typeof x === 'string'))
        )) ||
      (d.presences !== undefined && typeof d.presences !== 'boolean')
    ) {
      conn.closeWith(4001, 'invalid request guild members', 'invalid-payload');
      return;
    }
    const guild = this.#guildOf(session, d.guild_id);
    if (!guild) return;
    const nonce =
      typeof d.nonce === 'string' && Buffer.byteLength(d.nonce) <= NONCE_MAX_BYTES ? d.nonce : undefined;
    const presences = d.presences === true && (session.intents & INTENTS.GUILD_PRESENCES) !== 0;
    let members: WorldMember[];
    let notFound: string[] | undefined;
    if (hasIds) {
      const ids = (typeof d.user_ids === 'string' ? [d.user_ids] : (d.user_ids as string[])).slice(0, 100);
      members = [];
      notFound = [];
      for (const id of ids) {
        const m = guild.members.find((x) => x.user.id === id);
        if (m) members.push(m);
        else notFound.push(id);
      }
    } else {
      const query = (d.query as string).toLowerCase();
      const limit = d.limit as number;
      if (query === '' && limit === 0) {
        if ((session.intents & INTENTS.GUILD_MEMBERS) === 0) {
          // Without GUILD_MEMBERS the full list is refused: one empty chunk (documented choice).
          this.countViolation('missing-intent');
          members = [];
        } else {
          const wait = this.#memberRequests.take(guild.id, o.clock.now());
          if (wait > 0) {
            this.countViolation('member-request-rate');
            const meta: Record<string, unknown> = { guild_id: guild.id };
            if (nonce !== undefined) meta.nonce = nonce;
            this.#deliver(
              session,
              new Dispatch('RATE_LIMITED', { opcode: 8, retry_after: wait / 1000, meta }, guild.id, 0),
            );
            return;
          }
          members = guild.members;
        }
      } else {
        const max = Math.min(limit === 0 ? 100 : limit, 100);
        members = [];
        for (const m of guild.members) {
          if (members.length >= max) break;
          if (
            m.user.username.toLowerCase().startsWith(query) ||
            (m.nick ?? '').toLowerCase().startsWith(query)
          ) {
            members.push(m);
          }
        }
      }
    }
    const size = o.memberChunkSize;
    const chunkCount = Math.max(1, Math.ceil(members.length / size));
    for (let i = 0; i < chunkCount; i++) {
      const slice = members.slice(i * size, (i + 1) * size);
      const chunk: Record<string, unknown> = {
        guild_id: guild.id,
        members: slice.map((m) => this.world.memberJson(guild, m)),
        chunk_index: i,
        chunk_count: chunkCount,
      };
      if (notFound && i === 0) chunk.not_found = notFound;
      if (presences)
        chunk.presences = slice
          .filter((m) => m.status !== 'offline')
          .map((m) => this.world.presenceJson(guild, m));
      if (nonce !== undefined) chunk.nonce = nonce;
      this.#deliver(session, new Dispatch('GUILD_MEMBERS_CHUNK', chunk, guild.id, 0));
    }
  }

  #requestSoundboard(conn: SimConnection, session: Session, d: unknown): void {
    if (!isObject(d) || !Array.isArray(d.guild_ids) || !d.guild_ids.every((x) => typeof x === 'string')) {
      conn.closeWith(4001, 'invalid request soundboard sounds', 'invalid-payload');
      return;
    }
    for (const id of d.guild_ids as string[]) {
      const guild = this.#guildOf(session, id);
      if (!guild) continue;
      this.#deliver(
        session,
        new Dispatch(
          'SOUNDBOARD_SOUNDS',
          {
            guild_id: guild.id,
            soundboard_sounds: [
              {
                name: 'airhorn',
                sound_id: guild.roles[1]?.id ?? guild.id,
                volume: 1,
                emoji_id: null,
                emoji_name: '📯',
                guild_id: guild.id,
                available: true,
              },
            ],
          },
          guild.id,
          0,
        ),
      );
    }
  }

  #requestChannelInfo(conn: SimConnection, session: Session, d: unknown): void {
    if (
      !isObject(d) ||
      typeof d.guild_id !== 'string' ||
      !Array.isArray(d.fields) ||
      !d.fields.every((f) => f === 'status' || f === 'voice_start_time')
    ) {
      conn.closeWith(4001, 'invalid request channel info', 'invalid-payload');
      return;
    }
    const guild = this.#guildOf(session, d.guild_id);
    if (!guild) return;
    const fields = new Set(d.fields as string[]);
    const channels = guild.channels
      .filter((c) => c.type === 2 || c.type === 13)
      .map((c) => {
        const out: Record<string, unknown> = { id: c.id };
        if (fields.has('status')) out.status = c.status ?? null;
        if (fields.has('voice_start_time')) out.voice_start_time = c.voice_start_time ?? null;
        return out;
      });
    this.#deliver(session, new Dispatch('CHANNEL_INFO', { guild_id: guild.id, channels }, guild.id, 0));
  }

  // ── events ──────────────────────────────────────────────────────────────────────────────────────

  /** Sends a dispatch to the sessions it routes to (see `EmitTarget`). Returns how many sessions got it. */
  emitEvent(t: string, d: unknown, target: EmitTarget = {}): number {
    if (this.closed) throw new SimulatorError('SIMULATOR_CLOSED', 'the simulator is closed');
    if (typeof t !== 'string' || !/^[A-Z0-9_]{1,64}$/.test(t)) {
      throw new SimulatorError(
        'SIMULATOR_EVENT_INVALID',
        `event name must match [A-Z0-9_]{1,64}, got ${JSON.stringify(t)}`,
      );
    }
    let guildId = target.guildId;
    if (guildId === undefined && isObject(d) && typeof d.guild_id === 'string') guildId = d.guild_id;
    if (guildId !== undefined && !/^\d{1,20}$/.test(guildId)) {
      throw new SimulatorError(
        'SIMULATOR_EVENT_INVALID',
        `guild id must be a snowflake, got ${JSON.stringify(guildId)}`,
      );
    }
    const dispatch = new Dispatch(t, d, guildId, target.intent);
    return this.#fanOut(dispatch, target);
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
      if (target.shard !== undefined) id = target.shard;
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
      this.emitRandomEvents(Math.min(n, 1_000_000));
      this.#scheduleTick();
    }, period);
  }

  // ── faults ──────────────────────────────────────────────────────────────────────────────────────

  /** Applies a fault to its target connections; returns how many connections it hit. */
  inject(fault: Fault): number {
    if (this.closed) throw new SimulatorError('SIMULATOR_CLOSED', 'the simulator is closed');
    const f = parseFault(fault);
    this.#counts.faultsInjected++;
    const targets = [...this.connections].filter((c) => {
      if (!c.open) return false;
      if (f.sessionId !== undefined) return c.session?.id === f.sessionId;
      if (f.shard !== undefined) return c.session?.shard[0] === f.shard;
      return true;
    });
    for (const c of targets) c.applyFault(f);
    return targets.length;
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
      sessionStartLimit: this.sessionStartLimit(),
      shards: [...this.#shardCounters.values()].map((c) => ({ ...c })),
      sessions: [...this.sessions.values()].map((s) => ({
        sessionId: s.id,
        shard: s.shard,
        lastSeq: s.seq,
        connected: s.connection !== undefined,
        ended: s.ended,
        intents: s.intents,
      })),
    };
  }

  shutdown(): void {
    this.closed = true;
    this.options.clock.clearTimeout(this.#eventTimer);
    this.#eventTimer = undefined;
    for (const s of this.sessions.values()) this.options.clock.clearTimeout(s.expiry);
    for (const timer of this.#guildTimers) this.options.clock.clearTimeout(timer);
    this.#guildTimers.clear();
  }
}
