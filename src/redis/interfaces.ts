/**
 * The shard's pluggable interfaces, copied shape for shape from src/shard/identify-queue.ts and
 * src/shard/session-store.ts (branch shard) and the manager's `SequenceAwareSessionStore`
 * (src/manager/session-store.ts), so the Redis pieces plug into both. Once those branches are merged these
 * become re-exports (`export type { … } from '../shard/…'`); TypeScript's structural typing already makes
 * them interchangeable.
 */

/** Decides when a shard may send Identify (one per bucket `shard_id % max_concurrency` per window). */
export interface IdentifyQueue {
  /** Resolves when shard `shardId` may identify now. Rejects with `signal.reason` once `signal` aborts. */
  waitForIdentify(shardId: number, signal: AbortSignal): Promise<void>;
}

/** What a shard needs to RESUME. */
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

/** A store that takes hot-path sequence updates cheaply (memory only; persisted in batches). */
export interface SequenceAwareSessionStore extends SessionStore {
  updateSequence(shardId: number, shardCount: number, sequence: number): void;
  /** Persists pending changes now. */
  flush(): Promise<void>;
}
