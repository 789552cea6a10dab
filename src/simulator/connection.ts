import type { Socket } from 'node:net';
import type { WebSocket } from 'ws';
import type { TimerHandle } from '../util/clock.js';
import type { Compression, TransportCompressor } from './compression.js';
import type { Dispatch, Variant } from './dispatch.js';
import type { ClientPayload, Encoding, WireEncoder } from './encoding.js';
import { allocWsFrame, frameBytes, jsonDispatchWsFrame, wsFrameHeadBytes } from './encoding.js';
import type { Fault } from './faults.js';
import { notify } from './observer.js';
import {
  CLIENT_OPCODES,
  OPCODES,
  SESSION_ENDING_CLOSE_CODES,
  SendWindow,
  type ViolationKind,
} from './rules.js';
import type { Session } from './session.js';
import type { SimulatorCore } from './simulator.js';

export type ConnectionState = 'awaiting-auth' | 'identified' | 'closed';

/** Close codes the client may send to end its session at once. */
const SESSION_ENDING_CLIENT_CODES: ReadonlySet<number> = new Set([1000, 1001]);
/** How long a closing connection may take to answer our close frame before we destroy it. */
const CLOSE_HANDSHAKE_MS = 2000;

let nextConnectionId = 1;

/**
 * One unmasked, unfragmented server WebSocket frame (RFC 6455 §5.2) holding `payload`, in one buffer. Used
 * for the hot path instead of `ws.send` (permessage-deflate is off, so `ws` never queues frames and direct
 * writes keep their order with the frames `ws` itself writes).
 */
function wsFrame(payload: Uint8Array, binary: boolean): Buffer {
  const out = allocWsFrame(payload.length, binary);
  out.set(payload, wsFrameHeadBytes(payload.length));
  return out;
}

/** A frame to send: a string (text), bytes (binary) or UTF-8 bytes to send as text. */
type Frame = string | Uint8Array | { readonly text: string | Uint8Array };

/** One client WebSocket: decodes and polices what it sends, frames what it receives. */
export class SimConnection {
  readonly id = nextConnectionId++;
  readonly ws: WebSocket;
  readonly core: SimulatorCore;
  readonly encoding: Encoding;
  readonly compression: Compression;
  readonly viaResumeUrl: boolean;
  state: ConnectionState = 'awaiting-auth';
  session: Session | undefined;
  readonly #encoder: WireEncoder;
  readonly #compressor: TransportCompressor | undefined;
  readonly #sendWindow: SendWindow;
  #lastHeartbeatAt: number;
  #heartbeatTimer: TimerHandle | undefined;
  #zombie = false;
  #delayUntil = 0;
  #delayed: Frame[] = [];
  #delayTimer: TimerHandle | undefined;
  #handshakeTimer: NodeJS.Timeout | undefined;
  #splitNext = 0;
  #corked = false;
  /**
   * Output kept back in order (`SimulatorCore.prepareRandomEvents`): the first `#heldPrepared` frames from
   * `#heldHead` are prepared events, released one by one; what was written after them waits behind them.
   */
  #held: (Frame | undefined)[] = [];
  #heldHead = 0;
  #heldPrepared = 0;
  #holding = false;
  #reconnectTimer: TimerHandle | undefined;
  /** Set once we decided to close: the code we sent (1006 for a drop). */
  #serverClose: number | undefined;

