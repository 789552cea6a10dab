/**
 * The Redis record of a client session shared by proxy replicas (`SharedSessions`): a hash
 * `<prefix>proxy:session:<id>` with `epoch` (fencing: bumped by each RESUME that takes the session over),
 * `chain` (bumped whenever the anchor is reset by an event the proxy made itself), `owner` (the replica that
 * holds it) and `rec`, a small JSON object: the shard, the intents and the anchor `(seq, pos)`. Everything
 * read back is checked here; anything off is an `invalid` reason, never a throw.
 */
import { isStreamId } from '../redis/event-cursor.js';
import { ALL_INTENTS } from '../util/intents.js';

export const SESSION_RECORD_VERSION = 1;
/** A session id as the proxy makes them (32 hex digits); anything else is never looked up. */
export const SESSION_ID = /^[0-9a-f]{32}$/;
const OWNER = /^[0-9a-f]{16}$/;
const MAX_SHARDS = 100_000;

export interface SessionRecord {
  readonly shard: readonly [number, number];
  readonly intents: number;
  /** Anchor: the session's events after `seq` are its shard's stream events after entry `pos`. */
  readonly seq: number;
  readonly pos: string;
  /** Set while a proxy-made event (a member chunk) may be on its way that the stream cannot rebuild. */
  readonly opaque: boolean;
}

export interface StoredSessionRecord extends SessionRecord {
  readonly epoch: number;
  readonly chain: number;
  readonly owner: string;
}

export function sessionRecordKey(prefix: string, id: string): string {
  return `${prefix}proxy:session:${id}`;
}

export function sessionChannel(prefix: string): string {
  return `${prefix}proxy:sessions`;
}

export function isReplicaId(v: unknown): v is string {
  return typeof v === 'string' && OWNER.test(v);
}

export function encodeSessionRecord(r: SessionRecord): string {
  return JSON.stringify({
    v: SESSION_RECORD_VERSION,
    shard: r.shard,
    intents: r.intents,
    seq: r.seq,
    pos: r.pos,
    opaque: r.opaque,
  });
}

const counter = (v: unknown): number | undefined => {
  if (typeof v !== 'string' || !/^\d{1,15}$/.test(v)) return undefined;
  return Number(v);
};
const int = (v: unknown, min: number, max: number): v is number =>
  typeof v === 'number' && Number.isSafeInteger(v) && v >= min && v <= max;

/**
 * Checks the reply of the read script (`[epoch, chain, owner, rec]`, each a string or null) against
 * `maxBytes` (the sum of the fields; the script refuses larger ones before sending them).
 */
export function decodeSessionRecord(
  reply: unknown,
  maxBytes: number,
): StoredSessionRecord | { invalid: string } {
  if (!Array.isArray(reply) || reply.length !== 4) return { invalid: 'not a session record' };
  const [e, c, o, rec] = reply as unknown[];
  let bytes = 0;
  for (const f of reply) if (typeof f === 'string') bytes += Buffer.byteLength(f);
  if (bytes > maxBytes) return { invalid: `larger than ${maxBytes} bytes` };
  const epoch = counter(e);
  const chain = counter(c);
  if (epoch === undefined || epoch < 1 || chain === undefined)
    return { invalid: 'epoch or chain is not a counter' };
  if (!isReplicaId(o)) return { invalid: 'owner is not a replica id' };
  if (typeof rec !== 'string') return { invalid: 'no rec field' };
  let v: unknown;
  try {
    v = JSON.parse(rec);
  } catch {
    return { invalid: 'rec is not JSON' };
  }
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return { invalid: 'rec is not an object' };
  const r = v as Record<string, unknown>;
  if (r.v !== SESSION_RECORD_VERSION) return { invalid: `rec version ${String(r.v)}` };
  const shard = r.shard;
  if (
    !Array.isArray(shard) ||
    shard.length !== 2 ||
    !int(shard[1], 1, MAX_SHARDS) ||
    !int(shard[0], 0, (shard[1] as number) - 1)
  )
    return { invalid: 'shard is not [id, count]' };
  if (!int(r.intents, 0, ALL_INTENTS) || (r.intents & ~ALL_INTENTS) !== 0) return { invalid: 'bad intents' };
  if (!int(r.seq, 0, Number.MAX_SAFE_INTEGER)) return { invalid: 'bad seq' };
  if (!isStreamId(r.pos)) return { invalid: 'pos is not a stream id' };
  if (typeof r.opaque !== 'boolean') return { invalid: 'opaque is not a boolean' };
  return {
    epoch,
    chain,
    owner: o,
    shard: [shard[0] as number, shard[1] as number],
    intents: r.intents,
    seq: r.seq,
    pos: r.pos,
    opaque: r.opaque,
  };
}

