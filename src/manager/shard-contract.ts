/** The shard's pluggable interfaces, as the manager uses them (owned by src/shard/). */
export type { IdentifyQueue } from '../shard/identify-queue.js';
export type { SessionInfo, SessionStore } from '../shard/session-store.js';
