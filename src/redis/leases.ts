import { randomUUID } from 'node:crypto';
import { ConfigError, RedisError } from '../errors.js';
import { DEFAULT_KEY_PREFIX, type RedisBaseOptions, toRedisError } from './client.js';
import { LuaScript } from './script.js';

export interface ShardLeasesOptions extends RedisBaseOptions {
  /** This worker's id (default: a random UUID). Must not change while it holds leases. */
  ownerId?: string;
  /** Lease lifetime in Redis (default 10 000 ms). A dead worker's shards become free after this. */
  ttlMs?: number;
  /** Renewal period (default ttlMs / 3). */
  renewIntervalMs?: number;
  /**
   * Called when a lease is lost — taken over after a missed renewal, or not renewed in time because Redis
   * was unreachable. The caller MUST close that shard's gateway connection at once.
   */
  onLost?: (shardId: number, err: RedisError) => void;
  /**
   * Redis lost its data (restarted empty, flushed, failed over to an empty replica): the epoch key this
   * instance saw is gone or replaced. Every held lease is re-established with a fresh fencing token above
   * anything handed out before (`onReestablished`), or lost (`onLost`) when another worker was faster.
   */
  onDataLoss?: (err: RedisError) => void;
  /** A held lease was re-taken after a data loss: its fencing token is now `token`. */
  onReestablished?: (shardId: number, previousToken: number, token: number) => void;
}

/** Largest fencing token accepted from Redis (tokens are integers a double holds exactly). */
const MAX_TOKEN = 2 ** 53 - 1;

/** A Redis reply that is not what a script of ours returns: refused at the boundary. */
function badReply(what: string, reply: unknown, shardId?: number): RedisError {
  const text = JSON.stringify(reply) ?? String(reply);
  return new RedisError(
    'REDIS_BAD_REPLY',
    `unexpected Redis reply to ${what}: ${text.length > 80 ? `${text.slice(0, 80)}…` : text}`,
    shardId === undefined ? {} : { shardId },
  );
}

/** `{1, token}` or `{0, ms}` from ACQUIRE, checked. */
function acquireReply(reply: unknown, shardId: number): [granted: boolean, value: number] {
  if (!Array.isArray(reply) || reply.length !== 2) throw badReply('ACQUIRE', reply, shardId);
  const [granted, value] = reply as unknown[];
  if ((granted !== 0 && granted !== 1) || typeof value !== 'number' || !Number.isSafeInteger(value)) {
    throw badReply('ACQUIRE', reply, shardId);
  }
  if (granted === 1 && (value < 1 || value > MAX_TOKEN)) throw badReply('ACQUIRE', reply, shardId);
  return [granted === 1, value];
}

/** A held lease. `token` is the fencing token: it grows with every new owner of the shard. */
export interface Lease {
  readonly shardId: number;
  readonly token: number;
}

// KEYS: lease, fence counter. ARGV: owner, ttl, floor. Returns {1, token} or {0, ms left on the other owner's
// lease}. A missing counter (a new deployment, or a Redis that lost its data) starts from the server clock in
// ms, above every token handed out before a loss; `floor` (the highest fence the caller has seen for the
// shard) keeps a token above what it knows even if that clock went back.
const ACQUIRE = new LuaScript(`
local v = redis.call('GET', KEYS[1])
if v then
  local owner, token = string.match(v, '^(.*):(%d+)$')
  if owner == ARGV[1] then
    redis.call('PEXPIRE', KEYS[1], ARGV[2])
    return {1, tonumber(token)}
  end
  return {0, redis.call('PTTL', KEYS[1])}
end
local token = tonumber(redis.call('GET', KEYS[2]) or '')
if not token or token < 1 or token >= 2^52 then
  local t = redis.call('TIME')
  token = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end
token = math.floor(token) + 1
local floor = tonumber(ARGV[3]) or 0
if token <= floor then token = floor + 1 end
local text = string.format('%.0f', token)
redis.call('SET', KEYS[2], text)
redis.call('SET', KEYS[1], ARGV[1] .. ':' .. text, 'PX', ARGV[2])
return {1, token}
`);

// KEYS: fence counter. ARGV: fence. Raises the counter to at least `fence` (never lowers it).
const RAISE_FENCE = new LuaScript(`
local current = tonumber(redis.call('GET', KEYS[1]) or '') or 0
if current < tonumber(ARGV[1]) then redis.call('SET', KEYS[1], ARGV[1]) return 1 end
return 0
`);

// KEYS: epoch. ARGV: a new epoch id. Sets the epoch if missing and returns the current one.
const EPOCH = new LuaScript(`
local e = redis.call('GET', KEYS[1])
if e then return e end
redis.call('SET', KEYS[1], ARGV[1])
return ARGV[1]
`);

