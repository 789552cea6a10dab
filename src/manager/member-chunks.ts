/**
 * Request Guild Members (op 8) and the GUILD_MEMBERS_CHUNK replies. Each request gets a
 * nonce (≤ 32 bytes) and the collector routes chunks back by it. A `RATE_LIMITED` dispatch for op 8 is
 * honoured: the request is sent again after `retry_after` instead of failing. Pure logic: the caller feeds
 * dispatches in and provides `send`; time goes through the injected `Clock`.
 */
import { randomBytes } from 'node:crypto';
import { ConfigError, ManagerError } from '../errors.js';
import { type Clock, systemClock, type TimerHandle } from '../util/clock.js';

export const NONCE_MAX_BYTES = 32;
export const USER_IDS_MAX = 100;
export const DEFAULT_MEMBER_REQUEST_TIMEOUT_MS = 30_000;
export const DEFAULT_MAX_RATE_LIMIT_RETRIES = 10;

export interface MemberRequestOptions {
  readonly guildId: string;
  /** Username prefix; `''` with `limit: 0` asks for every member. Defaults to `''` without `userIds`. */
  readonly query?: string;
  /** Maximum members; 0 = no limit (only with `query: ''`). Default 0. */
  readonly limit?: number;
  readonly userIds?: readonly string[];
  readonly presences?: boolean;
  /** Your own nonce (≤ 32 bytes); one is generated otherwise. */
  readonly nonce?: string;
  /** Longest silence between chunks before the request fails; paused while rate limited. */
  readonly timeoutMs?: number;
  readonly signal?: AbortSignal;
}

export interface GuildMembersChunk {
  readonly guildId: string;
  readonly chunkIndex: number;
  readonly chunkCount: number;
  readonly members: readonly unknown[];
  readonly notFound: readonly string[];
  readonly presences: readonly unknown[];
  readonly nonce: string;
}

export interface MemberRequestResult {
  readonly guildId: string;
  readonly nonce: string;
  /** Members of every chunk, in chunk order. */
  readonly members: unknown[];
  /** `user_ids` that do not exist in the guild, as strings. */
  readonly notFound: string[];
  readonly presences: unknown[];
  readonly chunkCount: number;
  /** How many times the request was sent again after `RATE_LIMITED`. */
  readonly rateLimitRetries: number;
}

export interface RequestGuildMembersPayload {
  readonly op: 8;
  readonly d: {
    guild_id: string;
    query?: string;
    limit?: number;
    presences?: boolean;
    user_ids?: string[];
    nonce: string;
  };
}

export interface MemberChunkCollectorOptions {
  /** Sends an op 8 payload on the shard that owns `guildId`. */
  readonly send: (guildId: string, payload: RequestGuildMembersPayload) => void | Promise<void>;
  readonly clock?: Clock;
  readonly timeoutMs?: number;
  readonly maxRateLimitRetries?: number;
}

interface Pending {
  readonly nonce: string;
  readonly guildId: string;
  readonly payload: RequestGuildMembersPayload;
  readonly timeoutMs: number;
  readonly chunks: Map<number, GuildMembersChunk>;
  chunkCount: number | undefined;
  timer: TimerHandle | undefined;
  retries: number;
  onChunk(chunk: GuildMembersChunk): void;
  onDone(): void;
  onError(err: Error): void;
  cleanup(): void;
}

const SNOWFLAKE_RE = /^\d{1,20}$/;

function snowflakeString(value: unknown): string | undefined {
  if (typeof value === 'string') return value;
  if (typeof value === 'number' && Number.isInteger(value)) return String(value);
  if (typeof value === 'bigint') return value.toString();
  return undefined;
}

function byteLength(s: string): number {
  return Buffer.byteLength(s, 'utf8');
}

