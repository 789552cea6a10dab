import { ConfigError, RedisError } from '../errors.js';
import { DEFAULT_KEY_PREFIX, type RedisBaseOptions, toRedisError } from './client.js';
import type { SequenceAwareSessionStore, SessionInfo } from './interfaces.js';
import { LuaScript } from './script.js';

export interface RedisSessionStoreOptions extends RedisBaseOptions {
  /** Longest time a sequence update waits before it is written (default 1 000 ms). */
  flushIntervalMs?: number;
  /** Error sink for failed background flushes (the values stay buffered and are retried). */
  onError?: (err: Error) => void;
}

// KEYS: session hash. ARGV: session id ('' = whichever is stored), shard count, seq.
// Writes seq only for that session and shard count, and only upwards.
const UPDATE_SEQ = new LuaScript(`
local session = redis.call('HGET', KEYS[1], 'sessionId')
if not session then return 0 end
if ARGV[1] ~= '' and session ~= ARGV[1] then return 0 end
if redis.call('HGET', KEYS[1], 'shardCount') ~= ARGV[2] then return 0 end
local current = tonumber(redis.call('HGET', KEYS[1], 'sequence') or '-1')
if tonumber(ARGV[3]) <= current then return 0 end
redis.call('HSET', KEYS[1], 'sequence', ARGV[3])
return 1
`);

/** Longest session id accepted from Redis (Discord's are 32 hex characters). */
const MAX_SESSION_ID_LENGTH = 256;
const MAX_SHARD_COUNT = 1_000_000;

/** A stored session hash, checked field by field; a string says what is wrong. */
function checkStoredSession(
  hash: Record<string, string>,
  shardId: number,
): { sessionId: string; sequence: number; resumeUrl: string; shardCount: number } | string {
  const { sessionId, resumeUrl } = hash;
  if (!sessionId || sessionId.length > MAX_SESSION_ID_LENGTH || /\s/.test(sessionId)) return 'bad sessionId';
  const sequence =
    hash.sequence === undefined ? 0 : /^\d{1,16}$/.test(hash.sequence) ? Number(hash.sequence) : -1;
  if (!Number.isSafeInteger(sequence) || sequence < 0) return 'sequence is not a safe non-negative integer';
  let url: URL;
  try {
    url = new URL(resumeUrl ?? '');
  } catch {
    return 'resumeUrl is not a URL';
  }
  if (url.protocol !== 'ws:' && url.protocol !== 'wss:') return 'resumeUrl is not a ws: or wss: URL';
  const shardCount = /^\d{1,7}$/.test(hash.shardCount ?? '') ? Number(hash.shardCount) : 0;
  if (shardCount < 1 || shardCount > MAX_SHARD_COUNT) return 'bad shardCount';
  if (hash.shardId !== undefined && hash.shardId !== String(shardId))
    return `stored for shard ${hash.shardId}`;
  return { sessionId, sequence, resumeUrl: resumeUrl!, shardCount };
}

interface Pending {
  shardCount: number;
  sequence: number;
  /** Session the update belongs to, when this process knows it ('' otherwise). */
  sessionId: string;
}

/**
 * Sessions in Redis, one hash per shard (`sessionId`, `sequence`, `resumeUrl`, `shardId`, `shardCount`).
 * `save()` writes at once (a new session, or `null` to forget it). `updateSequence()` — called for every
 * dispatch — only touches memory: the latest sequence per shard is written every `flushIntervalMs` (and on
 * `flush()`/`close()`) in one pipeline, by a script that refuses a lower sequence, another session's or
 * another shard count's: a stale writer can never move a session backwards.
 */
export class RedisSessionStore implements SequenceAwareSessionStore {
  readonly #redis: RedisBaseOptions['redis'];
  readonly #prefix: string;
  readonly #flushMs: number;
  readonly #onError: ((err: Error) => void) | undefined;
  readonly #pending = new Map<number, Pending>();
  /** Session id per shard as last saved or loaded by this process. */
  readonly #known = new Map<number, string>();
  #timer: NodeJS.Timeout | undefined;
  #flushing: Promise<void> | undefined;
  #closed = false;

  constructor(options: RedisSessionStoreOptions) {
    this.#redis = options.redis;
    this.#prefix = options.prefix ?? DEFAULT_KEY_PREFIX;
    this.#flushMs = options.flushIntervalMs ?? 1_000;
    if (!Number.isFinite(this.#flushMs) || this.#flushMs <= 0) {
      throw new ConfigError('flushIntervalMs', `must be a positive number, got ${String(this.#flushMs)}`);
    }
    this.#onError = options.onError;
  }

  #key(shardId: number): string {
    return `${this.#prefix}session:${shardId}`;
  }

