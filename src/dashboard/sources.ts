/**
 * Where the dashboard's numbers come from, without deriving them a second time: the shard rows are the
 * `snapshot()` of a `ShardManager` or `ShardWorker` (the terminal view's rows), plus the resumes and last
 * close seen on their events; the fleet is `readFleetStatus()` over the workers' Redis keys, with each
 * shard's events per second taken from how far its published sequence moved.
 */
import type { ManagerSnapshot, ShardSnapshot } from '../manager/events.js';
import type { ShardManager } from '../manager/manager.js';
import type { RedisBaseOptions } from '../redis/client.js';
import { type FleetStatus, readFleetStatus } from '../redis/fleet.js';
import type { CloseInfo, ResumedInfo } from '../shard/events.js';
import type { DashboardBudget, DashboardFleet, DashboardShard } from './state.js';

/** What a `ShardManager` and a `ShardWorker` have in common for the shard table. */
export interface ShardTableSource {
  snapshot(): { readonly shards: readonly ShardSnapshot[] };
  on(event: 'resumed', listener: (info: ResumedInfo, shardId: number) => void): unknown;
  on(event: 'close', listener: (info: CloseInfo, shardId: number) => void): unknown;
  off(event: 'resumed', listener: (info: ResumedInfo, shardId: number) => void): unknown;
  off(event: 'close', listener: (info: CloseInfo, shardId: number) => void): unknown;
}

/** Longest close reason kept (a gateway's reason is at most 123 bytes; anything longer is cut). */
const MAX_REASON = 123;

/** The shard rows of one process, with resumes and the last close counted from the source's events. */
export class ShardTable {
  readonly #source: ShardTableSource;
  readonly #resumes = new Map<number, number>();
  readonly #closes = new Map<number, NonNullable<DashboardShard['lastClose']>>();
  readonly #onResumed = (_info: ResumedInfo, shardId: number): void => {
    this.#resumes.set(shardId, (this.#resumes.get(shardId) ?? 0) + 1);
  };
  readonly #onClose = (info: CloseInfo, shardId: number): void => {
    this.#closes.set(shardId, {
      code: info.code,
      reason: info.reason.slice(0, MAX_REASON),
      action: info.action,
      at: Date.now(),
    });
  };

  constructor(source: ShardTableSource) {
    this.#source = source;
    source.on('resumed', this.#onResumed);
    source.on('close', this.#onClose);
  }

  rows(): DashboardShard[] {
    return this.#source
      .snapshot()
      .shards.filter((s) => s.role !== 'retiring')
      .map((s) => ({
        id: s.shardId,
        state: s.status,
        latencyMs: s.latencyMs,
        eventsPerSecond: s.eventsPerSecond,
        seq: s.sequence,
        resumes: this.#resumes.get(s.shardId) ?? 0,
        reconnects: s.reconnects,
        lastClose: this.#closes.get(s.shardId) ?? null,
      }));
  }

  close(): void {
    this.#source.off('resumed', this.#onResumed);
    this.#source.off('close', this.#onClose);
  }
}

/**
 * The identify budget of a `ShardManager`: `GET /gateway/bot`'s session_start_limit, with `remaining`
 * counted down by the manager on every identify it grants.
 */
export function managerBudget(manager: {
  readonly gatewayInfo: ShardManager['gatewayInfo'];
  snapshot(): Pick<ManagerSnapshot, 'identifiesRemaining'>;
}): () => DashboardBudget | null {
  let fetched: { at: number; info: NonNullable<ShardManager['gatewayInfo']> } | undefined;
  return () => {
    const info = manager.gatewayInfo;
    if (info === undefined) return null;
    // The reset is relative to the fetch: remember when this answer was first seen.
    if (fetched?.info !== info) fetched = { at: Date.now(), info };
    const limit = info.sessionStartLimit;
    return {
      remaining: manager.snapshot().identifiesRemaining ?? limit.remaining,
      total: limit.total,
      resetAt: fetched.at + limit.resetAfterMs,
      maxConcurrency: limit.maxConcurrency,
    };
  };
}

export interface FleetSourceOptions extends RedisBaseOptions {
  readonly partitions?: number;
  /** Where the fleet is, for the page: never the URL (it may hold a password). */
  readonly label: string;
}

/** Seconds over which a fleet shard's event rate is averaged. */
const FLEET_RATE_WINDOW = 10;

/** Polls the fleet's Redis keys; one read at a time, the last result kept. */
export class FleetSource {
  readonly #options: FleetSourceOptions;
  #status: FleetStatus | undefined;
  #error: string | null = null;
  #reading = false;
  /** Per shard: (time, session, seq) of the last reads, for its event rate. */
  readonly #seqs = new Map<number, { at: number; sessionId: string; seq: number }[]>();

  constructor(options: FleetSourceOptions) {
    this.#options = options;
  }

  /** Starts a read unless one is under way; resolves when it ended (never rejects). */
  async refresh(): Promise<void> {
    if (this.#reading) return;
    this.#reading = true;
    try {
      const status = await readFleetStatus(this.#options);
      this.#status = status;
      this.#error = null;
      this.#track(status);
    } catch (err) {
      this.#error = err instanceof Error ? err.message : String(err);
    } finally {
      this.#reading = false;
    }
  }

  #track(status: FleetStatus): void {
    for (const s of status.shards) {
      if (s.sessionId === null || s.seq === null) {
        this.#seqs.delete(s.shardId);
        continue;
      }
      const list = (this.#seqs.get(s.shardId) ?? []).filter((x) => x.sessionId === s.sessionId);
      list.push({ at: status.at, sessionId: s.sessionId, seq: s.seq });
      while (list.length > 1 && status.at - list[0]!.at > FLEET_RATE_WINDOW * 1000) list.shift();
      this.#seqs.set(s.shardId, list);
    }
    for (const id of this.#seqs.keys()) if (id >= status.shards.length) this.#seqs.delete(id);
  }

  #rate(shardId: number): number {
    const list = this.#seqs.get(shardId);
    if (!list || list.length < 2) return 0;
    const first = list[0]!;
    const last = list.at(-1)!;
    const seconds = (last.at - first.at) / 1000;
    return seconds > 0 ? Math.max(0, last.seq - first.seq) / seconds : 0;
  }

  /** The fleet's shard rows: lease holder, published sequence, events per second. */
  rows(): DashboardShard[] {
    return (this.#status?.shards ?? []).map((s) => ({
      id: s.shardId,
      state: s.holder ? 'leased' : 'free',
      latencyMs: null,
      eventsPerSecond: this.#rate(s.shardId),
      seq: s.seq,
      resumes: null,
      reconnects: null,
      lastClose: null,
      owner: s.holder?.owner ?? null,
    }));
  }

  budget(): DashboardBudget | null {
    const b = this.#status?.budget;
    if (!b) return null;
    return {
      remaining: b.remaining,
      total: b.total,
      resetAt: Date.now() + b.resetAfterMs,
      maxConcurrency: null,
    };
  }

  view(): DashboardFleet {
    const s = this.#status;
    return {
      source: this.#options.label,
      shardCount: s?.shardCount ?? null,
      workers: s?.workers ?? [],
      streams: (s?.streams ?? []).map((x) => ({ key: x.key, length: x.length, groups: x.groups })),
      error: this.#error,
    };
  }
}
