/**
 * An in-memory gateway for `Shard` tests where sockets are not the point: a `GatewayConnectionFactory`
 * whose connections hand the shard `GatewayEnvelope`s directly and record what the shard sends, decoded.
 * Opening is reported on a microtask, as a socket would report it later, never inside the factory call.
 */

import { decodeEtfBytes, decodeJsonText } from '../../src/transport/codecs.js';
import type { GatewayConnection, GatewayConnectionFactory } from '../../src/transport/connection.js';
import type { GatewayEnvelope } from '../../src/transport/envelope.js';
import type { TransportHandlers, TransportOptions } from '../../src/transport/transport.js';

/** A payload the shard sent, decoded. */
export interface SentPayload {
  readonly op: number;
  readonly d: unknown;
}

export class MemoryConnection implements GatewayConnection {
  readonly options: TransportOptions;
  readonly #handlers: TransportHandlers;
  /** Every payload the shard sent on this connection, decoded, in order. */
  readonly sent: SentPayload[] = [];
  /** The close the shard asked for, if it did. */
  closedBy: { code: number; reason: string } | null = null;
  #open = false;
  #ended = false;
  #paused = false;
  #held: GatewayEnvelope[] = [];
  readonly closed: Promise<void>;
  #resolveClosed!: () => void;

  constructor(options: TransportOptions, handlers: TransportHandlers) {
    this.options = options;
    this.#handlers = handlers;
    this.closed = new Promise((resolve) => {
      this.#resolveClosed = resolve;
    });
    queueMicrotask(() => {
      if (this.#ended) return;
      this.#open = true;
      this.#handlers.onOpen();
    });
  }

  get isOpen(): boolean {
    return this.#open && !this.#ended;
  }

  get isPaused(): boolean {
    return this.#paused;
  }

  send(data: string | Uint8Array): boolean {
    if (!this.isOpen) return false;
    const value =
      typeof data === 'string' ? decodeJsonText(data) : decodeEtfBytes(data, this.options.maxPayloadBytes);
    this.sent.push(value as SentPayload);
    return true;
  }

  pause(): void {
    if (!this.#ended) this.#paused = true;
  }

  resume(): void {
    if (!this.#paused) return;
    this.#paused = false;
    const held = this.#held;
    this.#held = [];
    for (const payload of held) this.receive(payload);
  }

  close(code: number, reason = ''): Promise<void> {
    if (!this.#ended) {
      this.closedBy = { code, reason };
      this.#finish(code, reason);
    }
    return this.closed;
  }

  /** The gateway sends one payload (held while reading is paused). */
  receive(payload: GatewayEnvelope): void {
    if (this.#ended) return;
    if (this.#paused) {
      this.#held.push(payload);
      return;
    }
    this.#handlers.onPayload(payload);
  }

  /** The gateway closes the connection with `code`. */
  serverClose(code: number, reason = ''): void {
    this.#finish(code, reason);
  }

  /** The ops sent so far, for short assertions. */
  get sentOps(): number[] {
    return this.sent.map((p) => p.op);
  }

  #finish(code: number, reason: string): void {
    if (this.#ended) return;
    this.#ended = true;
    this.#open = false;
    this.#held = [];
    this.#resolveClosed();
    this.#handlers.onClose(code, reason);
  }
}

/** A factory for `ShardOptions.transport` that keeps every connection it opened, oldest first. */
export class MemoryGateway {
  readonly connections: MemoryConnection[] = [];
  readonly factory: GatewayConnectionFactory = (options, handlers) => {
    const connection = new MemoryConnection(options, handlers);
    this.connections.push(connection);
    return connection;
  };

  /** The newest connection; throws when none was opened. */
  get current(): MemoryConnection {
    const c = this.connections.at(-1);
    if (!c) throw new Error('the shard opened no connection');
    return c;
  }
}

/** Lets promise callbacks and microtasks run (session load, identify slot, open). */
export async function settle(rounds = 10): Promise<void> {
  for (let i = 0; i < rounds; i++) await new Promise<void>((resolve) => setImmediate(resolve));
}

export const hello = (intervalMs: number): GatewayEnvelope => ({
  op: 10,
  d: { heartbeat_interval: intervalMs },
  s: null,
  t: null,
});

export const heartbeatAck: GatewayEnvelope = { op: 11, d: null, s: null, t: null };

export function dispatch(t: string, s: number, d: unknown): GatewayEnvelope {
  return { op: 0, d, s, t };
}

export function ready(s: number, sessionId: string, resumeUrl: string): GatewayEnvelope {
  return dispatch('READY', s, {
    v: 10,
    user: { id: '1', username: 'bot', discriminator: '0', avatar: null, bot: true },
    guilds: [],
    session_id: sessionId,
    resume_gateway_url: resumeUrl,
    shard: [0, 1],
    application: { id: '1', flags: 0 },
  });
}
