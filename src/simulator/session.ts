import type { TimerHandle } from '../util/clock.js';
import type { SimConnection } from './connection.js';
import type { Dispatch } from './dispatch.js';

/**
 * A gateway session: what survives a dropped connection. It numbers its dispatches (`s` starts at 1 with
 * READY) and keeps the last `capacity` of them so RESUME can replay what the client missed.
 */
export class Session {
  readonly id: string;
  readonly token: string;
  readonly shard: readonly [number, number];
  /** Whether Identify carried `shard` (READY echoes it only then). */
  readonly shardGiven: boolean;
  readonly intents: number;
  readonly largeThreshold: number;
  presence: unknown;
  /** Last `s` assigned. */
  seq = 0;
  /** The live connection, if any. */
  connection: SimConnection | undefined;
  ended = false;
  expiry: TimerHandle | undefined;
  /** The per-shard stats counter of this session (cached by the core). */
  counter: { dispatchesSent: number; sequence: number } | undefined;
  readonly #buffer: Dispatch[] = [];
  readonly #capacity: number;

  constructor(init: {
    id: string;
    token: string;
    shard: readonly [number, number];
    shardGiven: boolean;
    intents: number;
    largeThreshold: number;
    presence: unknown;
    capacity: number;
  }) {
    this.id = init.id;
    this.token = init.token;
    this.shard = init.shard;
    this.shardGiven = init.shardGiven;
    this.intents = init.intents;
    this.largeThreshold = init.largeThreshold;
    this.presence = init.presence;
    this.#capacity = init.capacity;
  }

  /** Numbers and buffers a dispatch; returns its `s`. */
  push(dispatch: Dispatch): number {
    const seq = ++this.seq;
    const index = (seq - 1) % this.#capacity;
    if (this.#buffer.length < this.#capacity) this.#buffer.push(dispatch);
    else this.#buffer[index] = dispatch;
    return seq;
  }

  /** Oldest `s` still buffered (1 when nothing was evicted). */
  get oldestSeq(): number {
    return Math.max(1, this.seq - this.#capacity + 1);
  }

  /** Dispatches after `seq`, in order, or `undefined` when some were evicted. */
  since(seq: number): Array<{ seq: number; dispatch: Dispatch }> | undefined {
    if (seq + 1 < this.oldestSeq) return undefined;
    const out: Array<{ seq: number; dispatch: Dispatch }> = [];
    for (let s = seq + 1; s <= this.seq; s++) {
      out.push({ seq: s, dispatch: this.#buffer[(s - 1) % this.#capacity]! });
    }
    return out;
  }
}
