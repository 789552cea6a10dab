/**
 * TEMPORARY mirror of the shard's pluggable interfaces (owned by src/shard/, branch shard) until that
 * branch is merged; then this file re-exports them from ../shard/.
 */
export interface SessionInfo {
  readonly sessionId: string;
  readonly sequence: number;
  readonly resumeUrl: string;
  readonly shardId: number;
  readonly shardCount: number;
}

export interface SessionStore {
  load(shardId: number): SessionInfo | null | undefined | Promise<SessionInfo | null | undefined>;
  save(shardId: number, session: SessionInfo | null): void | Promise<void>;
}

export interface IdentifyQueue {
  waitForIdentify(shardId: number, signal: AbortSignal): Promise<void>;
}
