/**
 * Where a shard keeps what it needs to resume: session id, last sequence and the resume URL. A store lets
 * a restarted process resume instead of identifying (which costs one of the daily session starts).
 */
export interface SessionInfo {
  readonly sessionId: string;
  /** Last dispatch sequence number seen (0 before any). */
  readonly sequence: number;
  readonly resumeUrl: string;
  readonly shardId: number;
  readonly shardCount: number;
}

export interface SessionStore {
  /** The saved session of `shardId`, or null/undefined when there is none. */
  load(shardId: number): SessionInfo | null | undefined | Promise<SessionInfo | null | undefined>;
  /** Saves (or with `null`, forgets) the session of `shardId`. */
  save(shardId: number, session: SessionInfo | null): void | Promise<void>;
}

/** Keeps sessions in a Map; useful for tests and for several shards in one process. */
export class MemorySessionStore implements SessionStore {
  readonly #sessions = new Map<number, SessionInfo>();
  load(shardId: number): SessionInfo | null {
    return this.#sessions.get(shardId) ?? null;
  }
  save(shardId: number, session: SessionInfo | null): void {
    if (session) this.#sessions.set(shardId, session);
    else this.#sessions.delete(shardId);
  }
}