/** Reads the record: nil when absent, `bad-type` / `too-large` refusals, else `[epoch, chain, owner, rec]`. */
export const READ_SCRIPT = `
local t = redis.call('TYPE', KEYS[1])['ok']
if t == 'none' then return false end
if t ~= 'hash' then return 'bad-type' end
local n = 0
for _, f in ipairs({'epoch', 'chain', 'owner', 'rec'}) do n = n + redis.call('HSTRLEN', KEYS[1], f) end
if n > tonumber(ARGV[1]) then return 'too-large' end
return redis.call('HMGET', KEYS[1], 'epoch', 'chain', 'owner', 'rec')`;

/** Creates the record of a new session (epoch 1); 0 when the key exists. */
export const CREATE_SCRIPT = `
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
redis.call('HSET', KEYS[1], 'epoch', '1', 'chain', '0', 'owner', ARGV[1], 'rec', ARGV[2])
redis.call('PEXPIRE', KEYS[1], ARGV[3])
return 1`;

/**
 * Fenced write of the owner: -1 when the record is gone (expired, or Redis lost it), 0 when another
 * replica took the session over (epoch moved on), 1 when written. ARGV[4] = 1 bumps the chain.
 */
export const WRITE_SCRIPT = `
if redis.call('TYPE', KEYS[1])['ok'] ~= 'hash' then return -1 end
local e = redis.call('HGET', KEYS[1], 'epoch')
if not e then return -1 end
if e ~= ARGV[1] then return 0 end
redis.call('HSET', KEYS[1], 'rec', ARGV[2])
if ARGV[4] == '1' then redis.call('HINCRBY', KEYS[1], 'chain', 1) end
redis.call('PEXPIRE', KEYS[1], ARGV[3])
return 1`;

/**
 * Takeover by a RESUME: only if epoch and chain are what the resuming replica read (nothing was reset since
 * it computed the replay); bumps the epoch, sets owner and rec, publishes `<id> <epoch> <owner>` so the
 * previous owner drops its connection. Returns the new epoch, or 0.
 */
export const TAKEOVER_SCRIPT = `
if redis.call('TYPE', KEYS[1])['ok'] ~= 'hash' then return 0 end
local v = redis.call('HMGET', KEYS[1], 'epoch', 'chain')
if v[1] ~= ARGV[1] or v[2] ~= ARGV[2] then return 0 end
local n = tonumber(ARGV[1]) + 1
redis.call('HSET', KEYS[1], 'epoch', tostring(n), 'chain', tostring(tonumber(ARGV[2]) + 1), 'owner', ARGV[3], 'rec', ARGV[4])
redis.call('PEXPIRE', KEYS[1], ARGV[5])
redis.call('PUBLISH', ARGV[6], ARGV[7] .. ' ' .. tostring(n) .. ' ' .. ARGV[3])
return n`;

/** Fenced delete (the session ended): only while the epoch is the caller's. */
export const DELETE_SCRIPT = `
if redis.call('TYPE', KEYS[1])['ok'] ~= 'hash' then return 0 end
if redis.call('HGET', KEYS[1], 'epoch') ~= ARGV[1] then return 0 end
return redis.call('DEL', KEYS[1])`;

/** A takeover message `<id> <epoch> <owner>`, checked. */
export function parseTakeover(message: unknown): { id: string; epoch: number; owner: string } | undefined {
  if (typeof message !== 'string' || message.length > 128) return undefined;
  const [id, e, owner, ...rest] = message.split(' ');
  const epoch = counter(e);
  if (rest.length > 0 || !SESSION_ID.test(id ?? '') || epoch === undefined || !isReplicaId(owner))
    return undefined;
  return { id: id!, epoch, owner };
}
