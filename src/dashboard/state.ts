/**
 * What the dashboard server pushes to the page, as plain JSON: the shard table, the identify budget, the
 * fleet's Redis picture, one chart sample per tick. Built from the same snapshots as the terminal view
 * (`ShardManager.snapshot()`, `ShardWorker.snapshot()`) and from `readFleetStatus()`.
 */

export interface DashboardShard {
  readonly id: number;
  /** The shard's status (`ready`, `resuming`, …); for a fleet read from Redis, `leased` or `free`. */
  readonly state: string;
  /** Last heartbeat round trip; null before the first ACK or when unknown (fleet view). */
  readonly latencyMs: number | null;
  readonly eventsPerSecond: number;
  readonly seq: number | null;
  /** Sessions resumed (RESUMED received) since the dashboard started; null when unknown (fleet view). */
  readonly resumes: number | null;
  readonly reconnects: number | null;
  /** The last connection close: code, reason and what the shard did next. */
  readonly lastClose: {
    readonly code: number;
    readonly reason: string;
    readonly action: string;
    readonly at: number;
  } | null;
  /** Worker holding the shard's lease (fleet view). */
  readonly owner?: string | null;
}

export interface DashboardBudget {
  /** Identifies left in the daily session_start_limit budget, as last known. */
  readonly remaining: number | null;
  readonly total: number | null;
  /** When the budget refills (epoch ms), as last known. */
  readonly resetAt: number | null;
  readonly maxConcurrency: number | null;
}

export interface DashboardSample {
  /** Epoch ms. */
  readonly t: number;
  readonly eventsPerSecond: number;
  /** Mean heartbeat latency over the shards that have one; null when none has. */
  readonly latencyMs: number | null;
}

export interface DashboardFleet {
  readonly source: string;
  readonly shardCount: number | null;
  readonly workers: readonly {
    readonly id: string;
    readonly expiresInMs: number | null;
    readonly shardIds: readonly number[];
  }[];
  readonly streams: readonly {
    readonly key: string;
    readonly length: number;
    readonly groups: readonly {
      readonly name: string;
      readonly consumers: number;
      readonly pending: number;
      readonly lag: number | null;
    }[];
  }[];
  /** Why the last read failed (Redis down…), or null. */
  readonly error: string | null;
}

export interface DashboardState {
  readonly at: number;
  readonly uptimeMs: number;
  readonly shards: readonly DashboardShard[];
  readonly budget: DashboardBudget | null;
  readonly fleet: DashboardFleet | null;
  readonly sample: DashboardSample;
  /** Extra facts shown in the header (label, value). */
  readonly info: readonly (readonly [string, string])[];
}

/** Sent once per connection, before the first state. */
export interface DashboardHello {
  readonly title: string;
  /** Faults the page may inject (demo only); empty elsewhere. */
  readonly faults: readonly { readonly kind: string; readonly label: string; readonly outcome: string }[];
  readonly history: readonly DashboardSample[];
  /** Samples the chart spans (one per tick). */
  readonly historySamples: number;
  readonly tickMs: number;
}
