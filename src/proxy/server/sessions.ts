/** Every live client session, by id and by upstream shard, and the fan-out of upstream events to them. */
import { randomBytes } from 'node:crypto';
import { GatewayIntentBits } from 'discord-api-types/v10';
import type { Clock, TimerHandle } from '../../util/clock.js';
import { receives, withoutContent } from '../intents.js';
import { OutboundEvent } from './outbound-event.js';
import { ClientSession } from './session.js';

export class SessionRegistry {
  readonly #byId = new Map<string, ClientSession>();
  readonly #byShard = new Map<number, Set<ClientSession>>();
  readonly #clock: Clock;
  readonly #replay: { maxEvents: number; maxAgeMs: number };
  readonly #maxSessions: number;
  #sweep: TimerHandle | undefined;

  constructor(clock: Clock, replay: { maxEvents: number; maxAgeMs: number }, maxSessions: number) {
    this.#clock = clock;
    this.#replay = replay;
    this.#maxSessions = maxSessions;
  }

  get size(): number {
    return this.#byId.size;
  }

  /** A new session; undefined when the registry is full of sessions that connections hold. */
  create(shard: readonly [number, number], intents: number): ClientSession | undefined {
    if (this.#byId.size >= this.#maxSessions) {
      let oldest: ClientSession | undefined;
      for (const s of this.#byId.values())
        if (s.detachedAt !== undefined && (oldest === undefined || s.detachedAt < oldest.detachedAt!))
          oldest = s;
      if (!oldest) return undefined;
      this.end(oldest);
    }
    let id: string;
    do id = randomBytes(16).toString('hex');
    while (this.#byId.has(id));
    const session = new ClientSession(id, shard, intents, this.#replay);
    this.#byId.set(id, session);
    let set = this.#byShard.get(shard[0]);
    if (!set) {
      set = new Set();
      this.#byShard.set(shard[0], set);
    }
    set.add(session);
    this.#scheduleSweep();
    return session;
  }

  /** A live session by id (a non-string or unknown id gives undefined). */
  get(id: unknown): ClientSession | undefined {
    return typeof id === 'string' ? this.#byId.get(id) : undefined;
  }

  end(session: ClientSession): void {
    session.ended = true;
    session.sink = undefined;
    this.#byId.delete(session.id);
    this.#byShard.get(session.shardId)?.delete(session);
  }

  /**
   * Sends `event` of upstream shard `shardId` to each session of that shard whose intents take it; a session
   * without MESSAGE_CONTENT gets messages without their content (one copy shared by all such sessions).
   */
  fanout(shardId: number, shardCount: number, event: OutboundEvent, botId?: string): void {
    const set = this.#byShard.get(shardId);
    if (!set) return;
    const now = this.#clock.now();
    let stripped: OutboundEvent | null | undefined;
    for (const session of set) {
      if (session.shardCount !== shardCount || !receives(session.intents, event.t, event.d)) continue;
      if ((session.intents & GatewayIntentBits.MessageContent) === 0) {
        if (stripped === undefined) {
          const d = withoutContent(event.t, event.d, botId);
          stripped = d === undefined ? null : new OutboundEvent(event.t, d);
        }
        session.push(stripped ?? event, now);
      } else session.push(event, now);
    }
  }

  /** Ends the sessions of another shard count (after the upstream resharded). */
  endOtherCounts(shardCount: number): ClientSession[] {
    const ended: ClientSession[] = [];
    for (const session of this.#byId.values())
      if (session.shardCount !== shardCount) {
        ended.push(session);
        this.end(session);
      }
    return ended;
  }

  all(): IterableIterator<ClientSession> {
    return this.#byId.values();
  }

  /** Ends detached sessions that nobody resumed within the replay age, and trims every buffer. */
  #scheduleSweep(): void {
    if (this.#sweep) return;
    const every = Math.max(1_000, Math.min(this.#replay.maxAgeMs, 30_000));
    this.#sweep = this.#clock.setTimeout(() => {
      this.#sweep = undefined;
      const now = this.#clock.now();
      for (const session of [...this.#byId.values()]) {
        if (session.detachedAt !== undefined && now - session.detachedAt > this.#replay.maxAgeMs)
          this.end(session);
        else session.trim(now);
      }
      if (this.#byId.size > 0) this.#scheduleSweep();
    }, every);
  }

  close(): void {
    this.#clock.clearTimeout(this.#sweep);
    this.#sweep = undefined;
    for (const session of [...this.#byId.values()]) this.end(session);
  }
}
