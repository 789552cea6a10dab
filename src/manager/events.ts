/** What the `ShardManager` reports: its events, its status and the snapshot of each shard. */
import type { GatewayDispatchPayload } from 'discord-api-types/v10';
import type { ShardlineError } from '../errors.js';
import type { CloseInfo, ShardStatus } from '../shard/events.js';

export type ShardRole = 'active' | 'joining' | 'retiring';

export interface ShardSnapshot {
  readonly id: number;
  readonly shardCount: number;
  readonly role: ShardRole;
  readonly state: ShardStatus;
  /** Last heartbeat round trip, ms; null before the first ACK. */
  readonly latencyMs: number | null;
  /** Dispatches per second over the last 10 s. */
  readonly eventsPerSecond: number;
  readonly lastSequence: number | null;
  readonly guilds: number;
  readonly reconnects: number;
}

export interface ManagerStatus {
  readonly state: 'idle' | 'connecting' | 'ready' | 'destroyed';
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
  ready: [shardId: number];
  resumed: [shardId: number];
  /** Every shard of the set reached READY/RESUMED once (after `connect()` and after each reshard switch). */
  allReady: [];
  status: [shardId: number, status: ShardStatus, previous: ShardStatus];
  close: [shardId: number, info: CloseInfo];
  reshard: [event: ReshardEvent];
  /** Emitted only when someone listens; errors are never thrown into the event loop. */
  error: [error: ShardlineError, shardId: number | null];
  debug: [message: string, shardId: number | null];
}
