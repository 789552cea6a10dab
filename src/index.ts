// Public API of `shardline`. Re-exports only.
export * from './codec/index.js';
export * from './errors.js';
// Shard manager (issue #6).
export * from './manager/index.js';
// Shard client (issue #5).
export type { CloseCodeInfo } from './shard/close-codes.js';
export {
  clientCloseEndsSession,
  closeCodeInfo,
  FATAL_CLOSE_CODES,
  GATEWAY_CLOSE_CODES,
  RESUMABLE_CLIENT_CLOSE_CODE,
} from './shard/close-codes.js';
export type {
  CloseInfo,
  HeartbeatInfo,
  ResumedInfo,
  ShardEvent,
  ShardEventMap,
  ShardEventName,
  ShardStatus,
} from './shard/events.js';
export { SHARD_STATUSES } from './shard/events.js';
export type { IdentifyQueue, MemoryIdentifyQueueOptions } from './shard/identify-queue.js';
export { MemoryIdentifyQueue } from './shard/identify-queue.js';
export type {
  Effect as ShardEffect,
  Input as ShardInput,
  MachineConfig,
  MachineInput,
  ShardState,
  TransitionResult,
} from './shard/machine.js';
export { initialState, transition } from './shard/machine.js';
export type {
  Compression,
  Encoding,
  ResolvedShardOptions,
  ShardOptionalOptions,
  ShardOptions,
  ShardPassThroughOptions,
  ShardRequiredOptions,
} from './shard/options.js';
export { DEFAULT_SHARD_OPTIONS, MAX_SEND_PAYLOAD_BYTES, resolveShardOptions } from './shard/options.js';
export type { SendLimit } from './shard/send-limiter.js';
export { DEFAULT_SEND_LIMIT, SEND_LIMIT_PER_WINDOW, SEND_WINDOW_MS } from './shard/send-limiter.js';
export type { SessionInfo, SessionStore } from './shard/session-store.js';
export { MemorySessionStore } from './shard/session-store.js';
export type { DestroyOptions } from './shard/shard.js';
export { Shard } from './shard/shard.js';
export type { GatewayEnvelope } from './transport/envelope.js';
export { GATEWAY_API_VERSION, gatewayConnectUrl } from './transport/transport.js';
export type { BackoffOptions } from './util/backoff.js';
export { backoffDelay, DEFAULT_BACKOFF_OPTIONS } from './util/backoff.js';
export type { Clock, TimerHandle } from './util/clock.js';
export { ManualClock, seededRandom, systemClock } from './util/clock.js';
export { redact, Secret } from './util/redact.js';
