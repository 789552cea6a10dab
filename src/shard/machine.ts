/**
 * The shard's protocol logic as one pure function: `transition(state, input) → { state, effects }`.
 * No sockets, no timers, no randomness of its own: every input carries the clock's `now` and one
 * `random` float, and every side effect is returned as data for `Shard` to execute.
 */
import type { GatewayDispatchPayload, GatewayReadyDispatchData } from 'discord-api-types/v10';
import {
  type CloseAction,
  GatewayCloseError,
  ProtocolViolationError,
  SendError,
  ShardError,
  type ShardlineError,
  TimeoutError,
} from '../errors.js';
import type { GatewayEnvelope } from '../transport/envelope.js';
import { type BackoffOptions, backoffDelay } from '../util/backoff.js';
import { clientCloseEndsSession, closeCodeInfo, RESUMABLE_CLIENT_CLOSE_CODE } from './close-codes.js';
import type { ShardEvent, ShardStatus } from './events.js';
import {
  describeValue,
  gatewayUrlProblem,
  heartbeatIntervalProblem,
  isValidSequence,
  MAX_TIMER_MS,
  sessionIdProblem,
} from './gateway-values.js';
import {
  ackReceived,
  beatSent,
  firstBeatDelay,
  type HeartbeatState,
  isZombie,
  startHeartbeat,
} from './heartbeat.js';
import {
  available,
  emptyWindow,
  nextSlotAt,
  recordSend,
  reservedSlots,
  type SendLimit,
  type SendWindow,
} from './send-limiter.js';
import type { SessionInfo } from './session-store.js';

// ---------------------------------------------------------------------------------------------- config

export interface MachineConfig {
  readonly gatewayUrl: string;
  readonly shardId: number;
  readonly shardCount: number;
  readonly openTimeoutMs: number;
  readonly helloTimeoutMs: number;
  readonly readyTimeoutMs: number;
  readonly backoff: BackoffOptions;
  /** Random wait before identifying again after op 9 `d:false`, `[min, max]` ms. */
  readonly invalidSessionDelayMs: readonly [number, number];
  readonly maxQueuedSends: number;
  readonly sendLimit: SendLimit;
  /** Dispatch types the caller wants; null = all. READY and RESUMED are always processed. */
  readonly dispatchFilter: ReadonlySet<string> | null;
  /** Hello `heartbeat_interval` accepted, in ms; anything else is a protocol violation. */
  readonly minHeartbeatIntervalMs: number;
  readonly maxHeartbeatIntervalMs: number;
  /**
   * How long a connection must stay READY/RESUMED before the reconnect backoff starts over, in ms; null =
   * one heartbeat interval of that connection. A connection told to go away sooner counts as a failure.
   */
  readonly stableConnectionMs: number | null;
}

// ---------------------------------------------------------------------------------------------- state

export type ConnectMode = 'identify' | 'resume';

export type Phase =
  | { readonly status: 'idle' }
  | { readonly status: 'connecting'; readonly mode: ConnectMode }
  | { readonly status: 'awaiting-hello'; readonly mode: ConnectMode }
  | { readonly status: 'waiting-identify-slot' }
  | { readonly status: 'identifying' }
  | { readonly status: 'resuming'; readonly replayed: number }
  | { readonly status: 'ready' }
  | { readonly status: 'backoff'; readonly mode: ConnectMode; readonly delayMs: number }
  | { readonly status: 'closed'; readonly error: ShardlineError | null };

/** States in which a socket exists (opening or open). */
const LIVE: ReadonlySet<ShardStatus> = new Set([
  'connecting',
  'awaiting-hello',
  'waiting-identify-slot',
  'identifying',
  'resuming',
  'ready',
]);

/** States in which Hello was received, so heartbeats run. */
const BEATING: ReadonlySet<ShardStatus> = new Set([
  'waiting-identify-slot',
  'identifying',
  'resuming',
  'ready',
]);

export interface Session {
  readonly sessionId: string;
  readonly resumeUrl: string;
}

export interface OutboxEntry {
  readonly id: number;
  readonly data: string | Uint8Array;
}

export interface Context {
  readonly config: MachineConfig;
  /** Id of the current (or last) connection; inputs from other connections are stale and ignored. */
  readonly conn: number;
  readonly session: Session | null;
  /** Last dispatch sequence delivered in this session; 0 before any. */
  readonly seq: number;
  /** Reconnects since the last stable connection (drives the backoff). */
  readonly attempt: number;
  /** When the current connection became READY/RESUMED (clock ms), or null when it has not. */
  readonly readyAt: number | null;
  /** Resumes that failed in a row; at 2 the shard identifies instead. */
  readonly resumeFailures: number;
  readonly window: SendWindow;
  readonly hb: HeartbeatState | null;
  readonly outbox: readonly OutboxEntry[];
  /**
   * The caller stopped reading the socket (`pauseReading()`, e.g. while Redis is down): payloads wait in
   * the socket, so an ACK may have arrived unread. Heartbeats keep going out, but a missing ACK is not a
   * zombie and the Hello/READY timeouts wait, until reading resumes. Survives reconnects.
   */
  readonly readsPaused: boolean;
}

