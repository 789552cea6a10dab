/**
 * `ProxyUpstream` over a worker fleet in Redis: the proxy runs no shards. It reads every partition of the
 * fleet's event streams with plain XREAD from a position it stores itself (not a consumer group): each
 * proxy replica reads every event, and the position is kept in the same Redis value as the cache snapshot
 * it belongs to, so a restarted proxy restores the snapshot and reads on from exactly that point (a
 * group's own position would run ahead of a restored snapshot, and a group per replica leaves pending
 * lists behind). Commands go to the owning worker through the command streams (`CommandClient`); the
 * shard count is the one the workers published.
 */
import type { GatewayDispatchPayload, GatewaySendPayload } from 'discord-api-types/v10';
import type { ShardlineError } from '../errors.js';
import type { RedisBaseOptions } from '../redis/client.js';
import { DEFAULT_KEY_PREFIX } from '../redis/client.js';
import { CommandClient, readShardCount } from '../redis/commands.js';
import {
  type CursorEvent,
  EventCursor,
  readProxySnapshot,
  writeProxySnapshot,
} from '../redis/event-cursor.js';
import { eventStreamKeys } from '../redis/streams.js';
import type { GatewayCache } from './cache/index.js';
import {
  decodeRedisProxySnapshot,
  encodeRedisProxySnapshot,
  REDIS_PROXY_SNAPSHOT_VERSION,
} from './redis-snapshot.js';
import type { ProxyUpstream, ProxyUpstreamEvents } from './upstream.js';

/** The `redis` option of `GatewayProxy`: the worker fleet's Redis (`redis`, `prefix`) and how it is read. */
export interface RedisUpstreamOptions extends RedisBaseOptions {
  /** Partitions of the event streams; must match the workers' (default 1). */
  readonly partitions?: number;
  /** How often the cache snapshot and its stream position are stored (default 30 000 ms; also on stop). */
  readonly snapshotIntervalMs?: number;
  /** Largest snapshot stored or loaded (default 64 MiB); a larger one is skipped (and replayed instead). */
  readonly maxSnapshotBytes?: number;
  /** How long a command waits for the owning worker's reply (default 10 000 ms). */
  readonly commandTimeoutMs?: number;
  /** How often the published shard count is read again (default 5 000 ms). */
  readonly shardCountPollMs?: number;
  /** Entries per read (default 500). */
  readonly readCount?: number;
  /** How long a read waits for new entries (default 1 000 ms). */
  readonly blockMs?: number;
  /**
   * Client sessions are stored in Redis so a RESUME works on any replica: how often each session's record
   * is written when it moved (default 1 000 ms; also refreshes its TTL).
   */
  readonly sessionSyncMs?: number;
  /** Largest stored session record read back (default 4 096 bytes). */
  readonly maxSessionRecordBytes?: number;
  /** Most stream entries a RESUME on another replica reads to rebuild the missed events (default 200 000). */
  readonly maxResumeScan?: number;
  /** How long such a RESUME waits for this replica to have read up to the session's position (default 5 000 ms). */
  readonly resumeWaitMs?: number;
}

/** Defaults of `RedisUpstreamOptions`. */
export const DEFAULT_REDIS_UPSTREAM_OPTIONS = {
  partitions: 1,
  snapshotIntervalMs: 30_000,
  maxSnapshotBytes: 64 * 1024 * 1024,
  commandTimeoutMs: 10_000,
  shardCountPollMs: 5_000,
  readCount: 500,
  blockMs: 1_000,
  sessionSyncMs: 1_000,
  maxSessionRecordBytes: 4_096,
  maxResumeScan: 200_000,
  resumeWaitMs: 5_000,
} as const satisfies Partial<RedisUpstreamOptions>;

/** How the cache was rebuilt at start. */
export interface RedisUpstreamStats {
  /** `snapshot`: restored, then the stream after it; `stream`: the whole stream replayed. */
  readonly rebuiltFrom: 'snapshot' | 'stream' | undefined;
  /** Why a stored snapshot was not used. */
  readonly snapshotRejected: string | undefined;
  /** Events applied before the proxy was ready (the replay after the snapshot, or the whole stream). */
  readonly replayedEvents: number;
  readonly liveEvents: number;
  readonly snapshotsWritten: number;
  /** Stream entries that were not events (skipped). */
  readonly skippedEntries: number;
  /**
   * At start, events after the restored position (or, replaying from scratch, the stream's oldest events)
   * had been trimmed away: the cache may lack them. Store snapshots more often than the stream wraps.
   */
  readonly trimmedBeforeRead: boolean;
}

