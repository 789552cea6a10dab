import { ConfigError } from '../errors.js';
import { DEFAULT_KEY_PREFIX, type RedisBaseOptions, toRedisError } from './client.js';
import type { SessionInfo, SessionStore } from './interfaces.js';
import { LuaScript } from './script.js';

export interface RedisSessionStoreOptions extends RedisBaseOptions {
  /** How often buffered sequence numbers are written (default 1 000 ms). */
  flushIntervalMs?: number;
  /** Error sink for failed background flushes (the values stay buffered and are retried). */
  onError?: (err: Error) => void;
}

// KEYS: session hash. ARGV: session id, seq. Writes seq only for the same session and only upwards.
const UPDATE_SEQ = new LuaScript(`
if redis.call('HGET', KEYS[1], 'sessionId') ~= ARGV[1] then return 0 end
local current = tonumber(redis.call('HGET', KEYS[1], 'sequence') or '-1')
if tonumber(ARGV[2]) <= current then return 0 end
redis.call('HSET', KEYS[1], 'sequence', ARGV[2])
return 1
`);

/**
 * Sessions in Redis, one hash per shard (`sessionId`, `sequence`, `resumeGatewayUrl`). A new session is
 * written at once; sequence updates are written behind: the latest per shard is kept in memory and flushed
 * every `flushIntervalMs` (and on `flush()`/`close()`) in one pipeline, by a script that refuses a lower
 * sequence or another session's sequence — a stale writer can never move a session backwards.
 */
export class RedisSessionStore implements SessionStore {
  readonly #redis: RedisBaseOptions['redis'];
  readonly #prefix: string;
  readonly #flushMs: number;
  readonly #onError: ((err: Error) => void) | undefined;
  readonly #pending = new Map<number, { sessionId: string; sequence: number }>();
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
    if (!hash.sessionId || hash.resumeGatewayUrl === undefined) return null;
    let sequence = Number(hash.sequence ?? '0');
    const pending = this.#pending.get(shardId);
    if (pending && pending.sessionId === hash.sessionId && pending.sequence > sequence) {
      sequence = pending.sequence;
    }
    return { sessionId: hash.sessionId, sequence, resumeGatewayUrl: hash.resumeGatewayUrl };
  }

  async save(shardId: number, session: SessionInfo): Promise<void> {
    const pending = this.#pending.get(shardId);
    if (pending && pending.sessionId !== session.sessionId) this.#pending.delete(shardId);
    try {
      await this.#redis.hset(this.#key(shardId), {
        sessionId: session.sessionId,
        sequence: String(session.sequence),
        resumeGatewayUrl: session.resumeGatewayUrl,
      });
    } catch (err) {
      throw toRedisError(err, shardId);
    }
  }

  updateSequence(shardId: number, sessionId: string, sequence: number): void {
    if (this.#closed) return;
    const pending = this.#pending.get(shardId);
    if (pending && pending.sessionId === sessionId && pending.sequence >= sequence) return;
    this.#pending.set(shardId, { sessionId, sequence });
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

  async clear(shardId: number): Promise<void> {
    this.#pending.delete(shardId);
    try {
      await this.#redis.del(this.#key(shardId));
    } catch (err) {
      throw toRedisError(err, shardId);
    }
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
        for (const [shardId, p] of batch)
          UPDATE_SEQ.queue(pipeline, [this.#key(shardId)], [p.sessionId, p.sequence]);
        const results = (await pipeline.exec()) ?? [];
        const failed = results.find(([err]) => err);
        if (failed) throw failed[0];
      } catch (err) {
        // put back what is not superseded by a newer value
        for (const [shardId, p] of batch) {
          const now = this.#pending.get(shardId);
          if (!now || (now.sessionId === p.sessionId && now.sequence < p.sequence))
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