// KEYS: lease. ARGV: owner:token, ttl. Compare-and-extend.
const RENEW = new LuaScript(`
if redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  return 1
end
return 0
`);

// KEYS: lease. ARGV: owner:token. Compare-and-delete.
const RELEASE = new LuaScript(`
if redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('DEL', KEYS[1])
  return 1
end
return 0
`);

interface Held {
  token: number;
  /** Local monotonic time after which we may no longer assume we own the shard. */
  deadline: number;
}

/**
 * Shard leases: a shard is owned by one worker at a time. A lease is `SET NX PX` of `owner#instance:token` where
 * `token` comes from a per-shard counter (a fencing token); renewal is compare-and-extend, release is
 * compare-and-delete. Locally a lease counts as lost one renewal period BEFORE it can expire in Redis
 * (measured from when the last successful renewal was sent), so a worker cut off from Redis gives its
 * shards up before anyone else can take them: never two live connections for one shard.
 */
export class ShardLeases {
  readonly ownerId: string;
  readonly ttlMs: number;
  readonly renewIntervalMs: number;
  readonly #redis: RedisBaseOptions['redis'];
  readonly #prefix: string;
  readonly #onLost: ((shardId: number, err: RedisError) => void) | undefined;
  readonly #held = new Map<number, Held>();
  /**
   * The lease holder: the owner id plus this instance's random suffix, so that two live processes given
   * the same owner id (a copied `--owner`) never take each other's leases for their own.
   */
  readonly #holder: string;
  readonly #onDataLoss: ((err: RedisError) => void) | undefined;
  readonly #onReestablished: ((shardId: number, previousToken: number, token: number) => void) | undefined;
  /** The epoch id this instance saw at first contact: a different or missing one means Redis lost its data. */
  #epoch: string | undefined;
  /** Highest fence seen per shard (own tokens, fences refused for being lower): new tokens go above it. */
  readonly #floor = new Map<number, number>();
  #timer: NodeJS.Timeout | undefined;
  #renewing = false;

  constructor(options: ShardLeasesOptions) {
    this.#redis = options.redis;
    this.#prefix = options.prefix ?? DEFAULT_KEY_PREFIX;
    this.ownerId = options.ownerId ?? randomUUID();
    if (this.ownerId.length === 0 || /\s/.test(this.ownerId)) {
      throw new ConfigError('ownerId', 'must be a non-empty string without whitespace');
    }
    this.ttlMs = options.ttlMs ?? 10_000;
    if (!Number.isInteger(this.ttlMs) || this.ttlMs < 100) {
      throw new ConfigError('ttlMs', `must be an integer ≥ 100, got ${String(this.ttlMs)}`);
    }
    this.renewIntervalMs = options.renewIntervalMs ?? Math.floor(this.ttlMs / 3);
    if (!(this.renewIntervalMs > 0 && this.renewIntervalMs * 2 < this.ttlMs)) {
      throw new ConfigError(
        'renewIntervalMs',
        `must be > 0 and < ttlMs / 2, got ${String(this.renewIntervalMs)}`,
      );
    }
    this.#onLost = options.onLost;
    this.#onDataLoss = options.onDataLoss;
    this.#onReestablished = options.onReestablished;
    this.#holder = `${this.ownerId}#${randomUUID()}`;
  }

  #key(shardId: number): string {
    return leaseKey(this.#prefix, shardId);
  }

  /** Shard ids this worker holds now. */
  held(): number[] {
    return [...this.#held.keys()].sort((a, b) => a - b);
  }

  /** The fencing token of a held lease, or undefined. */
  tokenOf(shardId: number): number | undefined {
    return this.#held.get(shardId)?.token;
  }

  /** Key of the epoch: a random id set at first contact; gone or different after Redis lost its data. */
  get #epochKey(): string {
    return `${this.#prefix}epoch`;
  }

