/**
 * Reads the event streams (every partition) without a group, from explicit positions: for a reader that
 * stores its own position (the gateway proxy keeps it next to its cache snapshot), so each reader sees
 * every event and resumes from where its stored state ends. Every reply is checked; an entry that is not
 * an event is skipped (counted) and the position still moves past it.
 */
import type { Redis } from 'ioredis';
import { ConfigError } from '../errors.js';
import {
  closeClient,
  DEFAULT_KEY_PREFIX,
  duplicateClient,
  type RedisBaseOptions,
  toRedisError,
} from './client.js';
import { parseEventHeader, parsePayload, parseStreamsReply } from './entry.js';
import { DEFAULT_PARTITIONS, eventStreamKeys } from './streams.js';

/** A stream entry id as Redis writes it: `<ms>-<seq>`. */
const STREAM_ID = /^\d{1,20}-\d{1,20}$/;

export function isStreamId(value: unknown): value is string {
  return typeof value === 'string' && STREAM_ID.test(value);
}

/** One event read at a position. */
export interface CursorEvent {
  readonly stream: string;
  readonly id: string;
  readonly shardId: number;
  readonly seq: number;
  readonly sessionId: string;
  readonly type: string;
  readonly data: unknown;
}

export interface EventCursorOptions extends RedisBaseOptions {
  /** Must match the publisher's (default 1). */
  partitions?: number;
  /** Last id read per partition (default `0-0` each: the whole stream). */
  positions?: readonly string[];
}

export class EventCursor {
  readonly #streams: string[];
  readonly #positions: string[];
  readonly #reader: Redis;
  #skipped = 0;

  constructor(options: EventCursorOptions) {
    const partitions = options.partitions ?? DEFAULT_PARTITIONS;
    if (!Number.isInteger(partitions) || partitions < 1)
      throw new ConfigError('partitions', `must be an integer ≥ 1, got ${String(partitions)}`);
    this.#streams = eventStreamKeys(options.prefix ?? DEFAULT_KEY_PREFIX, partitions);
    const positions = options.positions ?? this.#streams.map(() => '0-0');
    if (positions.length !== partitions || !positions.every(isStreamId))
      throw new ConfigError('positions', `expected ${partitions} stream ids of the form <ms>-<seq>`);
    this.#positions = [...positions];
    this.#reader = duplicateClient(options.redis);
  }

  /** Last id read per partition (entries skipped as malformed included). */
  positions(): string[] {
    return [...this.#positions];
  }

  /** Entries that were not events (skipped). */
  get skipped(): number {
    return this.#skipped;
  }

  /**
   * Reads up to `count` entries per partition after the positions; `blockMs` waits for new ones (0 = do
   * not wait). Resolves with the events in stream order per partition.
   */
  async read(count: number, blockMs: number): Promise<CursorEvent[]> {
    const block = blockMs > 0 ? ['BLOCK', blockMs] : [];
    let reply: unknown;
    try {
      reply = await this.#reader.xreadBuffer(
        'COUNT',
        count,
        ...(block as ['BLOCK', number]),
        'STREAMS',
        ...this.#streams,
        ...this.#positions,
      );
    } catch (err) {
      throw toRedisError(err);
    }
    const out: CursorEvent[] = [];
    for (const [stream, entries] of parseStreamsReply(reply) ?? []) {
      const p = this.#streams.indexOf(stream);
      if (p < 0) continue;
      for (const [id, raw] of entries) {
        if (!isStreamId(id)) continue;
        this.#positions[p] = id;
        const h = raw ? parseEventHeader(raw) : undefined;
        let data: unknown;
        try {
          if (!h) throw new Error('not an event');
          data = parsePayload(h);
        } catch {
          this.#skipped++;
          continue;
        }
        out.push({ stream, id, shardId: h.shardId, seq: h.seq, sessionId: h.sessionId, type: h.type, data });
      }
    }
    return out;
  }

  /**
   * Per partition: whether entries after the current position may have been trimmed away (`MAXLEN`) before
   * they were read — the stream's first entry is past the position and entries were removed from it.
   * A reply of an unexpected shape counts as no (nothing is known).
   */
  async trimmedPastPosition(): Promise<boolean[]> {
    const out: boolean[] = [];
    for (let p = 0; p < this.#streams.length; p++) {
      let reply: unknown;
      try {
        reply = await this.#reader.xinfo('STREAM', this.#streams[p]!);
      } catch (err) {
        if (err instanceof Error && /no such key/i.test(err.message)) {
          out.push(false);
          continue;
        }
        throw toRedisError(err);
      }
      out.push(trimmedPast(reply, this.#positions[p]!));
    }
    return out;
  }

  /** Ends a blocked read at once and closes the reading connection. */
  async close(): Promise<void> {
    this.#reader.disconnect(false);
    await closeClient(this.#reader);
  }
}

/** Orders two stream ids (`<ms>-<seq>`, checked). */
export function compareStreamIds(a: string, b: string): number {
  const [am, as] = a.split('-').map(BigInt) as [bigint, bigint];
  const [bm, bs] = b.split('-').map(BigInt) as [bigint, bigint];
  return am === bm ? (as === bs ? 0 : as < bs ? -1 : 1) : am < bm ? -1 : 1;
}

/** From an XINFO STREAM reply: was anything removed, and does the stream now start after `position`? */
function trimmedPast(reply: unknown, position: string): boolean {
  if (!Array.isArray(reply)) return false;
  const info = new Map<string, unknown>();
  for (let i = 0; i + 1 < reply.length; i += 2) {
    if (typeof reply[i] === 'string') info.set(reply[i] as string, reply[i + 1]);
  }
  const length = info.get('length');
  const added = info.get('entries-added'); // Redis ≥ 7.0
  const first = info.get('first-entry');
  const firstId = Array.isArray(first) ? first[0] : undefined;
  if (typeof length !== 'number' || typeof added !== 'number' || added <= length) return false;
  if (!isStreamId(firstId)) return false;
  return compareStreamIds(firstId, position) > 0;
}

/** Key of the gateway proxy's cache snapshot (a string written and read whole). */
export function proxySnapshotKey(prefix: string): string {
  return `${prefix}proxy:snapshot`;
}

/** Stores a snapshot string (SET; the last writer wins: every stored value is a consistent pair). */
export async function writeProxySnapshot(options: RedisBaseOptions & { value: string }): Promise<void> {
  try {
    await options.redis.set(proxySnapshotKey(options.prefix ?? DEFAULT_KEY_PREFIX), options.value);
  } catch (err) {
    throw toRedisError(err);
  }
}

/**
 * Reads the stored snapshot string: undefined when there is none, `'too-large'` when it is above
 * `maxBytes` (checked with STRLEN before it is fetched) or is not a string.
 */
export async function readProxySnapshot(
  options: RedisBaseOptions & { maxBytes: number },
): Promise<string | undefined | 'too-large'> {
  const key = proxySnapshotKey(options.prefix ?? DEFAULT_KEY_PREFIX);
  try {
    const len: unknown = await options.redis.strlen(key);
    if (len === 0) return undefined;
    if (typeof len !== 'number' || len > options.maxBytes) return 'too-large';
    const value: unknown = await options.redis.get(key);
    if (value === null) return undefined;
    if (typeof value !== 'string' || Buffer.byteLength(value) > options.maxBytes) return 'too-large';
    return value;
  } catch (err) {
    throw toRedisError(err);
  }
}
