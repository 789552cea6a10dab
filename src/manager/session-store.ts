/**
 * Where shard sessions live between connections and between processes. A stored session lets a restarted
 * process RESUME instead of IDENTIFY — Identify costs one unit of the daily budget, Resume costs nothing.
 *
 * Sessions are keyed by `[shardId, shardCount]`, so an old and a new shard set can coexist during a
 * reshard. Sequence numbers change on every dispatch; stores keep them in memory and the file store writes
 * them in batches (at most one file write per `flushIntervalMs`), never one write per event.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { ConfigError, ManagerError } from '../errors.js';
import { type Clock, systemClock, type TimerHandle } from '../util/clock.js';

export interface StoredSession {
  readonly shardId: number;
  readonly shardCount: number;
  readonly sessionId: string;
  /** Last sequence number seen; may lag the live value by up to one flush interval after a crash. */
  readonly sequence: number;
  readonly resumeGatewayUrl: string;
}

export interface SessionStore {
  get(shardId: number, shardCount: number): Promise<StoredSession | undefined>;
  set(session: StoredSession): Promise<void>;
  /** Cheap hot-path update of the sequence number only (batched by persistent stores). */
  setSequence(shardId: number, shardCount: number, sequence: number): void;
  delete(shardId: number, shardCount: number): Promise<void>;
  /** Persists pending writes now (a no-op for memory stores). */
  flush(): Promise<void>;
}

export function sessionKey(shardId: number, shardCount: number): string {
  return `${shardId}/${shardCount}`;
}

function isSession(value: unknown): value is StoredSession {
  if (typeof value !== 'object' || value === null) return false;
  const v = value as Record<string, unknown>;
  return (
    Number.isInteger(v.shardId) &&
    Number.isInteger(v.shardCount) &&
    typeof v.sessionId === 'string' &&
    Number.isInteger(v.sequence) &&
    typeof v.resumeGatewayUrl === 'string'
  );
}

export class MemorySessionStore implements SessionStore {
  protected readonly sessions = new Map<string, StoredSession>();

  async get(shardId: number, shardCount: number): Promise<StoredSession | undefined> {
    return this.sessions.get(sessionKey(shardId, shardCount));
  }
  async set(session: StoredSession): Promise<void> {
    if (!isSession(session)) throw new ConfigError('session', 'not a valid stored session');
    this.sessions.set(sessionKey(session.shardId, session.shardCount), { ...session });
    this.changed();
  }
  setSequence(shardId: number, shardCount: number, sequence: number): void {
    const key = sessionKey(shardId, shardCount);
    const s = this.sessions.get(key);
    if (!s || s.sequence === sequence) return;
    this.sessions.set(key, { ...s, sequence });
    this.changed();
  }
  async delete(shardId: number, shardCount: number): Promise<void> {
    if (this.sessions.delete(sessionKey(shardId, shardCount))) this.changed();
  }
  async flush(): Promise<void> {}
  /** Snapshot of every stored session (for status views and tests). */
  entries(): StoredSession[] {
    return [...this.sessions.values()];
  }
  /** Hook for persistent subclasses. */
  protected changed(): void {}
}

export interface FileSessionStoreOptions {
  readonly path: string;
  /** Longest time a change waits before it is written; default 1000 ms. */
  readonly flushIntervalMs?: number;
  readonly clock?: Clock;
}

interface FileShape {
  version: 1;
  sessions: StoredSession[];
}

/**
 * A JSON file holding every session. Writes are atomic (temp file + rename) and batched: changes mark the
 * store dirty and one write happens at most every `flushIntervalMs`. Call `close()` (the manager does on
 * `destroy()`) to write the final sequence numbers. Call `load()` once before use, or let `get()` do it.
 */
export class FileSessionStore extends MemorySessionStore {
  readonly path: string;
  readonly #flushIntervalMs: number;
  readonly #clock: Clock;
  #loaded: Promise<void> | undefined;
  #timer: TimerHandle | undefined;
  #dirty = false;
  #writing: Promise<void> | undefined;
  #writes = 0;
  #closed = false;

  constructor(options: FileSessionStoreOptions) {
    super();
    if (typeof options.path !== 'string' || options.path.length === 0) {
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
  load(): Promise<void> {
    this.#loaded ??= this.#read();
    return this.#loaded;
  }

  override async get(shardId: number, shardCount: number): Promise<StoredSession | undefined> {
    await this.load();
    return super.get(shardId, shardCount);
  }
  override async set(session: StoredSession): Promise<void> {
    await this.load();
    return super.set(session);
  }
  override async delete(shardId: number, shardCount: number): Promise<void> {
    await this.load();
    return super.delete(shardId, shardCount);
  }

  protected override changed(): void {
    if (this.#closed) return;
    this.#dirty = true;
    if (this.#timer === undefined && this.#writing === undefined) {
      this.#timer = this.#clock.setTimeout(() => {
        this.#timer = undefined;
        if (!this.#dirty) return;
        void this.#write().catch(() => {
          // Reported on the next flush()/close(); a background write must never crash the process.
        });
      }, this.#flushIntervalMs);
    }
  }

  override async flush(): Promise<void> {
    await this.load();
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
    for (const s of shape.sessions) {
      if (isSession(s)) this.sessions.set(sessionKey(s.shardId, s.shardCount), s);
    }
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
      if (this.#dirty && !this.#closed) this.changed();
    });
    this.#writing = p;
    return p;
  }
}
