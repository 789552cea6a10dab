/** The pluggable interfaces the Redis pieces implement: the shard's and the manager's, re-exported. */

export type { SequenceAwareSessionStore } from '../manager/session-store.js';
export type { IdentifyQueue } from '../shard/identify-queue.js';
export type { SessionInfo, SessionStore } from '../shard/session-store.js';
