/**
 * A client session: what a bot's IDENTIFY created and a RESUME continues. It outlives its connections:
 * while no connection holds it, its events go to the replay buffer only.
 *
 * Redis mode (`SharedSessions`): the session is also stored in Redis, so a RESUME on another proxy replica
 * can continue it. What makes that possible is the anchor: a pair `(seq, pos)` saying "the events this
 * session was given after sequence `seq` are exactly the events of its shard in the stream after entry
 * `pos`", true as long as nothing but stream events was pushed since. Every event the proxy makes itself
 * (READY, GUILD_CREATEs from the cache, RESUMED, member chunks) moves the anchor to just after it.
 */
import type { OutboundEvent } from './outbound-event.js';
import { ReplayBuffer } from './replay-buffer.js';

/** Where a session's events go while a connection holds it. */
export interface SessionSink {
  deliver(event: OutboundEvent, s: number): void;
  /** The session was resumed elsewhere (another connection or another proxy replica): close, resumable. */
  takenOver(): void;
}

export interface SessionAnchor {
  readonly seq: number;
  readonly pos: string;
}

interface Held {
  readonly event: OutboundEvent;
  readonly now: number;
  readonly pos: string | undefined;
}

export class ClientSession {
  readonly id: string;
  readonly shardId: number;
  readonly shardCount: number;
  readonly intents: number;
  /** Last sequence number given out. */
  seq = 0;
  sink: SessionSink | undefined;
  /** When the last connection left (clock ms); undefined while held. */
  detachedAt: number | undefined;
  ended = false;
  /** Redis mode: the stored record's fencing epoch (0 until stored); see `SharedSessions`. */
  epoch = 0;
  /** Redis mode: the stored record is gone (Redis lost it): the session lives on here but resumes nowhere. */
  lost = false;
  /** Redis mode: the upstream's stream position for this shard now (for anchors after proxy-made events). */
  streamPosition: (() => string | undefined) | undefined;
  /** Redis mode: proxy-made events (member chunks) being prepared; the stored record is opaque meanwhile. */
  ownEvents = 0;
  /** Counts anchor resets (proxy-made events), so a writer knows the chain changed. */
  resets = 0;
  #reset: SessionAnchor | undefined;
  #held: Held[] | undefined;
  readonly #buffer: ReplayBuffer;

  constructor(
    id: string,
    shard: readonly [number, number],
    intents: number,
    replay: { maxEvents: number; maxAgeMs: number },
  ) {
    this.id = id;
    this.shardId = shard[0];
    this.shardCount = shard[1];
    this.intents = intents;
    this.#buffer = new ReplayBuffer(replay.maxEvents, replay.maxAgeMs);
  }

  /**
   * Gives `event` this session's next sequence number, keeps it for replay and sends it if held. `pos` is
   * the stream entry it came from (Redis upstream); without it the event is the proxy's own.
   */
  push(event: OutboundEvent, now: number, pos?: string): void {
    if (this.#held) {
      this.#held.push({ event, now, pos });
      return;
    }
    const s = ++this.seq;
    this.#buffer.push(s, event, now, pos);
    if (pos === undefined && this.streamPosition) {
      const at = this.streamPosition();
      this.#reset = at === undefined ? undefined : { seq: s, pos: at };
      this.resets++;
    }
    this.sink?.deliver(event, s);
  }

  /** Queues pushed events, unnumbered, until `release` (a RESUME in Redis mode is being settled). */
  hold(): void {
    this.#held ??= [];
  }

  /**
   * Ends `hold`: `first` (RESUMED) gets the next number with the anchor `(its s, pos)` decided before the
   * hold began, then the queued events get theirs, in order.
   */
  release(first: OutboundEvent, pos: string, now: number): void {
    const held = this.#held ?? [];
    this.#held = undefined;
    const s = ++this.seq;
    this.#buffer.push(s, first, now);
    this.#reset = { seq: s, pos };
    this.resets++;
    this.sink?.deliver(first, s);
    for (const h of held) this.push(h.event, h.now, h.pos);
  }

  get held(): boolean {
    return this.#held !== undefined;
  }

  /** Ends `hold` without a RESUMED: the queued events are numbered and sent as if never held. */
  unhold(): void {
    const held = this.#held ?? [];
    this.#held = undefined;
    for (const h of held) this.push(h.event, h.now, h.pos);
  }

  /** Drops the queue of `hold` (the RESUME failed; the session ends here). */
  discardHeld(): void {
    this.#held = undefined;
  }

  /**
   * A session continued from another replica: `events` are what it was given after `floor` (rebuilt from
   * the stream), numbered `floor + 1`…; the buffer serves RESUMEs from `floor` on.
   */
  restore(floor: number, events: readonly { at: number; event: OutboundEvent; pos: string }[]): void {
    this.#buffer.floor(floor);
    let s = floor;
    for (const e of events) this.#buffer.push(++s, e.event, e.at, e.pos);
    this.seq = s;
  }

  /**
   * Redis mode: the newest anchor known (see the file comment), or undefined when none is (no proxy-made
   * event was anchored yet).
   */
  anchor(): SessionAnchor | undefined {
    const evicted = this.#buffer.evictedStream;
    const reset = this.#reset;
    if (evicted && (!reset || evicted.s > reset.seq)) return { seq: evicted.s, pos: evicted.pos };
    return reset;
  }

  /** The events after `seq` for a RESUME, or undefined when the session cannot resume from there. */
  replayAfter(seq: number, now: number): { s: number; event: OutboundEvent }[] | undefined {
    if (seq > this.seq || seq < 0) return undefined;
    return this.#buffer.after(seq, now);
  }

  trim(now: number): void {
    this.#buffer.trim(now);
  }

  get buffered(): number {
    return this.#buffer.size;
  }
}
