import { SimulatorError } from '../errors.js';

export const FAULT_KINDS = [
  'close',
  'drop',
  'reconnect',
  'invalid-session',
  'zombie',
  'delay',
  'split',
  'corrupt',
  'request-heartbeat',
] as const;
export type FaultKind = (typeof FAULT_KINDS)[number];

/**
 * A fault to inject, targeted at the connections of one shard id (any shard count), of one session, or at
 * every open connection when neither is given.
 * - `close`: close with `code` (default 4000). `resumable: false` also ends the session.
 * - `drop`: destroy the TCP connection without a close frame (the client sees 1006).
 * - `reconnect`: send op 7; with `ms`, close with 4000 that long after if the client has not.
 * - `invalid-session`: send op 9 with `d = resumable` (default false; false also ends the session).
 * - `zombie`: stop answering heartbeats with op 11 for the rest of the connection.
 * - `delay`: hold every outgoing frame for `ms` (default 1000) from now, then send them in order.
 * - `split`: send the next message in `parts` (default 3) WebSocket messages when zlib-stream compressed,
 *   else as that many WebSocket fragments of one message.
 * - `corrupt`: send one corrupt frame: garbage compressed bytes, or an undecodable JSON/ETF payload.
 * - `request-heartbeat`: send op 1; the client must heartbeat at once.
 *
 * With `next: n` the fault hits no open connection: it is armed for the next `n` connections to open
 * (bootstrap or resume URL) and applied right after their WebSocket upgrade, before HELLO. A `reconnect`
 * armed so is sent in place of HELLO (Discord documents op 7 at any time, even before or instead of HELLO).
 */
export interface Fault {
  readonly kind: FaultKind;
  readonly shardId?: number;
  readonly sessionId?: string;
  readonly code?: number;
  readonly resumable?: boolean;
  readonly ms?: number;
  readonly parts?: number;
  /** Arm the fault for this many connections still to open (applied before HELLO) instead of open ones. */
  readonly next?: number;
}

/** Validates a fault from JSON or code; throws `SimulatorError('SIMULATOR_FAULT_INVALID')`. */
export function parseFault(value: unknown): Fault {
  const bad = (msg: string): never => {
    throw new SimulatorError('SIMULATOR_FAULT_INVALID', msg);
  };
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    return bad('a fault is a JSON object');
  const v = value as Record<string, unknown>;
  if (typeof v.kind !== 'string' || !(FAULT_KINDS as readonly string[]).includes(v.kind)) {
    return bad(`unknown fault kind ${JSON.stringify(v.kind)}; kinds: ${FAULT_KINDS.join(', ')}`);
  }
  const out: { -readonly [K in keyof Fault]: Fault[K] } = { kind: v.kind as FaultKind };
  const intField = (name: 'shardId' | 'code' | 'ms' | 'parts' | 'next', min: number, max: number): void => {
    const x = v[name];
    if (x === undefined || x === null) return;
    if (typeof x !== 'number' || !Number.isInteger(x) || x < min || x > max) {
      bad(`${name} must be an integer in [${min}, ${max}], got ${JSON.stringify(x)}`);
    }
    out[name] = x as number;
  };
  intField('shardId', 0, 1_000_000);
  intField('code', 1000, 4999);
  intField('ms', 0, 3_600_000);
  intField('parts', 2, 64);
  intField('next', 1, 1000);
  if (v.resumable !== undefined && v.resumable !== null) {
    if (typeof v.resumable !== 'boolean') bad('resumable must be a boolean');
    out.resumable = v.resumable as boolean;
  }
  if (v.sessionId !== undefined && v.sessionId !== null) {
    if (typeof v.sessionId !== 'string') bad('sessionId must be a string');
    out.sessionId = v.sessionId as string;
  }
  if (out.next !== undefined && (out.shardId !== undefined || out.sessionId !== undefined)) {
    bad('next arms the fault for connections still to open: it cannot name a shardId or sessionId');
  }
  if (
    out.kind === 'close' &&
    out.code !== undefined &&
    (out.code === 1004 || out.code === 1005 || out.code === 1006 || out.code === 1015)
  ) {
    bad(`code ${out.code} cannot be sent in a close frame`);
  }
  return out;
}
