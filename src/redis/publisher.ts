import { ConfigError, RedisError, type ShardlineError } from '../errors.js';
import { DEFAULT_KEY_PREFIX, type RedisBaseOptions, toRedisError } from './client.js';
import { encodeEventValue } from './entry.js';
import { LuaScript } from './script.js';
import {
  DEFAULT_PARTITIONS,
  DEFAULT_STREAM_MAX_LEN,
  encodeData,
  eventStreamKey,
  lastPublishedKey,
} from './streams.js';
import type { DispatchSpan, DispatchTracing } from './tracing.js';

/** One gateway dispatch to publish. */
export interface DispatchEvent {
  shardId: number;
  sessionId: string;
  /** The dispatch's `s`. */
  seq: number;
  /** The dispatch's `t`. */
  type: string;
  /** The dispatch's `d` (stored as JSON; BigInt values become strings). */
  data: unknown;
  /** Fencing token of the shard lease (from `ShardLeases`); events with a lower token than seen are refused. */
  fence?: number;
}

export type PublisherStatus = 'ok' | 'unavailable';

/** Events of one shard that the publish script refused for a stale fence. */
export interface RefusedEvents {
  readonly events: number;
  /** The fence they carried (the highest, when several). */
  readonly fence: number;
  /** The fence Redis holds for the shard, above `fence`. */
  readonly storedFence: number;
  /** The highest seq refused and its session. */
  readonly sessionId: string;
  readonly seq: number;
}

/** Reply of the publish script, checked: counts, then (shard, stored fence) pairs. */
function publishReply(reply: unknown): { added: number; dup: number; stale: Map<number, number> } {
  const ok =
    Array.isArray(reply) &&
    reply.length >= 2 &&
    reply.length % 2 === 0 &&
    reply.every((v) => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0);
  if (!ok) {
    const text = JSON.stringify(reply) ?? String(reply);
    throw new RedisError(
      'REDIS_BAD_REPLY',
      `unexpected Redis reply to the publish script: ${text.length > 80 ? `${text.slice(0, 80)}…` : text}`,
    );
  }
  const values = reply as number[];
  const stale = new Map<number, number>();
  for (let i = 2; i < values.length; i += 2) stale.set(values[i]!, values[i + 1]!);
  return { added: values[0]!, dup: values[1]!, stale };
}

export interface RedisEventPublisherOptions extends RedisBaseOptions {
  /** Number of event streams; must match the consumers' (default 1). */
  partitions?: number;
  /** `MAXLEN ~` of each stream (default 100 000). */
  maxLen?: number;
  /** Events per Redis round trip (default 1 000). */
  batchSize?: number;
  /** Buffered events at which `publish()` returns false and `onBackpressure(true)` fires (default 10 000). */
  highWaterMark?: number;
  /** Retry backoff bounds while Redis is down (defaults 100 ms … 5 000 ms). */
  retryMinMs?: number;
  retryMaxMs?: number;
  /** The buffer crossed the high-water mark (`true`: stop reading the gateway) or drained to half (`false`). */
  onBackpressure?: (full: boolean) => void;
  /** Redis became unavailable (with the error; events are kept and retried) or available again. */
  onStatus?: (status: PublisherStatus, err?: ShardlineError) => void;
  /**
   * Events up to `seq` of this shard's session are durable in Redis (written now or earlier). Persist the
   * session's sequence from here — never ahead of it — so a takeover resumes from what was published.
   */
  onPublished?: (shardId: number, sessionId: string, seq: number) => void;
  /**
   * Events were refused because a newer lease owner publishes this shard (`LEASE_LOST`): `refused` says
   * how many, the fence they carried and the higher fence Redis holds for the shard. Refused events are
   * not kept (they cannot be written under that fence): the owner must give the shard up so that it is
   * resumed under a newer lease, and report it.
   */
  onStale?: (shardId: number, err: RedisError, refused: RefusedEvents) => void;
  /**
   * A span per event from `publish()` until it is in Redis, its traceparent stored in the entry (field
   * `tp`) for the consumer's span. Off (undefined) by default: then entries have the `e` field only.
   */
  tracing?: DispatchTracing;
}

