/**
 * Resharding. Zero-downtime reshard (the manager drives it; this file holds the pure parts):
 *  1. the new set (`newCount` shards) identifies while the old set keeps serving; the new set's READY and
 *     its initial GUILD_CREATE burst are bookkeeping and are never re-emitted;
 *  2. once every new shard is READY and has received every guild of its READY, the manager switches at one
 *     instant T (single-threaded, so T is a point in the event order): before T only old-set dispatches are
 *     emitted, after T only new-set dispatches;
 *  3. the old set is closed after a drain of `dedupeWindowMs`.
 *
 * The two sets see the same per-guild event stream with different delays, so an event near T can be
 * delivered by the old set before T *and* by the new set (a duplicate), or by the new set before T and the old
 * set after T (a loss). `SwitchoverDeduper` closes both gaps: it remembers fingerprints (guild, type and
 * payload hash) of old-set events emitted in the last 2 × window before T, buffers new-set events of the
 * last window before T, and at T emits the buffered new events no old event matched, then drops new events
 * that match a remembered old one (multiset matching, so two genuinely identical events both pass).
 *
 * Guarantee: every dispatch is emitted exactly once across the switch provided (a) both sets deliver it
 * with byte-identical payloads and (b) the two deliveries are less than `dedupeWindowMs` apart. An event
 * delivered only by the old set after T, whose new-set copy arrived more than a window before T, is lost;
 * choose the window above the worst delivery skew between two sessions (default 5 s).
 */
import { createHash } from 'node:crypto';
import { ConfigError } from '../errors.js';
import { type Clock, systemClock } from '../util/clock.js';

/** The guild a dispatch belongs to (`d.guild_id`, or `d.id` for GUILD_* events about the guild itself). */
export function guildOfDispatch(type: string | null | undefined, data: unknown): string | undefined {
  if (typeof data !== 'object' || data === null) return undefined;
  const d = data as Record<string, unknown>;
  const pick = (v: unknown): string | undefined =>
    typeof v === 'string' ? v : typeof v === 'bigint' || typeof v === 'number' ? String(v) : undefined;
  const gid = pick(d.guild_id);
  if (gid !== undefined) return gid;
  if (type === 'GUILD_CREATE' || type === 'GUILD_UPDATE' || type === 'GUILD_DELETE') return pick(d.id);
  return undefined;
}

export interface ReshardPlan {
  readonly from: number;
  readonly to: number;
  readonly shardIds: readonly number[];
}

/** Validates a reshard request against the current count and the identify budget. */
export function planReshard(
  from: number,
  to: number,
  options: { remaining?: number; shardIds?: readonly number[] } = {},
): ReshardPlan {
  if (!Number.isInteger(to) || to < 1)
    throw new ConfigError('shardCount', `expected an integer ≥ 1, got ${to}`);
  if (to === from) throw new ConfigError('shardCount', `already running ${from} shards`);
  const shardIds = options.shardIds ?? Array.from({ length: to }, (_, i) => i);
  for (const id of shardIds) {
    if (!Number.isInteger(id) || id < 0 || id >= to) {
      throw new ConfigError('shardIds', `shard id ${id} is not in [0, ${to})`);
    }
  }
  if (new Set(shardIds).size !== shardIds.length) throw new ConfigError('shardIds', 'contains duplicates');
  return { from, to, shardIds: [...shardIds].sort((a, b) => a - b) };
}

function stringifyValue(value: unknown): string {
  return JSON.stringify(value, (_k, v: unknown) => (typeof v === 'bigint' ? `${v}n` : v)) ?? 'undefined';
}

/** A compact fingerprint of one dispatch: guild, type and a hash of the payload. */
export function dispatchFingerprint(type: string | null | undefined, data: unknown): string {
  const hash = createHash('sha1').update(stringifyValue(data)).digest('base64');
  return `${guildOfDispatch(type, data) ?? '-'}:${type ?? '-'}:${hash}`;
}

export interface DispatchLike {
  readonly t: string | null | undefined;
  readonly d: unknown;
}

export interface SwitchoverDeduperOptions {
  readonly windowMs?: number;
  readonly clock?: Clock;
}

