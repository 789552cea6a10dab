/**
 * What a `Shard` uses of one gateway connection, and the factory that opens one. The default is the
 * ws-based `Transport`; another factory (an in-memory gateway in tests) drives the same `Shard` with no socket.
 */
import { Transport, type TransportHandlers, type TransportOptions } from './transport.js';

export interface GatewayConnection {
  /** True while payloads may be sent. */
  readonly isOpen: boolean;
  /** Whether reading is paused (`pause()`). */
  readonly isPaused: boolean;
  /** Resolves once the connection is fully closed. */
  readonly closed: Promise<void>;
  /** Writes one encoded payload; returns false (and writes nothing) when not open. */
  send(data: string | Uint8Array): boolean;
  /** Stops reporting payloads until `resume()`; a close is still reported at once. */
  pause(): void;
  /** Reports the payloads held back since `pause()`, in order, then reads again. */
  resume(): void;
  /** Closes with `code`; resolves once closed. */
  close(code: number, reason?: string): Promise<void>;
}

/**
 * Opens one connection. It reports to `handlers` as `Transport` does: `onOpen` once, then payloads, then
 * `onClose` exactly once with nothing after it. It may throw (a bad URL): the shard counts that as a failed
 * connection.
 */
export type GatewayConnectionFactory = (
  options: TransportOptions,
  handlers: TransportHandlers,
) => GatewayConnection;

/** The default factory: a WebSocket to the gateway (`Transport`). */
export const wsGatewayConnection: GatewayConnectionFactory = (options, handlers) =>
  new Transport(options, handlers);
