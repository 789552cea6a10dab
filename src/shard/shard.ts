/**
 * `Shard`: one gateway connection that never dies silently and never loses an event. All protocol
 * decisions live in the pure `transition` function (machine.ts); this class only feeds it inputs
 * (socket events, timers, identify slots, caller calls) and executes the effects it returns.
 */
import { EventEmitter } from 'node:events';
import type { GatewaySendPayload } from 'discord-api-types/v10';
import { ConfigError, SendError, ShardError, type ShardlineError } from '../errors.js';
import { codecFallbackNotice, encodePayload } from '../transport/codecs.js';
import type { GatewayConnection } from '../transport/connection.js';
import type { TimerHandle } from '../util/clock.js';
import { redact, redactError } from '../util/redact.js';
import type { ShardEvent, ShardEventMap, ShardStatus } from './events.js';
import {
  type Effect,
  type Envelope,
  type Input,
  initialState,
  type MachineInput,
  type ShardState,
  type TimerName,
  transition,
} from './machine.js';
import {
  MAX_SEND_PAYLOAD_BYTES,
  machineConfig,
  type ResolvedShardOptions,
  resolveShardOptions,
  type ShardOptions,
} from './options.js';
import type { SessionInfo } from './session-store.js';

/**
 * Unexpected exceptions recovered from in one run of the input loop; beyond it they are still reported
 * but no further reconnect is queued, so a fault that recurs on every input cannot spin the loop.
 */
const MAX_RECOVERIES_PER_RUN = 8;

/** Opcodes the shard sends itself; callers may not. */
const RESERVED_SEND_OPS = new Set([1, 2, 6]);

/** How `destroy()` closes: `Shard`, `ShardManager` and `ShardWorker` take the same options. */
export interface DestroyOptions {
  /**
   * Keep the session for a later process to resume (close 4000) or end it (close 1000). Default: resumable
   * when there is a session store to resume from.
   */
  readonly resumable?: boolean;
  /** Close reason sent to the gateway (at most 123 bytes). */
  readonly reason?: string;
  /** An exact close code (1000 or 3000–4999); overrides `resumable`. Only `Shard.destroy()` takes it. */
  readonly code?: number;
}

interface Deferred<T> {
  readonly promise: Promise<T>;
  resolve(value: T): void;
  reject(error: unknown): void;
}

