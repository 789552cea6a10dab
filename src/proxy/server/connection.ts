/**
 * One client WebSocket: HELLO, heartbeats, IDENTIFY or RESUME, then the session's events; the per-connection
 * limits (sends per window, payload size) and every close code as Discord uses them.
 */
import type { Duplex } from 'node:stream';
import type { WebSocket } from 'ws';
import type { TimerHandle } from '../../util/clock.js';
import type { SharedSessions } from '../shared-sessions.js';
import { FORWARDED_OPS, handleCommand } from './commands.js';
import type { ProxyContext } from './context.js';
import { OutboundEvent } from './outbound-event.js';
import { SendWindow } from './send-window.js';
import type { ClientSession, SessionSink } from './session.js';
import { checkIdentify, checkResume, isRecord, isRefusal, type Refusal } from './validate.js';
import type { Wire } from './wire.js';

type State = 'unauthenticated' | 'waiting' | 'attached' | 'closed';

const RESUMED_D = { _trace: ['["shardline-proxy"]'] };

/** Opcodes a client may send; any other is 4001. */
const CLIENT_OPS: ReadonlySet<number> = new Set([1, 2, 6, ...FORWARDED_OPS]);
/** Client close codes that end the session (Discord invalidates it on a clean close). */
const SESSION_ENDING_CLIENT_CLOSES: ReadonlySet<number> = new Set([1000, 1001]);
/** After our close frame, how long the peer has to answer before the socket is destroyed. */
const CLOSE_HANDSHAKE_MS = 2_000;
/** Frames queued on a socket above this (a client that stopped reading) drop the connection. */
const MAX_BUFFERED_BYTES = 64 * 1024 * 1024;

export class ClientConnection implements SessionSink {
  readonly #ws: WebSocket;
  readonly #ctx: ProxyContext;
  readonly #wire: Wire;
  readonly #window: SendWindow;
  #state: State = 'unauthenticated';
  #session: ClientSession | undefined;
  #heartbeatTimer: TimerHandle | undefined;
  #cancelWait: (() => void) | undefined;
  #closing = false;
  #corked = false;

  constructor(ws: WebSocket, ctx: ProxyContext, wire: Wire) {
    this.#ws = ws;
    this.#ctx = ctx;
    this.#wire = wire;
    const o = ctx.options;
    this.#window = new SendWindow(o.sendLimit, o.sendWindowMs);
    ws.on('message', (data, isBinary) => this.#guard(() => this.#onMessage(data as Buffer, isBinary)));
    ws.on('close', (code) => this.#onClose(code));
    // `ws` refuses a frame over maxPayload at its header (and would close 1009); Discord's answer is 4002.
    const receiver = (ws as unknown as { _receiver?: import('node:events').EventEmitter })._receiver;
    receiver?.prependListener('error', (err: Error & { code?: string }) => {
      if (err.code === 'WS_ERR_UNSUPPORTED_MESSAGE_LENGTH')
        this.close(4002, `payload larger than ${o.maxPayloadBytes} bytes`);
    });
  }

  /** The socket or `ws` reported an error: unless our close is under way, drop the connection. */
  onSocketError(): void {
    if (!this.#closing) this.#ws.terminate();
  }

  get session(): ClientSession | undefined {
    return this.#session;
  }

  start(): void {
    this.#send(
      this.#wire.payload(10, {
        heartbeat_interval: this.#ctx.options.heartbeatIntervalMs,
        _trace: ['["shardline-proxy"]'],
      }),
    );
    this.#armHeartbeat();
  }

