// Public API of `shardline/redis`. Re-exports only.

export type { SessionStartLimit } from '../manager/rest.js';
export { shardForGuild } from '../manager/routing.js';
export { IDENTIFY_WINDOW_MS } from '../shard/identify-queue.js';
export {
  closeClient,
  createRedisClient,
  DEFAULT_KEY_PREFIX,
  deleteKeysWithPrefix,
  type RedisBaseOptions,
} from './client.js';
export {
  CommandClient,
  type CommandClientOptions,
  type CommandContext,
  type CommandTarget,
  commandStreamKey,
  publishShardCount,
  type ServeCommandsOptions,
  serveCommands,
} from './commands.js';
export {
  type ConsumeOptions,
  consume,
  type ParseData,
  parseEventFields,
  readDeadLetters,
  type StreamEvent,
  type TailOptions,
  tailEvents,
} from './consumer.js';
export {
  type IdentifyRelease,
  RedisIdentifyQueue,
  type RedisIdentifyQueueOptions,
  SESSION_START_RESET_MS,
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
export { ShardWorker, type ShardWorkerEventMap, type WorkerLogLevel } from './worker.js';
export {
  DEFAULT_SHARD_WORKER_OPTIONS,
  type ResolvedShardWorkerOptions,
  resolveShardWorkerOptions,
  type ShardWorkerOptions,
  type WorkerShardOptions,
} from './worker-options.js';
