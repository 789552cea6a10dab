/**
 * The events a client session was sent (or would have been sent while it was away), bounded by count and
 * by age, so a client that RESUMEs gets exactly what it missed, or learns that it cannot.
 */
import type { OutboundEvent } from './outbound-event.js';

interface Entry {
  readonly s: number;
  readonly at: number;
  readonly event: OutboundEvent;
}

export class ReplayBuffer {
  readonly #maxEvents: number;
  readonly #maxAgeMs: number;
  #entries: Entry[] = [];
  #head = 0;
  /** Highest sequence number that was evicted (0 when none was). */
  #evictedUpTo = 0;

  constructor(maxEvents: number, maxAgeMs: number) {
    this.#maxEvents = maxEvents;
    this.#maxAgeMs = maxAgeMs;
  }

  get size(): number {
    return this.#entries.length - this.#head;
  }

  push(s: number, event: OutboundEvent, now: number): void {
    this.#entries.push({ s, at: now, event });
    this.trim(now);
  }

  /** Evicts what is over the count or older than the age limit. */
  trim(now: number): void {
    while (
      this.size > this.#maxEvents ||
      (this.size > 0 && now - this.#entries[this.#head]!.at > this.#maxAgeMs)
    ) {
      this.#evictedUpTo = this.#entries[this.#head]!.s;
      this.#head++;
    }
    if (this.#head > 1024 && this.#head * 2 > this.#entries.length) {
      this.#entries = this.#entries.slice(this.#head);
      this.#head = 0;
    }
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