  deliver(event: OutboundEvent, s: number): void {
    if (this.#state !== 'attached') return;
    this.#send(this.#wire.dispatch(event, s));
  }

  /** Closes with `code` (the session stays resumable unless the code ends it). */
  close(code: number, reason: string, endSession = false): void {
    if (this.#closing) return;
    this.#closing = true;
    this.#detach(endSession);
    this.#state = 'closed';
    this.#ctx.options.clock.clearTimeout(this.#heartbeatTimer);
    try {
      this.#ws.close(code, reason.slice(0, 120));
    } catch {
      this.#ws.terminate();
    }
    setTimeout(() => this.#ws.terminate(), CLOSE_HANDSHAKE_MS).unref();
  }

  #guard(fn: () => void): void {
    try {
      fn();
    } catch (err) {
      this.#ctx.debug(`client connection failed: ${String((err as Error)?.message ?? err)}`);
      this.close(4000, 'internal error');
    }
  }

  #send(frame: string | Uint8Array): void {
    if (this.#ws.readyState !== this.#ws.OPEN) return;
    if (this.#ws.bufferedAmount > MAX_BUFFERED_BYTES) {
      this.#ctx.debug('client stopped reading; dropping its connection (the session stays resumable)');
      this.#detach(false);
      this.#ws.terminate();
      return;
    }
    this.#cork();
    this.#ws.send(frame, { binary: typeof frame !== 'string' });
  }

  /**
   * Corks the socket until the current tick ends: the events of one upstream read (a burst) leave in one
   * writev instead of one syscall each, which is most of the proxy's per-event cost after its own work.
   */
  #cork(): void {
    if (this.#corked) return;
    const socket = (this.#ws as unknown as { _socket?: Duplex | null })._socket;
    if (!socket) return;
    this.#corked = true;
    socket.cork();
    process.nextTick(() => {
      this.#corked = false;
      socket.uncork();
    });
  }

  #armHeartbeat(): void {
    const { clock, heartbeatIntervalMs, heartbeatGraceMs } = this.#ctx.options;
    clock.clearTimeout(this.#heartbeatTimer);
    this.#heartbeatTimer = clock.setTimeout(
      () => this.#guard(() => this.close(4009, 'session timed out', true)),
      heartbeatIntervalMs + heartbeatGraceMs,
    );
  }

  #refuse(r: Refusal): void {
    // 4003, 4004, 4007, 4009–4014 end the session; others leave it resumable.
    const ending = r.code === 4003 || r.code === 4004 || r.code === 4007 || r.code >= 4009;
    this.close(r.code, r.reason, ending);
  }

  #onMessage(data: Buffer, isBinary: boolean): void {
    if (this.#closing) return;
    if (data.length > this.#ctx.options.maxPayloadBytes) {
      this.close(4002, `payload larger than ${this.#ctx.options.maxPayloadBytes} bytes`);
      return;
    }
    if (!this.#window.take(this.#ctx.options.clock.now())) {
      this.close(4008, 'rate limited');
      return;
    }
    let payload: unknown;
    try {
      payload = this.#wire.decode(data, isBinary);
    } catch {
      this.close(4002, 'error while decoding payload');
      return;
    }
    if (!isRecord(payload) || typeof payload.op !== 'number' || !Number.isInteger(payload.op)) {
      this.close(4002, 'payload must be an object with an integer op');
      return;
    }
    const { op, d } = payload as { op: number; d: unknown };
    if (!CLIENT_OPS.has(op)) {
      this.close(4001, 'unknown opcode');
      return;
    }
    if (op === 1) {
      if (d !== null && d !== undefined && !(typeof d === 'number' && Number.isSafeInteger(d))) {
        this.close(4002, 'heartbeat: d must be an integer or null');
        return;
      }
      this.#armHeartbeat();
      this.#send(this.#wire.payload(11, null));
      return;
    }
    if (op === 2 || op === 6) {
      if (this.#state !== 'unauthenticated') {
        this.close(4005, 'already authenticated');
        return;
      }
      if (op === 2) this.#identify(d);
      else this.#resume(d);
      return;
    }
    if (this.#state !== 'attached' || !this.#session) {
      this.#refuse({ code: 4003, reason: 'not authenticated' });
      return;
    }
    const refusal = handleCommand(this.#ctx, this.#session, op, d);
    if (refusal) this.#refuse(refusal);
  }

  #identify(d: unknown): void {
    const { options, upstream } = this.#ctx;
    if (upstream.shardCount === 0) {
      // Upstream not connected yet: the shard count is unknown. Discord's answer to a session it cannot
      // start now is op 9.
      this.#send(this.#wire.payload(9, false));
      return;
    }
    const result = checkIdentify(d, options.clientTokens, upstream);
    if (isRefusal(result)) {
      this.#refuse(result);
      return;
    }
    this.#state = 'waiting';
    this.#cancelWait = this.#ctx.whenReady(result.shard[0], () =>
      this.#guard(() => {
        this.#cancelWait = undefined;
        if (this.#state !== 'waiting') return;
        if (upstream.shardCount !== result.shard[1]) {
          this.close(4010, 'invalid shard', true);
          return;
        }
        const session = this.#ctx.sessions.create(result.shard, result.intents);
        if (!session) {
          this.#state = 'unauthenticated';
          this.#send(this.#wire.payload(9, false));
          return;
        }
        this.#ctx.shared?.prepare(session);
        this.#attach(session);
        this.#sendReady(session);
        this.#ctx.shared?.created(session);
        if (result.presence) handleCommand(this.#ctx, session, 3, result.presence);
      }),
    );
  }

