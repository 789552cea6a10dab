// Public API of `shardline/redis`. Re-exports only.

export type { Compression, Encoding } from '../codec/formats.js';
// Types the signatures below name, exported type-only so this entry types on its own.
export type { CloseAction, REDIS_ERROR_CODES, RedisErrorCode, ShardlineError } from '../errors.js';
export { RedisError } from '../errors.js';
export type { LifecycleState, ShardRole, ShardSnapshot } from '../manager/events.js';
export type { ManagerMetrics } from '../manager/metrics.js';
export type { SessionStartLimit } from '../manager/rest.js';
export type {
  CloseInfo,
  HeartbeatInfo,
  LogLevel,
  ResumedInfo,
  SHARD_STATUSES,
  ShardStatus,
} from '../shard/events.js';
export type {
  GatewayConnection,
  GatewayConnectionFactory,
  GatewayEnvelope,
  ShardOptionalOptions,
  ShardPassThroughOptions,
  TransportHandlers,
  TransportOptions,
} from '../shard/options.js';
export type { SendLimit } from '../shard/send-limiter.js';
export type { BackoffOptions } from '../util/backoff.js';
export type { Clock, TimerHandle } from '../util/clock.js';
export type { Secret } from '../util/redact.js';
export {
  closeClient,
  createRedisClient,
  DEFAULT_KEY_PREFIX,
  type RedisBaseOptions,
} from './client.js';
export {
  CommandClient,
  type CommandClientOptions,
  type CommandContext,
  type CommandTarget,
  commandStreamKey,
  type ServeCommandsOptions,
  serveCommands,
} from './commands.js';
export {
  type ConsumeOptions,
  consume,
  type PARSE_DATA,
  type ParseData,
  readDeadLetters,
  type StreamEvent,
  type TailOptions,
  tailEvents,
} from './consumer.js';
export {
  type IdentifyRelease,
  RedisIdentifyQueue,
  type RedisIdentifyQueueOptions,
} from './identify-queue.js';
export type { IdentifyQueue, SequenceAwareSessionStore, SessionInfo, SessionStore } from './interfaces.js';
export { type Lease, ShardLeases, type ShardLeasesOptions } from './leases.js';
export {
  type DispatchEvent,
  type PublisherStatus,
  RedisEventPublisher,
  type RedisEventPublisherOptions,
  type RefusedEvents,
} from './publisher.js';
export { RedisSessionStore, type RedisSessionStoreOptions } from './session-store.js';
export {
  DEFAULT_PARTITIONS,
  DEFAULT_STREAM_MAX_LEN,
  deadLetterKey,
  eventStreamKey,
  eventStreamKeys,
} from './streams.js';
export type {
  ConsumeSpan,
  ConsumeSpanInfo,
  DispatchSpan,
  DispatchSpanInfo,
  DispatchTracing,
} from './tracing.js';
export {
  ShardWorker,
  type ShardWorkerEventMap,
  type WorkerSnapshot,
} from './worker.js';
export {
  DEFAULT_SHARD_WORKER_OPTIONS,
  type ResolvedShardWorkerOptions,
  type ShardWorkerOptions,
} from './worker-options.js';
