// Public API of `shardline/discordjs`: `@discordjs/core` adapters. Re-exports only. `@discordjs/core` is an
// optional peer dependency: these modules import only its types, never its code.
// Types the signatures below name, exported type-only so this entry types on its own.

export type { Compression, Encoding } from '../codec/formats.js';
export type {
  ADAPTER_ERROR_CODES,
  AdapterErrorCode,
  CloseAction,
  REDIS_ERROR_CODES,
  RedisErrorCode,
  ShardlineError,
} from '../errors.js';
export { AdapterError } from '../errors.js';
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
export type { RedisCommand } from '../redis/pending.js';
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
export { currentDelivery, type Delivery } from './delivery.js';
export { type DispatchListener, ManagerGateway, type ManagerGatewayOptions } from './manager-gateway.js';
export { RedisGateway, type RedisGatewayOptions, type RedisGatewayStats } from './redis-gateway.js';