export const DEFAULT_DEDUPE_WINDOW_MS = 5_000;

interface Buffered<T> {
  readonly at: number;
  readonly fp: string;
  readonly item: T;
}

/**
 * Decides, for each dispatch of the old and the new shard set around a switch, whether to emit it.
 * Phase `overlap`: `fromOld` → emit, `fromNew` → buffer. `switch()` → buffered items to emit now.
 * Phase `switched`: `fromOld` → drop, `fromNew` → emit unless it matches an old emission.
 */
export class SwitchoverDeduper<T extends DispatchLike = DispatchLike> {
  readonly #windowMs: number;
  readonly #clock: Clock;
  #phase: 'overlap' | 'switched' = 'overlap';
  #switchedAt = 0;
  /** Old-set emissions, oldest first. */
  #old: { at: number; fp: string }[] = [];
  #oldCounts = new Map<string, number>();
  #buffer: Buffered<T>[] = [];
  #dropped = 0;

  constructor(options: SwitchoverDeduperOptions = {}) {
    const w = options.windowMs ?? DEFAULT_DEDUPE_WINDOW_MS;
    if (typeof w !== 'number' || !Number.isFinite(w) || w < 0) {
      throw new ConfigError('dedupeWindowMs', `expected a finite number ≥ 0, got ${String(w)}`);
    }
    this.#windowMs = w;
    this.#clock = options.clock ?? systemClock;
  }

  get phase(): 'overlap' | 'switched' {
    return this.#phase;
  }
  /** Duplicates suppressed so far. */
  get duplicatesDropped(): number {
    return this.#dropped;
  }
  /** True once the window after the switch has passed and the deduper holds nothing. */
  get settled(): boolean {
    return this.#phase === 'switched' && this.#clock.now() - this.#switchedAt >= this.#windowMs;
  }

  /** An old-set dispatch: true = emit it. */
  fromOld(item: T): boolean {
    if (this.#phase === 'switched') return false;
    const now = this.#clock.now();
    const fp = dispatchFingerprint(item.t, item.d);
    this.#old.push({ at: now, fp });
    this.#oldCounts.set(fp, (this.#oldCounts.get(fp) ?? 0) + 1);
    this.#prune(now);
    return true;
  }

  /** A new-set dispatch: true = emit it now (only after the switch). */
  fromNew(item: T): boolean {
    const now = this.#clock.now();
    const fp = dispatchFingerprint(item.t, item.d);
    if (this.#phase === 'overlap') {
      this.#buffer.push({ at: now, fp, item });
      this.#prune(now);
      return false;
    }
    if (now - this.#switchedAt >= this.#windowMs) return true;
    return !this.#consume(fp);
  }

  /** Switches to the new set; returns the buffered new-set items no old emission accounted for, in order. */
  switch(): T[] {
    if (this.#phase === 'switched') return [];
    const now = this.#clock.now();
    this.#prune(now);
    this.#phase = 'switched';
    this.#switchedAt = now;
    const out: T[] = [];
    for (const b of this.#buffer) if (!this.#consume(b.fp)) out.push(b.item);
    this.#buffer = [];
    return out;
  }

  #consume(fp: string): boolean {
    const n = this.#oldCounts.get(fp) ?? 0;
    if (n === 0) return false;
    if (n === 1) this.#oldCounts.delete(fp);
    else this.#oldCounts.set(fp, n - 1);
    this.#dropped++;
    return true;
  }

  #prune(now: number): void {
    const oldLimit = now - 2 * this.#windowMs;
    let i = 0;
    while (i < this.#old.length && this.#old[i]!.at < oldLimit) {
      const fp = this.#old[i]!.fp;
      const n = this.#oldCounts.get(fp) ?? 0;
      if (n <= 1) this.#oldCounts.delete(fp);
      else this.#oldCounts.set(fp, n - 1);
      i++;
    }
    if (i > 0) this.#old = this.#old.slice(i);
    const bufLimit = now - this.#windowMs;
    let j = 0;
    while (j < this.#buffer.length && this.#buffer[j]!.at < bufLimit) j++;
    if (j > 0) this.#buffer = this.#buffer.slice(j);
  }
}