const UPSTREAM_SESSION_READY: ReadonlySet<string> = new Set(['READY', 'RESUMED']);
const MAX_SHARD_ID = 100_000;

export class RedisUpstream implements ProxyUpstream {
  readonly #options: Required<
    Omit<
      RedisUpstreamOptions,
      'prefix' | 'sessionSyncMs' | 'maxSessionRecordBytes' | 'maxResumeScan' | 'resumeWaitMs'
    >
  > & { prefix: string | undefined };
  readonly #cache: GatewayCache;
  readonly #intents: number;
  readonly #debug: (message: string) => void;
  readonly #commands: CommandClient;
  readonly #ready = new Set<number>();
  #events: ProxyUpstreamEvents | undefined;
  #shardCount = 0;
  #cursor: EventCursor | undefined;
  /** Positions whose events are all in the cache (what a snapshot is stored with). */
  #applied: string[] | undefined;
  #storedAt: string | undefined;
  #live = false;
  #stopped = false;
  #loop: Promise<void> | undefined;
  #snapshotTimer: NodeJS.Timeout | undefined;
  #lastCountPoll = 0;
  #rebuiltFrom: 'snapshot' | 'stream' | undefined;
  #snapshotRejected: string | undefined;
  #replayed = 0;
  #liveEvents = 0;
  #snapshots = 0;
  #trimmed = false;
  readonly #streamKeys: string[];
  /** Per partition: the stream id of the last event handed to the proxy (fanned out to its sessions). */
  readonly #dispatched: string[];