export interface ShardState {
  readonly phase: Phase;
  readonly ctx: Context;
}

export function initialState(config: MachineConfig): ShardState {
  return {
    phase: { status: 'idle' },
    ctx: {
      config,
      conn: 0,
      session: null,
      seq: 0,
      attempt: 0,
      readyAt: null,
      resumeFailures: 0,
      window: emptyWindow(),
      hb: null,
      outbox: [],
      readsPaused: false,
    },
  };
}

// ---------------------------------------------------------------------------------------------- inputs

/** A decoded gateway payload (from the transport). `skipped` dispatches had their `d` left undecoded. */
export type Envelope = GatewayEnvelope;

export type TimerName = 'open' | 'hello' | 'ready' | 'heartbeat' | 'reconnect' | 'drain';

export type Input =
  | { readonly type: 'start'; readonly session: SessionInfo | null }
  | { readonly type: 'socket-open'; readonly conn: number }
  | { readonly type: 'socket-payload'; readonly conn: number; readonly payload: Envelope }
  | { readonly type: 'socket-close'; readonly conn: number; readonly code: number; readonly reason: string }
  | { readonly type: 'socket-error'; readonly conn: number; readonly error: ShardlineError }
  | { readonly type: 'timer'; readonly name: TimerName }
  | { readonly type: 'identify-slot'; readonly conn: number }
  | { readonly type: 'send'; readonly id: number; readonly data: string | Uint8Array }
  /** A caller payload could not be written (the socket closed under it): it goes back to the queue front. */
  | { readonly type: 'send-failed'; readonly id: number; readonly data: string | Uint8Array }
  | { readonly type: 'destroy'; readonly code: number; readonly reason: string }
  /** The caller stops (`paused: true`) or resumes reading the gateway socket. */
  | { readonly type: 'reading'; readonly paused: boolean };

/** Every input carries the time and one random float in [0, 1), so the transition stays pure. */
export type MachineInput = Input & { readonly now: number; readonly random: number };

// ---------------------------------------------------------------------------------------------- effects

export type Effect =
  | { readonly type: 'open'; readonly conn: number; readonly url: string }
  | { readonly type: 'close'; readonly conn: number; readonly code: number; readonly reason: string }
  /** Stop (`paused`) or resume reading connection `conn`'s socket. */
  | { readonly type: 'set-reading'; readonly conn: number; readonly paused: boolean }
  | { readonly type: 'heartbeat'; readonly conn: number; readonly seq: number | null }
  | { readonly type: 'identify'; readonly conn: number }
  | {
      readonly type: 'resume';
      readonly conn: number;
      readonly sessionId: string;
      readonly seq: number;
    }
  | { readonly type: 'send'; readonly conn: number; readonly id: number; readonly data: string | Uint8Array }
  | { readonly type: 'reject-send'; readonly id: number; readonly error: SendError }
  | { readonly type: 'start-timer'; readonly name: TimerName; readonly ms: number }
  | { readonly type: 'cancel-timer'; readonly name: TimerName }
  | { readonly type: 'request-identify-slot'; readonly conn: number }
  | { readonly type: 'cancel-identify-slot' }
  | { readonly type: 'persist-session'; readonly session: SessionInfo | null }
  | { readonly type: 'emit'; readonly event: ShardEvent }
  /** The shard reached `closed`: settle `connect()` / `destroy()`; `error` is set for a fatal stop. */
  | { readonly type: 'stopped'; readonly error: ShardlineError | null };

export interface TransitionResult {
  readonly state: ShardState;
  readonly effects: readonly Effect[];
}

// ---------------------------------------------------------------------------------------------- helpers

/** Mutable scratch used inside one transition; never escapes. */
class Step {
  phase: Phase;
  ctx: Context;
  readonly effects: Effect[] = [];
  readonly now: number;
  readonly random: number;
  readonly #initialStatus: ShardStatus;
  readonly #initial: ShardState;

  constructor(state: ShardState, input: MachineInput) {
    this.#initial = state;
    this.phase = state.phase;
    this.ctx = state.ctx;
    this.now = input.now;
    this.random = input.random;
    this.#initialStatus = state.phase.status;
  }

  set(ctx: Partial<Context>): void {
    this.ctx = { ...this.ctx, ...ctx };
  }

  go(phase: Phase): void {
    this.phase = phase;
  }