  constructor(init: {
    ws: WebSocket;
    core: SimulatorCore;
    encoding: Encoding;
    compression: Compression;
    encoder: WireEncoder;
    viaResumeUrl: boolean;
  }) {
    this.ws = init.ws;
    this.core = init.core;
    this.encoding = init.encoding;
    this.compression = init.compression;
    this.viaResumeUrl = init.viaResumeUrl;
    this.#encoder = init.encoder;
    this.#compressor = init.core.compression.create(init.compression);
    const o = init.core.options;
    this.#sendWindow = new SendWindow(o.sendLimit, o.sendWindowMs);
    this.#lastHeartbeatAt = o.clock.now();
    this.ws.on('message', (data, isBinary) => this.#guard(() => this.#onMessage(data as Buffer, isBinary)));
    this.ws.on('close', (code) => this.#guard(() => this.#onClose(code)));
    // `ws` refuses a frame longer than its maxPayload (set to maxPayloadBytes) at the frame header, before
    // buffering it, and would close with 1009; Discord's answer to an oversize payload is 4002, sent first.
    const receiver = (this.ws as unknown as { _receiver?: import('node:events').EventEmitter })._receiver;
    receiver?.prependListener('error', (err: Error & { code?: string }) =>
      this.#guard(() => this.#onReceiverError(err)),
    );
  }

  /** Runs a handler; an exception closes this connection (4000, session ended) instead of the process. */
  #guard(fn: () => void): void {
    try {
      fn();
    } catch {
      this.internalError();
    }
  }

  /** A handler of this connection threw: count it and close with 4000, ending the session (its state is suspect). */
  internalError(): void {
    this.core.countInternalError();
    if (this.open) this.closeWith(4000, 'internal error', undefined, false);
    else this.ws.terminate();
  }

  /** The socket or `ws` reported an error: unless a close of ours is under way, drop the connection. */
  onSocketError(): void {
    if (this.#serverClose === undefined) this.ws.terminate();
  }

  #onReceiverError(err: Error & { code?: string }): void {
    if (err.code !== 'WS_ERR_UNSUPPORTED_MESSAGE_LENGTH' || !this.open) return;
    const max = this.core.options.maxPayloadBytes;
    this.core.countClientPayload();
    this.closeWith(4002, `payload larger than ${max} bytes`, 'payload-size');
  }

  get open(): boolean {
    return this.state !== 'closed' && this.#serverClose === undefined;
  }

  /** Applies faults armed for new connections, sends Hello (unless op 7 took its place), watches heartbeats. */
  start(): void {
    const o = this.core.options;
    notify(o.observer, 'connectionOpened', {
      connectionId: this.id,
      viaResumeUrl: this.viaResumeUrl,
      encoding: this.encoding,
      compression: this.compression,
      at: o.clock.now(),
    });
    let hello = true;
    for (const fault of this.core.takeArmedFaults()) {
      this.applyFault(fault);
      if (fault.kind === 'reconnect') hello = false;
    }
    if (!this.open) return;
    if (hello)
      this.sendPayload(OPCODES.HELLO, {
        heartbeat_interval: o.heartbeatIntervalMs,
        _trace: [`["shardline-simulator",{"micros":0.0}]`],
      });
    this.#scheduleHeartbeatCheck(o.heartbeatIntervalMs + o.heartbeatGraceMs);
  }

  // ── outgoing ────────────────────────────────────────────────────────────────────────────────────

  sendPayload(op: number, d: unknown): void {
    if (!this.open) return;
    const o = this.core.options;
    if (o.observer) {
      notify(o.observer, 'serverPayload', {
        connectionId: this.id,
        op,
        t: null,
        s: null,
        sessionId: this.session?.id,
        d,
        at: o.clock.now(),
      });
    }
    const frame = this.#encoder.payload(op, d);
    this.#write(this.#compressor ? this.#compressor.message(frameBytes(frame)) : frame);
  }

  sendDispatch(dispatch: Dispatch, variant: Variant, seq: number): void {
    if (!this.open) return;
    const o = this.core.options;
    if (o.observer) {
      notify(o.observer, 'serverPayload', {
        connectionId: this.id,
        op: 0,
        t: dispatch.t,
        s: seq,
        sessionId: this.session?.id,
        d: undefined,
        at: o.clock.now(),
      });
    }
    if (this.#compressor) {
      this.#write(this.#encoder.dispatchCompressed(dispatch, variant, seq, this.#compressor));
    } else if (this.encoding === 'json' && this.#plain()) {
      // Fast path: the whole WebSocket frame built in one buffer, written to the corked socket.
      this.#cork();
      this.#socket()!.write(jsonDispatchWsFrame(dispatch, variant, seq));
    } else {
      this.#write(this.#encoder.dispatch(dispatch, variant, seq), this.#encoder.textBytes);
    }
    this.core.countDispatchSent(this);
  }

  /**
   * While the core prepares events, every frame this connection would write (already encoded and
   * compressed with its own stream context, so the bytes are exactly those it would have sent) is kept in
   * order instead; `releaseHeld` writes them later.
   */
  hold(on: boolean): void {
    this.#holding = on;
  }

  /** Frames kept back by `hold` that are not released yet (prepared or queued behind them). */
  get heldFrames(): number {
    return this.#held.length - this.#heldHead;
  }

  /**
   * Writes the next prepared frame; once the last one is out, also what was queued behind it (a heartbeat
   * ACK compressed after the prepared frames). Returns false when nothing was held (closed in between).
   */
  releaseHeld(): boolean {
    if (this.#heldPrepared === 0) return false;
    const f = this.#held[this.#heldHead]!;
    this.#held[this.#heldHead++] = undefined;
    this.#heldPrepared--;
    this.#writeNow(f);
    if (this.#heldPrepared === 0) {
      const rest = this.#held.slice(this.#heldHead) as Frame[];
      this.#held = [];
      this.#heldHead = 0;
      for (const r of rest) this.#writeNow(r);
    }
    return true;
  }

  /** Queues or sends a frame; `text` sends bytes as a TEXT frame (pre-encoded JSON). */
  #write(frame: string | Uint8Array, text = false): void {
    const f = text ? { text: frame } : frame;
    if (this.#holding || this.#held.length > 0) {
      this.#held.push(f);
      if (this.#holding) {
        this.#heldPrepared++;
        this.core.noteHeld(this);
      }
      return;
    }
    this.#writeNow(f);
  }

  /** Sends a frame now, or queues it behind a `delay` fault's frames. */
  #writeNow(f: Frame): void {
    if (
      this.#delayed.length > 0 ||
      (this.#delayUntil > 0 && this.core.options.clock.now() < this.#delayUntil)
    ) {
      this.#delayed.push(f);
      return;
    }
    this.#raw(f);
  }

  /** Corks the socket until the current tick ends, so a burst of frames leaves in one writev. */
  #cork(): void {
    if (this.#corked) return;
    const socket = this.#socket();
    if (!socket) return;
    this.#corked = true;
    socket.cork();
    process.nextTick(() => {
      this.#corked = false;
      socket.uncork();
      // What the kernel did not take after the burst is the backlog of a slow reader.
      if (socket.writableLength > this.core.options.maxBufferedBytes && this.open) this.#slowConsumer();
    });
  }

  #raw(f: Frame): void {
    if (this.ws.readyState !== 1) return;
    this.#cork();
    const isText = typeof f === 'object' && 'text' in f;
    const frame = isText ? f.text : f;
    const binary = !isText && typeof frame !== 'string';
    if (this.#splitNext > 1) {
      const parts = this.#splitNext;
      this.#splitNext = 0;
      const bytes = frameBytes(frame);
      const size = Math.max(1, Math.ceil(bytes.length / parts));
      const separateMessages = this.compression === 'zlib-stream';
      for (let at = 0; at < bytes.length; at += size) {
        const chunk = bytes.subarray(at, at + size);
        const last = at + size >= bytes.length;
        if (separateMessages) this.ws.send(chunk, { binary: true, compress: false });
        else this.ws.send(chunk, { binary, compress: false, fin: last });
      }
      return;
    }
    if (typeof frame !== 'string') {
      const socket = this.#socket();
      if (socket) {
        socket.write(wsFrame(frame, binary));
        return;
      }
    }
    this.ws.send(frame, { binary, compress: false });
  }

