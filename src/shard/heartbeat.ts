/**
 * Heartbeat bookkeeping as pure values. The first beat goes out after `interval × random()`, later ones
 * every `interval`; a beat that is due while the previous one is still un-ACKed marks a zombie connection.
 */
export interface HeartbeatState {
  readonly intervalMs: number;
  /** True when the last beat was ACKed (or none was sent yet). */
  readonly acked: boolean;
  /** When the last beat was sent (clock ms), or null before the first. */
  readonly lastSentAt: number | null;
  /** Round trip of the last ACKed beat, or null before the first ACK. */
  readonly latencyMs: number | null;
}

export function startHeartbeat(intervalMs: number): HeartbeatState {
  return { intervalMs, acked: true, lastSentAt: null, latencyMs: null };
}

/** Delay of the first beat: `interval × random`, random in [0, 1). */
export function firstBeatDelay(intervalMs: number, random: number): number {
  return Math.floor(intervalMs * Math.min(Math.max(random, 0), 1));
}

/** A beat is due and the previous one was never ACKed: the connection is a zombie. */
export function isZombie(hb: HeartbeatState): boolean {
  return hb.lastSentAt !== null && !hb.acked;
}

export function beatSent(hb: HeartbeatState, now: number): HeartbeatState {
  return { ...hb, acked: false, lastSentAt: now };
}

/** State after an ACK; `latencyMs` is null for an ACK nobody asked for. */
export function ackReceived(hb: HeartbeatState, now: number): HeartbeatState {
  if (hb.lastSentAt === null || hb.acked) return { ...hb, acked: true };
  return { ...hb, acked: true, latencyMs: now - hb.lastSentAt };
}