  fx(effect: Effect): void {
    this.effects.push(effect);
  }

  emit(event: ShardEvent): void {
    this.effects.push({ type: 'emit', event });
  }

  debug(message: string): void {
    this.emit({ name: 'debug', args: [message] });
  }

  error(error: ShardlineError): void {
    this.emit({ name: 'error', args: [error] });
  }

  timer(name: TimerName, ms: number): void {
    // A delay Node cannot honour (above 2^31−1 ms, or NaN) would fire after 1 ms: never let one through.
    const safe = Number.isFinite(ms) ? Math.min(MAX_TIMER_MS, Math.max(0, Math.round(ms))) : MAX_TIMER_MS;
    this.effects.push({ type: 'start-timer', name, ms: safe });
  }

  cancel(...names: TimerName[]): void {
    for (const name of names) this.effects.push({ type: 'cancel-timer', name });
  }

  finish(): TransitionResult {
    const status = this.phase.status;
    if (status !== this.#initialStatus) {
      // The status event goes first so listeners see `ready` after `status: ready`.
      this.effects.unshift({ type: 'emit', event: { name: 'status', args: [status, this.#initialStatus] } });
    }
    const unchanged = this.phase === this.#initial.phase && this.ctx === this.#initial.ctx;
    return { state: unchanged ? this.#initial : { phase: this.phase, ctx: this.ctx }, effects: this.effects };
  }
}

function sessionInfo(ctx: Context): SessionInfo | null {
  if (!ctx.session) return null;
  return {
    sessionId: ctx.session.sessionId,
    sequence: ctx.seq,
    resumeUrl: ctx.session.resumeUrl,
    shardId: ctx.config.shardId,
    shardCount: ctx.config.shardCount,
  };
}

function persist(step: Step): void {
  step.fx({ type: 'persist-session', session: sessionInfo(step.ctx) });
}

function forgetSession(step: Step): void {
  const had = step.ctx.session !== null;
  step.set({ session: null, seq: 0, resumeFailures: 0 });
  if (had) step.fx({ type: 'persist-session', session: null });
}

function openConnection(step: Step, mode: ConnectMode): void {
  const session = step.ctx.session;
  const resume = mode === 'resume' && session !== null;
  const conn = step.ctx.conn + 1;
  const url = resume ? session.resumeUrl : step.ctx.config.gatewayUrl;
  step.set({ conn, hb: null, window: emptyWindow() });
  step.go({ status: 'connecting', mode: resume ? 'resume' : 'identify' });
  step.fx({ type: 'open', conn, url });
  step.timer('open', step.ctx.config.openTimeoutMs);
  step.debug(
    `connection ${conn}: opening ${resume ? 'resume' : 'gateway'} URL to ${resume ? 'resume' : 'identify'}`,
  );
}

/** Cancels everything tied to the current connection. */
function cancelConnectionWork(step: Step): void {
  step.cancel('open', 'hello', 'ready', 'heartbeat', 'drain');
  if (step.phase.status === 'waiting-identify-slot') step.fx({ type: 'cancel-identify-slot' });
}

function rejectOutbox(step: Step, error: SendError): void {
  for (const entry of step.ctx.outbox) step.fx({ type: 'reject-send', id: entry.id, error });
  step.set({ outbox: [] });
}

function wasResuming(phase: Phase): boolean {
  return (
    phase.status === 'resuming' ||
    ((phase.status === 'connecting' || phase.status === 'awaiting-hello') && phase.mode === 'resume')
  );
}

interface Drop {
  readonly code: number;
  readonly reason: string;
  /** True when we close the socket ourselves (a `close` effect is produced). */
  readonly byClient: boolean;
  readonly action: CloseAction;
  /** Orderly reconnects (op 7, zombie, op 9 resumable) skip the backoff on their first attempt. */
  readonly orderly: boolean;
  /** Fixed delay instead of the backoff (op 9 `d:false`). */
  readonly delayMs?: number;
  readonly description?: string;
}

/**
 * A connection that ends before it was READY for `stableConnectionMs` does not reset the backoff: a gateway
 * that says "go away" right after every RESUMED must not get a reconnect storm (each one sends the token).
 */
function settleAttempts(step: Step): void {
  const readyAt = step.ctx.readyAt;
  if (readyAt === null) return;
  const stableMs = step.ctx.config.stableConnectionMs ?? step.ctx.hb?.intervalMs ?? 0;
  const lived = step.now - readyAt;
  if (lived >= stableMs) step.set({ attempt: 0, readyAt: null });
  else {
    step.set({ readyAt: null });
    step.debug(
      `connection ended ${lived} ms after it became ready (stable after ${stableMs} ms): counted as a failed attempt`,
    );
  }
}

/** The gateway sent a value the shard will not act on: report it and drop the connection. */
function violation(step: Step, field: string, message: string, action: 'resume' | 'reidentify'): void {
  step.error(new ProtocolViolationError(field, message));
  dropConnection(step, {
    code: RESUMABLE_CLIENT_CLOSE_CODE,
    reason: `invalid ${field}`,
    byClient: true,
    action,
    orderly: false,
  });
}

/** The current connection is gone (or being closed by us): decide resume / identify / stop. */
function dropConnection(step: Step, drop: Drop): void {
  const resumingBefore = wasResuming(step.phase);
  settleAttempts(step);
  cancelConnectionWork(step);
  if (drop.byClient) step.fx({ type: 'close', conn: step.ctx.conn, code: drop.code, reason: drop.reason });
  step.emit({
    name: 'close',
    args: [{ code: drop.code, reason: drop.reason, byClient: drop.byClient, action: drop.action }],
  });
  step.set({ hb: null });

  if (drop.action === 'fatal') {
    const error = new GatewayCloseError(drop.code, 'fatal', drop.description ?? 'fatal', drop.reason);
    forgetSession(step);
    rejectOutbox(step, new SendError('SHARD_DESTROYED', `shard stopped: ${error.message}`));
    step.go({ status: 'closed', error });
    step.cancel('reconnect');
    step.error(error);
    step.fx({ type: 'stopped', error });
    return;
  }

  if (drop.action === 'reidentify') {
    if (step.ctx.session) step.debug(`close ${drop.code} invalidated the session; identifying next`);
    forgetSession(step);
  } else if (step.ctx.session) {
    if (resumingBefore) {
      const failures = step.ctx.resumeFailures + 1;
      step.set({ resumeFailures: failures });
      if (failures >= 2) {
        step.debug(`resume failed ${failures} times; identifying on the gateway URL instead`);
        forgetSession(step);
      } else persist(step);
    } else persist(step);
  }
  scheduleReconnect(step, drop.orderly, drop.delayMs);
}

function scheduleReconnect(step: Step, orderly: boolean, delayMs?: number): void {
  const attempt = step.ctx.attempt;
  const backoff = (): number => backoffDelay(attempt, step.random, step.ctx.config.backoff);
  let delay: number;
  // A fixed wait (op 9 d:false) repeated without a stable connection in between grows like the backoff.
  if (delayMs !== undefined) delay = attempt === 0 ? delayMs : Math.max(delayMs, backoff());
  else delay = orderly && attempt === 0 ? 0 : backoff();
  const mode: ConnectMode = step.ctx.session ? 'resume' : 'identify';
  step.set({ attempt: attempt + 1 });
  step.go({ status: 'backoff', mode, delayMs: delay });
  step.timer('reconnect', delay);
  step.debug(`reconnecting to ${mode} in ${delay} ms (attempt ${attempt + 1})`);
}

function sendHeartbeat(step: Step): void {
  const hb = step.ctx.hb;
  if (!hb) return;
  const { sendLimit } = step.ctx.config;
  step.set({ hb: beatSent(hb, step.now), window: recordSend(step.ctx.window, step.now, sendLimit) });
  step.fx({ type: 'heartbeat', conn: step.ctx.conn, seq: step.ctx.seq > 0 ? step.ctx.seq : null });
}

/** Sends queued caller payloads while the window allows; schedules a drain for the rest. */
function flushOutbox(step: Step): void {
  if (step.phase.status !== 'ready') return;
  const { sendLimit } = step.ctx.config;
  let window = step.ctx.window;
  let i = 0;
  const outbox = step.ctx.outbox;
  while (i < outbox.length && available(window, step.now, 'user', sendLimit) > 0) {
    const entry = outbox[i]!;
    step.fx({ type: 'send', conn: step.ctx.conn, id: entry.id, data: entry.data });
    window = recordSend(window, step.now, sendLimit);
    i++;
  }
  step.set({ window, outbox: i === 0 ? outbox : outbox.slice(i) });
  if (step.ctx.outbox.length > 0) {
    step.timer('drain', nextSlotAt(window, step.now, 'user', sendLimit) - step.now);
  }
}

function becomeReady(step: Step): void {
  step.cancel('ready');
  // The backoff resets only once this connection proves stable (see settleAttempts).
  step.set({ resumeFailures: 0, readyAt: step.now });
  step.go({ status: 'ready' });
  persist(step);
  flushOutbox(step);
}

// ---------------------------------------------------------------------------------------------- payloads

function onPayload(step: Step, payload: Envelope): void {
  switch (payload.op) {
    case 10:
      onHello(step, payload);
      return;
    case 11: {
      const hb = step.ctx.hb;
      if (!hb) return;
      const next = ackReceived(hb, step.now);
      step.set({ hb: next });
      if (next.latencyMs !== null && hb.acked === false) {
        step.emit({ name: 'heartbeat', args: [{ latencyMs: next.latencyMs }] });
      }
      return;
    }
    case 1:
      if (!BEATING.has(step.phase.status)) {
        step.debug('server requested a heartbeat before Hello; ignored');
        return;
      }
      // A gateway that floods op 1 must not make us break the send limit (Discord closes with 4008): answer
      // only while a system slot is left beyond the one the next scheduled beat needs.
      if (available(step.ctx.window, step.now, 'system', step.ctx.config.sendLimit) <= 1) {
        step.debug('server requested a heartbeat; not answered (send limit reached)');
        return;
      }
      step.debug('server requested a heartbeat');
      sendHeartbeat(step);
      return;
    case 7:
      step.debug('server requested a reconnect (op 7)');
      dropConnection(step, {
        code: RESUMABLE_CLIENT_CLOSE_CODE,
        reason: 'reconnect requested',
        byClient: true,
        action: 'resume',
        orderly: true,
      });
      return;
    case 9:
      onInvalidSession(step, payload.d);
      return;
    case 0:
      onDispatch(step, payload);
      return;
    default:
      step.debug(`ignored payload with unknown op ${payload.op}`);
  }
}

function onHello(step: Step, payload: Envelope): void {
  const phase = step.phase;
  if (phase.status !== 'awaiting-hello') {
    step.debug(`ignored Hello in state ${phase.status}`);
    return;
  }
  const { config } = step.ctx;
  const d = payload.d as { heartbeat_interval?: unknown } | null;
  const raw = d && typeof d === 'object' ? d.heartbeat_interval : undefined;
  const problem = heartbeatIntervalProblem(raw, config.minHeartbeatIntervalMs, config.maxHeartbeatIntervalMs);
  if (problem !== null) {
    violation(
      step,
      'd.heartbeat_interval',
      `Hello heartbeat_interval ${describeValue(raw)} ${problem} (accepted: ${config.minHeartbeatIntervalMs}–${config.maxHeartbeatIntervalMs} ms)`,
      'resume',
    );
    return;
  }
  const interval = raw as number;
  step.cancel('hello');
  step.set({
    hb: startHeartbeat(interval),
    window: { stamps: step.ctx.window.stamps, reserved: reservedSlots(interval, config.sendLimit) },
  });
  step.timer('heartbeat', firstBeatDelay(interval, step.random));
  const session = step.ctx.session;
  if (phase.mode === 'resume' && session) {
    step.set({ window: recordSend(step.ctx.window, step.now, config.sendLimit) });
    step.fx({ type: 'resume', conn: step.ctx.conn, sessionId: session.sessionId, seq: step.ctx.seq });
    step.go({ status: 'resuming', replayed: 0 });
    step.timer('ready', config.readyTimeoutMs);
  } else {
    step.go({ status: 'waiting-identify-slot' });
    step.fx({ type: 'request-identify-slot', conn: step.ctx.conn });
  }
}

function onInvalidSession(step: Step, d: unknown): void {
  if (typeof d !== 'boolean') step.debug(`op 9 with d ${describeValue(d)}: treated as not resumable`);
  const resumable = d === true;
  if (resumable && step.ctx.session) {
    step.debug('invalid session (resumable); reconnecting to resume');
    dropConnection(step, {
      code: RESUMABLE_CLIENT_CLOSE_CODE,
      reason: 'invalid session (resumable)',
      byClient: true,
      action: 'resume',
      orderly: true,
    });
    return;
  }
  const [min, max] = step.ctx.config.invalidSessionDelayMs;
  const delayMs = Math.round(min + (max - min) * step.random);
  step.debug(`invalid session; identifying again in ${delayMs} ms`);
  forgetSession(step);
  dropConnection(step, {
    code: RESUMABLE_CLIENT_CLOSE_CODE,
    reason: 'invalid session',
    byClient: true,
    action: 'reidentify',
    orderly: false,
    delayMs,
  });
}

function onDispatch(step: Step, payload: Envelope): void {
  const status = step.phase.status;
  const t = payload.t;
  const s = payload.s as unknown;
  if (s !== null && !isValidSequence(s)) {
    // Never stored: it would stick the session (JSON) or break the next heartbeat/RESUME encode (ETF).
    // Resuming asks the gateway to replay from the last valid sequence, so nothing is lost; a session that
    // keeps sending it fails its resumes and is replaced by a new one (two failed resumes → identify).
    violation(
      step,
      's',
      `dispatch ${t ?? '?'} has sequence ${describeValue(s)}, not a safe integer ≥ 0; last valid ${step.ctx.seq}`,
      t === 'READY' ? 'reidentify' : 'resume',
    );
    return;
  }
  const seq = s as number | null;
  if (t === 'READY') {
    if (status !== 'identifying') {
      step.debug(`ignored READY in state ${status}`);
      return;
    }
    const d = payload.d as Partial<GatewayReadyDispatchData> | null;
    const sessionId: unknown = d && typeof d === 'object' ? d.session_id : undefined;
    const idProblem = sessionIdProblem(sessionId);
    if (idProblem !== null) {
      violation(
        step,
        'd.session_id',
        `READY session_id ${describeValue(sessionId)} ${idProblem}`,
        'reidentify',
      );
      return;
    }
    const ready = d as Partial<GatewayReadyDispatchData>;
    const rawUrl: unknown = ready.resume_gateway_url;
    let resumeUrl = step.ctx.config.gatewayUrl;
    if (rawUrl !== undefined && rawUrl !== null && rawUrl !== '') {
      const urlProblem = gatewayUrlProblem(rawUrl);
      if (urlProblem === null) resumeUrl = rawUrl as string;
      else {
        // Not fatal: the session works, only resumes go to the gateway URL instead.
        step.error(
          new ProtocolViolationError(
            'd.resume_gateway_url',
            `READY resume_gateway_url ${describeValue(rawUrl)} ${urlProblem}; resuming on the gateway URL instead`,
          ),
        );
      }
    }
    step.set({ session: { sessionId: sessionId as string, resumeUrl }, seq: seq ?? 0 });
    becomeReady(step);
    step.emit({ name: 'ready', args: [d as GatewayReadyDispatchData] });
    deliver(step, payload);
    return;
  }

  if (seq !== null && step.ctx.session) {
    if (seq <= step.ctx.seq) {
      step.debug(`dropped duplicate dispatch ${t ?? '?'} with seq ${seq} (last ${step.ctx.seq})`);
      if (t === 'RESUMED' && status === 'resuming') onResumed(step);
      return;
    }
    if (seq > step.ctx.seq + 1) {
      step.error(
        new ShardError(
          'SEQUENCE_GAP',
          `dispatch sequence jumped from ${step.ctx.seq} to ${seq}: ${seq - step.ctx.seq - 1} dispatch(es) missing`,
        ),
      );
    }
    step.set({ seq });
  }

  if (t === 'RESUMED') {
    if (status === 'resuming') onResumed(step);
    else step.debug(`ignored RESUMED in state ${status}`);
    deliver(step, payload);
    return;
  }
  if (step.phase.status === 'resuming') {
    step.go({ status: 'resuming', replayed: step.phase.replayed + 1 });
  }
  deliver(step, payload);
}

function onResumed(step: Step): void {
  const replayed = step.phase.status === 'resuming' ? step.phase.replayed : 0;
  becomeReady(step);
  step.emit({ name: 'resumed', args: [{ replayed }] });
}

function deliver(step: Step, payload: Envelope): void {
  if (payload.skipped || payload.t === null) return;
  const filter = step.ctx.config.dispatchFilter;
  if (filter && !filter.has(payload.t)) return;
  step.emit({ name: 'dispatch', args: [dispatchOf(payload, payload.t)] });
}

/** The emitted payload; a `raw` envelope (text parsed by another thread) keeps its text. */
function dispatchOf(payload: Envelope, t: string): GatewayDispatchPayload {
  if (payload.raw !== undefined) {
    return { op: 0, t, s: payload.s, d: undefined, raw: payload.raw } as unknown as GatewayDispatchPayload;
  }
  return { op: 0, t, s: payload.s, d: payload.d } as GatewayDispatchPayload;
}

// ---------------------------------------------------------------------------------------------- timers

function onTimer(step: Step, name: TimerName): void {
  const status = step.phase.status;
  const { config } = step.ctx;
  switch (name) {
    case 'open':
      if (status !== 'connecting') return;
      step.error(
        new TimeoutError(
          'OPEN_TIMEOUT',
          `socket did not open within ${config.openTimeoutMs} ms`,
          config.openTimeoutMs,
        ),
      );
      dropConnection(step, {
        code: RESUMABLE_CLIENT_CLOSE_CODE,
        reason: 'open timeout',
        byClient: true,
        action: 'resume',
        orderly: false,
      });
      return;
    case 'hello':
      if (status !== 'awaiting-hello') return;
      if (step.ctx.readsPaused) {
        // Hello may be sitting unread in the socket: wait until reading resumes.
        step.timer('hello', config.helloTimeoutMs);
        return;
      }
      step.error(
        new TimeoutError(
          'HELLO_TIMEOUT',
          `no Hello within ${config.helloTimeoutMs} ms`,
          config.helloTimeoutMs,
        ),
      );
      dropConnection(step, {
        code: RESUMABLE_CLIENT_CLOSE_CODE,
        reason: 'hello timeout',
        byClient: true,
        action: 'resume',
        orderly: false,
      });
      return;
    case 'ready':
      if (status !== 'identifying' && status !== 'resuming') return;
      if (step.ctx.readsPaused) {
        step.timer('ready', config.readyTimeoutMs);
        return;
      }
      step.error(
        new TimeoutError(
          'READY_TIMEOUT',
          `no ${status === 'resuming' ? 'RESUMED' : 'READY'} within ${config.readyTimeoutMs} ms`,
          config.readyTimeoutMs,
        ),
      );
      dropConnection(step, {
        code: RESUMABLE_CLIENT_CLOSE_CODE,
        reason: 'ready timeout',
        byClient: true,
        action: 'resume',
        orderly: false,
      });
      return;
    case 'heartbeat': {
      const hb = step.ctx.hb;
      if (!hb || !BEATING.has(status)) return;
      if (isZombie(hb) && step.ctx.readsPaused) {
        // The ACK may be waiting unread in the socket: keep the connection alive, do not judge it.
        step.debug('heartbeat ACK not read yet (reading is paused); heartbeating on');
      } else if (isZombie(hb)) {
        step.debug('heartbeat was not acknowledged before the next one was due: zombie connection');
        dropConnection(step, {
          code: RESUMABLE_CLIENT_CLOSE_CODE,
          reason: 'zombie connection',
          byClient: true,
          action: 'resume',
          orderly: true,
        });
        return;
      }
      sendHeartbeat(step);
      step.timer('heartbeat', hb.intervalMs);
      return;
    }
    case 'reconnect':
      if (step.phase.status !== 'backoff') return;
      openConnection(step, step.phase.mode);
      return;
    case 'drain':
      flushOutbox(step);
      return;
  }
}

// ---------------------------------------------------------------------------------------------- main

/** The shard's whole protocol: given a state and an input, the next state and the effects to run. */
export function transition(state: ShardState, input: MachineInput): TransitionResult {
  if (input.type === 'socket-payload' && input.payload.op === 0) {
    const fast = inOrderDispatch(state, input.conn, input.payload);
    if (fast !== null) return fast;
  }
  return generalTransition(state, input);
}

const NO_EFFECTS: readonly Effect[] = Object.freeze([]);

/**
 * The common case, decided without a `Step`: in `ready`, on the current connection, the next dispatch
 * in sequence (not READY/RESUMED). Only the sequence changes and at most one `dispatch` is emitted —
 * exactly what `generalTransition` produces for the same input (unit-tested side by side). Anything
 * else (gap, duplicate, no sequence, another state, stale connection) returns null: the general path.
 */
function inOrderDispatch(state: ShardState, conn: number, payload: Envelope): TransitionResult | null {
  const ctx = state.ctx;
  const s = payload.s;
  const t = payload.t;
  if (
    state.phase.status !== 'ready' ||
    conn !== ctx.conn ||
    ctx.session === null ||
    s !== ctx.seq + 1 ||
    s > Number.MAX_SAFE_INTEGER ||
    t === 'READY' ||
    t === 'RESUMED'
  ) {
    return null;
  }
  const next: ShardState = {
    phase: state.phase,
    ctx: {
      config: ctx.config,
      conn: ctx.conn,
      session: ctx.session,
      seq: s,
      attempt: ctx.attempt,
      readyAt: ctx.readyAt,
      resumeFailures: ctx.resumeFailures,
      window: ctx.window,
      hb: ctx.hb,
      outbox: ctx.outbox,
      readsPaused: ctx.readsPaused,
    },
  };
  const filter = ctx.config.dispatchFilter;
  if (payload.skipped || t === null || (filter !== null && !filter.has(t))) {
    return { state: next, effects: NO_EFFECTS };
  }
  const event: ShardEvent = { name: 'dispatch', args: [dispatchOf(payload, t)] };
  return { state: next, effects: [{ type: 'emit', event }] };
}

/** `transition` without the in-order dispatch fast path: every input, the reference behaviour. */
export function generalTransition(state: ShardState, input: MachineInput): TransitionResult {
  const step = new Step(state, input);
  const status = state.phase.status;
  const live = LIVE.has(status);
  const current = (conn: number): boolean => live && conn === state.ctx.conn;

  switch (input.type) {
    case 'start': {
      if (status !== 'idle' && status !== 'closed') {
        step.debug(`start ignored in state ${status}`);
        break;
      }
      const s = input.session;
      const forShard =
        s !== null && s.shardId === state.ctx.config.shardId && s.shardCount === state.ctx.config.shardCount;
      // A stored session is as untrusted as the gateway that produced it.
      const valid = forShard && sessionIdProblem(s.sessionId) === null && isValidSequence(s.sequence);
      const storedUrl = valid && s.resumeUrl && gatewayUrlProblem(s.resumeUrl) === null ? s.resumeUrl : null;
      step.set({
        attempt: 0,
        readyAt: null,
        resumeFailures: 0,
        session: valid
          ? { sessionId: s.sessionId, resumeUrl: storedUrl ?? state.ctx.config.gatewayUrl }
          : null,
        seq: valid ? s.sequence : 0,
      });
      if (s !== null && !forShard) step.debug('stored session is for another shard; identifying');
      else if (s !== null && !valid) step.debug('stored session has an invalid id or sequence; identifying');
      if (valid && s.resumeUrl && storedUrl === null) {
        step.debug('stored resume URL is not a ws:/wss: URL; resuming on the gateway URL');
      }
      openConnection(step, valid ? 'resume' : 'identify');
      break;
    }

    case 'socket-open':
      if (!current(input.conn) || status !== 'connecting') break;
      step.cancel('open');
      step.go({ status: 'awaiting-hello', mode: (state.phase as { mode: ConnectMode }).mode });
      step.timer('hello', state.ctx.config.helloTimeoutMs);
      break;

    case 'socket-payload':
      if (!current(input.conn)) break;
      onPayload(step, input.payload);
      break;

    case 'socket-close': {
      if (!current(input.conn)) break;
      const info = closeCodeInfo(input.code);
      dropConnection(step, {
        code: input.code,
        reason: input.reason,
        byClient: false,
        action: info.action,
        orderly: false,
        description: info.description,
      });
      break;
    }

    case 'socket-error':
      if (!current(input.conn)) break;
      step.error(input.error);
      dropConnection(step, {
        code: RESUMABLE_CLIENT_CLOSE_CODE,
        reason: input.error.code.toLowerCase(),
        byClient: true,
        action: 'resume',
        orderly: false,
      });
      break;

    case 'timer':
      onTimer(step, input.name);
      break;

    case 'identify-slot':
      if (!current(input.conn) || status !== 'waiting-identify-slot') break;
      step.set({ window: recordSend(state.ctx.window, input.now, state.ctx.config.sendLimit) });
      step.fx({ type: 'identify', conn: state.ctx.conn });
      step.go({ status: 'identifying' });
      step.timer('ready', state.ctx.config.readyTimeoutMs);
      break;

    case 'send': {
      if (status === 'closed') {
        step.fx({
          type: 'reject-send',
          id: input.id,
          error: new SendError('SHARD_DESTROYED', 'the shard is closed; call connect() first'),
        });
        break;
      }
      const { maxQueuedSends } = state.ctx.config;
      if (state.ctx.outbox.length >= maxQueuedSends) {
        step.fx({
          type: 'reject-send',
          id: input.id,
          error: new SendError('SEND_QUEUE_FULL', `send queue is full (${maxQueuedSends} payloads waiting)`),
        });
        break;
      }
      step.set({ outbox: [...state.ctx.outbox, { id: input.id, data: input.data }] });
      // Only flush when nothing was waiting: a pending drain timer already covers a non-empty queue.
      if (state.ctx.outbox.length === 0) flushOutbox(step);
      break;
    }

    case 'send-failed':
      if (status === 'closed') {
        step.fx({
          type: 'reject-send',
          id: input.id,
          error: new SendError('SHARD_DESTROYED', 'the shard closed before this payload was sent'),
        });
        break;
      }
      step.set({ outbox: [{ id: input.id, data: input.data }, ...state.ctx.outbox] });
      break;

    case 'reading': {
      if (state.ctx.readsPaused === input.paused) break;
      step.set({ readsPaused: input.paused });
      if (live) step.fx({ type: 'set-reading', conn: state.ctx.conn, paused: input.paused });
      step.debug(input.paused ? 'reading paused' : 'reading resumed');
      break;
    }

    case 'destroy': {
      if (status === 'closed') {
        step.fx({ type: 'stopped', error: null });
        break;
      }
      cancelConnectionWork(step);
      step.cancel('reconnect');
      if (live) {
        step.fx({ type: 'close', conn: state.ctx.conn, code: input.code, reason: input.reason });
        step.emit({
          name: 'close',
          args: [{ code: input.code, reason: input.reason, byClient: true, action: 'stop' }],
        });
      }
      if (clientCloseEndsSession(input.code)) forgetSession(step);
      else if (state.ctx.session) persist(step);
      step.set({ hb: null });
      rejectOutbox(
        step,
        new SendError('SHARD_DESTROYED', 'the shard was destroyed before this payload was sent'),
      );
      step.go({ status: 'closed', error: null });
      step.fx({ type: 'stopped', error: null });
      break;
    }
  }
  return step.finish();
}
