/**
 * The gateway's per-connection send limit (120 payloads per 60 s, heartbeats included) as a pure sliding
 * window of send timestamps. System sends (heartbeat, identify, resume) may use the whole window; caller
 * sends stop short of it by a reserve computed from the real heartbeat interval, so heartbeats always fit.
 */
export const SEND_LIMIT_PER_WINDOW = 120;
export const SEND_WINDOW_MS = 60_000;

export interface SendLimit {
  readonly perWindow: number;
  readonly windowMs: number;
  /**
   * Extra time a send stays counted after `windowMs`, so that network and event-loop jitter between our
   * clock and the server's cannot squeeze 121 sends into the server's 60 s.
   */
  readonly marginMs: number;
}

export const DEFAULT_SEND_LIMIT = {
  perWindow: SEND_LIMIT_PER_WINDOW,
  windowMs: SEND_WINDOW_MS,
  marginMs: 1_000,
} as const satisfies SendLimit;

export type SendPriority = 'system' | 'user';

/** Timestamps (ms, ascending) of the sends still inside the window. Treat as immutable. */
export interface SendWindow {
  readonly stamps: readonly number[];
  /** Slots kept free for system sends. */
  readonly reserved: number;
}

export function emptyWindow(reserved = 0): SendWindow {
  return { stamps: [], reserved };
}

/**
 * Slots to keep for system sends in one window: every heartbeat the interval can produce
 * (`ceil(window / interval) + 1`, the +1 covering the jittered first beat), one server-requested beat and
 * one identify or resume. Never more than `perWindow - 1`, so the caller can always send eventually.
 */
export function reservedSlots(heartbeatIntervalMs: number, limit: SendLimit): number {
  const beats = Math.ceil((limit.windowMs + limit.marginMs) / Math.max(1, heartbeatIntervalMs)) + 1;
  return Math.min(limit.perWindow - 1, beats + 2);
}

function prune(w: SendWindow, now: number, limit: SendLimit): readonly number[] {
  const cutoff = now - (limit.windowMs + limit.marginMs);
  let i = 0;
  while (i < w.stamps.length && w.stamps[i]! <= cutoff) i++;
  return i === 0 ? w.stamps : w.stamps.slice(i);
}

function capacity(priority: SendPriority, w: SendWindow, limit: SendLimit): number {
  return priority === 'system' ? limit.perWindow : limit.perWindow - w.reserved;
}

/** Sends still allowed at `now` for `priority`. */
export function available(w: SendWindow, now: number, priority: SendPriority, limit: SendLimit): number {
  return Math.max(0, capacity(priority, w, limit) - prune(w, now, limit).length);
}

/** The window after recording one send at `now` (expired stamps dropped). */
export function recordSend(w: SendWindow, now: number, limit: SendLimit): SendWindow {
  return { stamps: [...prune(w, now, limit), now], reserved: w.reserved };
}

/** The window with expired stamps dropped. */
export function pruneWindow(w: SendWindow, now: number, limit: SendLimit): SendWindow {
  const stamps = prune(w, now, limit);
  return stamps === w.stamps ? w : { stamps, reserved: w.reserved };
}

/** Earliest time ≥ `now` at which one more send of `priority` is allowed. */
export function nextSlotAt(w: SendWindow, now: number, priority: SendPriority, limit: SendLimit): number {
  const stamps = prune(w, now, limit);
  const cap = capacity(priority, w, limit);
  if (stamps.length < cap) return now;
  // The (len - cap + 1)-th oldest stamp must leave the window; a stamp leaves at stamp + window + margin.
  const stamp = stamps[stamps.length - cap]!;
  return Math.max(now, stamp + limit.windowMs + limit.marginMs);
}
