/** Every live client session, by id and by upstream shard, and the fan-out of upstream events to them. */
import { randomBytes } from 'node:crypto';
import { GatewayIntentBits } from 'discord-api-types/v10';
import type { Clock, TimerHandle } from '../../util/clock.js';
import { receives, withoutContent } from '../intents.js';
import { OutboundEvent } from './outbound-event.js';
import { ClientSession } from './session.js';

/**
 * Whether a session of `intents` and `shardCount` is sent upstream event `event` when the upstream runs
 * `upstreamCount` shards; `strippedFor` says whether it gets the copy without message content. The fan-out
 * and a replay from the Redis streams (`SharedSessions`) both decide with these.
 */
export function sessionReceives(
  session: { readonly intents: number; readonly shardCount: number },
  upstreamCount: number,
  event: OutboundEvent,
): boolean {
  return session.shardCount === upstreamCount && receives(session.intents, event.t, event.d);
}

export function strippedFor(session: { readonly intents: number }): boolean {
  return (session.intents & GatewayIntentBits.MessageContent) === 0;
}

/** `event` without message content (as Discord sends it without MESSAGE_CONTENT), or null when unchanged. */
export function stripContent(event: OutboundEvent, botId: string | undefined): OutboundEvent | null {
  const d = withoutContent(event.t, event.d, botId);
  return d === undefined ? null : new OutboundEvent(event.t, d);
}

/** Redis mode: told when a session ends for good (its stored record goes). */
export interface SessionHooks {
  ended(session: ClientSession): void;
}

export class SessionRegistry {
  readonly #byId = new Map<string, ClientSession>();
  readonly #byShard = new Map<number, Set<ClientSession>>();
  readonly #clock: Clock;
  readonly #replay: { maxEvents: number; maxAgeMs: number };
  readonly #maxSessions: number;
  #sweep: TimerHandle | undefined;
  /** Set in Redis mode (`SharedSessions`). */
  hooks: SessionHooks | undefined;

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
    if (!this.#room()) return undefined;
    let id: string;
    do id = randomBytes(16).toString('hex');
    while (this.#byId.has(id));
    const session = new ClientSession(id, shard, intents, this.#replay);
    this.#add(session);
    return session;
  }

  /**
   * A session continued here from another proxy replica (Redis mode), under its own id; undefined when the
   * registry is full of held sessions or already has that id.
   */
  adopt(id: string, shard: readonly [number, number], intents: number): ClientSession | undefined {
    if (this.#byId.has(id) || !this.#room()) return undefined;
    const session = new ClientSession(id, shard, intents, this.#replay);
    this.#add(session);
    return session;
  }

  /** Room for one more session, dropping the one detached longest ago if needed. */
  #room(): boolean {
    if (this.#byId.size < this.#maxSessions) return true;
    let oldest: ClientSession | undefined;
    for (const s of this.#byId.values())
      if (s.detachedAt !== undefined && (oldest === undefined || s.detachedAt < oldest.detachedAt!))
        oldest = s;
    if (!oldest) return false;
    this.end(oldest);
    return true;
  }

  #add(session: ClientSession): void {
    this.#byId.set(session.id, session);
    let set = this.#byShard.get(session.shardId);
    if (!set) {
      set = new Set();
      this.#byShard.set(session.shardId, set);
    }
    set.add(session);
    this.#scheduleSweep();
  }

  /** A live session by id (a non-string or unknown id gives undefined). */
  get(id: unknown): ClientSession | undefined {
    return typeof id === 'string' ? this.#byId.get(id) : undefined;
  }

  /** Ends `session` for good (in Redis mode its stored record is deleted too). */
  end(session: ClientSession): void {
    const was = !session.ended && this.#byId.get(session.id) === session;
    this.drop(session);
    if (was) this.hooks?.ended(session);
  }

  /** Forgets `session` here only (it was resumed on another replica, or this proxy stops). */
  drop(session: ClientSession): void {
    session.ended = true;
    session.discardHeld();
    session.sink = undefined;
    if (this.#byId.get(session.id) === session) this.#byId.delete(session.id);
    this.#byShard.get(session.shardId)?.delete(session);
  }

  /**
   * Sends `event` of upstream shard `shardId` to each session of that shard whose intents take it; a session
   * without MESSAGE_CONTENT gets messages without their content (one copy shared by all such sessions).
   */
  fanout(shardId: number, shardCount: number, event: OutboundEvent, botId?: string, pos?: string): void {
    const set = this.#byShard.get(shardId);
    if (!set) return;
    const now = this.#clock.now();
    let stripped: OutboundEvent | null | undefined;
    for (const session of set) {
      if (!sessionReceives(session, shardCount, event)) continue;
      if (strippedFor(session)) {
        if (stripped === undefined) stripped = stripContent(event, botId);
        session.push(stripped ?? event, now, pos);
      } else session.push(event, now, pos);
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
    for (const session of [...this.#byId.values()]) this.drop(session);
  }
}