  constructor(
    options: RedisUpstreamOptions,
    cache: GatewayCache,
    intents: number,
    debug: (m: string) => void,
  ) {
    const d = DEFAULT_REDIS_UPSTREAM_OPTIONS;
    this.#options = {
      redis: options.redis,
      prefix: options.prefix,
      partitions: options.partitions ?? d.partitions,
      snapshotIntervalMs: options.snapshotIntervalMs ?? d.snapshotIntervalMs,
      maxSnapshotBytes: options.maxSnapshotBytes ?? d.maxSnapshotBytes,
      commandTimeoutMs: options.commandTimeoutMs ?? d.commandTimeoutMs,
      shardCountPollMs: options.shardCountPollMs ?? d.shardCountPollMs,
      readCount: options.readCount ?? d.readCount,
      blockMs: options.blockMs ?? d.blockMs,
    };
    this.#streamKeys = eventStreamKeys(options.prefix ?? DEFAULT_KEY_PREFIX, this.#options.partitions);
    this.#dispatched = this.#streamKeys.map(() => '0-0');
    this.#cache = cache;
    this.#intents = intents;
    this.#debug = debug;
    this.#commands = new CommandClient({
      redis: options.redis,
      timeoutMs: this.#options.commandTimeoutMs,
      ...(options.prefix !== undefined ? { prefix: options.prefix } : {}),
    });
  }

  get shardCount(): number {
    return this.#shardCount;
  }

  get intents(): number {
    return this.#intents;
  }

  isReady(shardId: number): boolean {
    return this.#live && this.#ready.has(shardId);
  }

  async send(shardId: number, payload: GatewaySendPayload): Promise<void> {
    await this.#commands.send({ shardId }, payload);
  }

  /** The event stream that carries shard `shardId`'s events. */
  streamOf(shardId: number): string {
    return this.#streamKeys[shardId % this.#streamKeys.length]!;
  }

  /**
   * The stream id of the last event of shard `shardId`'s stream that was handed to the proxy: every event
   * up to it has been fanned out to the sessions, none after it. Undefined before the live read began.
   */
  dispatchedPosition(shardId: number): string | undefined {
    return this.#live ? this.#dispatched[shardId % this.#dispatched.length] : undefined;
  }

  listen(events: ProxyUpstreamEvents): void {
    this.#events = events;
  }

  stats(): RedisUpstreamStats {
    return {
      rebuiltFrom: this.#rebuiltFrom,
      snapshotRejected: this.#snapshotRejected,
      replayedEvents: this.#replayed,
      liveEvents: this.#liveEvents,
      snapshotsWritten: this.#snapshots,
      skippedEntries: this.#cursor?.skipped ?? 0,
      trimmedBeforeRead: this.#trimmed,
    };
  }

  /** Waits for the published shard count, rebuilds the cache (snapshot + stream after it), then reads live. */
  async start(): Promise<void> {
    const redis = this.#base();
    for (let attempt = 0; !this.#stopped; attempt++) {
      try {
        const count = await readShardCount(redis);
        if (count !== undefined) {
          this.#shardCount = count;
          break;
        }
        if (attempt % 20 === 0) this.#debug('waiting for the workers to publish the shard count');
      } catch (err) {
        this.#debug(`shard count: ${(err as ShardlineError).message}`);
      }
      await delay(Math.min(2_000, 100 * 2 ** Math.min(attempt, 4)));
    }
    if (this.#stopped) return;
    const positions = await this.#restore();
    if (this.#stopped) return;
    this.#cursor = new EventCursor({
      redis: this.#options.redis,
      partitions: this.#options.partitions,
      ...(this.#options.prefix !== undefined ? { prefix: this.#options.prefix } : {}),
      ...(positions !== undefined ? { positions } : {}),
    });
    this.#applied = this.#cursor.positions();
    this.#applied.forEach((p, i) => {
      this.#dispatched[i] = p;
    });
    try {
      this.#trimmed = (await this.#cursor.trimmedPastPosition()).some(Boolean);
    } catch (err) {
      this.#debug(`could not check the streams for trimmed events: ${(err as ShardlineError).message}`);
    }
    if (this.#trimmed)
      this.#debug(
        `events after ${this.#rebuiltFrom === 'snapshot' ? 'the snapshot' : 'the start of the stream'} were trimmed (MAXLEN) before this proxy read them: the cache may lack them`,
      );
    // catch up to the head without waiting, then announce the shards
    for (let failures = 0; ; ) {
      let batch: CursorEvent[];
      try {
        batch = await this.#cursor.read(this.#options.readCount, 0);
      } catch (err) {
        if (this.#stopped) return;
        failures++;
        this.#debug(`replaying the event streams: ${(err as ShardlineError).message}; retrying`);
        await delay(Math.min(5_000, 100 * 2 ** Math.min(failures, 6)));
        continue;
      }
      if (this.#stopped) return;
      if (batch.length === 0 && this.#cursor.positions().join() === this.#applied.join()) break;
      for (const event of batch) this.#apply(event);
      this.#replayed += batch.length;
      this.#applied = this.#cursor.positions();
    }
    this.#live = true;
    this.#lastCountPoll = Date.now();
    for (const shardId of [...this.#ready].sort((a, b) => a - b)) this.#events?.ready(shardId);
    this.#loop = this.#readLive();
    if (this.#options.snapshotIntervalMs > 0) {
      this.#snapshotTimer = setInterval(() => void this.#store(), this.#options.snapshotIntervalMs);
      this.#snapshotTimer.unref();
    }
  }

  async #restore(): Promise<string[] | undefined> {
    const base = this.#base();
    let stored: Awaited<ReturnType<typeof readProxySnapshot>>;
    try {
      stored = await readProxySnapshot({ ...base, maxBytes: this.#options.maxSnapshotBytes });
    } catch (err) {
      this.#snapshotRejected = `unreadable: ${(err as ShardlineError).message}`;
      return this.#fromScratch();
    }
    if (stored === undefined) return this.#fromScratch();
    if (stored === 'too-large') {
      this.#snapshotRejected = `larger than ${this.#options.maxSnapshotBytes} bytes`;
      return this.#fromScratch();
    }
    const snapshot = decodeRedisProxySnapshot(stored, this.#options.partitions);
    if ('invalid' in snapshot) this.#snapshotRejected = snapshot.invalid;
    else if (snapshot.shardCount !== this.#shardCount)
      this.#snapshotRejected = `taken at ${snapshot.shardCount} shards, the fleet runs ${this.#shardCount}`;
    else if (!this.#cache.restore(snapshot.cache)) this.#snapshotRejected = 'cache image of another version';
    else {
      for (const shardId of snapshot.ready) this.#ready.add(shardId);
      this.#rebuiltFrom = 'snapshot';
      this.#debug(`cache restored from the snapshot at ${snapshot.positions.join(',')}`);
      return [...snapshot.positions];
    }
    this.#debug(`stored cache snapshot not used (${this.#snapshotRejected}): replaying the whole stream`);
    return this.#fromScratch();
  }

  #fromScratch(): undefined {
    this.#cache.clear();
    this.#ready.clear();
    this.#rebuiltFrom = 'stream';
    return undefined;
  }

  #apply(event: CursorEvent): void {
    const p = this.#streamKeys.indexOf(event.stream);
    if (p >= 0) this.#dispatched[p] = event.id;
    if (event.shardId >= MAX_SHARD_ID) return;
    const payload = {
      op: 0,
      s: event.seq,
      t: event.type,
      d: event.data,
    } as unknown as GatewayDispatchPayload;
    this.#events?.dispatch(payload, event.shardId, event.id);
    if (UPSTREAM_SESSION_READY.has(event.type) && event.shardId < this.#shardCount) {
      const known = this.#ready.has(event.shardId);
      this.#ready.add(event.shardId);
      if (this.#live && (!known || event.type === 'READY')) this.#events?.ready(event.shardId);
    }
  }

  async #readLive(): Promise<void> {
    let failures = 0;
    while (!this.#stopped) {
      const cursor = this.#cursor!;
      try {
        const batch = await cursor.read(this.#options.readCount, this.#options.blockMs);
        if (this.#stopped) break;
        for (const event of batch) this.#apply(event);
        this.#liveEvents += batch.length;
        this.#applied = cursor.positions();
        failures = 0;
        if (Date.now() - this.#lastCountPoll >= this.#options.shardCountPollMs) await this.#pollShardCount();
      } catch (err) {
        if (this.#stopped) break;
        failures++;
        this.#debug(`reading the event streams: ${(err as ShardlineError).message}; retrying`);
        await delay(Math.min(5_000, 100 * 2 ** Math.min(failures, 6)));
      }
    }
  }

  async #pollShardCount(): Promise<void> {
    this.#lastCountPoll = Date.now();
    const count = await readShardCount(this.#base());
    if (count === undefined || count === this.#shardCount) return;
    this.#debug(`the fleet runs ${count} shards now (was ${this.#shardCount})`);
    this.#shardCount = count;
    // the shards of the new count are ready as their READYs arrive
    this.#ready.clear();
  }

  /** Stores the cache snapshot with the positions it corresponds to, when something was read since. */
  async #store(): Promise<void> {
    const applied = this.#applied;
    if (!this.#live || applied === undefined) return;
    const at = applied.join(',');
    if (at === this.#storedAt) return;
    const value = encodeRedisProxySnapshot({
      version: REDIS_PROXY_SNAPSHOT_VERSION,
      positions: applied,
      shardCount: this.#shardCount,
      ready: [...this.#ready],
      cache: this.#cache.snapshot(),
    });
    const bytes = Buffer.byteLength(value);
    if (bytes > this.#options.maxSnapshotBytes) {
      this.#debug(`cache snapshot of ${bytes} bytes is above maxSnapshotBytes: not stored`);
      return;
    }
    try {
      await writeProxySnapshot({ ...this.#base(), value });
      this.#storedAt = at;
      this.#snapshots++;
    } catch (err) {
      this.#debug(`storing the cache snapshot: ${(err as ShardlineError).message}`);
    }
  }

  /** Stores a last snapshot, stops reading and closes the command client. */
  async stop(): Promise<void> {
    if (this.#stopped) return;
    clearInterval(this.#snapshotTimer);
    await this.#store();
    this.#stopped = true;
    await this.#cursor?.close();
    await this.#loop;
    await this.#commands.close();
  }

  #base(): RedisBaseOptions {
    return {
      redis: this.#options.redis,
      ...(this.#options.prefix !== undefined ? { prefix: this.#options.prefix } : {}),
    };
  }
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms).unref());
}
