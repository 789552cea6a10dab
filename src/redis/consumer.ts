import type { Redis } from 'ioredis';
import { ConfigError, type ShardlineError } from '../errors.js';
import {
  closeClient,
  DEFAULT_KEY_PREFIX,
  duplicateClient,
  type RedisBaseOptions,
  retryDelayMs,
  sleep,
  toRedisError,
} from './client.js';
import {
  type EventHeader,
  parseEventFields,
  parseEventHeader,
  parsePayload,
  parseStreamsReply,
  type RawEntry,
  type RawStreams,
  type RawValue,
  type ReadEntry,
  traceFieldOf,
} from './entry.js';
import { DEFAULT_PARTITIONS, DEFAULT_STREAM_MAX_LEN, deadLetterKey, eventStreamKeys } from './streams.js';
import type { ConsumeSpan, DispatchTracing } from './tracing.js';

export { parseEventFields };

/** One event read from a stream. */
export interface StreamEvent {
  /** Stream entry id. */
  readonly id: string;
  /** Stream key it was read from. */
  readonly stream: string;
  readonly shardId: number;
  readonly seq: number;
  readonly sessionId: string;
  readonly type: string;
  readonly data: unknown;
  /** How many times this entry was delivered (1 for a first delivery; higher when reclaimed). */
  readonly deliveries: number;
  /** Acknowledges the entry in its group (acks are batched into one XACK per tick). No-op for `tail`. */
  ack(): Promise<void>;
  /**
   * With `tracing`: the span of handling this event, a child of the publishing worker's span. `ack()`
   * ends it; a handler that fails calls `trace.end(err)`. Undefined without tracing.
   */
  readonly trace?: ConsumeSpan | undefined;
}

export interface ConsumeOptions extends RedisBaseOptions {
  /** Consumer group: every group sees every event once; consumers of a group share the work. */
  group: string;
  /** This consumer's name inside the group (stable across restarts to pick up its own pending entries). */
  consumer: string;
  /** Only these dispatch types; others are acknowledged for this group without being yielded. */
  types?: readonly string[];
  /** Must match the publisher's (default 1). */
  partitions?: number;
  /** Entries per XREADGROUP (default 100). */
  count?: number;
  /** XREADGROUP BLOCK time (default 1 000 ms). */
  blockMs?: number;
  /** Entries yielded and not acknowledged at which reading pauses (default 1 000). */
  maxUnacked?: number;
  /** Entries pending this long on any consumer are reclaimed with XAUTOCLAIM (default 30 000 ms). */
  claimIdleMs?: number;
  /** How often to look for entries to reclaim (default claimIdleMs / 2). */
  claimIntervalMs?: number;
  /** After this many deliveries an idle entry goes to the dead-letter stream (default 5). */
  maxDeliveries?: number;
  /** Where a new group starts: `'0'` (the whole stream, default) or `'$'` (only new events). */
  startId?: '0' | '$';
  /**
   * When `data` is JSON-parsed. `'eager'` (default): as the entry is read; an entry that is not JSON is
   * dead-lettered at once. `'lazy'`: on the first read of `event.data` (then cached), so a consumer that
   * routes on `type`, `shardId` or `seq` alone never pays for JSON.parse (`data` is then a getter, not an
   * own property: `{ ...event }` leaves it out); reading the `data` of an entry
   * that is not JSON throws a `RedisError` `REDIS_BAD_ENTRY`, and the entry, if left unacknowledged, is
   * reclaimed and dead-lettered after `maxDeliveries` like any other failing entry.
   */
  parseData?: ParseData;
  /**
   * A span per event from read to `ack()`, continuing the trace the publishing worker stored in the entry
   * (see `RedisEventPublisherOptions.tracing`). Off by default.
   */
  tracing?: DispatchTracing;
  signal?: AbortSignal;
  /** Errors the loop recovered from (Redis down: it retries with backoff). */
  onError?: (err: ShardlineError) => void;
}

export const PARSE_DATA = ['eager', 'lazy'] as const;
export type ParseData = (typeof PARSE_DATA)[number];

/** `data` of a lazy event before its first read. */
const UNPARSED: unique symbol = Symbol('unparsed');

