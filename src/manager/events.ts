/** What the `ShardManager` reports: its events, its status and the snapshot of each shard. */
import type { GatewayDispatchPayload, GatewayReadyDispatchData } from 'discord-api-types/v10';
import type { ShardlineError } from '../errors.js';
import type { CloseInfo, HeartbeatInfo, ResumedInfo, ShardStatus } from '../shard/events.js';

export type ShardRole = 'active' | 'joining' | 'retiring';

/** What a `ShardManager` or `ShardWorker` is doing as a whole. */
export type LifecycleState = 'idle' | 'connecting' | 'ready' | 'destroying' | 'destroyed';

/** One row of `snapshot().shards`. */
export interface ShardSnapshot {
  readonly shardId: number;
  readonly shardCount: number;
  readonly role: ShardRole;
  readonly status: ShardStatus;
  /** Last heartbeat round trip, ms; null before the first ACK. */
  readonly latencyMs: number | null;
  /** Dispatches per second over the last 10 s. */
  readonly eventsPerSecond: number;
  /** Sequence of the last dispatch; null before the first. */
  readonly sequence: number | null;
  readonly guilds: number;
  readonly reconnects: number;
}

/** `ShardManager.snapshot()`: the manager and every shard it runs. */
export interface ManagerSnapshot {
  readonly state: LifecycleState;
  readonly shardCount: number;
  readonly shardIds: readonly number[];
  readonly shards: readonly ShardSnapshot[];
  readonly identifiesRemaining: number | null;
  readonly reshard: { readonly from: number; readonly to: number; readonly phase: ReshardPhase } | null;
}

export type ReshardPhase = 'started' | 'switched' | 'completed' | 'failed';

export interface ReshardEvent {
  readonly phase: ReshardPhase;
  readonly from: number;
  readonly to: number;
  readonly error?: ShardlineError;
}

export interface ShardManagerEventMap {
  dispatch: [payload: GatewayDispatchPayload, shardId: number];
  ready: [data: GatewayReadyDispatchData, shardId: number];
  resumed: [info: ResumedInfo, shardId: number];
  /** Every shard of the set reached READY/RESUMED once (after `connect()` and after each reshard switch). */
  allReady: [];
  status: [status: ShardStatus, previous: ShardStatus, shardId: number];
  close: [info: CloseInfo, shardId: number];
  heartbeat: [info: HeartbeatInfo, shardId: number];
  reshard: [event: ReshardEvent];
  /** Emitted only when someone listens; errors are never thrown into the event loop. */
  error: [error: ShardlineError, shardId: number | null];
  debug: [message: string, shardId: number | null];
}