// KEYS: stream, last-published hash. ARGV: maxlen, number of shards k, then k × (shard, session, fence),
// then per event (in arrival order): the shard's index in that list (1-based), seq, entry value. A call
// holds one session and fence per shard (the client ends a batch where one changes). The stream is trimmed
// once per call (XTRIM MAXLEN ~) rather than per XADD: the same bound, fewer arguments per event.
// Returns {added, duplicates, then (shard id, fence stored for it) per shard whose events were refused}.
// The traced variant takes a fourth argument per event, the traceparent, written as field 'tp' when set.
const publishScript = (traced: boolean): string => `
local added, dup = 0, 0
local stale = {}
local shards = {}
local b = 3
for s = 1, tonumber(ARGV[2]) do
  local shard, session, fence = ARGV[b], ARGV[b + 1], tonumber(ARGV[b + 2])
  b = b + 3
  local st = { shard = shard, session = false, seq = -1, fence = tonumber(redis.call('HGET', KEYS[2], shard .. ':fence') or '0') }
  local last = redis.call('HGET', KEYS[2], shard)
  if last then
    local ls, lq = string.match(last, '^(.*) (%d+)$')
    st.session = ls
    st.seq = tonumber(lq)
    st.seqText = lq
  end
  if fence < st.fence then
    st.stale = true
    stale[#stale + 1] = tonumber(shard)
    stale[#stale + 1] = st.fence
  elseif fence > st.fence then
    st.fence = fence
    st.fenceDirty = true
  end
  st.next = session
  shards[s] = st
end
for i = b, #ARGV, ${traced ? 4 : 3} do
  local st = shards[tonumber(ARGV[i])]
  if not st.stale then
    local seq = tonumber(ARGV[i + 1])
    if st.session == st.next and seq <= st.seq then
      dup = dup + 1
    else
      ${
        traced
          ? "if ARGV[i + 3] == '' then redis.call('XADD', KEYS[1], '*', 'e', ARGV[i + 2]) else redis.call('XADD', KEYS[1], '*', 'e', ARGV[i + 2], 'tp', ARGV[i + 3]) end"
          : "redis.call('XADD', KEYS[1], '*', 'e', ARGV[i + 2])"
      }
      st.session = st.next
      st.seq = seq
      st.seqText = ARGV[i + 1]
      st.dirty = true
      added = added + 1
    end
  end
end
if added > 0 then redis.call('XTRIM', KEYS[1], 'MAXLEN', '~', ARGV[1]) end
for _, st in ipairs(shards) do
  if st.dirty then redis.call('HSET', KEYS[2], st.shard, st.session .. ' ' .. st.seqText) end
  if st.fenceDirty then redis.call('HSET', KEYS[2], st.shard .. ':fence', st.fence) end
end
local out = {added, dup}
for _, s in ipairs(stale) do out[#out + 1] = s end
return out
`;
const PUBLISH = new LuaScript(publishScript(false));
const PUBLISH_TRACED = new LuaScript(publishScript(true));

interface Encoded {
  readonly event: DispatchEvent;
  readonly fence: number;
  /** The entry's `e` value: header line + JSON. */
  readonly value: string;
  /** Its span while tracing; undefined otherwise. */
  readonly span: DispatchSpan | undefined;
}

/** One partition's buffer and pump. */
interface Lane {
  readonly partition: number;
  readonly keys: readonly [stream: string, last: string];
  buffer: Encoded[];
  head: number;
  pumping: Promise<void> | undefined;
  retryTimer: NodeJS.Timeout | undefined;
  wakeRetry: (() => void) | undefined;
}

/**
 * The script's arguments for the longest prefix of `batch` in which every shard has one session and one
 * fence (almost always the whole batch): a table of the shards, then three arguments per event, in
 * arrival order. One flat list (ioredis copies it once). Returns the arguments and the prefix length.
 */