  #sendReady(session: ClientSession): void {
    const { cache, options } = this.#ctx;
    const now = options.clock.now();
    const shard = [session.shardId, session.shardCount];
    session.push(
      new OutboundEvent('READY', {
        v: 10,
        user: cache.user(),
        guilds: cache.readyGuilds(session.shardId),
        session_id: session.id,
        resume_gateway_url: this.#ctx.gatewayUrl(),
        shard,
        application: cache.application(),
        session_type: 'normal',
        user_settings: {},
        relationships: [],
        private_channels: [],
        presences: [],
        guild_join_requests: [],
        geo_ordered_rtc_regions: [],
        _trace: ['["shardline-proxy"]'],
      }),
      now,
    );
    const guildsIntent = (session.intents & 1) !== 0;
    for (const guildId of cache.shardGuildIds(session.shardId)) {
      const guild = cache.guildCreate(guildId);
      if (guild === undefined || !guildsIntent) continue;
      session.push(new OutboundEvent('GUILD_CREATE', withoutPresences(guild, session.intents)), now);
    }
  }

  #resume(d: unknown): void {
    const { options, sessions } = this.#ctx;
    const result = checkResume(d, options.clientTokens);
    if (isRefusal(result)) {
      this.#refuse(result);
      return;
    }
    if (this.#ctx.shared) {
      this.#resumeShared(this.#ctx.shared, result.sessionId, result.seq);
      return;
    }
    const session = sessions.get(result.sessionId);
    const now = options.clock.now();
    if (!session || session.ended) {
      this.#send(this.#wire.payload(9, false));
      return;
    }
    if (result.seq > session.seq) {
      this.close(4007, 'invalid seq', true);
      sessions.end(session);
      return;
    }
    const missed = session.replayAfter(result.seq, now);
    if (!missed) {
      sessions.end(session);
      this.#send(this.#wire.payload(9, false));
      return;
    }
    const previous = session.sink;
    if (previous && previous !== this) previous.takenOver();
    this.#attach(session);
    for (const { s, event } of missed) this.#send(this.#wire.dispatch(event, s));
    session.push(new OutboundEvent('RESUMED', { _trace: ['["shardline-proxy"]'] }), now);
  }

  /** Redis mode: the session may live on another replica; `SharedSessions` settles the RESUME. */
  #resumeShared(shared: SharedSessions, id: string, seq: number): void {
    this.#state = 'waiting';
    shared.resume(id, seq).then(
      (r) =>
        this.#guard(() => {
          const now = this.#ctx.options.clock.now();
          if (this.#state !== 'waiting') {
            // closed meanwhile: a session taken over stays resumable, from here now
            if (r.kind === 'ok') {
              r.session.release(new OutboundEvent('RESUMED', RESUMED_D), r.pos, now);
              if (r.session.sink === undefined) r.session.detachedAt = now;
            }
            return;
          }
          if (r.kind === 'bad-seq') {
            this.close(4007, 'invalid seq', true);
            return;
          }
          if (r.kind === 'invalid') {
            this.#ctx.debug(`resume refused (op 9): ${r.why}`);
            this.#state = 'unauthenticated';
            this.#send(this.#wire.payload(9, false));
            return;
          }
          const previous = r.session.sink;
          if (previous && previous !== this) previous.takenOver();
          this.#attach(r.session);
          for (const { s, event } of r.missed) this.#send(this.#wire.dispatch(event, s));
          r.session.release(new OutboundEvent('RESUMED', RESUMED_D), r.pos, now);
        }),
      (err: unknown) =>
        this.#guard(() => {
          throw err;
        }),
    );
  }

  /** Another connection resumed this session: this one (a zombie, usually) is closed, resumable. */
  takenOver(): void {
    this.#session = undefined;
    this.#state = 'closed';
    this.close(4009, 'session resumed on another connection');
  }

  #attach(session: ClientSession): void {
    this.#session = session;
    session.sink = this;
    session.detachedAt = undefined;
    this.#state = 'attached';
  }

  #detach(endSession: boolean): void {
    this.#cancelWait?.();
    this.#cancelWait = undefined;
    const session = this.#session;
    this.#session = undefined;
    if (!session) return;
    if (session.sink === this) {
      session.sink = undefined;
      session.detachedAt = this.#ctx.options.clock.now();
    }
    if (endSession) this.#ctx.sessions.end(session);
  }

  #onClose(code: number): void {
    this.#closing = true;
    this.#state = 'closed';
    this.#ctx.options.clock.clearTimeout(this.#heartbeatTimer);
    this.#detach(SESSION_ENDING_CLIENT_CLOSES.has(code));
    this.#wire.close();
  }
}

/** Without GUILD_PRESENCES a client's GUILD_CREATE carries no presences, as Discord sends it. */
function withoutPresences(guild: unknown, intents: number): unknown {
  if ((intents & 256) !== 0 || !isRecord(guild) || !Array.isArray(guild.presences)) return guild;
  return { ...guild, presences: [] };
}
