/**
 * The events a client session was sent (or would have been sent while it was away), bounded by count and
 * by age, so a client that RESUMEs gets exactly what it missed, or learns that it cannot. An event that
 * came from a Redis event stream keeps its stream position, so the newest evicted one tells where a
 * replay from the stream has to start (see `SharedSessions`).
 */
import type { OutboundEvent } from './outbound-event.js';

export interface ReplayEntry {
  readonly s: number;
  readonly at: number;
  readonly event: OutboundEvent;
  /** Stream entry id of the upstream event (Redis upstream), undefined for events made by the proxy. */
  readonly pos: string | undefined;
}

export class ReplayBuffer {
  readonly #maxEvents: number;
  readonly #maxAgeMs: number;
  #entries: ReplayEntry[] = [];
  #head = 0;
  /** Highest sequence number that was evicted (0 when none was). */
  #evictedUpTo = 0;
  /** The newest evicted entry that came from a stream. */
  #evictedStream: ReplayEntry | undefined;

  constructor(maxEvents: number, maxAgeMs: number) {
    this.#maxEvents = maxEvents;
    this.#maxAgeMs = maxAgeMs;
  }

  get size(): number {
    return this.#entries.length - this.#head;
  }

  get maxEvents(): number {
    return this.#maxEvents;
  }

  get maxAgeMs(): number {
    return this.#maxAgeMs;
  }

  push(s: number, event: OutboundEvent, now: number, pos?: string): void {
    this.#entries.push({ s, at: now, event, pos });
    this.trim(now);
  }

  /** Evicts what is over the count or older than the age limit. */
  trim(now: number): void {
    while (
      this.size > this.#maxEvents ||
      (this.size > 0 && now - this.#entries[this.#head]!.at > this.#maxAgeMs)
    ) {
      const e = this.#entries[this.#head]!;
      this.#evictedUpTo = e.s;
      if (e.pos !== undefined) this.#evictedStream = e;
      this.#head++;
    }
    if (this.#head > 1024 && this.#head * 2 > this.#entries.length) {
      this.#entries = this.#entries.slice(this.#head);
      this.#head = 0;
    }
  }

  /** A session taken over from another replica: nothing at or below `seq` is here. */
  floor(seq: number): void {
    this.#evictedUpTo = Math.max(this.#evictedUpTo, seq);
  }

  /** `(s, pos)` of the newest evicted stream event, if any. */
  get evictedStream(): { s: number; pos: string } | undefined {
    const e = this.#evictedStream;
    return e?.pos !== undefined ? { s: e.s, pos: e.pos } : undefined;
  }

  /**
   * The events after `seq`, in order, or undefined when some of them were evicted (the session cannot be
   * resumed from `seq`).
   */
  after(seq: number, now: number): { s: number; event: OutboundEvent }[] | undefined {
    this.trim(now);
    if (seq < this.#evictedUpTo) return undefined;
    const out: { s: number; event: OutboundEvent }[] = [];
    for (let i = this.#head; i < this.#entries.length; i++) {
      const e = this.#entries[i]!;
      if (e.s > seq) out.push({ s: e.s, event: e.event });
    }
    return out;
  }
}