function publishArgs(
  sha: string,
  keys: readonly [string, string],
  maxLen: number,
  batch: readonly Encoded[],
  traced: boolean,
): { args: (string | number)[]; count: number } {
  const shards = new Map<number, { index: number; sessionId: string; fence: number }>();
  const table: (string | number)[] = [];
  const events: (string | number)[] = [];
  let count = 0;
  for (const e of batch) {
    const { shardId, sessionId, seq } = e.event;
    let shard = shards.get(shardId);
    if (!shard) {
      shard = { index: shards.size + 1, sessionId, fence: e.fence };
      shards.set(shardId, shard);
      table.push(shardId, sessionId, e.fence);
    } else if (shard.sessionId !== sessionId || shard.fence !== e.fence) {
      break; // the next call starts with the new session or fence
    }
    events.push(shard.index, seq, e.value);
    if (traced) events.push(e.span?.traceparent ?? '');
    count++;
  }
  const head: (string | number)[] = [sha, 2, keys[0], keys[1], maxLen, shards.size];
  return { args: head.concat(table, events), count };
}

function checkInt(option: string, value: number, min: number): number {
  if (!Number.isInteger(value) || value < min) {
    throw new ConfigError(option, `must be an integer ≥ ${min}, got ${String(value)}`);
  }
  return value;
}

/**
 * Appends dispatches to the event streams. `publish()` never blocks and never drops: events go to an
 * in-memory buffer per partition, and one pump per partition writes them in batches (one Lua call per
 * batch, one batch in flight per partition, so partitions write in parallel and a shard's events — always
 * in the same partition — keep their order). The script appends an event only when its seq is above the last one published for the same
 * (shard, session), atomically with the XADD, so retries, worker restarts and RESUME replays never write a
 * duplicate. While Redis is down the pump retries with capped exponential backoff and reports
 * `onStatus('unavailable')`; once the buffer reaches `highWaterMark`, `publish()` returns false and
 * `onBackpressure(true)` fires so the caller stops reading its gateway socket (the gateway replays on
 * resume).
 */
export class RedisEventPublisher {
  readonly partitions: number;
  readonly maxLen: number;
  readonly batchSize: number;
  readonly highWaterMark: number;
  readonly #redis: RedisBaseOptions['redis'];
  readonly #prefix: string;
  readonly #retryMinMs: number;
  readonly #retryMaxMs: number;
  readonly #options: RedisEventPublisherOptions;
  readonly #lanes: Lane[];
  readonly #tracing: DispatchTracing | undefined;
  readonly #script: LuaScript;
  #count = 0;
  #full = false;
  #status: PublisherStatus = 'ok';
  readonly #failing = new Set<number>();
  #scriptLoaded: Promise<void> | undefined;
  #closed = false;
  #published = 0;
  #duplicates = 0;
  #refused = 0;

