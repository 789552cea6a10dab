/**
 * A read-only picture of a worker fleet from its Redis keys (see docs/redis.md): the shard count, each
 * shard's lease holder and last published (session, seq), the worker registry, the daily identify budget,
 * and each event stream's length and consumer groups. One pipeline per read; every reply is checked and
 * bounded before it is returned (the values are shown to people, never trusted).
 */
import { RedisError } from '../errors.js';
import { DEFAULT_KEY_PREFIX, type RedisBaseOptions, toRedisError } from './client.js';
import { readShardCount } from './commands.js';
import { readSessionStartBudget, type SessionStartBudget } from './identify-queue.js';
import { type LeaseHolder, readLeaseHolders } from './leases.js';
import { DEFAULT_PARTITIONS, eventStreamKey, lastPublishedKey } from './streams.js';

/** Key of the registry of `--shard-ids auto` workers: a ZSET of owner ids scored by expiry (ms). */
export function workerRegistryKey(prefix: string): string {
  return `${prefix}workers`;
}

/** Shards read at most (a larger stored count is cut to this, and `truncated` says so). */
export const FLEET_MAX_SHARDS = 4096;
/** Workers and consumer groups listed at most. */
export const FLEET_MAX_WORKERS = 256;
export const FLEET_MAX_GROUPS = 32;
/** Longest name (worker id, group name, session id) kept. */
const MAX_NAME = 120;

export interface FleetShard {
  readonly shardId: number;
  readonly holder: LeaseHolder | null;
  /** Session and sequence of the last event published to the stream, or null before the first. */
  readonly sessionId: string | null;
  readonly seq: number | null;
}

export interface FleetWorker {
  readonly id: string;
  /** Ms until its registry entry expires (auto workers), or null for a worker known only from leases. */
  readonly expiresInMs: number | null;
  readonly shardIds: readonly number[];
}

export interface FleetGroup {
  readonly name: string;
  readonly consumers: number;
  /** Delivered, not yet acknowledged. */
  readonly pending: number;
  /** Entries not yet delivered to the group (Redis ≥ 7; null when Redis cannot tell). */
  readonly lag: number | null;
}

export interface FleetStream {
  readonly partition: number;
  readonly key: string;
  readonly length: number;
  readonly groups: readonly FleetGroup[];
}

export interface FleetStatus {
  /** Redis server time of the read (ms). */
  readonly at: number;
  /** The shard count the workers published, or null before any worker started. */
  readonly shardCount: number | null;
  readonly truncated: boolean;
  readonly shards: readonly FleetShard[];
  readonly workers: readonly FleetWorker[];
  readonly budget: SessionStartBudget | null;
  readonly streams: readonly FleetStream[];
}

export interface ReadFleetOptions extends RedisBaseOptions {
  /** Event stream partitions (default 1); must match the workers. */
  readonly partitions?: number;
}

function badReply(what: string): RedisError {
  return new RedisError('REDIS_BAD_REPLY', `fleet status: ${what} is not what Redis or Shardline writes`);
}

const text = (v: unknown): string | undefined =>
  typeof v === 'string' ? v : Buffer.isBuffer(v) ? v.toString('utf8') : undefined;

const count = (v: unknown): number | null => {
  const n = typeof v === 'number' ? v : typeof v === 'string' && /^\d{1,15}$/.test(v) ? Number(v) : NaN;
  return Number.isSafeInteger(n) && n >= 0 ? n : null;
};

/** XINFO GROUPS → groups (flat field/value arrays), bounded and checked. */
export function parseGroups(reply: unknown): FleetGroup[] {
  if (!Array.isArray(reply)) throw badReply('XINFO GROUPS reply');
  const out: FleetGroup[] = [];
  for (const entry of reply.slice(0, FLEET_MAX_GROUPS)) {
    if (!Array.isArray(entry)) throw badReply('XINFO GROUPS entry');
    const fields = new Map<string, unknown>();
    for (let i = 0; i + 1 < entry.length; i += 2) {
      const name = text(entry[i]);
      if (name !== undefined) fields.set(name, entry[i + 1]);
    }
    const name = text(fields.get('name'));
    if (name === undefined) throw badReply('XINFO GROUPS entry without a name');
    out.push({
      name: name.slice(0, MAX_NAME),
      consumers: count(fields.get('consumers')) ?? 0,
      pending: count(fields.get('pending')) ?? 0,
      lag: count(fields.get('lag')),
    });
  }
  return out;
}

/** One `events:<p>:last` field value, `"<session> <seq>"`. */
function parseLast(value: string | undefined): { sessionId: string; seq: number } | null {
  if (value === undefined) return null;
  const m = /^(\S{1,200}) (\d{1,15})$/.exec(value);
  return m ? { sessionId: m[1]!.slice(0, MAX_NAME), seq: Number(m[2]) } : null;
}

