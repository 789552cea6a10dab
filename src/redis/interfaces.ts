/**
 * The pluggable interfaces the Redis pieces implement. They mirror the shard client's `IdentifyQueue` and
 * `SessionStore` options; once src/shard/ defines them, these become re-exports of those (same shape).
 */

/** Gives the slot back early; call it only when IDENTIFY was NOT sent (otherwise the window must lapse). */
export type IdentifyRelease = () => Promise<void>;

/** Grants IDENTIFY slots: at most one per `shard_id % max_concurrency` bucket per window. */
export interface IdentifyQueue {
  /** Resolves when `shardId` may send IDENTIFY now; rejects with a typed error when `signal` aborts. */
  acquire(shardId: number, signal?: AbortSignal): Promise<IdentifyRelease>;
}

/** What a shard needs to RESUME. */
export interface SessionInfo {
  sessionId: string;
  /** Last dispatch sequence number received. */
  sequence: number;
  resumeGatewayUrl: string;
}

/** Persists sessions so a restarted (or another) process can RESUME instead of IDENTIFY. */
export interface SessionStore {
  load(shardId: number): Promise<SessionInfo | null>;
  /** A new session (READY) or a full update: written at once. */
  save(shardId: number, session: SessionInfo): Promise<void>;
  /** The sequence moved on: may be written behind (batched); never moves backwards. */
  updateSequence(shardId: number, sessionId: string, sequence: number): void;
  clear(shardId: number): Promise<void>;
}
