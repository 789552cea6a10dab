// Public API of `shardline`: what a bot author uses. Re-exports only; codecs are in `shardline/codec`,
// Redis scale-out in `shardline/redis`, the gateway simulator in `shardline/simulator`, the Prometheus
// endpoint in `shardline/metrics`.

export type { Compression, Encoding } from './codec/formats.js';
// Errors (a shard's `error` event carries them). The code lists are type-only: each `code` is a literal union.
export type {
  CloseAction,
  CODEC_ERROR_CODES,
  CodecErrorCode,
  DECOMPRESS_ERROR_CODES,
  DecompressErrorCode,
  MANAGER_ERROR_CODES,
  ManagerErrorCode,
  REST_ERROR_CODES,
  RestErrorCode,
  SEND_ERROR_CODES,
  SendErrorCode,
  SHARD_ERROR_CODES,
  ShardErrorCode,
  TIMEOUT_ERROR_CODES,
  TimeoutErrorCode,
} from './errors.js';
export {
  CodecError,
  ConfigError,
  DecompressError,
  GatewayCloseError,
  ManagerError,
  ProtocolViolationError,
  RestError,
  SendError,
  SessionLimitError,
  ShardError,
  ShardlineError,
  TimeoutError,
} from './errors.js';
// Shard manager.
export type {
  LifecycleState,
  ManagerSnapshot,
  ReshardEvent,
  ReshardPhase,
  ShardManagerEventMap,
  ShardRole,
  ShardSnapshot,
} from './manager/events.js';
export type { FileIdentifyQueueOptions } from './manager/file-identify-queue.js';
export { FileIdentifyQueue } from './manager/file-identify-queue.js';
export { ShardManager } from './manager/manager.js';
export type {
  GuildMembersChunk,
  MemberRequestOptions,
  MemberRequestResult,
} from './manager/member-chunks.js';
export type {
  AutoReshardOptions,
  ResolvedShardManagerOptions,
  ShardManagerOptions,
} from './manager/options.js';
export { DEFAULT_SHARD_MANAGER_OPTIONS } from './manager/options.js';
export type { GatewayBotInfo, SessionStartLimit } from './manager/rest.js';
export { shardForGuild } from './manager/routing.js';
export type { FileSessionStoreOptions, SequenceAwareSessionStore } from './manager/session-store.js';
export { FileSessionStore } from './manager/session-store.js';
export type { ResolvedThreadsOptions, ThreadDelivery, ThreadsOptions } from './manager/threads/options.js';
// Shard.
export type {
  CloseInfo,
  HeartbeatInfo,
  LogLevel,
  ResumedInfo,
  SHARD_STATUSES,
  ShardEventMap,
  ShardStatus,
} from './shard/events.js';
export type { IdentifyQueue, MemoryIdentifyQueueOptions } from './shard/identify-queue.js';
export { MemoryIdentifyQueue } from './shard/identify-queue.js';
export type {
  ResolvedShardOptions,
  ShardOptionalOptions,
  ShardOptions,
  ShardPassThroughOptions,
  ShardRequiredOptions,
} from './shard/options.js';
export { DEFAULT_SHARD_OPTIONS } from './shard/options.js';
export type { SendLimit } from './shard/send-limiter.js';
export type { SessionInfo, SessionStore } from './shard/session-store.js';
export { MemorySessionStore } from './shard/session-store.js';
export type { DestroyOptions } from './shard/shard.js';
export { Shard } from './shard/shard.js';
export type { GatewayConnection, GatewayConnectionFactory } from './transport/connection.js';
export { wsGatewayConnection } from './transport/connection.js';
export type { GatewayEnvelope } from './transport/envelope.js';
export type { TransportHandlers, TransportOptions } from './transport/transport.js';
// Pluggable parts and helpers.
export type { BackoffOptions } from './util/backoff.js';
export type { Clock, TimerHandle } from './util/clock.js';
export { ManualClock } from './util/clock.js';
export { Secret } from './util/redact.js';