/** Reads the fleet's state. Throws a `RedisError` when Redis is unreachable or a reply is malformed. */
export async function readFleetStatus(options: ReadFleetOptions): Promise<FleetStatus> {
  const { redis } = options;
  const prefix = options.prefix ?? DEFAULT_KEY_PREFIX;
  const partitions = options.partitions ?? DEFAULT_PARTITIONS;
  const storedCount = await readShardCount({ redis, prefix });
  const total = storedCount === undefined ? 0 : Math.min(storedCount, FLEET_MAX_SHARDS);
  const [holders, budget] = await Promise.all([
    total > 0 ? readLeaseHolders({ redis, prefix }, total) : new Map<number, LeaseHolder>(),
    readSessionStartBudget({ redis, prefix }),
  ]);
  const pipeline = redis.pipeline();
  pipeline.time();
  pipeline.zrange(workerRegistryKey(prefix), '0', String(FLEET_MAX_WORKERS - 1), 'WITHSCORES');
  for (let p = 0; p < partitions; p++) {
    pipeline.xlen(eventStreamKey(prefix, p));
    pipeline.xinfo('GROUPS', eventStreamKey(prefix, p));
    pipeline.hgetall(lastPublishedKey(prefix, p));
  }
  let replies: [Error | null, unknown][];
  try {
    replies = (await pipeline.exec()) ?? [];
  } catch (err) {
    throw toRedisError(err);
  }
  const reply = (i: number, tolerate?: RegExp): unknown => {
    const [err, value] = replies[i] ?? [badReply('pipeline reply'), null];
    if (err) {
      if (tolerate?.test(err.message)) return null;
      throw toRedisError(err);
    }
    return value;
  };
  const time = reply(0);
  const seconds = Array.isArray(time) ? count(text(time[0])) : null;
  const micros = Array.isArray(time) ? count(text(time[1])) : null;
  if (seconds === null || micros === null) throw badReply('TIME reply');
  const now = seconds * 1000 + Math.floor(micros / 1000);

  const registry = reply(1);
  if (!Array.isArray(registry)) throw badReply('worker registry');
  const workers = new Map<string, { expiresInMs: number | null; shardIds: number[] }>();
  for (let i = 0; i + 1 < registry.length; i += 2) {
    const id = text(registry[i])?.slice(0, MAX_NAME);
    const score = Number(text(registry[i + 1]));
    if (id === undefined || !Number.isFinite(score)) throw badReply('worker registry entry');
    // An entry past its expiry is a dead worker that nobody swept yet: not listed.
    if (score > now) workers.set(id, { expiresInMs: Math.round(score - now), shardIds: [] });
  }

  const last = new Map<number, { sessionId: string; seq: number }>();
  const streams: FleetStream[] = [];
  for (let p = 0; p < partitions; p++) {
    const base = 2 + p * 3;
    const length = count(reply(base));
    if (length === null) throw badReply('XLEN reply');
    // A stream nobody wrote yet has no groups: XINFO answers "no such key".
    const groups = reply(base + 1, /no such key/i);
    const hash = reply(base + 2);
    if (typeof hash !== 'object' || hash === null) throw badReply('last-published hash');
    for (const [field, value] of Object.entries(hash as Record<string, unknown>)) {
      if (!/^\d{1,7}$/.test(field)) continue; // the `<shard>:fence` fields
      const parsed = parseLast(text(value));
      if (parsed) last.set(Number(field), parsed);
    }
    streams.push({
      partition: p,
      key: eventStreamKey(prefix, p),
      length,
      groups: groups === null ? [] : parseGroups(groups),
    });
  }

  const shards: FleetShard[] = [];
  for (let id = 0; id < total; id++) {
    const holder = holders.get(id) ?? null;
    const published = last.get(id);
    shards.push({
      shardId: id,
      holder,
      sessionId: published?.sessionId ?? null,
      seq: published?.seq ?? null,
    });
    if (holder) {
      let worker = workers.get(holder.owner);
      if (!worker && workers.size < FLEET_MAX_WORKERS) {
        worker = { expiresInMs: null, shardIds: [] };
        workers.set(holder.owner, worker);
      }
      worker?.shardIds.push(id);
    }
  }
  return {
    at: now,
    shardCount: storedCount ?? null,
    truncated: storedCount !== undefined && storedCount > total,
    shards,
    workers: [...workers].map(([id, w]) => ({ id, ...w })).sort((a, b) => a.id.localeCompare(b.id)),
    budget,
    streams,
  };
}
