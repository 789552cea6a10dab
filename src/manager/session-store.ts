/**
 * Session persistence for the manager. A stored session lets a restarted process RESUME instead of
 * IDENTIFY — Identify costs one unit of the daily budget, Resume costs nothing.
 *
 * `FileSessionStore` implements the shard's `SessionStore` (load/save) and adds `updateSequence`, which the
 * manager calls for every dispatch: it only touches memory. The file is written in batches — at most one
 * atomic write (temp file + rename) per `flushIntervalMs` — and once more on `close()`.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { ConfigError, ManagerError } from '../errors.js';
import { type Clock, systemClock, type TimerHandle } from '../util/clock.js';
import type { SessionInfo, SessionStore } from './shard-contract.js';

/** A store that can take hot-path sequence updates cheaply (memory only; persisted in batches). */
export interface SequenceAwareSessionStore extends SessionStore {
  updateSequence(shardId: number, shardCount: number, sequence: number): void;
  /** Persists pending changes now. */
  flush(): Promise<void>;
}

export function isSequenceAware(store: SessionStore | undefined): store is SequenceAwareSessionStore {
  return (
    store !== undefined &&
    typeof (store as Partial<SequenceAwareSessionStore>).updateSequence === 'function' &&
    typeof (store as Partial<SequenceAwareSessionStore>).flush === 'function'
  );
}

export function isSessionInfo(value: unknown): value is SessionInfo {
  if (typeof value !== 'object' || value === null) return false;
  const v = value as Record<string, unknown>;
  return (
    Number.isInteger(v.shardId) &&
    Number.isInteger(v.shardCount) &&
    typeof v.sessionId === 'string' &&
    Number.isInteger(v.sequence) &&
    typeof v.resumeUrl === 'string'
  );
}

/**
 * A view of `store` for one shard set of `shardCount` shards: it loads only sessions of that count and
 * never deletes another count's session. During a reshard the old and the new set share one store without
 * resuming each other's sessions.
 */
export function scopedSessionStore(store: SessionStore, shardCount: number): SessionStore {
  return {
    async load(shardId) {
      const s = await store.load(shardId);
      return s && s.shardCount === shardCount ? s : null;
    },
    async save(shardId, session) {
      if (session === null) {
        const current = await store.load(shardId);
        if (current && current.shardCount !== shardCount) return;
      }
      await store.save(shardId, session);
    },
  };
}

export interface FileSessionStoreOptions {
  readonly path: string;
  /** Longest time a change waits before it is written; default 1000 ms. */
  readonly flushIntervalMs?: number;
  readonly clock?: Clock;
}

interface FileShape {
  version: 1;
  sessions: SessionInfo[];
}

/** A JSON file holding the session of every shard; see the module comment. */
export class FileSessionStore implements SequenceAwareSessionStore {
  readonly path: string;
  /** Internal records, updated in place by updateSequence; callers only ever get copies. */
  readonly #sessions = new Map<number, { -readonly [K in keyof SessionInfo]: SessionInfo[K] }>();
  readonly #flushIntervalMs: number;
  readonly #clock: Clock;
  #loaded: Promise<void> | undefined;
  #timer: TimerHandle | undefined;
  #dirty = false;
  #writing: Promise<void> | undefined;
  #writes = 0;
  #closed = false;

  constructor(options: FileSessionStoreOptions) {
    if (typeof options?.path !== 'string' || options.path.length === 0) {
      throw new ConfigError('path', 'expected a file path');
    }
    const interval = options.flushIntervalMs ?? 1000;
    if (typeof interval !== 'number' || !Number.isFinite(interval) || interval < 0) {
      throw new ConfigError('flushIntervalMs', `expected a finite number ≥ 0, got ${String(interval)}`);
    }
    this.path = options.path;
    this.#flushIntervalMs = interval;
    this.#clock = options.clock ?? systemClock;
  }

  /** File writes performed so far (batching shows as writes ≪ updates). */
  get writes(): number {
    return this.#writes;
  }