/**
 * An event of `parseData: 'lazy'`: `data` is a getter on the prototype that parses on first read (an
 * object-literal getter would cost a runtime call per event; a plain property is what eager events get).
 * So `{ ...event }` has no `data`: read it explicitly.
 */
class LazyEvent implements StreamEvent {
  readonly id: string;
  readonly stream: string;
  readonly shardId: number;
  readonly seq: number;
  readonly sessionId: string;
  readonly type: string;
  readonly deliveries: number;
  readonly ack: () => Promise<void>;
  readonly trace: ConsumeSpan | undefined;
  readonly #header: EventHeader;
  #data: unknown = UNPARSED;
  constructor(
    id: string,
    stream: string,
    h: EventHeader,
    deliveries: number,
    ack: () => Promise<void>,
    trace: ConsumeSpan | undefined,
  ) {
    this.id = id;
    this.stream = stream;
    this.shardId = h.shardId;
    this.seq = h.seq;
    this.sessionId = h.sessionId;
    this.type = h.type;
    this.deliveries = deliveries;
    this.ack = ack;
    this.trace = trace;
    this.#header = h;
  }
  get data(): unknown {
    if (this.#data === UNPARSED) this.#data = parsePayload(this.#header);
    return this.#data;
  }
}

function fieldsOf(raw: string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (let i = 0; i + 1 < raw.length; i += 2) out[raw[i]!] = raw[i + 1]!;
  return out;
}

function int(option: string, value: number, min: number): number {
  if (!Number.isInteger(value) || value < min) {
    throw new ConfigError(option, `must be an integer ≥ ${min}, got ${String(value)}`);
  }
  return value;
}

/** Batches XACKs per stream into one call per tick. */
class Acker {
  readonly #redis: Redis;
  readonly #group: string;
  #pending = new Map<string, string[]>();
  #flush: Promise<void> | undefined;
  constructor(redis: Redis, group: string) {
    this.#redis = redis;
    this.#group = group;
  }
  ack(stream: string, id: string): Promise<void> {
    let ids = this.#pending.get(stream);
    if (!ids) {
      ids = [];
      this.#pending.set(stream, ids);
    }
    ids.push(id);
    this.#flush ??= new Promise<void>((resolve) => setImmediate(resolve)).then(() => this.#send());
    return this.#flush;
  }
  async #send(): Promise<void> {
    const batch = this.#pending;
    this.#pending = new Map();
    this.#flush = undefined;
    try {
      await Promise.all([...batch].map(([stream, ids]) => this.#redis.xack(stream, this.#group, ...ids)));
    } catch (err) {
      throw toRedisError(err);
    }
  }
}

/**
 * Reads events as a member of a consumer group, as an async iterator of `StreamEvent`s with `ack()`.
 * Creates the group on every partition stream if needed, first re-reads this consumer's own pending
 * entries (a restarted consumer finishes what it had), then reads new ones. Every `claimIntervalMs` it
 * moves entries idle for `claimIdleMs` on any consumer with `maxDeliveries` deliveries to the dead-letter
 * stream, and reclaims the rest with XAUTOCLAIM. Backpressure: nothing more is read while `maxUnacked`
 * entries are yielded and not acknowledged, and each read fetches at most `count`. While Redis is down
 * the loop retries with backoff and reports through `onError`. Ends when `signal` aborts or the loop
 * is broken out of.
 */
export async function* consume(options: ConsumeOptions): AsyncGenerator<StreamEvent, void, undefined> {
  const prefix = options.prefix ?? DEFAULT_KEY_PREFIX;
  const group = options.group;
  const consumer = options.consumer;
  if (!group || !consumer) throw new ConfigError(group ? 'consumer' : 'group', 'must be a non-empty string');
  const partitions = int('partitions', options.partitions ?? DEFAULT_PARTITIONS, 1);
  const count = int('count', options.count ?? 100, 1);
  const blockMs = int('blockMs', options.blockMs ?? 1_000, 1);
  const maxUnacked = int('maxUnacked', options.maxUnacked ?? 1_000, 1);
  const claimIdleMs = int('claimIdleMs', options.claimIdleMs ?? 30_000, 1);
  const claimIntervalMs = int('claimIntervalMs', options.claimIntervalMs ?? Math.ceil(claimIdleMs / 2), 1);
  const maxDeliveries = int('maxDeliveries', options.maxDeliveries ?? 5, 1);
  const types = options.types && options.types.length > 0 ? new Set(options.types) : undefined;
  const parseData = options.parseData ?? 'eager';
  if (!PARSE_DATA.includes(parseData)) {
    throw new ConfigError('parseData', `must be one of ${PARSE_DATA.join(', ')}, got ${String(parseData)}`);
  }
  const lazy = parseData === 'lazy';
  const tracing = options.tracing;
  const signal = options.signal;
  const streams = eventStreamKeys(prefix, partitions);
  const redis = options.redis;
  const acker = new Acker(redis, group);
  const reader = duplicateClient(redis, options.onError);
  let unacked = 0;
  let unackedWake: (() => void) | undefined;
  let failures = 0;
  const onAbort = (): void => {
    reader.disconnect(false);
    unackedWake?.();
  };
  signal?.addEventListener('abort', onAbort, { once: true });

  const backoff = async (err: unknown): Promise<void> => {
    failures++;
    options.onError?.(toRedisError(err));
    await sleep(retryDelayMs(failures - 1), signal);
  };

  const make = (
    stream: string,
    id: string,
    h: EventHeader,
    data: unknown,
    deliveries: number,
    raw: readonly RawValue[],
  ): StreamEvent => {
    let acked = false;
    unacked++;
    const trace =
      tracing === undefined
        ? undefined
        : tracing.consume(traceFieldOf(raw), {
            shardId: h.shardId,
            type: h.type,
            seq: h.seq,
            stream,
            id,
            deliveries,
          });
    const ack = (): Promise<void> => {
      if (acked) return Promise.resolve();
      acked = true;
      if (trace !== undefined) trace.end();
      unacked--;
      if (unacked < maxUnacked) unackedWake?.();
      return acker.ack(stream, id);
    };
    if (lazy) return new LazyEvent(id, stream, h, deliveries, ack, trace);
    return {
      id,
      stream,
      shardId: h.shardId,
      seq: h.seq,
      sessionId: h.sessionId,
      type: h.type,
      data,
      deliveries,
      ack,
      trace,
    };
  };

  /**
   * Splits raw entries into events to yield; entries of filtered-out types are acked without parsing
   * their JSON, foreign entries are dead-lettered.
   */
  const accept = async (
    stream: string,
    entries: readonly ReadEntry[],
    deliveries: number,
    out: StreamEvent[] = [],
  ): Promise<StreamEvent[]> => {
    for (const entry of entries) {
      const raw = entry[1];
      if (raw === null) continue; // deleted by MAXLEN while pending
      const id = entry[0];
      const header = parseEventHeader(raw);
      if (header && types && !types.has(header.type)) {
        void acker.ack(stream, id).catch(() => undefined);
        continue;
      }
      let data: unknown;
      try {
        if (!header) throw new Error('not an event');
        if (!lazy) data = parsePayload(header);
      } catch {
        await deadLetter(stream, id, raw, deliveries, 'unparsable entry');
        continue;
      }
      out.push(make(stream, id, header, data, deliveries, raw));
    }
    return out;
  };

  const deadLetter = async (
    stream: string,
    id: string,
    raw: RawValue[],
    deliveries: number,
    reason: string,
  ): Promise<void> => {
    await redis
      .multi()
      .xadd(
        deadLetterKey(prefix),
        'MAXLEN',
        '~',
        DEFAULT_STREAM_MAX_LEN,
        '*',
        ...raw,
        'dl:group',
        group,
        'dl:stream',
        stream,
        'dl:id',
        id,
        'dl:deliveries',
        String(deliveries),
        'dl:reason',
        reason,
      )
      .xack(stream, group, id)
      .exec();
  };

  /** Dead-letters over-delivered idle entries, then reclaims idle ones for this consumer. */
  const reclaim = async (): Promise<StreamEvent[]> => {
    const out: StreamEvent[] = [];
    for (const stream of streams) {
      const pending = (await redis.xpending(stream, group, 'IDLE', claimIdleMs, '-', '+', count)) as [
        string,
        string,
        number,
        number,
      ][];
      for (const [id, , , deliveries] of pending) {
        if (deliveries < maxDeliveries) continue;
        const range = (await redis.xrange(stream, id, id)) as RawEntry[];
        const raw = range[0]?.[1];
        if (raw) await deadLetter(stream, id, raw, deliveries, `delivered ${deliveries} times`);
        else await redis.xack(stream, group, id);
      }
      const claimed = (await redis.xautoclaim(
        stream,
        group,
        consumer,
        claimIdleMs,
        '0-0',
        'COUNT',
        count,
      )) as [string, RawEntry[], string[]?];
      const entries = claimed[1].filter((e): e is RawEntry => Array.isArray(e?.[1]));
      if (entries.length === 0) continue;
      // exact delivery counts of what was just claimed (XAUTOCLAIM itself does not report them)
      const counts = (await redis.xpending(
        stream,
        group,
        entries[0]![0],
        entries[entries.length - 1]![0],
        entries.length + unacked,
        consumer,
      )) as [string, string, number, number][];
      const deliveryCount = new Map(counts.map(([id, , , d]) => [id, d]));
      for (const [id, raw] of entries) {
        const deliveries = deliveryCount.get(id) ?? 2;
        // it became idle between XPENDING and XAUTOCLAIM after its last allowed delivery: dead-letter it now
        if (deliveries > maxDeliveries)
          await deadLetter(stream, id, raw, deliveries - 1, `delivered ${deliveries - 1} times`);
        else await accept(stream, [[id, raw]], deliveries, out);
      }
    }
    return out;
  };

  const ensureGroups = async (): Promise<void> => {
    for (const stream of streams) {
      try {
        await redis.xgroup('CREATE', stream, group, options.startId ?? '0', 'MKSTREAM');
      } catch (err) {
        if (!(err instanceof Error && err.message.startsWith('BUSYGROUP'))) throw err;
      }
    }
  };

  try {
    for (;;) {
      try {
        await ensureGroups();
        break;
      } catch (err) {
        if (signal?.aborted) return;
        await backoff(err);
      }
    }

    const readNew = async (): Promise<RawStreams> =>
      parseStreamsReply(
        await reader.xreadgroupBuffer(
          'GROUP',
          group,
          consumer,
          'COUNT',
          count,
          'BLOCK',
          Math.min(blockMs, claimIntervalMs),
          'STREAMS',
          ...streams,
          ...streams.map(() => '>'),
        ),
      );
    let prefetched: Promise<RawStreams> | undefined;

    // This consumer's own pending entries first (a restart picks up where it stopped).
    const ownCursor = new Map(streams.map((s) => [s, '0']));
    let lastClaim = performance.now();
    while (!signal?.aborted) {
      while (unacked >= maxUnacked && !signal?.aborted) {
        await new Promise<void>((resolve) => {
          unackedWake = resolve;
        });
        unackedWake = undefined;
      }
      if (signal?.aborted) break;
      let batch: StreamEvent[] = [];
      try {
        if (ownCursor.size > 0) {
          const ids = [...ownCursor.values()];
          const keys = [...ownCursor.keys()];
          const reply = parseStreamsReply(
            await reader.xreadgroupBuffer(
              'GROUP',
              group,
              consumer,
              'COUNT',
              count,
              'STREAMS',
              ...keys,
              ...ids,
            ),
          );
          for (const [stream, entries] of reply ?? []) {
            if (entries.length === 0) ownCursor.delete(stream);
            else {
              ownCursor.set(stream, entries[entries.length - 1]![0]);
              await accept(stream, entries, 2, batch);
            }
          }
        } else {
          if (performance.now() - lastClaim >= claimIntervalMs) {
            lastClaim = performance.now();
            batch = await reclaim();
          }
          if (batch.length === 0) {
            const pending = prefetched ?? readNew();
            prefetched = undefined;
            const reply = await pending;
            let read = 0;
            for (const [, entries] of reply ?? []) read += entries.length;
            // a full read means a backlog: fetch the next batch while this one is processed
            if (read >= count && unacked + read + count <= maxUnacked) {
              prefetched = readNew();
              prefetched.catch(() => undefined);
            }
            for (const [stream, entries] of reply ?? []) await accept(stream, entries, 1, batch);
          }
        }
        failures = 0;
      } catch (err) {
        prefetched = undefined;
        if (signal?.aborted) break;
        await backoff(err);
        // the stream or the group was deleted under us (FLUSHALL, a Redis without persistence restarted)
        if (err instanceof Error && err.message.includes('NOGROUP'))
          await ensureGroups().catch(() => undefined);
        continue;
      }
      for (const event of batch) yield event;
    }
  } finally {
    signal?.removeEventListener('abort', onAbort);
    await closeClient(reader);
  }
}

export interface TailOptions extends RedisBaseOptions {
  types?: readonly string[];
  partitions?: number;
  /** `'$'` (only new events, default) or `'0'` (from the start of the streams). */
  from?: '0' | '$';
  blockMs?: number;
  count?: number;
  signal?: AbortSignal;
  onError?: (err: ShardlineError) => void;
}

/** Reads events without a group (XREAD): for `shardline tail` and debugging. `ack()` is a no-op. */
export async function* tailEvents(options: TailOptions): AsyncGenerator<StreamEvent, void, undefined> {
  const prefix = options.prefix ?? DEFAULT_KEY_PREFIX;
  const streams = eventStreamKeys(prefix, int('partitions', options.partitions ?? DEFAULT_PARTITIONS, 1));
  const types = options.types && options.types.length > 0 ? new Set(options.types) : undefined;
  const count = int('count', options.count ?? 100, 1);
  const blockMs = int('blockMs', options.blockMs ?? 1_000, 1);
  const signal = options.signal;
  const reader = duplicateClient(options.redis, options.onError);
  const onAbort = (): void => reader.disconnect(false);
  signal?.addEventListener('abort', onAbort, { once: true });
  const cursor = new Map<string, string>(streams.map((s) => [s, options.from ?? '$']));
  let failures = 0;
  try {
    // Resolve '$' to concrete ids so nothing between two reads is missed.
    for (;;) {
      try {
        for (const s of streams) {
          if (cursor.get(s) !== '$') continue;
          const last = (await reader.xrevrange(s, '+', '-', 'COUNT', 1)) as RawEntry[];
          cursor.set(s, last[0]?.[0] ?? '0');
        }
        break;
      } catch (err) {
        if (signal?.aborted) return;
        failures++;
        options.onError?.(toRedisError(err));
        await sleep(retryDelayMs(failures), signal);
      }
    }
    while (!signal?.aborted) {
      let reply: RawStreams;
      try {
        reply = parseStreamsReply(
          await reader.xread(
            'COUNT',
            count,
            'BLOCK',
            blockMs,
            'STREAMS',
            ...cursor.keys(),
            ...cursor.values(),
          ),
        );
        failures = 0;
      } catch (err) {
        if (signal?.aborted) break;
        failures++;
        options.onError?.(toRedisError(err));
        await sleep(retryDelayMs(failures), signal);
        continue;
      }
      for (const [stream, entries] of reply ?? []) {
        for (const [id, raw] of entries) {
          cursor.set(stream, id);
          const h = raw && parseEventHeader(raw);
          if (!h || (types && !types.has(h.type))) continue;
          let data: unknown;
          try {
            data = parsePayload(h);
          } catch {
            continue;
          }
          const { shardId, seq, sessionId, type } = h;
          yield {
            id,
            stream,
            shardId,
            seq,
            sessionId,
            type,
            data,
            deliveries: 1,
            ack: () => Promise.resolve(),
          };
        }
      }
    }
  } finally {
    signal?.removeEventListener('abort', onAbort);
    await closeClient(reader);
  }
}

/** The dead-letter stream's entries (for inspection and tests). */
export async function readDeadLetters(
  options: RedisBaseOptions & { count?: number },
): Promise<{ id: string; fields: Record<string, string> }[]> {
  const prefix = options.prefix ?? DEFAULT_KEY_PREFIX;
  try {
    const entries = (await options.redis.xrange(
      deadLetterKey(prefix),
      '-',
      '+',
      'COUNT',
      options.count ?? 1_000,
    )) as [string, string[]][];
    return entries.map(([id, raw]) => ({ id, fields: fieldsOf(raw) }));
  } catch (err) {
    throw toRedisError(err);
  }
}
