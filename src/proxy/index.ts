// Public API of `shardline/proxy`: the gateway proxy and its cache. Re-exports only.
// Types the signatures below name, exported type-only so this entry types on its own.

export type { Compression, Encoding } from '../codec/formats.js';
export type { CloseAction, ShardlineError } from '../errors.js';
export type {
  LifecycleState,
  ManagerSnapshot,
  ReshardEvent,
  ReshardPhase,
  ShardManagerEventMap,
  ShardRole,
  ShardSnapshot,
} from '../manager/events.js';
export type { ShardManager } from '../manager/manager.js';
export type {
  GuildMembersChunk,
  MemberRequestOptions,
  MemberRequestResult,
} from '../manager/member-chunks.js';
export type {
  AutoReshardOptions,
  ResolvedShardManagerOptions,
  ShardManagerOptions,
} from '../manager/options.js';
export type { GatewayBotInfo, SessionStartLimit } from '../manager/rest.js';
export type { ResolvedThreadsOptions, ThreadDelivery, ThreadsOptions } from '../manager/threads/options.js';
export type { RedisBaseOptions } from '../redis/client.js';
export type { CloseInfo, HeartbeatInfo, ResumedInfo, SHARD_STATUSES, ShardStatus } from '../shard/events.js';
export type { IdentifyQueue } from '../shard/identify-queue.js';
export type { ShardOptionalOptions, ShardPassThroughOptions } from '../shard/options.js';
export type { SendLimit } from '../shard/send-limiter.js';
export type { SessionInfo, SessionStore } from '../shard/session-store.js';
export type { DestroyOptions } from '../shard/shard.js';
export type { GatewayConnection, GatewayConnectionFactory } from '../transport/connection.js';
export type { GatewayEnvelope } from '../transport/envelope.js';
export type { TransportHandlers, TransportOptions } from '../transport/transport.js';
export type { BackoffOptions } from '../util/backoff.js';
export type { Clock, TimerHandle } from '../util/clock.js';
export type { Secret } from '../util/redact.js';
export type {
  GATEWAY_CACHE_SNAPSHOT_VERSION,
  GatewayCacheOptions,
  GatewayCacheSnapshot,
  GatewayCacheSnapshotShard,
  GatewayCacheStats,
  MemberQuery,
  ResolvedGatewayCacheOptions,
} from './cache/index.js';
export { GatewayCache } from './cache/index.js';
export type { GatewayProxyOptions, ResolvedGatewayProxyOptions } from './options.js';
export { DEFAULT_GATEWAY_PROXY_OPTIONS, resolveGatewayProxyOptions } from './options.js';
export type { GatewayProxyEventMap, GatewayProxyStatus } from './proxy.js';
export { GatewayProxy } from './proxy.js';
export type { RedisUpstreamOptions, RedisUpstreamStats } from './redis-upstream.js';
export { DEFAULT_REDIS_UPSTREAM_OPTIONS } from './redis-upstream.js';
export type { ProxyUpstream, ProxyUpstreamEvents } from './upstream.js';