  async load(shardId: number): Promise<SessionInfo | null> {
    let hash: Record<string, string>;
    try {
      hash = await this.#redis.hgetall(this.#key(shardId));
    } catch (err) {
      throw toRedisError(err, shardId);
    }
    if (Object.keys(hash).length === 0) return null;
    const checked = checkStoredSession(hash, shardId);
    if (typeof checked === 'string') {
      // Not resumable as stored (written by something else, or damaged): say so and identify afresh.
      this.#onError?.(
        new RedisError('REDIS_BAD_REPLY', `session of shard ${shardId} in Redis is unusable: ${checked}`, {
          shardId,
        }),
      );
      return null;
    }
    const { sessionId, resumeUrl, shardCount } = checked;
    this.#known.set(shardId, sessionId);
    let sequence = checked.sequence;
    const pending = this.#pending.get(shardId);
    if (
      pending &&
      pending.shardCount === shardCount &&
      (pending.sessionId === '' || pending.sessionId === sessionId) &&
      pending.sequence > sequence
    ) {
      sequence = pending.sequence;
    }
    return { sessionId, sequence, resumeUrl, shardId, shardCount };
  }

  async save(shardId: number, session: SessionInfo | null): Promise<void> {
    this.#pending.delete(shardId);
    try {
      if (session === null) {
        this.#known.delete(shardId);
        await this.#redis.del(this.#key(shardId));
        return;
      }
      this.#known.set(shardId, session.sessionId);
      await this.#redis.hset(this.#key(shardId), {
        sessionId: session.sessionId,
        sequence: String(session.sequence),
        resumeUrl: session.resumeUrl,
        shardId: String(session.shardId),
        shardCount: String(session.shardCount),
      });
    } catch (err) {
      throw toRedisError(err, shardId);
    }
  }

  /**
   * Buffers `sequence` as the shard's latest (written on the next flush, only upwards). Pass the
   * `sessionId` the sequence belongs to whenever it is known: an update of an older session, arriving
   * after a new session was saved, is then refused instead of being written into the new one. Without
   * it the session last saved or loaded by this process is assumed.
   */
  updateSequence(shardId: number, shardCount: number, sequence: number, sessionId?: string): void {
    if (this.#closed) return;
    const session = sessionId ?? this.#known.get(shardId) ?? '';
    const known = this.#known.get(shardId);
    if (session !== '' && known !== undefined && session !== known) return; // not the current session
    const pending = this.#pending.get(shardId);
    if (
      pending &&
      pending.shardCount === shardCount &&
      pending.sessionId === session &&
      pending.sequence >= sequence
    )
      return;
    this.#pending.set(shardId, { shardCount, sequence, sessionId: session });
    this.#schedule();
  }

  #schedule(): void {
    if (this.#closed || this.#timer) return;
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      this.flush().catch((err: Error) => {
        this.#onError?.(err);
        this.#schedule();
      });
    }, this.#flushMs);
    this.#timer.unref?.();
  }

  /** Number of shards whose sequence is buffered and not yet written. */
  get pendingWrites(): number {
    return this.#pending.size;
  }

  /** Writes every buffered sequence in one pipeline. On failure the values stay buffered. */
  async flush(): Promise<void> {
    while (this.#flushing) await this.#flushing;
    if (this.#pending.size === 0) return;
    const batch = [...this.#pending];
    this.#pending.clear();
    this.#flushing = (async () => {
      try {
        await UPDATE_SEQ.load(this.#redis);
        const pipeline = this.#redis.pipeline();
        for (const [shardId, p] of batch) {
          UPDATE_SEQ.queue(pipeline, [this.#key(shardId)], [p.sessionId, p.shardCount, p.sequence]);
        }
        const results = (await pipeline.exec()) ?? [];
        const failed = results.find(([err]) => err);
        if (failed) throw failed[0];
      } catch (err) {
        // put back what is not superseded by a newer value
        for (const [shardId, p] of batch) {
          const now = this.#pending.get(shardId);
          if (!now || (now.shardCount === p.shardCount && now.sequence < p.sequence))
            this.#pending.set(shardId, p);
        }
        throw toRedisError(err);
      } finally {
        this.#flushing = undefined;
      }
    })();
    await this.#flushing;
  }

  /** Flushes and stops the write-behind timer. */
  async close(): Promise<void> {
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = undefined;
    await this.flush();
    this.#closed = true;
  }
}