function deferred<T>(): Deferred<T> {
  let resolve!: (value: T) => void;
  let reject!: (error: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

function byteLength(data: string | Uint8Array): number {
  return typeof data === 'string' ? Buffer.byteLength(data) : data.byteLength;
}

export class Shard extends EventEmitter<ShardEventMap> {
  readonly options: ResolvedShardOptions;
  #state: ShardState;
  #transport: GatewayConnection | null = null;
  #transportConn = 0;
  readonly #closing = new Set<Promise<void>>();
  readonly #timers = new Map<TimerName, TimerHandle>();
  #identifyAbort: AbortController | null = null;
  #nextSendId = 1;
  readonly #pendingSends = new Map<number, Deferred<void>>();
  #connecting: Deferred<void> | null = null;
  /** Bumped by destroy(), so a session load that finishes afterwards does not restart the shard. */
  #epoch = 0;
  readonly #inbox: MachineInput[] = [];
  #running = false;
  /** Exceptions recovered from in the current run of the inbox (see `#recover`). */
  #recoveries = 0;
  #persistChain: Promise<void> = Promise.resolve();
  #latencyMs: number | null = null;

  constructor(options: ShardOptions) {
    super();
    this.options = resolveShardOptions(options);
    this.#state = initialState(machineConfig(this.options));
  }

  get status(): ShardStatus {
    return this.#state.phase.status;
  }

  get id(): number {
    return this.options.shardId;
  }

  /** Current session id, or null before READY / after the session ended. */
  get sessionId(): string | null {
    return this.#state.ctx.session?.sessionId ?? null;
  }

  /** Last dispatch sequence number delivered in the current session. */
  get sequence(): number {
    return this.#state.ctx.seq;
  }

  /** Latency of the last ACKed heartbeat, or null. */
  get latencyMs(): number | null {
    return this.#latencyMs;
  }

  /**
   * Connects (resuming a stored session when the session store has one). Resolves at READY or RESUMED;
   * rejects with a `GatewayCloseError` on a fatal close, or a `ShardError('SHARD_DESTROYED')` when
   * destroyed first. Network failures do not reject: the shard keeps reconnecting with backoff. A second
   * call while started (connecting, ready or reconnecting) rejects with `SHARD_ALREADY_STARTED`.
   */
  connect(): Promise<void> {
    const status = this.status;
    if (this.#connecting || (status !== 'idle' && status !== 'closed')) {
      return Promise.reject(
        new ShardError('SHARD_ALREADY_STARTED', `connect() called while ${status}; the shard runs already`),
      );
    }
    const d = deferred<void>();
    this.#connecting = d;
    // A fast decompression path that failed its self-test here still works, only slower: say so.
    const fallback = codecFallbackNotice(this.options.compression);
    if (fallback !== null) this.#debug(fallback);
    const epoch = this.#epoch;
    void this.#loadSession().then((session) => {
      if (epoch !== this.#epoch) return;
      this.#feed({ type: 'start', session });
    });
    return d.promise;
  }

  /** Closes the connection and stops. Resolves once the socket is closed. */
  async destroy(options: DestroyOptions = {}): Promise<void> {
    const resumable = options.resumable ?? this.options.sessionStore !== undefined;
    const code = options.code ?? (resumable ? 4000 : 1000);
    if (!Number.isInteger(code) || !(code === 1000 || (code >= 3000 && code <= 4999))) {
      throw new ConfigError('code', `destroy code must be 1000 or in 3000–4999, got ${String(code)}`);
    }
    this.#epoch++;
    this.#feed({ type: 'destroy', code, reason: options.reason ?? '' });
    const connecting = this.#connecting;
    this.#connecting = null;
    connecting?.reject(new ShardError('SHARD_DESTROYED', 'the shard was destroyed before it was ready'));
    await Promise.all([...this.#closing]);
    await this.#persistChain;
  }

  /**
   * Sends a payload (presence update, request guild members, voice state, …). Resolves once written to
   * the socket. Sends made while (re)connecting wait in a bounded queue until READY/RESUMED; the send rate
   * never exceeds the gateway limit. Rejects with `SendError` when the payload is too large (> 4096 bytes
   * encoded), the queue is full, or the shard is destroyed first.
   */
  send(payload: GatewaySendPayload): Promise<void> {
    if (payload === null || typeof payload !== 'object' || typeof payload.op !== 'number') {
      return Promise.reject(new SendError('SEND_INVALID', 'a payload is an object with a numeric op'));
    }
    if (RESERVED_SEND_OPS.has(payload.op)) {
      return Promise.reject(
        new SendError(
          'SEND_INVALID',
          `op ${payload.op} (heartbeat/identify/resume) is sent by the shard itself`,
        ),
      );
    }
    let data: string | Uint8Array;
    try {
      data = encodePayload(this.options.encoding, payload);
    } catch (cause) {
      return Promise.reject(new SendError('SEND_INVALID', 'payload could not be encoded', { cause }));
    }
    const size = byteLength(data);
    if (size > MAX_SEND_PAYLOAD_BYTES) {
      return Promise.reject(
        new SendError(
          'PAYLOAD_TOO_LARGE_SEND',
          `payload of op ${payload.op} is ${size} bytes encoded; the gateway allows ${MAX_SEND_PAYLOAD_BYTES}`,
        ),
      );
    }
    const id = this.#nextSendId++;
    const d = deferred<void>();
    this.#pendingSends.set(id, d);
    this.#feed({ type: 'send', id, data });
    return d.promise;
  }

  /** Whether reading the gateway socket is paused (`pauseReading()`). */
  get readsPaused(): boolean {
    return this.#state.ctx.readsPaused;
  }

  /**
   * Stops reading the gateway socket — e.g. while a downstream sink (Redis) cannot take more events —
   * without losing anything: unread payloads wait in the socket (and at the gateway), heartbeats keep the
   * connection alive, and an ACK that is merely unread does not make the connection a zombie. Stays in
   * force across reconnects until `resumeReading()`.
   */
  pauseReading(): void {
    this.#feed({ type: 'reading', paused: true });
  }

  /** Reads the gateway socket again (payloads held meanwhile are processed first, in order). */
  resumeReading(): void {
    this.#feed({ type: 'reading', paused: false });
  }

  // ------------------------------------------------------------------------------------------ internals

  async #loadSession(): Promise<SessionInfo | null> {
    const store = this.options.sessionStore;
    if (!store) return null;
    try {
      const s = await store.load(this.options.shardId);
      return s ?? null;
    } catch (cause) {
      this.#emitError(
        new ShardError('SESSION_STORE_FAILED', 'sessionStore.load failed; identifying', { cause }),
      );
      return null;
    }
  }

  /**
   * Control inputs (a few per connection): stamped with the clock here. Called from timers, socket events
   * and promise callbacks, so nothing may escape it: an exception there would exit the process.
   */
  #feed(input: Input): void {
    try {
      const clock = this.options.clock;
      this.#enqueue({ ...input, now: clock.now(), random: clock.random() });
    } catch (cause) {
      this.#emitError(
        new ShardError('INTERNAL_ERROR', `unexpected exception while handling ${input.type}`, { cause }),
      );
    }
  }

  /**
   * The per-event input. Built as one literal of a single shape, not spread from an `Input`: an object
   * spread over the ten input shapes is megamorphic and was the largest cost of the receive path.
   */
  #feedPayload(conn: number, payload: Envelope): void {
    try {
      const clock = this.options.clock;
      this.#enqueue({ type: 'socket-payload', conn, payload, now: clock.now(), random: clock.random() });
    } catch (cause) {
      this.#emitError(
        new ShardError('INTERNAL_ERROR', 'unexpected exception while handling a payload', { cause }),
      );
    }
  }

  #enqueue(input: MachineInput): void {
    if (this.#running) {
      this.#inbox.push(input);
      return;
    }
    this.#running = true;
    this.#recoveries = 0;
    try {
      // Usually the inbox is empty here: run the input directly instead of queueing it.
      let next: MachineInput | undefined = input;
      if (this.#inbox.length > 0) {
        this.#inbox.push(input);
        next = this.#inbox.shift();
      }
      while (next !== undefined) {
        let effects: readonly Effect[] = [];
        try {
          const result = transition(this.#state, next);
          this.#state = result.state;
          effects = result.effects;
        } catch (cause) {
          this.#recover(cause, `the ${next.type} input`);
        }
        for (let i = 0; i < effects.length; i++) {
          const effect = effects[i]!;
          try {
            this.#run(effect);
          } catch (cause) {
            this.#recover(cause, `the ${effect.type} effect`);
          }
        }
        next = this.#inbox.length > 0 ? this.#inbox.shift() : undefined;
      }
    } finally {
      this.#running = false;
    }
  }

  /**
   * An exception in the protocol step or in an effect (an encode, a socket write, a user-supplied hook)
   * must not escape into the timer or socket callback that fed the input: report it and reconnect.
   */
  #recover(cause: unknown, what: string): void {
    this.#recoveries++;
    const error = new ShardError(
      'INTERNAL_ERROR',
      `unexpected exception while running ${what}; reconnecting`,
      {
        cause,
      },
    );
    this.#emitError(error);
    if (this.#recoveries > MAX_RECOVERIES_PER_RUN) return;
    const clock = this.options.clock;
    this.#inbox.push({
      type: 'socket-error',
      conn: this.#state.ctx.conn,
      error,
      now: clock.now(),
      random: 0,
    });
  }

  #run(effect: Effect): void {
    switch (effect.type) {
      case 'emit':
        this.#emitEvent(effect.event);
        return;
      case 'open':
        this.#open(effect.conn, effect.url);
        return;
      case 'close': {
        const transport = this.#transportFor(effect.conn);
        if (transport) this.#track(transport.close(effect.code, effect.reason));
        return;
      }
      case 'set-reading': {
        const transport = this.#transportFor(effect.conn);
        if (effect.paused) transport?.pause();
        else transport?.resume();
        return;
      }
      case 'heartbeat':
        this.#write(effect.conn, { op: 1, d: effect.seq }, 'heartbeat');
        return;
      case 'identify': {
        const o = this.options;
        this.#write(
          effect.conn,
          {
            op: 2,
            d: {
              token: o.token.reveal(),
              intents: o.intents,
              properties: o.identifyProperties,
              shard: [o.shardId, o.shardCount],
              large_threshold: o.largeThreshold,
              ...(o.presence ? { presence: o.presence } : {}),
            },
          },
          'identify',
        );
        return;
      }
      case 'resume':
        this.#write(
          effect.conn,
          { op: 6, d: { token: this.options.token.reveal(), session_id: effect.sessionId, seq: effect.seq } },
          'resume',
        );
        return;
      case 'send': {
        const transport = this.#transportFor(effect.conn);
        if (transport?.send(effect.data)) {
          const d = this.#pendingSends.get(effect.id);
          this.#pendingSends.delete(effect.id);
          d?.resolve();
        } else {
          this.#inbox.push({
            type: 'send-failed',
            id: effect.id,
            data: effect.data,
            now: this.options.clock.now(),
            random: 0,
          });
        }
        return;
      }
      case 'reject-send': {
        const d = this.#pendingSends.get(effect.id);
        this.#pendingSends.delete(effect.id);
        d?.reject(effect.error);
        return;
      }
      case 'start-timer': {
        const clock = this.options.clock;
        clock.clearTimeout(this.#timers.get(effect.name));
        const name = effect.name;
        this.#timers.set(
          name,
          clock.setTimeout(() => {
            this.#timers.delete(name);
            this.#feed({ type: 'timer', name });
          }, effect.ms),
        );
        return;
      }
      case 'cancel-timer':
        this.options.clock.clearTimeout(this.#timers.get(effect.name));
        this.#timers.delete(effect.name);
        return;
      case 'request-identify-slot':
        this.#requestIdentifySlot(effect.conn);
        return;
      case 'cancel-identify-slot':
        this.#identifyAbort?.abort(new ShardError('SHARD_DESTROYED', 'identify wait cancelled'));
        this.#identifyAbort = null;
        return;
      case 'persist-session':
        this.#persist(effect.session);
        return;
      case 'stopped': {
        this.#identifyAbort?.abort(new ShardError('SHARD_DESTROYED', 'shard stopped'));
        this.#identifyAbort = null;
        const connecting = this.#connecting;
        this.#connecting = null;
        connecting?.reject(
          effect.error
            ? redactError(effect.error, this.options.token)
            : new ShardError('SHARD_DESTROYED', 'the shard was destroyed before it was ready'),
        );
        return;
      }
    }
  }

  #transportFor(conn: number): GatewayConnection | null {
    return this.#transport && this.#transportConn === conn ? this.#transport : null;
  }

  #track(closing: Promise<void>): void {
    this.#closing.add(closing);
    void closing.finally(() => this.#closing.delete(closing));
  }

  #open(conn: number, url: string): void {
    const previous = this.#transport;
    if (previous) this.#track(previous.close(4000, 'superseded'));
    const o = this.options;
    const filter = o.dispatches;
    let transport: GatewayConnection;
    try {
      transport = o.transport(
        {
          url,
          encoding: o.encoding,
          compression: o.compression,
          maxPayloadBytes: o.maxPayloadBytes,
          closeTimeoutMs: o.closeTimeoutMs,
          wantDispatch: filter ? (t) => t === 'READY' || t === 'RESUMED' || filter.has(t) : undefined,
        },
        {
          onOpen: () => this.#feed({ type: 'socket-open', conn }),
          onPayload: (payload) => this.#feedPayload(conn, payload),
          // Text from the network is redacted where it enters: the machine puts it in events and errors.
          onClose: (code, reason) =>
            this.#feed({ type: 'socket-close', conn, code, reason: redact(reason, o.token) }),
          onError: (error) => this.#feed({ type: 'socket-error', conn, error: redactError(error, o.token) }),
        },
      );
    } catch (cause) {
      // A bad URL or missing codec: report it and let the machine treat it as a failed connection.
      this.#transport = null;
      this.#transportConn = conn;
      const error =
        cause instanceof Error && 'code' in cause
          ? (cause as ShardlineError)
          : new ShardError('SOCKET_ERROR', 'could not open the gateway socket', { cause });
      this.#inbox.push({ type: 'socket-error', conn, error, now: this.options.clock.now(), random: 0 });
      // Without a transport no close event will come; the machine closes on socket-error itself.
      return;
    }
    this.#transport = transport;
    this.#transportConn = conn;
    if (this.#state.ctx.readsPaused) transport.pause();
    this.#track(transport.closed);
  }

  #write(conn: number, payload: { op: number; d: unknown }, what: string): void {
    const transport = this.#transportFor(conn);
    if (!transport?.isOpen) {
      this.#debug(`skipped ${what}: socket is not open`);
      return;
    }
    transport.send(encodePayload(this.options.encoding, payload));
  }

  #requestIdentifySlot(conn: number): void {
    this.#identifyAbort?.abort(new ShardError('SHARD_DESTROYED', 'identify wait superseded'));
    const ac = new AbortController();
    this.#identifyAbort = ac;
    let wait: Promise<void>;
    try {
      wait = Promise.resolve(this.options.identifyQueue.waitForIdentify(this.options.shardId, ac.signal));
    } catch (err) {
      wait = Promise.reject(err);
    }
    wait.then(
      () => {
        if (ac.signal.aborted) return;
        this.#identifyAbort = null;
        this.#feed({ type: 'identify-slot', conn });
      },
      (cause: unknown) => {
        if (ac.signal.aborted) return;
        this.#identifyAbort = null;
        this.#feed({
          type: 'socket-error',
          conn,
          error: new ShardError('IDENTIFY_QUEUE_FAILED', 'identifyQueue.waitForIdentify failed', { cause }),
        });
      },
    );
  }

  #persist(session: SessionInfo | null): void {
    const store = this.options.sessionStore;
    if (!store) return;
    const shardId = this.options.shardId;
    this.#persistChain = this.#persistChain.then(async () => {
      try {
        await store.save(shardId, session);
      } catch (cause) {
        this.#emitError(new ShardError('SESSION_STORE_FAILED', 'sessionStore.save failed', { cause }));
      }
    });
  }

  #debug(message: string): void {
    if (this.listenerCount('debug') === 0) return;
    try {
      this.emit('debug', redact(message, this.options.token));
    } catch {
      // A throwing debug listener must not break the shard.
    }
  }

  /** 'error' without a listener would throw from `emit`; report it as debug instead of crashing. */
  #emitError(raw: ShardlineError): void {
    let error = raw;
    try {
      error = redactError(raw, this.options.token);
    } catch {
      error = new ShardError('INTERNAL_ERROR', `an error (${String(raw.code)}) could not be redacted`);
    }
    if (this.listenerCount('error') === 0) {
      this.#debug(`unhandled shard error (add an 'error' listener): ${error.code}: ${error.message}`);
      return;
    }
    try {
      this.emit('error', error);
    } catch {
      this.#debug(`an 'error' listener threw while handling ${error.code}`);
    }
  }

  #emitEvent(event: ShardEvent): void {
    if (event.name === 'dispatch') {
      // The per-event case, first and without the generic spread of `args`.
      try {
        this.emit('dispatch', event.args[0]);
      } catch (cause) {
        this.#emitError(new ShardError('LISTENER_FAILED', `a 'dispatch' listener threw`, { cause }));
      }
      return;
    }
    if (event.name === 'error') {
      this.#emitError(event.args[0]);
      return;
    }
    if (event.name === 'debug') {
      this.#debug(event.args[0]);
      return;
    }
    if (event.name === 'heartbeat') this.#latencyMs = event.args[0].latencyMs;
    const settles = event.name === 'ready' || event.name === 'resumed';
    try {
      // Listener exceptions must not corrupt the machine: report them and carry on.
      (this.emit as (name: string, ...args: unknown[]) => boolean)(event.name, ...event.args);
    } catch (cause) {
      this.#emitError(new ShardError('LISTENER_FAILED', `a '${event.name}' listener threw`, { cause }));
    }
    if (settles) {
      const connecting = this.#connecting;
      this.#connecting = null;
      connecting?.resolve();
    }
  }
}
