/**
 * Checks for the values a gateway sends that feed a timer, an outgoing payload or a URL the shard connects
 * to: a sequence number, a heartbeat interval, a session id, a resume URL. Every one is hostile until it
 * passes here; the machine turns a failure into a `ProtocolViolationError` and a reconnect.
 */

/** Largest delay a Node timer honours; anything above it fires after 1 ms. */
export const MAX_TIMER_MS = 2 ** 31 - 1;

/** Default ceiling of a Hello `heartbeat_interval`, in ms (Discord sends 41 250). */
export const DEFAULT_MAX_HEARTBEAT_INTERVAL_MS = 600_000;

/**
 * Share of the per-connection send budget heartbeats alone may take. The default floor of a Hello
 * `heartbeat_interval` follows from it: with Discord's 120 sends / 60 s, 1 000 ms.
 */
export const HEARTBEAT_SEND_BUDGET_SHARE = 0.5;

/** Longest READY `session_id` accepted, in characters (Discord's are 32 hex digits). */
export const MAX_SESSION_ID_LENGTH = 256;

/** Longest gateway or resume URL accepted, in characters. */
export const MAX_GATEWAY_URL_LENGTH = 2_048;

/** The lowest Hello interval whose heartbeats fit in `HEARTBEAT_SEND_BUDGET_SHARE` of the send limit. */
export function defaultMinHeartbeatIntervalMs(limit: { perWindow: number; windowMs: number }): number {
  return Math.ceil(limit.windowMs / (limit.perWindow * HEARTBEAT_SEND_BUDGET_SHARE));
}

/** A dispatch sequence we can store, compare, add one to and send back: a safe integer ≥ 0. */
export function isValidSequence(s: unknown): s is number {
  return typeof s === 'number' && Number.isSafeInteger(s) && s >= 0;
}

/** Why `value` is not a heartbeat interval in `[min, max]` ms, or null when it is one. */
export function heartbeatIntervalProblem(value: unknown, min: number, max: number): string | null {
  if (typeof value !== 'number' || !Number.isFinite(value)) return 'is not a finite number';
  if (value < min) return `is below the ${min} ms floor`;
  if (value > max) return `is above the ${max} ms ceiling`;
  return null;
}

/** Why `value` is not a usable session id (it goes back in RESUME), or null when it is one. */
export function sessionIdProblem(value: unknown): string | null {
  if (typeof value !== 'string') return 'is not a string';
  if (value.length === 0) return 'is empty';
  if (value.length > MAX_SESSION_ID_LENGTH) return `is longer than ${MAX_SESSION_ID_LENGTH} characters`;
  if (!/^[\x21-\x7e]+$/.test(value)) return 'contains characters other than printable ASCII';
  return null;
}

/**
 * Why `value` is not a URL the shard may connect to and send its token over — a parsable `ws:`/`wss:` URL
 * without credentials, of bounded length — or null when it is one.
 */
export function gatewayUrlProblem(value: unknown): string | null {
  if (typeof value !== 'string') return 'is not a string';
  if (value.length === 0) return 'is empty';
  if (value.length > MAX_GATEWAY_URL_LENGTH) return `is longer than ${MAX_GATEWAY_URL_LENGTH} characters`;
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return 'is not a URL';
  }
  if (url.protocol !== 'ws:' && url.protocol !== 'wss:') return `uses ${url.protocol} (only ws: and wss:)`;
  if (url.hostname.length === 0) return 'has no host';
  if (url.username !== '' || url.password !== '') return 'carries credentials';
  return null;
}

/** A short, printable description of a hostile value for an error message (never the value in full). */
export function describeValue(value: unknown): string {
  if (typeof value === 'string') {
    const shown = value.length > 40 ? `${value.slice(0, 40)}…` : value;
    return `${JSON.stringify(shown)} (string of ${value.length})`;
  }
  if (typeof value === 'bigint') return 'a bigint';
  if (value === null) return 'null';
  if (value === undefined) return 'undefined';
  if (Array.isArray(value)) return `an array of ${value.length}`;
  if (typeof value === 'object') return 'an object';
  return String(value);
}