  /**
   * Reads (or, when missing, writes) the epoch. The first call remembers it; a later different one means
   * Redis lost its data since: returns true then (the new epoch is remembered).
   */
  async checkEpoch(): Promise<boolean> {
    let reply: unknown;
    try {
      reply = await EPOCH.run(this.#redis, [this.#epochKey], [randomUUID()]);
    } catch (err) {
      throw toRedisError(err);
    }
    if (typeof reply !== 'string' || reply.length === 0 || reply.length > 200) throw badReply('EPOCH', reply);
    const before = this.#epoch;
    this.#epoch = reply;
    return before !== undefined && before !== reply;
  }

  /** Never hand out a token at or below `fence` for this shard again (a fence seen in Redis). */
  raiseFloor(shardId: number, fence: number): void {
    if (!Number.isSafeInteger(fence) || fence < 0) return;
    if (fence > (this.#floor.get(shardId) ?? 0)) this.#floor.set(shardId, fence);
  }

  /**
   * Raises the shard's fence counter in Redis to at least `fence` (a fence Redis refused events below),
   * so that the next lease anyone takes of the shard publishes above it.
   */
  async raiseFence(shardId: number, fence: number): Promise<void> {
    if (!Number.isSafeInteger(fence) || fence < 1) return;
    this.raiseFloor(shardId, fence);
    try {
      await RAISE_FENCE.run(this.#redis, [`${this.#key(shardId)}:fence`], [fence]);
    } catch (err) {
      throw toRedisError(err, shardId);
    }
  }

  /** Takes the lease of `shardId`, or returns null when another worker holds it. */
  async acquire(shardId: number): Promise<Lease | null> {
    if (this.#epoch === undefined) await this.checkEpoch();
    const sentAt = performance.now();
    let reply: unknown;
    try {
      reply = await ACQUIRE.run(
        this.#redis,
        [this.#key(shardId), `${this.#key(shardId)}:fence`],
        [this.#holder, this.ttlMs, this.#floor.get(shardId) ?? 0],
      );
    } catch (err) {
      throw toRedisError(err, shardId);
    }
    const [granted, token] = acquireReply(reply, shardId);
    if (!granted) return null;
    this.raiseFloor(shardId, token);
    this.#held.set(shardId, { token, deadline: sentAt + this.ttlMs - this.renewIntervalMs });
    return { shardId, token };
  }

  /** Gives a lease back (compare-and-delete: a lease already taken over is left alone). */
  async release(shardId: number): Promise<boolean> {
    const held = this.#held.get(shardId);
    if (!held) return false;
    this.#held.delete(shardId);
    try {
      return (await RELEASE.run(this.#redis, [this.#key(shardId)], [`${this.#holder}:${held.token}`])) === 1;
    } catch (err) {
      throw toRedisError(err, shardId);
    }
  }

  /** Whether `token` is still the current lease of `shardId` in Redis (detects a stale owner). */
  async isCurrent(shardId: number, token: number): Promise<boolean> {
    try {
      const value = await this.#redis.get(this.#key(shardId));
      return value?.endsWith(`:${token}`) === true;
    } catch (err) {
      throw toRedisError(err, shardId);
    }
  }

  /** Owner id of each leased shard among `0 … total-1` (free shards are absent). */
  async owners(total: number): Promise<Map<number, string>> {
    const holders = await readLeaseHolders({ redis: this.#redis, prefix: this.#prefix }, total);
    return new Map([...holders].map(([shardId, h]) => [shardId, h.owner]));
  }

  /** Shards among `0 … total-1` that nobody holds (for `--auto`). */
  async freeShards(total: number): Promise<number[]> {
    const owners = await this.owners(total);
    return Array.from({ length: total }, (_, i) => i).filter((i) => !owners.has(i));
  }

  /**
   * `--auto`: takes up to `limit` free shards among `0 … total-1`, lowest ids first, skipping any that
   * another worker grabs in the meantime. Returns the leases taken.
   */
  async claimFree(total: number, limit: number): Promise<Lease[]> {
    if (!Number.isInteger(limit) || limit < 0) throw new ConfigError('limit', `must be an integer ≥ 0`);
    const taken: Lease[] = [];
    for (const shardId of await this.freeShards(total)) {
      if (taken.length >= limit) break;
      const lease = await this.acquire(shardId);
      if (lease) taken.push(lease);
    }
    return taken;
  }

  /**
   * Renews every held lease once (one pipeline); leases found taken over or past deadline are lost. When
   * the epoch shows that Redis lost its data, the held leases are re-established with fresh tokens instead.
   */
  async renew(): Promise<void> {
    this.#expireOverdue();
    const batch = [...this.#held];
    let lost: boolean;
    try {
      lost = await this.checkEpoch();
    } catch {
      this.#expireOverdue();
      return;
    }
    if (lost) {
      await this.#reestablish();
      this.#expireOverdue();
      return;
    }
    if (batch.length === 0) return;
    const sentAt = performance.now();
    let results: [Error | null, unknown][];
    try {
      await RENEW.load(this.#redis);
      const pipeline = this.#redis.pipeline();
      for (const [shardId, h] of batch) {
        RENEW.queue(pipeline, [this.#key(shardId)], [`${this.#holder}:${h.token}`, this.ttlMs]);
      }
      results = (await pipeline.exec()) ?? [];
    } catch {
      this.#expireOverdue();
      return;
    }
    batch.forEach(([shardId, h], i) => {
      const [err, value] = results[i] ?? [null, 0];
      if (this.#held.get(shardId) !== h) return;
      if (err) return;
      if (value === 1) h.deadline = sentAt + this.ttlMs - this.renewIntervalMs;
      else this.#lose(shardId, 'was taken over by another worker');
    });
    this.#expireOverdue();
  }

  /** After a data loss: re-take every held lease with a token above the old one, or lose it. */
  async #reestablish(): Promise<void> {
    const shards = this.held();
    this.#onDataLoss?.(
      new RedisError(
        'REDIS_DATA_LOST',
        `Redis lost its data (its epoch key ${this.#epochKey} is gone or new): leases, sessions and events written before are gone; re-taking ${shards.length} lease(s) with fresh fencing tokens`,
      ),
    );
    for (const shardId of shards) {
      const h = this.#held.get(shardId);
      if (!h) continue;
      const previous = h.token;
      this.#held.delete(shardId);
      let lease: Lease | null;
      try {
        lease = await this.acquire(shardId);
      } catch {
        this.#held.set(shardId, h); // not answered: the deadline decides
        continue;
      }
      if (lease) this.#onReestablished?.(shardId, previous, lease.token);
      else {
        this.#held.set(shardId, h);
        this.#lose(shardId, 'was taken by another worker after Redis lost its data');
      }
    }
  }

  #expireOverdue(): void {
    const now = performance.now();
    for (const [shardId, h] of this.#held) {
      if (now >= h.deadline) this.#lose(shardId, 'could not be renewed in time (Redis unreachable?)');
    }
  }

  #lose(shardId: number, why: string): void {
    const h = this.#held.get(shardId);
    if (!h) return;
    this.#held.delete(shardId);
    this.#onLost?.(
      shardId,
      new RedisError('LEASE_LOST', `lease of shard ${shardId} (token ${h.token}) ${why}`, { shardId }),
    );
  }

  /** Starts the renewal loop. Deadlines are checked on every tick even while a renewal hangs. */
  start(): void {
    if (this.#timer) return;
    let lastRenew = performance.now();
    this.#timer = setInterval(
      () => {
        this.#expireOverdue();
        if (this.#renewing || performance.now() - lastRenew < this.renewIntervalMs) return;
        this.#renewing = true;
        lastRenew = performance.now();
        this.renew().finally(() => {
          this.#renewing = false;
        });
      },
      Math.max(5, Math.floor(this.renewIntervalMs / 4)),
    );
  }

  stop(): void {
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = undefined;
  }

  /** Stops renewing and releases every held lease. */
  async close(): Promise<void> {
    this.stop();
    await Promise.allSettled(this.held().map((id) => this.release(id)));
  }
}

/** Key of a shard's lease: `owner#instance:token` while held. */
export function leaseKey(prefix: string, shardId: number): string {
  return `${prefix}lease:${shardId}`;
}

/** Who holds a shard's lease: the owner id (instance suffix dropped) and the fencing token. */
export interface LeaseHolder {
  readonly owner: string;
  /** Fencing token, or null when the stored value does not end in one. */
  readonly token: number | null;
}

/** Longest owner id kept from a lease value (a longer one is cut: it is shown, never trusted). */
const MAX_OWNER_LENGTH = 200;

/** Parses a stored lease value `owner#instance:token` (anything else is kept as a cut-down owner). */
export function parseLeaseValue(value: string): LeaseHolder {
  const m = /^(.*?)(?:#[0-9a-f-]{36})?:(\d{1,15})$/.exec(value);
  const owner = (m ? m[1]! : value).slice(0, MAX_OWNER_LENGTH);
  return { owner, token: m ? Number(m[2]) : null };
}

/** The holder of each leased shard among `0 … total-1` (free shards are absent), in one MGET. */
export async function readLeaseHolders(
  options: RedisBaseOptions,
  total: number,
): Promise<Map<number, LeaseHolder>> {
  if (!Number.isInteger(total) || total < 1) throw new ConfigError('total', `must be a positive integer`);
  const prefix = options.prefix ?? DEFAULT_KEY_PREFIX;
  const keys = Array.from({ length: total }, (_, i) => leaseKey(prefix, i));
  let values: (string | null)[];
  try {
    values = await options.redis.mget(...keys);
  } catch (err) {
    throw toRedisError(err);
  }
  const out = new Map<number, LeaseHolder>();
  values.forEach((v, i) => {
    if (typeof v === 'string') out.set(i, parseLeaseValue(v));
  });
  return out;
}
