import type { GatewayDispatchPayload, GatewayReadyDispatchData } from 'discord-api-types/v10';
import type { CloseAction, ShardlineError } from '../errors.js';

/** Every state of the shard machine, in the order a healthy connection goes through them. */
export const SHARD_STATUSES = [
  'idle',
  'connecting',
  'awaiting-hello',
  'waiting-identify-slot',
  'identifying',
  'resuming',
  'ready',
  'backoff',
  'closed',
] as const;
export type ShardStatus = (typeof SHARD_STATUSES)[number];

export interface HeartbeatInfo {
  /** Time from sending the heartbeat to its ACK, in clock ms. */
  readonly latencyMs: number;
}

export interface CloseInfo {
  /** Close code (sent by us when `byClient`, else received); 1006 when the connection just dropped. */
  readonly code: number;
  readonly reason: string;
  /** True when the shard closed the connection itself (zombie, op 7, op 9, timeout, destroy). */
  readonly byClient: boolean;
  /** What the shard does next. `fatal` means it stopped. */
  readonly action: CloseAction | 'stop';
}

export interface ResumedInfo {
  /** Missed dispatches the gateway replayed before RESUMED (duplicates of delivered ones not counted). */
  readonly replayed: number;
}

/** Level of a `log` line: worth telling the operator (`info`) or something went wrong (`warn`). */
export type LogLevel = 'info' | 'warn';

/** Event map of `Shard` (labelled tuples, used with the typed `EventEmitter`). */
export interface ShardEventMap {
  dispatch: [payload: GatewayDispatchPayload];
  ready: [data: GatewayReadyDispatchData];
  resumed: [info: ResumedInfo];
  status: [status: ShardStatus, previous: ShardStatus];
  heartbeat: [info: HeartbeatInfo];
  close: [info: CloseInfo];
  error: [error: ShardlineError];
  debug: [message: string];
}

export type ShardEventName = keyof ShardEventMap;

/** One emitted event as a value, as the pure machine produces it. */
export type ShardEvent = {
  [K in ShardEventName]: { readonly name: K; readonly args: ShardEventMap[K] };
}[ShardEventName];