  /** The file write in progress, if any (resolves when it is on disk; never rejects). */
  get writing(): Promise<void> | undefined {
    return this.#writing?.catch(() => {});
  }

  /** Reads the file once; a missing file is an empty store, a corrupt one is `SESSION_STORE_FAILED`. */
  ready(): Promise<void> {
    this.#loaded ??= this.#read();
    return this.#loaded;
  }

  async load(shardId: number): Promise<SessionInfo | null> {
    await this.ready();
    const s = this.#sessions.get(shardId);
    return s ? { ...s } : null;
  }

  async save(shardId: number, session: SessionInfo | null): Promise<void> {
    await this.ready();
    if (session === null) {
      if (this.#sessions.delete(shardId)) this.#changed();
      return;
    }
    if (!isSessionInfo(session) || session.shardId !== shardId) {
      throw new ConfigError('session', `not a valid session of shard ${shardId}`);
    }
    this.#sessions.set(shardId, { ...session });
    this.#changed();
  }

  /** Memory only: the new sequence reaches the file with the next batched write. */
  updateSequence(shardId: number, shardCount: number, sequence: number): void {
    const s = this.#sessions.get(shardId);
    if (!s || s.shardCount !== shardCount || s.sequence >= sequence) return;
    // In place: this runs for every dispatch, and the record never escapes (load/entries copy).
    s.sequence = sequence;
    this.#changed();
  }

  /** Every stored session, by shard id. */
  entries(): SessionInfo[] {
    return [...this.#sessions.values()].map((s) => ({ ...s })).sort((a, b) => a.shardId - b.shardId);
  }

  async flush(): Promise<void> {
    await this.ready();
    this.#clock.clearTimeout(this.#timer);
    this.#timer = undefined;
    if (this.#writing) await this.#writing.catch(() => {});
    if (this.#dirty) await this.#write();
  }

  /** Writes pending changes and stops the timer; later changes stay in memory only. */
  async close(): Promise<void> {
    await this.flush();
    this.#closed = true;
  }

  #changed(): void {
    if (this.#closed) return;
    this.#dirty = true;
    if (this.#timer === undefined && this.#writing === undefined) {
      this.#timer = this.#clock.setTimeout(() => {
        this.#timer = undefined;
        if (!this.#dirty) return;
        void this.#write().catch(() => {
          // Retried on the next change, flush() or close(); a background write must never crash the process.
        });
      }, this.#flushIntervalMs);
    }
  }

  async #read(): Promise<void> {
    let text: string;
    try {
      text = await readFile(this.path, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
      throw new ManagerError('SESSION_STORE_FAILED', `cannot read ${this.path}`, {}, { cause: err });
    }
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch (err) {
      throw new ManagerError('SESSION_STORE_FAILED', `${this.path} is not valid JSON`, {}, { cause: err });
    }
    const shape = parsed as Partial<FileShape> | null;
    if (shape?.version !== 1 || !Array.isArray(shape.sessions)) {
      throw new ManagerError(
        'SESSION_STORE_FAILED',
        `${this.path} is not a shardline session file (version 1)`,
      );
    }
    for (const s of shape.sessions) if (isSessionInfo(s)) this.#sessions.set(s.shardId, { ...s });
  }

  #write(): Promise<void> {
    const run = async () => {
      this.#dirty = false;
      const body: FileShape = { version: 1, sessions: this.entries() };
      const tmp = `${this.path}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
      try {
        await mkdir(dirname(this.path), { recursive: true });
        await writeFile(tmp, `${JSON.stringify(body, null, 2)}\n`, 'utf8');
        await rename(tmp, this.path);
        this.#writes++;
      } catch (err) {
        this.#dirty = true;
        await rm(tmp, { force: true }).catch(() => {});
        throw new ManagerError('SESSION_STORE_FAILED', `cannot write ${this.path}`, {}, { cause: err });
      }
    };
    const p = run().finally(() => {
      this.#writing = undefined;
      if (this.#dirty && !this.#closed) this.#changed();
    });
    this.#writing = p;
    return p;
  }
}
