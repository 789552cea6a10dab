// Public API of the shard manager. Re-exports only.

export type { MemoryIdentifyQueueOptions } from '../shard/identify-queue.js';
export { IDENTIFY_WINDOW_MS, MemoryIdentifyQueue, startupBoundMs } from '../shard/identify-queue.js';
export type {
  LifecycleState,
  ManagerSnapshot,
  ReshardEvent,
  ReshardPhase,
  ShardManagerEventMap,
  ShardRole,
  ShardSnapshot,
} from './events.js';
export type { FileIdentifyQueueOptions } from './file-identify-queue.js';
export { FileIdentifyQueue } from './file-identify-queue.js';
export { ShardManager } from './manager.js';
export type {
  GuildMembersChunk,
  MemberChunkCollectorOptions,
  MemberRequestOptions,
  MemberRequestResult,
  RequestGuildMembersPayload,
} from './member-chunks.js';
export { buildMemberRequest, MemberChunkCollector, NONCE_MAX_BYTES } from './member-chunks.js';
export type { MetricsServer } from './metrics.js';
export { ManagerMetrics, METRICS_PREFIX, serveMetrics } from './metrics.js';
export type {
  AutoReshardOptions,
  ResolvedShardManagerOptions,
  ShardManagerOptions,
} from './options.js';
export { DEFAULT_SHARD_MANAGER_OPTIONS, resolveShardManagerOptions } from './options.js';
export type { DispatchLike, ReshardPlan, SwitchoverDeduperOptions } from './reshard.js';
export {
  DEFAULT_DEDUPE_WINDOW_MS,
  dispatchFingerprint,
  guildOfDispatch,
  planReshard,
  SwitchoverDeduper,
} from './reshard.js';
export type { GatewayBotInfo, RestOptions, SessionStartLimit } from './rest.js';
export { API_VERSION, apiUrl, DEFAULT_API_BASE_URL, fetchGatewayBot, parseGatewayBot } from './rest.js';
export { shardForGuild } from './routing.js';
export type { FileSessionStoreOptions, SequenceAwareSessionStore } from './session-store.js';
export { FileSessionStore, isSequenceAware, isSessionInfo, scopedSessionStore } from './session-store.js';