/** Validates the options and builds the op 8 payload (without sending it). */
export function buildMemberRequest(options: MemberRequestOptions, nonce: string): RequestGuildMembersPayload {
  if (typeof options !== 'object' || options === null) throw new ConfigError('options', 'expected an object');
  if (typeof options.guildId !== 'string' || !SNOWFLAKE_RE.test(options.guildId)) {
    throw new ConfigError('guildId', `expected a snowflake string, got ${String(options.guildId)}`);
  }
  if (byteLength(nonce) > NONCE_MAX_BYTES) {
    throw new ConfigError('nonce', `must be at most ${NONCE_MAX_BYTES} bytes, got ${byteLength(nonce)}`);
  }
  const d: RequestGuildMembersPayload['d'] = { guild_id: options.guildId, nonce };
  if (options.userIds !== undefined) {
    if (!Array.isArray(options.userIds) || options.userIds.some((id) => !SNOWFLAKE_RE.test(String(id)))) {
      throw new ConfigError('userIds', 'expected an array of snowflake strings');
    }
    if (options.userIds.length === 0 || options.userIds.length > USER_IDS_MAX) {
      throw new ConfigError('userIds', `expected 1 to ${USER_IDS_MAX} ids, got ${options.userIds.length}`);
    }
    if (options.query !== undefined) throw new ConfigError('query', 'give either query or userIds, not both');
    d.user_ids = [...options.userIds];
  } else {
    const query = options.query ?? '';
    if (typeof query !== 'string') throw new ConfigError('query', 'expected a string');
    const limit = options.limit ?? 0;
    if (!Number.isInteger(limit) || limit < 0) {
      throw new ConfigError('limit', `expected an integer ≥ 0, got ${String(limit)}`);
    }
    if (limit === 0 && query !== '') throw new ConfigError('limit', 'limit 0 (all members) needs query ""');
    d.query = query;
    d.limit = limit;
  }
  if (options.presences !== undefined) {
    if (typeof options.presences !== 'boolean') throw new ConfigError('presences', 'expected a boolean');
    d.presences = options.presences;
  }
  return { op: 8, d };
}

export class MemberChunkCollector {
  readonly #send: MemberChunkCollectorOptions['send'];
  readonly #clock: Clock;
  readonly #timeoutMs: number;
  readonly #maxRetries: number;
  readonly #pending = new Map<string, Pending>();
  readonly #noncePrefix = randomBytes(6).toString('hex');
  #counter = 0;
  #destroyed = false;

  constructor(options: MemberChunkCollectorOptions) {
    this.#send = options.send;
    this.#clock = options.clock ?? systemClock;
    this.#timeoutMs = options.timeoutMs ?? DEFAULT_MEMBER_REQUEST_TIMEOUT_MS;
    this.#maxRetries = options.maxRateLimitRetries ?? DEFAULT_MAX_RATE_LIMIT_RETRIES;
  }

  /** Requests in flight. */
  get pending(): number {
    return this.#pending.size;
  }

  /** A fresh nonce: 12 random hex chars + a base-36 counter, far below 32 bytes. */
  nextNonce(): string {
    return `${this.#noncePrefix}${(this.#counter++).toString(36)}`;
  }

