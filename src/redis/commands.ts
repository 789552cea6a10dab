import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';
import { ConfigError, RedisError, ShardlineError } from '../errors.js';
import { shardForGuild } from '../manager/routing.js';
import {
  abortable,
  closeClient,
  DEFAULT_KEY_PREFIX,
  duplicateClient,
  type RedisBaseOptions,
  retryDelayMs,
  sleep,
  toRedisError,
} from './client.js';
import { encodeData } from './streams.js';

/** Group every owner of a shard reads its command stream in. */
const OWNER_GROUP = 'owners';
/** Cap of each command stream and reply stream. */
const COMMAND_STREAM_MAX_LEN = 10_000;
/** A reply stream with no reader for this long disappears. */
const REPLY_STREAM_TTL_MS = 300_000;

export function commandStreamKey(prefix: string, shardId: number): string {
  return `${prefix}commands:${shardId}`;
}

function shardCountKey(prefix: string): string {
  return `${prefix}shard-count`;
}

/** Records the total shard count so `CommandClient` can route by guild (workers call this). */
export async function publishShardCount(options: RedisBaseOptions & { shardCount: number }): Promise<void> {
  try {
    await options.redis.set(shardCountKey(options.prefix ?? DEFAULT_KEY_PREFIX), String(options.shardCount));
  } catch (err) {
    throw toRedisError(err);
  }
}

/**
 * The shard count workers published (`publishShardCount`); undefined while none is stored. A stored value
 * that is not an integer from 1 to 100 000 is a `REDIS_BAD_REPLY`.
 */
export async function readShardCount(options: RedisBaseOptions): Promise<number | undefined> {
  let stored: unknown;
  try {
    stored = await options.redis.get(shardCountKey(options.prefix ?? DEFAULT_KEY_PREFIX));
  } catch (err) {
    throw toRedisError(err);
  }
  if (stored === null) return undefined;
  const n = typeof stored === 'string' && /^\d{1,6}$/.test(stored) ? Number(stored) : Number.NaN;
  if (!Number.isInteger(n) || n < 1 || n > 100_000)
    throw new RedisError('REDIS_BAD_REPLY', `stored shard count is not an integer from 1 to 100000`);
  return n;
}

export type CommandTarget = { shardId: number } | { guildId: string | bigint };

export interface CommandClientOptions extends RedisBaseOptions {
  /** Total shards, for guild routing (default: the count workers published in Redis). */
  shardCount?: number;
  /** Default time to wait for a reply (default 10 000 ms). */
  timeoutMs?: number;
}

interface Waiting {
  resolve: (value: unknown) => void;
  reject: (err: Error) => void;
  timer: NodeJS.Timeout;
  shardId: number;
}

/**
 * Sends payloads to shards through per-shard command streams (`<prefix>commands:<shard>`) and waits for
 * the owning worker's reply on this client's own reply stream. Delivery is at most once: a command whose
 * worker dies before replying times out (`COMMAND_TIMEOUT`), and a command still unread at its deadline
 * is skipped by the worker.
 */
export class CommandClient {
  readonly id = randomUUID();
  readonly #redis: Redis;
  readonly #prefix: string;
  readonly #timeoutMs: number;
  #shardCount: number | undefined;
  readonly #waiting = new Map<string, Waiting>();
  #reader: Redis | undefined;
  #loop: Promise<void> | undefined;
  #closed = false;

  constructor(options: CommandClientOptions) {
    this.#redis = options.redis;
    this.#prefix = options.prefix ?? DEFAULT_KEY_PREFIX;
    this.#timeoutMs = options.timeoutMs ?? 10_000;
    this.#shardCount = options.shardCount;
  }