  /** The client reads slower than we write: drop it (its session stays resumable), as Discord would. */
  #slowConsumer(): void {
    this.core.countSlowConsumer();
    this.drop();
  }

  /** No fault shapes the output right now (no delay, no split) and the socket is writable. */
  #plain(): boolean {
    return (
      !this.#holding &&
      this.#held.length === 0 &&
      this.#delayUntil === 0 &&
      this.#delayed.length === 0 &&
      this.#splitNext === 0 &&
      this.ws.readyState === 1 &&
      this.#socket() !== undefined
    );
  }

  #socket(): Socket | undefined {
    return (this.ws as unknown as { _socket?: Socket })._socket;
  }

  #flushDelayed(): void {
    this.#delayTimer = undefined;
    const now = this.core.options.clock.now();
    if (now < this.#delayUntil) {
      this.#delayTimer = this.core.options.clock.setTimeout(
        () => this.#guard(() => this.#flushDelayed()),
        this.#delayUntil - now,
      );
      return;
    }
    const frames = this.#delayed;
    this.#delayed = [];
    this.#delayUntil = 0;
    for (const f of frames) this.#raw(f);
  }

  /** Closes with `code`; ends the session when the code does not allow resuming (or `resumable` is false). */
  closeWith(code: number, reason: string, violation?: ViolationKind, resumable?: boolean): void {
    if (!this.open) return;
    if (violation) this.core.countViolation(violation);
    this.#serverClose = code;
    this.core.countServerClose(code);
    const endSession = resumable === undefined ? SESSION_ENDING_CLOSE_CODES.has(code) : !resumable;
    if (this.session && endSession) this.core.endSession(this.session);
    this.#stopTimers();
    try {
      this.ws.close(code, reason.slice(0, 120));
    } catch {
      this.ws.terminate();
    }
    // Cleared on close: a pending handshake timer would otherwise keep this connection (and through it the
    // session's replay buffer) alive for CLOSE_HANDSHAKE_MS after the socket is gone.
    this.#handshakeTimer ??= setTimeout(() => this.ws.terminate(), CLOSE_HANDSHAKE_MS).unref();
  }

  /** Destroys the TCP connection without a close frame. The session stays resumable. */
  drop(): void {
    if (!this.open) return;
    this.#serverClose = 1006;
    this.#stopTimers();
    this.ws.terminate();
  }

  invalidSession(resumable: boolean): void {
    this.core.countInvalidSession();
    if (this.session) {
      // d:false ends the session; d:true only takes it off this connection, so a RESUME may follow here
      // (as after a failed IDENTIFY/RESUME, where op 9 usually comes) or on a new connection.
      if (resumable) this.core.detach(this.session);
      else this.core.endSession(this.session);
      this.session = undefined;
      this.state = 'awaiting-auth';
    }
    this.sendPayload(OPCODES.INVALID_SESSION, resumable);
  }

  applyFault(fault: Fault): void {
    const clock = this.core.options.clock;
    switch (fault.kind) {
      case 'close':
        this.closeWith(fault.code ?? 4000, 'fault injected', undefined, fault.resumable);
        break;
      case 'drop':
        this.drop();
        break;
      case 'reconnect':
        this.sendPayload(OPCODES.RECONNECT, null);
        if (fault.ms !== undefined) {
          clock.clearTimeout(this.#reconnectTimer);
          this.#reconnectTimer = clock.setTimeout(
            () => this.#guard(() => this.closeWith(4000, 'reconnect requested', undefined, true)),
            fault.ms,
          );
        }
        break;
      case 'invalid-session':
        this.invalidSession(fault.resumable ?? false);
        break;
      case 'zombie':
        this.#zombie = true;
        break;
      case 'delay': {
        this.#delayUntil = Math.max(this.#delayUntil, clock.now() + (fault.ms ?? 1000));
        clock.clearTimeout(this.#delayTimer);
        this.#delayTimer = clock.setTimeout(
          () => this.#guard(() => this.#flushDelayed()),
          this.#delayUntil - clock.now(),
        );
        break;
      }
      case 'split':
        this.#splitNext = fault.parts ?? 3;
        break;
      case 'corrupt':
        this.#write(this.#corruptFrame());
        break;
      case 'request-heartbeat':
        this.sendPayload(OPCODES.HEARTBEAT, null);
        break;
    }
  }

  #corruptFrame(): string | Uint8Array {
    if (this.compression === 'zlib-stream') {
      // A stored-block header claiming LEN=0x0001 with a wrong NLEN, ended like a flushed message.
      return Uint8Array.of(0x00, 0x01, 0x00, 0x00, 0x00, 0x41, 0x00, 0x00, 0xff, 0xff);
    }
    if (this.compression === 'zstd-stream') return Uint8Array.of(0x07, 0x00, 0x00, 0xde, 0xad);
    if (this.encoding === 'etf') return Uint8Array.of(131, 0xff, 0x00, 0x01);
    return '{"t":null,"s":null,"op":11,"d":';
  }

  // ── incoming ────────────────────────────────────────────────────────────────────────────────────

  #onMessage(data: Buffer, isBinary: boolean): void {
    if (!this.open) return;
    const o = this.core.options;
    const now = o.clock.now();
    this.core.countClientPayload();
    if (data.length > o.maxPayloadBytes) {
      this.closeWith(4002, `payload larger than ${o.maxPayloadBytes} bytes`, 'payload-size');
      return;
    }
    if (!this.#sendWindow.admit(now)) {
      this.closeWith(4008, 'rate limited', 'send-rate');
      return;
    }
    let payload: ClientPayload;
    try {
      payload = this.#encoder.decode(data, isBinary);
    } catch {
      this.closeWith(4002, 'decode error', 'decode');
      return;
    }
    const op = payload.op;
    if (o.observer) {
      notify(o.observer, 'clientPayload', {
        connectionId: this.id,
        op: typeof op === 'number' ? op : undefined,
        d: payload.d,
        bytes: data.length,
        at: now,
      });
    }
    if (typeof op !== 'number' || !CLIENT_OPCODES.has(op)) {
      this.closeWith(4001, 'unknown opcode', 'unknown-opcode');
      return;
    }
    switch (op) {
      case OPCODES.HEARTBEAT:
        this.#onHeartbeat(payload.d, now);
        return;
      case OPCODES.IDENTIFY:
        if (this.state === 'identified')
          this.closeWith(4005, 'already authenticated', 'already-authenticated');
        else this.core.identify(this, payload.d);
        return;
      case OPCODES.RESUME:
        if (this.state === 'identified')
          this.closeWith(4005, 'already authenticated', 'already-authenticated');
        else this.core.resume(this, payload.d);
        return;
    }
    if (this.state !== 'identified' || !this.session) {
      this.closeWith(4003, 'not authenticated', 'not-authenticated');
      return;
    }
    this.core.command(this, this.session, op, payload.d);
  }

  #onHeartbeat(d: unknown, now: number): void {
    if (d !== null && d !== undefined && !(typeof d === 'number' && Number.isInteger(d) && d >= 0)) {
      this.closeWith(4001, 'invalid heartbeat', 'invalid-payload');
      return;
    }
    this.#lastHeartbeatAt = now;
    this.core.countHeartbeat(!this.#zombie);
    if (!this.#zombie) this.sendPayload(OPCODES.HEARTBEAT_ACK, null);
  }

  #scheduleHeartbeatCheck(ms: number): void {
    const o = this.core.options;
    this.#heartbeatTimer = o.clock.setTimeout(() => this.#guard(() => this.#checkHeartbeat()), ms);
  }

  #checkHeartbeat(): void {
    const o = this.core.options;
    this.#heartbeatTimer = undefined;
    if (!this.open) return;
    const deadline = this.#lastHeartbeatAt + o.heartbeatIntervalMs + o.heartbeatGraceMs;
    const now = o.clock.now();
    if (now >= deadline) this.closeWith(4009, 'heartbeat timed out', 'heartbeat-timeout');
    else this.#scheduleHeartbeatCheck(deadline - now);
  }

  #stopTimers(): void {
    const clock = this.core.options.clock;
    clock.clearTimeout(this.#heartbeatTimer);
    clock.clearTimeout(this.#reconnectTimer);
    this.#heartbeatTimer = undefined;
    this.#reconnectTimer = undefined;
  }

  #onClose(code: number): void {
    if (this.state === 'closed') return;
    const clientInitiated = this.#serverClose === undefined;
    this.state = 'closed';
    this.#stopTimers();
    clearTimeout(this.#handshakeTimer);
    this.#handshakeTimer = undefined;
    this.core.options.clock.clearTimeout(this.#delayTimer);
    this.#delayed = [];
    this.#held = [];
    this.#heldHead = 0;
    this.#heldPrepared = 0;
    const session = this.session;
    this.session = undefined;
    if (session && session.connection === this) {
      if (clientInitiated && SESSION_ENDING_CLIENT_CODES.has(code)) this.core.endSession(session);
      else this.core.detach(session);
    }
    const finalCode = clientInitiated ? code : (this.#serverClose ?? code);
    this.core.connectionClosed(this, finalCode);
    const o = this.core.options;
    notify(o.observer, 'connectionClosed', {
      connectionId: this.id,
      code: finalCode,
      by: clientInitiated ? 'client' : 'server',
      at: o.clock.now(),
    });
  }
}
