/**
 * A client session: what a bot's IDENTIFY created and a RESUME continues. It outlives its connections:
 * while no connection holds it, its events go to the replay buffer only.
 */
import type { OutboundEvent } from './outbound-event.js';
import { ReplayBuffer } from './replay-buffer.js';

/** Where a session's events go while a connection holds it. */
export interface SessionSink {
  deliver(event: OutboundEvent, s: number): void;
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

  /** Gives `event` this session's next sequence number, keeps it for replay and sends it if held. */
  push(event: OutboundEvent, now: number): void {
    const s = ++this.seq;
    this.#buffer.push(s, event, now);
    this.sink?.deliver(event, s);
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