  get #replyKey(): string {
    return `${this.#prefix}replies:${this.id}`;
  }

  async #resolveShard(target: CommandTarget): Promise<number> {
    if ('shardId' in target) {
      if (!Number.isInteger(target.shardId) || target.shardId < 0) {
        throw new ConfigError('shardId', `must be a non-negative integer, got ${String(target.shardId)}`);
      }
      return target.shardId;
    }
    if (this.#shardCount === undefined) {
      const stored = await this.#redis.get(shardCountKey(this.#prefix)).catch((err) => {
        throw toRedisError(err);
      });
      if (stored === null) {
        throw new ConfigError(
          'shardCount',
          'unknown: pass it, or let a worker publish it (publishShardCount)',
        );
      }
      this.#shardCount = Number(stored);
    }
    return shardForGuild(target.guildId, this.#shardCount);
  }

  /** Sends `payload` to the shard (or the guild's shard) and resolves with the worker's result. */
  async send(
    target: CommandTarget,
    payload: unknown,
    options: { timeoutMs?: number } = {},
  ): Promise<unknown> {
    return (await this.enqueue(target, payload, options)).result;
  }

  /**
   * Like `send`, but resolves as soon as the command is in the shard's command stream, with the promise of
   * the worker's result (for a caller that, like a socket write, must not wait for the round trip).
   */
  async enqueue(
    target: CommandTarget,
    payload: unknown,
    options: { timeoutMs?: number } = {},
  ): Promise<{ result: Promise<unknown> }> {
    if (this.#closed) throw new RedisError('REDIS_CLOSED', 'command client is closed');
    const shardId = await this.#resolveShard(target);
    const timeoutMs = options.timeoutMs ?? this.#timeoutMs;
    const id = randomUUID();
    this.#startLoop();
    const result = new Promise<unknown>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#waiting.delete(id);
        reject(
          new RedisError(
            'COMMAND_TIMEOUT',
            `no reply from the owner of shard ${shardId} within ${timeoutMs} ms`,
            {
              shardId,
            },
          ),
        );
      }, timeoutMs);
      this.#waiting.set(id, { resolve, reject, timer, shardId });
    });
    // the timeout may fire while XADD is still on its way; the caller gets the rejection from `return`
    result.catch(() => undefined);
    try {
      await this.#redis.xadd(
        commandStreamKey(this.#prefix, shardId),
        'MAXLEN',
        '~',
        COMMAND_STREAM_MAX_LEN,
        '*',
        'id',
        id,
        'reply',
        this.#replyKey,
        'deadline',
        String(Date.now() + timeoutMs),
        'payload',
        encodeData(payload),
      );
    } catch (err) {
      const w = this.#waiting.get(id);
      if (w) {
        clearTimeout(w.timer);
        this.#waiting.delete(id);
      }
      throw toRedisError(err, shardId);
    }
    return { result };
  }

  #startLoop(): void {
    if (this.#loop) return;
    const reader = duplicateClient(this.#redis);
    this.#reader = reader;
    this.#loop = (async () => {
      let cursor = '0';
      while (!this.#closed) {
        let reply: [string, [string, string[]][]][] | null;
        try {
          reply = (await reader.xread(
            'COUNT',
            100,
            'BLOCK',
            1_000,
            'STREAMS',
            this.#replyKey,
            cursor,
          )) as typeof reply;
        } catch {
          if (this.#closed) break;
          await sleep(200);
          continue;
        }
        for (const [, entries] of reply ?? []) {
          for (const [entryId, raw] of entries) {
            cursor = entryId;
            const f: Record<string, string> = {};
            for (let i = 0; i + 1 < raw.length; i += 2) f[raw[i]!] = raw[i + 1]!;
            const w = f.id ? this.#waiting.get(f.id) : undefined;
            if (!w || !f.id) continue;
            clearTimeout(w.timer);
            this.#waiting.delete(f.id);
            if (f.ok === '1') {
              try {
                w.resolve(JSON.parse(f.value ?? 'null'));
              } catch {
                w.reject(
                  new RedisError('REDIS_BAD_ENTRY', 'unparsable command reply', { shardId: w.shardId }),
                );
              }
            } else {
              w.reject(
                new RedisError(
                  'COMMAND_FAILED',
                  `shard ${w.shardId} command failed: ${f.code ?? 'ERROR'}: ${f.message ?? ''}`,
                  { shardId: w.shardId },
                ),
              );
            }
          }
        }
      }
    })();
  }

  /** Rejects waiting commands, stops reading replies and deletes this client's reply stream. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    for (const [id, w] of this.#waiting) {
      clearTimeout(w.timer);
      w.reject(new RedisError('REDIS_CLOSED', 'command client closed', { shardId: w.shardId }));
      this.#waiting.delete(id);
    }
    this.#reader?.disconnect(false);
    await this.#loop;
    if (this.#reader) await closeClient(this.#reader);
    await this.#redis.del(this.#replyKey).catch(() => undefined);
  }
}

/** What the worker's handler gets besides the payload. */
export interface CommandContext {
  readonly commandId: string;
  readonly shardId: number;
}