  /** Sends the request and resolves with every member once the last chunk arrived. */
  request(options: MemberRequestOptions): Promise<MemberRequestResult> {
    return new Promise<MemberRequestResult>((resolve, reject) => {
      let rateLimitRetries = 0;
      let pending: Pending | undefined;
      try {
        pending = this.#start(options, {
          onChunk: () => {},
          onDone: () => {
            const p = pending!;
            rateLimitRetries = p.retries;
            const ordered = [...p.chunks.values()].sort((a, b) => a.chunkIndex - b.chunkIndex);
            resolve({
              guildId: p.guildId,
              nonce: p.nonce,
              members: ordered.flatMap((c) => c.members),
              notFound: ordered.flatMap((c) => c.notFound),
              presences: ordered.flatMap((c) => c.presences),
              chunkCount: p.chunkCount ?? ordered.length,
              rateLimitRetries,
            });
          },
          onError: reject,
        });
      } catch (err) {
        reject(err);
      }
    });
  }

  /** The same request as an async iterator of chunks, in arrival order. */
  stream(options: MemberRequestOptions): AsyncIterableIterator<GuildMembersChunk> {
    const queue: GuildMembersChunk[] = [];
    let done = false;
    let failure: Error | undefined;
    let wake: (() => void) | undefined;
    let pending: Pending | undefined;
    const notify = () => {
      const w = wake;
      wake = undefined;
      w?.();
    };
    let started = false;
    const start = () => {
      started = true;
      try {
        pending = this.#start(options, {
          onChunk: (c) => {
            queue.push(c);
            notify();
          },
          onDone: () => {
            done = true;
            notify();
          },
          onError: (err) => {
            failure = err;
            notify();
          },
        });
      } catch (err) {
        failure = err as Error;
      }
    };
    const iterator: AsyncIterableIterator<GuildMembersChunk> = {
      next: async (): Promise<IteratorResult<GuildMembersChunk>> => {
        if (!started) start();
        for (;;) {
          const chunk = queue.shift();
          if (chunk) return { value: chunk, done: false };
          if (failure) {
            const err = failure;
            failure = undefined;
            done = true;
            throw err;
          }
          if (done) return { value: undefined, done: true };
          await new Promise<void>((r) => {
            wake = r;
          });
        }
      },
      return: async (): Promise<IteratorResult<GuildMembersChunk>> => {
        done = true;
        if (pending) this.#finish(pending);
        return { value: undefined, done: true };
      },
      [Symbol.asyncIterator]() {
        return iterator;
      },
    };
    return iterator;
  }

  /**
   * Feeds one dispatch. Returns true when it belonged to a request of this collector
   * (GUILD_MEMBERS_CHUNK with a known nonce, or RATE_LIMITED for one of our op 8 requests).
   */
  handleDispatch(type: string | null | undefined, data: unknown): boolean {
    if (typeof data !== 'object' || data === null) return false;
    const d = data as Record<string, unknown>;
    if (type === 'GUILD_MEMBERS_CHUNK') return this.#onChunk(d);
    if (type === 'RATE_LIMITED') return this.#onRateLimited(d);
    return false;
  }

  /** Fails every request in flight with `MEMBER_REQUEST_ABORTED`. */
  destroy(reason = 'the manager was destroyed'): void {
    this.#destroyed = true;
    for (const p of [...this.#pending.values()]) {
      this.#finish(p);
      p.onError(
        new ManagerError('MEMBER_REQUEST_ABORTED', `member request for guild ${p.guildId}: ${reason}`),
      );
    }
  }

  #start(options: MemberRequestOptions, handlers: Pick<Pending, 'onChunk' | 'onDone' | 'onError'>): Pending {
    if (this.#destroyed)
      throw new ManagerError('MEMBER_REQUEST_ABORTED', 'the member collector was destroyed');
    const nonce = options.nonce ?? this.nextNonce();
    if (typeof nonce !== 'string' || nonce.length === 0) throw new ConfigError('nonce', 'expected a string');
    if (this.#pending.has(nonce))
      throw new ConfigError('nonce', `a request with nonce ${nonce} is in flight`);
    const payload = buildMemberRequest(options, nonce);
    const timeoutMs = options.timeoutMs ?? this.#timeoutMs;
    if (typeof timeoutMs !== 'number' || !(timeoutMs > 0)) {
      throw new ConfigError('timeoutMs', `expected a number > 0, got ${String(timeoutMs)}`);
    }
    const signal = options.signal;
    if (signal?.aborted) throw new ManagerError('MEMBER_REQUEST_ABORTED', 'member request aborted');
    const onAbort = () => {
      this.#finish(p);
      p.onError(new ManagerError('MEMBER_REQUEST_ABORTED', 'member request aborted'));
    };
    const p: Pending = {
      nonce,
      guildId: options.guildId,
      payload,
      timeoutMs,
      chunks: new Map(),
      chunkCount: undefined,
      timer: undefined,
      retries: 0,
      ...handlers,
      cleanup: () => signal?.removeEventListener('abort', onAbort),
    };
    signal?.addEventListener('abort', onAbort, { once: true });
    this.#pending.set(nonce, p);
    this.#transmit(p);
    return p;
  }

  #transmit(p: Pending): void {
    this.#arm(p);
    let result: void | Promise<void>;
    try {
      result = this.#send(p.guildId, p.payload);
    } catch (err) {
      this.#fail(p, err);
      return;
    }
    if (result && typeof (result as Promise<void>).then === 'function') {
      (result as Promise<void>).catch((err: unknown) => this.#fail(p, err));
    }
  }

  #fail(p: Pending, err: unknown): void {
    if (this.#pending.get(p.nonce) !== p) return;
    this.#finish(p);
    p.onError(
      err instanceof Error
        ? err
        : new ManagerError('MEMBER_REQUEST_ABORTED', `sending the member request failed: ${String(err)}`),
    );
  }

  #arm(p: Pending): void {
    this.#clock.clearTimeout(p.timer);
    p.timer = this.#clock.setTimeout(() => {
      p.timer = undefined;
      if (this.#pending.get(p.nonce) !== p) return;
      this.#finish(p);
      const got = p.chunkCount === undefined ? 'no chunk' : `${p.chunks.size} of ${p.chunkCount} chunks`;
      p.onError(
        new ManagerError(
          'MEMBER_REQUEST_TIMEOUT',
          `member request for guild ${p.guildId} (nonce ${p.nonce}) timed out after ${p.timeoutMs} ms with ${got}`,
        ),
      );
    }, p.timeoutMs);
  }

  #finish(p: Pending): void {
    this.#clock.clearTimeout(p.timer);
    p.timer = undefined;
    p.cleanup();
    if (this.#pending.get(p.nonce) === p) this.#pending.delete(p.nonce);
  }

  #onChunk(d: Record<string, unknown>): boolean {
    if (typeof d.nonce !== 'string') return false;
    const p = this.#pending.get(d.nonce);
    if (!p) return false;
    const index = d.chunk_index;
    const count = d.chunk_count;
    if (!Number.isInteger(index) || !Number.isInteger(count) || (count as number) < 1) return true;
    if ((index as number) < 0 || (index as number) >= (count as number) || p.chunks.has(index as number)) {
      return true;
    }
    const notFound = Array.isArray(d.not_found)
      ? d.not_found.map(snowflakeString).filter((s): s is string => s !== undefined)
      : [];
    const chunk: GuildMembersChunk = {
      guildId: snowflakeString(d.guild_id) ?? p.guildId,
      chunkIndex: index as number,
      chunkCount: count as number,
      members: Array.isArray(d.members) ? d.members : [],
      notFound,
      presences: Array.isArray(d.presences) ? d.presences : [],
      nonce: p.nonce,
    };
    p.chunkCount = count as number;
    p.chunks.set(chunk.chunkIndex, chunk);
    p.onChunk(chunk);
    if (p.chunks.size >= p.chunkCount) {
      this.#finish(p);
      p.onDone();
    } else {
      this.#arm(p);
    }
    return true;
  }

  #onRateLimited(d: Record<string, unknown>): boolean {
    if (d.opcode !== 8) return false;
    const meta = (typeof d.meta === 'object' && d.meta !== null ? d.meta : {}) as Record<string, unknown>;
    let p: Pending | undefined;
    if (typeof meta.nonce === 'string') p = this.#pending.get(meta.nonce);
    if (!p) {
      // Without a nonce, blame the oldest request of that guild that has not received a chunk yet.
      const guildId = snowflakeString(meta.guild_id);
      for (const candidate of this.#pending.values()) {
        if (candidate.guildId === guildId && candidate.chunks.size === 0) {
          p = candidate;
          break;
        }
      }
    }
    if (!p) return false;
    if (p.retries >= this.#maxRetries) {
      this.#finish(p);
      p.onError(
        new ManagerError(
          'MEMBER_REQUEST_TIMEOUT',
          `member request for guild ${p.guildId} still rate limited after ${p.retries} retries`,
        ),
      );
      return true;
    }
    const retryAfterS = typeof d.retry_after === 'number' && d.retry_after >= 0 ? d.retry_after : 1;
    p.retries++;
    this.#clock.clearTimeout(p.timer);
    const target = p;
    target.timer = this.#clock.setTimeout(
      () => {
        target.timer = undefined;
        if (this.#pending.get(target.nonce) === target) this.#transmit(target);
      },
      Math.ceil(retryAfterS * 1000),
    );
    return true;
  }
}
