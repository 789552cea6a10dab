/**
 * Checks of what a client sends, field by field: every value is hostile until its type and range are known.
 * Each failure carries the close code Discord uses for it.
 */
import { timingSafeEqual } from 'node:crypto';
import { ALL_INTENTS } from '../../util/intents.js';
import type { Secret } from '../../util/redact.js';

export interface Refusal {
  readonly code: number;
  readonly reason: string;
}

export interface Identify {
  readonly intents: number;
  readonly shard: readonly [number, number];
  readonly presence: Record<string, unknown> | undefined;
}

export interface Resume {
  readonly sessionId: string;
  readonly seq: number;
}

const isRecord = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);
const isInt = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v);

/** Compares a client's token (with or without `Bot `) to the configured ones in constant time. */
export function tokenAccepted(raw: unknown, tokens: readonly Secret[]): boolean {
  if (typeof raw !== 'string' || raw.length > 512) return false;
  const given = Buffer.from(raw.replace(/^Bot\s+/i, ''), 'utf8');
  let ok = false;
  for (const t of tokens) {
    const want = Buffer.from(t.reveal(), 'utf8');
    if (want.length === given.length && timingSafeEqual(want, given)) ok = true;
  }
  return ok;
}

const decodeError = (reason: string): Refusal => ({ code: 4002, reason });

export function checkIdentify(
  d: unknown,
  tokens: readonly Secret[],
  upstream: { shardCount: number; intents: number },
): Identify | Refusal {
  if (!isRecord(d)) return decodeError('identify: d must be an object');
  if (typeof d.token !== 'string') return decodeError('identify: token must be a string');
  if (!tokenAccepted(d.token, tokens)) return { code: 4004, reason: 'authentication failed' };
  if (!isRecord(d.properties)) return decodeError('identify: properties must be an object');
  for (const key of ['os', 'browser', 'device'])
    if (d.properties[key] !== undefined && typeof d.properties[key] !== 'string')
      return decodeError(`identify: properties.${key} must be a string`);
  if (d.compress !== undefined && typeof d.compress !== 'boolean')
    return decodeError('identify: compress must be a boolean');
  if (
    d.large_threshold !== undefined &&
    (!isInt(d.large_threshold) || d.large_threshold < 50 || d.large_threshold > 250)
  )
    return decodeError('identify: large_threshold must be an integer from 50 to 250');
  if (d.presence !== undefined && d.presence !== null && !isRecord(d.presence))
    return decodeError('identify: presence must be an object');
  if (!isInt(d.intents) || d.intents < 0)
    return decodeError('identify: intents must be a non-negative integer');
  if ((d.intents & ~ALL_INTENTS) !== 0 || d.intents > ALL_INTENTS)
    return { code: 4013, reason: 'invalid intent(s)' };
  if ((d.intents & ~upstream.intents) !== 0) return { code: 4014, reason: 'disallowed intent(s)' };
  let shard: [number, number];
  if (d.shard === undefined || d.shard === null) {
    if (upstream.shardCount !== 1) return { code: 4011, reason: 'sharding required' };
    shard = [0, 1];
  } else {
    const s = d.shard;
    if (!Array.isArray(s) || s.length !== 2 || !isInt(s[0]) || !isInt(s[1]))
      return decodeError('identify: shard must be [shard_id, num_shards]');
    if (s[1] !== upstream.shardCount || s[0] < 0 || s[0] >= s[1])
      return { code: 4010, reason: 'invalid shard' };
    shard = [s[0], s[1]];
  }
  return {
    intents: d.intents,
    shard,
    presence: isRecord(d.presence) ? d.presence : undefined,
  };
}

export function checkResume(d: unknown, tokens: readonly Secret[]): Resume | Refusal {
  if (!isRecord(d)) return decodeError('resume: d must be an object');
  if (typeof d.token !== 'string') return decodeError('resume: token must be a string');
  if (!tokenAccepted(d.token, tokens)) return { code: 4004, reason: 'authentication failed' };
  if (typeof d.session_id !== 'string' || d.session_id.length > 128)
    return decodeError('resume: session_id must be a string');
  const seq = d.seq === null ? 0 : d.seq;
  if (!isInt(seq) || seq < 0) return decodeError('resume: seq must be a non-negative integer or null');
  return { sessionId: d.session_id, seq };
}

export function isRefusal(v: object): v is Refusal {
  return 'code' in v && 'reason' in v;
}

/** A snowflake as the gateway accepts it: a decimal string (or a safe integer) of at most 20 digits. */
export function snowflake(v: unknown): string | undefined {
  if (typeof v === 'string' && /^\d{1,20}$/.test(v)) return v;
  if (isInt(v) && v >= 0) return String(v);
  return undefined;
}

export { isInt, isRecord };