export interface ServeCommandsOptions extends RedisBaseOptions {
  shardId: number;
  /** Consumer name (the worker id). */
  consumer: string;
  /** Executes the payload — e.g. through the shard's send rate limiter — and returns a JSON-able result. */
  handler: (payload: unknown, context: CommandContext) => Promise<unknown>;
  blockMs?: number;
  signal?: AbortSignal;
  onError?: (err: ShardlineError) => void;
}

/**
 * Worker side: reads the shard's command stream in the `owners` group, runs each command through
 * `handler` and replies. Entries left pending by a previous owner are taken over first (commands past
 * their deadline are acknowledged and skipped). Resolves when `signal` aborts.
 */
export async function serveCommands(options: ServeCommandsOptions): Promise<void> {
  const prefix = options.prefix ?? DEFAULT_KEY_PREFIX;
  const stream = commandStreamKey(prefix, options.shardId);
  const redis = options.redis;
  const signal = options.signal;
  const reader = duplicateClient(redis, options.onError);
  const onAbort = (): void => reader.disconnect(false);
  signal?.addEventListener('abort', onAbort, { once: true });
  let failures = 0;
  const fail = async (err: unknown): Promise<void> => {
    failures++;
    options.onError?.(toRedisError(err, options.shardId));
    await sleep(retryDelayMs(failures - 1), signal);
  };

  const run = async (entryId: string, raw: string[]): Promise<void> => {
    const f: Record<string, string> = {};
    for (let i = 0; i + 1 < raw.length; i += 2) f[raw[i]!] = raw[i + 1]!;
    const { id, reply, deadline } = f;
    if (id && reply && Number(deadline) > Date.now()) {
      let fields: string[];
      try {
        const payload = JSON.parse(f.payload ?? 'null') as unknown;
        const value = await options.handler(payload, { commandId: id, shardId: options.shardId });
        fields = ['id', id, 'ok', '1', 'value', encodeData(value)];
      } catch (err) {
        const code = err instanceof ShardlineError ? err.code : 'HANDLER_FAILED';
        const message = err instanceof Error ? err.message : String(err);
        fields = ['id', id, 'ok', '0', 'code', code, 'message', message];
      }
      await redis
        .multi()
        .xadd(reply, 'MAXLEN', '~', COMMAND_STREAM_MAX_LEN, '*', ...fields)
        .pexpire(reply, REPLY_STREAM_TTL_MS)
        .exec();
    }
    await redis.multi().xack(stream, OWNER_GROUP, entryId).xdel(stream, entryId).exec();
  };

  try {
    for (;;) {
      try {
        await redis.xgroup('CREATE', stream, OWNER_GROUP, '0', 'MKSTREAM');
        break;
      } catch (err) {
        if (err instanceof Error && err.message.startsWith('BUSYGROUP')) break;
        if (signal?.aborted) return;
        await fail(err);
      }
    }
    let claimed = false;
    while (!signal?.aborted) {
      try {
        if (!claimed) {
          // take over whatever a previous owner left pending (there is one owner at a time)
          let start = '0-0';
          do {
            const [next, entries] = (await redis.xautoclaim(
              stream,
              OWNER_GROUP,
              options.consumer,
              0,
              start,
              'COUNT',
              100,
            )) as [string, [string, string[] | null][]];
            for (const [entryId, raw] of entries) {
              if (raw) await run(entryId, raw);
              else await redis.xack(stream, OWNER_GROUP, entryId);
            }
            start = next;
          } while (start !== '0-0');
          claimed = true;
        }
        // Raced against the signal: ioredis' disconnect() during a reconnect wait never settles a pending
        // command, and an abort (the shard was given up, often because Redis is unreachable) must end this.
        const read = reader.xreadgroup(
          'GROUP',
          OWNER_GROUP,
          options.consumer,
          'COUNT',
          100,
          'BLOCK',
          options.blockMs ?? 1_000,
          'STREAMS',
          stream,
          '>',
        );
        const reply = (await abortable(read, signal, 'serveCommands')) as
          | [string, [string, string[]][]][]
          | null;
        for (const [, entries] of reply ?? []) {
          for (const [entryId, raw] of entries) await run(entryId, raw);
        }
        failures = 0;
      } catch (err) {
        if (signal?.aborted) break;
        claimed = false;
        await fail(err);
        if (err instanceof Error && err.message.includes('NOGROUP')) {
          await redis.xgroup('CREATE', stream, OWNER_GROUP, '0', 'MKSTREAM').catch(() => undefined);
        }
      }
    }
  } finally {
    signal?.removeEventListener('abort', onAbort);
    await closeClient(reader);
  }
}