  constructor(options: RedisEventPublisherOptions) {
    this.#options = options;
    this.#redis = options.redis;
    this.#tracing = options.tracing;
    this.#script = options.tracing === undefined ? PUBLISH : PUBLISH_TRACED;
    this.#prefix = options.prefix ?? DEFAULT_KEY_PREFIX;
    this.partitions = checkInt('partitions', options.partitions ?? DEFAULT_PARTITIONS, 1);
    this.maxLen = checkInt('maxLen', options.maxLen ?? DEFAULT_STREAM_MAX_LEN, 1);
    this.batchSize = checkInt('batchSize', options.batchSize ?? 1_000, 1);
    this.highWaterMark = checkInt('highWaterMark', options.highWaterMark ?? 10_000, 1);
    this.#retryMinMs = checkInt('retryMinMs', options.retryMinMs ?? 100, 1);
    this.#retryMaxMs = checkInt('retryMaxMs', options.retryMaxMs ?? 5_000, this.#retryMinMs);
    this.#lanes = Array.from({ length: this.partitions }, (_, p) => ({
      partition: p,
      keys: [eventStreamKey(this.#prefix, p), lastPublishedKey(this.#prefix, p)],
      buffer: [],
      head: 0,
      pumping: undefined,
      retryTimer: undefined,
      wakeRetry: undefined,
    }));
  }

  /** Events buffered and not yet confirmed by Redis. */
  get buffered(): number {
    return this.#count;
  }

  /** Whether the buffer is at or above the high-water mark. */
  get full(): boolean {
    return this.#full;
  }

  get status(): PublisherStatus {
    return this.#status;
  }

  /** Counters: events appended, skipped as duplicates, and refused for a stale fence (see `onStale`). */
  get stats(): { published: number; duplicates: number; refused: number } {
    return { published: this.#published, duplicates: this.#duplicates, refused: this.#refused };
  }

  /**
   * Buffers one dispatch for publishing. Returns false when the buffer is at the high-water mark: stop
   * reading the gateway until `onBackpressure(false)`. The event is kept either way.
   */
  publish(event: DispatchEvent): boolean {
    if (this.#closed) throw new RedisError('REDIS_CLOSED', 'publisher is closed', { shardId: event.shardId });
    if (!Number.isInteger(event.shardId) || event.shardId < 0) {
      throw new ConfigError('shardId', `must be a non-negative integer, got ${String(event.shardId)}`);
    }
    if (!Number.isSafeInteger(event.seq) || event.seq < 0) {
      throw new ConfigError('seq', `must be a non-negative integer, got ${String(event.seq)}`);
    }
    if (typeof event.sessionId !== 'string' || event.sessionId.length === 0 || /\s/.test(event.sessionId)) {
      throw new ConfigError('sessionId', 'must be a non-empty string without whitespace');
    }
    const type = String(event.type);
    if (type.includes('\n')) throw new ConfigError('type', 'must not contain a line break');
    const lane = this.#lanes[event.shardId % this.partitions]!;
    lane.buffer.push({
      event,
      fence: event.fence ?? 0,
      value: encodeEventValue(event.shardId, event.seq, event.sessionId, type, encodeData(event.data)),
      span: this.#tracing?.publish({ shardId: event.shardId, type, seq: event.seq }),
    });
    this.#count++;
    if (!this.#full && this.#count >= this.highWaterMark) {
      this.#full = true;
      this.#options.onBackpressure?.(true);
    }
    lane.pumping ??= this.#pump(lane);
    return !this.#full;
  }

  /** Resolves when every event buffered so far is in Redis (waits through outages). */
  async flush(): Promise<void> {
    for (;;) {
      const running = this.#lanes.flatMap((l) => (l.pumping ? [l.pumping] : []));
      if (running.length === 0) return;
      await Promise.all(running);
    }
  }

  /** Flushes, then refuses further events. */
  async close(): Promise<void> {
    await this.flush();
    this.#closed = true;
  }

  /** Stops retrying at once; buffered events are abandoned (the gateway replays them on RESUME). */
  abort(): void {
    this.#closed = true;
    this.#count = 0;
    for (const lane of this.#lanes) {
      if (this.#tracing !== undefined)
        for (let i = lane.head; i < lane.buffer.length; i++) lane.buffer[i]!.span?.end('publisher aborted');
      lane.buffer = [];
      lane.head = 0;
      if (lane.retryTimer) clearTimeout(lane.retryTimer);
      lane.wakeRetry?.();
    }
  }

  #setStatus(partition: number, failed: ShardlineError | undefined): void {
    if (failed) {
      this.#failing.add(partition);
      if (this.#status !== 'unavailable') {
        this.#status = 'unavailable';
        this.#options.onStatus?.('unavailable', failed);
      }
    } else {
      this.#failing.delete(partition);
      if (this.#status !== 'ok' && this.#failing.size === 0) {
        this.#status = 'ok';
        this.#options.onStatus?.('ok');
      }
    }
  }

  async #pump(lane: Lane): Promise<void> {
    let failures = 0;
    try {
      while (lane.buffer.length > lane.head) {
        const batch = lane.buffer.slice(lane.head, lane.head + this.batchSize);
        let sent: number;
        try {
          sent = await this.#write(lane, batch);
        } catch (err) {
          if (this.#closed && lane.buffer.length === 0) return;
          failures++;
          this.#scriptLoaded = undefined;
          this.#setStatus(lane.partition, toRedisError(err));
          const ms = Math.min(this.#retryMaxMs, this.#retryMinMs * 2 ** Math.min(failures - 1, 16));
          await new Promise<void>((resolve) => {
            lane.wakeRetry = resolve;
            lane.retryTimer = setTimeout(resolve, ms * (0.75 + Math.random() * 0.5));
          });
          lane.wakeRetry = undefined;
          continue;
        }
        if (lane.buffer.length === 0) return; // aborted meanwhile
        failures = 0;
        this.#setStatus(lane.partition, undefined);
        lane.head += sent;
        this.#count -= sent;
        if (lane.head > 4096 && lane.head * 2 > lane.buffer.length) {
          lane.buffer = lane.buffer.slice(lane.head);
          lane.head = 0;
        }
        if (this.#full && this.#count <= this.highWaterMark / 2) {
          this.#full = false;
          this.#options.onBackpressure?.(false);
        }
      }
    } finally {
      lane.pumping = undefined;
    }
  }

  /** Writes the longest publishable prefix of `batch`; returns how many events it covered. */
  async #write(lane: Lane, all: Encoded[]): Promise<number> {
    const script = this.#script;
    this.#scriptLoaded ??= script.load(this.#redis);
    await this.#scriptLoaded;
    const traced = this.#tracing !== undefined;
    const { args, count } = publishArgs(script.sha, lane.keys, this.maxLen, all, traced);
    const batch = count === all.length ? all : all.slice(0, count);
    let reply: unknown;
    try {
      reply = await this.#redis.call('evalsha', args);
    } catch (err) {
      if (!(err instanceof Error && err.message.startsWith('NOSCRIPT'))) throw toRedisError(err);
      // Redis restarted and forgot the script: load it again and retry once, not an outage to report
      this.#scriptLoaded = script.load(this.#redis);
      try {
        await this.#scriptLoaded;
        reply = await this.#redis.call('evalsha', args);
      } catch (err2) {
        throw toRedisError(err2);
      }
    }
    const { added, dup, stale } = publishReply(reply);
    this.#published += added;
    this.#duplicates += dup;
    const highest = new Map<number, { sessionId: string; seq: number }>();
    const refused = new Map<number, { events: number; fence: number; sessionId: string; seq: number }>();
    for (const { event, fence, span } of batch) {
      if (stale.has(event.shardId)) {
        if (span !== undefined) span.end('refused: a newer lease owner publishes this shard');
        const r = refused.get(event.shardId);
        if (r) {
          r.events++;
          r.fence = Math.max(r.fence, fence);
          r.sessionId = event.sessionId;
          r.seq = event.seq;
        } else refused.set(event.shardId, { events: 1, fence, sessionId: event.sessionId, seq: event.seq });
        continue;
      }
      if (span !== undefined) span.end();
      const h = highest.get(event.shardId);
      if (!h || h.sessionId !== event.sessionId || event.seq > h.seq) {
        highest.set(event.shardId, { sessionId: event.sessionId, seq: event.seq });
      }
    }
    for (const [shardId, r] of refused) {
      const storedFence = stale.get(shardId) ?? 0;
      this.#refused += r.events;
      this.#options.onStale?.(
        shardId,
        new RedisError(
          'LEASE_LOST',
          `${r.events} event(s) of shard ${shardId} refused (up to seq ${r.seq} of session ${r.sessionId}): they carry fence ${r.fence}, Redis holds fence ${storedFence} for the shard (a newer lease owner publishes it)`,
          { shardId },
        ),
        { ...r, storedFence },
      );
    }
    for (const [shardId, h] of highest) this.#options.onPublished?.(shardId, h.sessionId, h.seq);
    return count;
  }
}
