/**
 * The manager's bookkeeping of one shard set (the serving one, or the one joining during a reshard): each
 * shard with its state, guilds and event rate, and the set's readiness promise.
 */

import type { GatewaySendPayload } from 'discord-api-types/v10';
import type { ShardlineError } from '../errors.js';
import type { ShardEventMap, ShardStatus } from '../shard/events.js';
import type { DestroyOptions, Shard } from '../shard/shard.js';
import type { TimerHandle } from '../util/clock.js';
import type { EventRate } from './event-rate.js';
import type { ShardRole, ShardSnapshot } from './events.js';

/** What the manager uses of a shard: a `Shard`, or a `ThreadShard` standing for one in a shard thread. */
export interface ShardHandle {
  readonly options: Shard['options'];
  connect(): Promise<void>;
  destroy(options?: DestroyOptions): Promise<void>;
  send(payload: GatewaySendPayload): Promise<void>;
  on<K extends keyof ShardEventMap>(event: K, listener: (...args: ShardEventMap[K]) => void): unknown;
}

export interface ManagedShard {
  readonly id: number;
  readonly count: number;
  readonly shard: ShardHandle;
  set: ShardSet;
  state: ShardStatus;
  latencyMs: number | null;
  lastSequence: number | null;
  readonly guilds: Set<string>;
  /** Guilds of READY not yet created on this session (initial GUILD_CREATE burst). */
  readonly pendingGuilds: Set<string>;
  guildsTimer: TimerHandle | undefined;
  reconnects: number;
  /** Dispatches per second. */
  readonly rate: EventRate;
  readyOnce: boolean;
}

export interface ShardSet {
  readonly count: number;
  role: ShardRole;
  readonly shards: Map<number, ManagedShard>;
  /** Settles once every shard is READY with its guilds (or RESUMED), or rejects with the first failure. */
  readonly ready: Promise<void>;
  readonly settle: { resolve(): void; reject(err: ShardlineError): void };
  settled: boolean;
  closing: boolean;
}

/** An empty set; the manager adds its shards. */
export function createShardSet(count: number, role: ShardRole): ShardSet {
  let settle!: ShardSet['settle'];
  const ready = new Promise<void>((resolve, reject) => {
    settle = { resolve, reject };
  });
  ready.catch(() => {});
  return { count, role, shards: new Map(), ready, settle, settled: false, closing: false };
}

/** True once every shard of the set was READY/RESUMED and received the guilds of its READY. */
export function isSetLoaded(set: ShardSet): boolean {
  for (const m of set.shards.values()) {
    if (!m.readyOnce || m.pendingGuilds.size > 0) return false;
  }
  return true;
}

export function snapshotOf(m: ManagedShard, nowMs: number): ShardSnapshot {
  return {
    shardId: m.id,
    shardCount: m.count,
    role: m.set.role,
    status: m.state,
    latencyMs: m.latencyMs,
    eventsPerSecond: m.rate.perSecond(nowMs),
    sequence: m.lastSequence,
    guilds: m.guilds.size,
    reconnects: m.reconnects,
  };
}
