/**
 * An optional tap on what crosses each connection, for tools that grade a client from the gateway's side
 * (`shardline conformance`). Every callback is optional and runs synchronously; an exception in one is
 * swallowed so an observer cannot break the connection it watches. Times are `clock.now()`; a server
 * payload is reported when the simulator queues it (a `delay` fault holds it longer).
 */
export interface SimulatorObserver {
  connectionOpened?(event: ObservedConnection): void;
  /** A decoded client payload. `d` is as received, token included: redact before printing. */
  clientPayload?(event: ObservedClientPayload): void;
  serverPayload?(event: ObservedServerPayload): void;
  connectionClosed?(event: ObservedClose): void;
}

export interface ObservedConnection {
  readonly connectionId: number;
  /** Opened on the `resume_gateway_url` path. */
  readonly viaResumeUrl: boolean;
  readonly encoding: string;
  readonly compression: string;
  readonly at: number;
}

export interface ObservedClientPayload {
  readonly connectionId: number;
  readonly op: number | undefined;
  readonly d: unknown;
  /** Size of the WebSocket message, in bytes. */
  readonly bytes: number;
  readonly at: number;
}

export interface ObservedServerPayload {
  readonly connectionId: number;
  readonly op: number;
  /** Dispatch name (op 0), else null. */
  readonly t: string | null;
  /** Dispatch sequence (op 0), else null. */
  readonly s: number | null;
  /** Session of the connection when it was sent, if any. */
  readonly sessionId: string | undefined;
  /** `d` of non-dispatch payloads (op 7, 9, 10, 11); undefined for dispatches. */
  readonly d: unknown;
  readonly at: number;
}

export interface ObservedClose {
  readonly connectionId: number;
  /** The code we sent, the client's code, or 1006 for a drop. */
  readonly code: number;
  readonly by: 'server' | 'client';
  readonly at: number;
}

/** Calls `fn` on the observer, ignoring what it throws. */
export function notify<K extends keyof SimulatorObserver>(
  observer: SimulatorObserver | undefined,
  key: K,
  event: Parameters<NonNullable<SimulatorObserver[K]>>[0],
): void {
  const fn = observer?.[key] as ((e: typeof event) => void) | undefined;
  if (fn === undefined) return;
  try {
    fn.call(observer, event);
  } catch {
    // An observer's failure is its own; the connection goes on.
  }
}
