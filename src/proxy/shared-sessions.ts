/**
 * Redis mode: client sessions shared by every proxy replica, so a bot whose session lives on replica A can
 * RESUME against replica B (one address in front of several replicas, a replica restarted or crashed).
 *
 * Each session has a record in Redis (`session-record.ts`) with its anchor `(seq, pos)`: the events the
 * session was given after `seq` are exactly its shard's events in the fleet's stream after entry `pos`,
 * filtered the way the fan-out filters them (shard, intents, message content, the proxy's own member-chunk
 * answers). Every replica reads the same streams in the same order, so a replica that never saw the session
 * rebuilds its missed events from the stream: XRANGE from `pos` to the position it has fanned out up to,
 * numbered from `seq + 1`, bounded by the replay window (events and age) and by what the stream still
 * holds. Events the proxy makes itself (READY, GUILD_CREATEs, RESUMED, member chunks) cannot be rebuilt, so
 * each moves the anchor to just after it; a client whose `seq` is before the stored anchor gets op 9.
 *
 * Ownership is fenced: the record's `epoch` changes only by a RESUME (a Lua takeover that also checks that
 * nothing reset the anchor since the resuming replica read it), and the owner's writes go through only
 * while the epoch is its own. A takeover publishes `<id> <epoch> <owner>`; the previous owner closes its
 * connection (4009) and forgets the session. Should it miss the message, its next write (every `syncMs`)
 * fails on the epoch and it does the same. A record that is gone (expired, Redis restarted empty) makes the
 * session unresumable everywhere: the next RESUME gets op 9, never wrong events.
 */
import { randomBytes } from 'node:crypto';
import type { ShardlineError } from '../errors.js';
import {
  closeClient,
  DEFAULT_KEY_PREFIX,
  duplicateClient,
  type RedisBaseOptions,
  toRedisError,
} from '../redis/client.js';
import { parseEventHeader, parsePayload, type RawValue } from '../redis/entry.js';
import { compareStreamIds } from '../redis/event-cursor.js';
import type { Clock, TimerHandle } from '../util/clock.js';
import type { ProxyCacheView } from './cache-view.js';
import type { RedisUpstream } from './redis-upstream.js';
import type { MemberRequestRouter } from './server/member-requests.js';
import { OutboundEvent } from './server/outbound-event.js';
import type { ClientSession } from './server/session.js';
import { type SessionRegistry, sessionReceives, stripContent, strippedFor } from './server/sessions.js';
import {
  CREATE_SCRIPT,
  DELETE_SCRIPT,
  decodeSessionRecord,
  encodeSessionRecord,
  parseTakeover,
  READ_SCRIPT,
  SESSION_ID,
  type SessionRecord,
  type StoredSessionRecord,
  sessionChannel,
  sessionRecordKey,
  TAKEOVER_SCRIPT,
  WRITE_SCRIPT,
} from './session-record.js';

type Redis = RedisBaseOptions['redis'];

export interface SharedSessionOptions {
  readonly redis: Redis;
  readonly prefix: string | undefined;
  /** How often each owned session's record is written when its anchor moved (and to refresh its TTL). */
  readonly syncMs: number;
  /** Largest record read (sum of its fields). */
  readonly maxRecordBytes: number;
  /** Most stream entries a RESUME on another replica reads to rebuild the missed events. */
  readonly maxResumeScan: number;
  /** How long a RESUME waits for this replica to have read up to the stored anchor. */
  readonly resumeWaitMs: number;
}

export type SharedResume =
  | { readonly kind: 'invalid'; readonly why: string }
  | { readonly kind: 'bad-seq' }
  | {
      readonly kind: 'ok';
      readonly session: ClientSession;
      readonly missed: { s: number; event: OutboundEvent }[];
      /** Stream position RESUMED is anchored at (`session.release`). */
      readonly pos: string;
    };

interface Written {
  key: string;
  at: number;
  resets: number;
}

/** Dispatches that are the upstream's own session (never sent to a client), as in the fan-out. */
const UPSTREAM_SESSION_EVENTS: ReadonlySet<string> = new Set(['READY', 'RESUMED']);
const SCAN_PAGE = 1_000;

export class SharedSessions {
  readonly #o: SharedSessionOptions;
  readonly #prefix: string;
  readonly #replica = randomBytes(8).toString('hex');
  readonly #upstream: RedisUpstream;
  readonly #sessions: SessionRegistry;
  readonly #members: MemberRequestRouter;
  readonly #cache: ProxyCacheView;
  readonly #clock: Clock;
  readonly #replay: { maxEvents: number; maxAgeMs: number };
  readonly #debug: (m: string) => void;
  readonly #written = new WeakMap<ClientSession, Written>();
  readonly #ttlMs: number;
  #sub: Redis | undefined;
  #timer: TimerHandle | undefined;
  #closed = false;
  #takeovers = 0;
  #remoteResumes = 0;

  constructor(
    options: SharedSessionOptions,
    deps: {
      upstream: RedisUpstream;
      sessions: SessionRegistry;
      members: MemberRequestRouter;
      cache: ProxyCacheView;
      clock: Clock;
      replay: { maxEvents: number; maxAgeMs: number };
      debug: (m: string) => void;
    },
  ) {
    this.#o = options;
    this.#prefix = options.prefix ?? DEFAULT_KEY_PREFIX;
    this.#upstream = deps.upstream;
    this.#sessions = deps.sessions;
    this.#members = deps.members;
    this.#cache = deps.cache;
    this.#clock = deps.clock;
    this.#replay = deps.replay;
    this.#debug = deps.debug;
    // a record outlives its owner's last write by the replay age: a crashed owner's session stays
    // resumable elsewhere exactly as long as its events may be replayed
    this.#ttlMs = deps.replay.maxAgeMs + 3 * options.syncMs + 5_000;
    deps.sessions.hooks = { ended: (s) => this.#ended(s) };
  }

  /** This process's replica id (the records' `owner`). */
  get replicaId(): string {
    return this.#replica;
  }

  stats(): { takeovers: number; remoteResumes: number } {
    return { takeovers: this.#takeovers, remoteResumes: this.#remoteResumes };
  }

  /** Subscribes to takeovers and starts the periodic record writes. */
  async start(): Promise<void> {
    const sub = duplicateClient(this.#o.redis, (err) =>
      this.#debug(`session takeover channel: ${err.message}`),
    );
    this.#sub = sub;
    sub.on('message', (_channel: string, message: string) => this.#onTakeover(message));
    try {
      await sub.subscribe(sessionChannel(this.#prefix));
    } catch (err) {
      this.#debug(`subscribing to session takeovers: ${toRedisError(err).message} (writes still fence)`);
    }
    this.#schedule();
  }

  /** A new session: anchors after each proxy-made event follow the upstream's stream position. */
  prepare(session: ClientSession): void {
    session.streamPosition = () => this.#upstream.dispatchedPosition(session.shardId);
  }

  /** A new session got its READY and GUILD_CREATEs: its record is created. */
  created(session: ClientSession): void {
    const anchor = session.anchor();
    if (!anchor) {
      session.lost = true;
      return;
    }
    session.epoch = 1;
    const rec = this.#record(session, false);
    this.#written.set(session, {
      key: this.#stateKey(session, false),
      at: this.#clock.now(),
      resets: session.resets,
    });
    this.#eval(CREATE_SCRIPT, session.id, [this.#replica, encodeSessionRecord(rec), this.#ttlMs]).then(
      (r) => {
        if (r !== 1) session.lost = true;
      },
      (err: ShardlineError) => {
        session.lost = true;
        this.#debug(`storing session ${session.id.slice(0, 8)}…: ${err.message}`);
      },
    );
  }

  /**
   * Before the proxy sends a session something the stream cannot rebuild (member chunks): the record is
   * marked opaque first, so no other replica resumes from an anchor that misses it. Resolves either way
   * (on failure the session stays resumable only here).
   */
  async beforeOwnEvents(session: ClientSession): Promise<void> {
    // a RESUME being settled decides the record first (a few ms; bounded by resumeWaitMs and the scan)
    while (session.held && !session.ended) await new Promise((r) => setTimeout(r, 10));
    if (session.epoch === 0 || session.lost || session.ended) return;
    const r = await this.#write(session, true, true);
    if (r === 'failed') session.lost = true;
  }

  /**
   * A RESUME of `id` at `seq`: from this replica's memory when it owns the session, else rebuilt from the
   * stream. The session comes back held (`hold()`); the caller sends `missed`, then `release`s it with
   * RESUMED at `pos`.
   */
  async resume(id: string, seq: number): Promise<SharedResume> {
    if (!SESSION_ID.test(id)) return { kind: 'invalid', why: 'not a session id of this proxy' };
    let rec: StoredSessionRecord | string;
    try {
      rec = await this.#read(id);
    } catch (err) {
      return { kind: 'invalid', why: `reading the session: ${(err as ShardlineError).message}` };
    }
    const local = this.#sessions.get(id);
    if (typeof rec === 'string') {
      if (local) local.lost = true;
      return { kind: 'invalid', why: rec };
    }
    if (rec.opaque) return { kind: 'invalid', why: 'a member request was being answered' };
    const count = this.#upstream.shardCount;
    if (rec.shard[1] !== count) return { kind: 'invalid', why: `session of ${rec.shard[1]} shards` };
    if ((rec.intents & ~this.#upstream.intents) !== 0)
      return { kind: 'invalid', why: 'intents above the upstream' };
    if (local && !local.ended && local.epoch === rec.epoch && rec.owner === this.#replica)
      return this.#resumeLocal(local, rec, seq);
    if (local) this.#forget(local);
    return this.#resumeRemote(id, rec, seq);
  }

  async #resumeLocal(session: ClientSession, rec: StoredSessionRecord, seq: number): Promise<SharedResume> {
    const pos = this.#upstream.dispatchedPosition(session.shardId);
    if (pos === undefined) return { kind: 'invalid', why: 'upstream not live' };
    if (seq > session.seq) {
      this.#sessions.end(session);
      return { kind: 'bad-seq' };
    }
    const missed = session.replayAfter(seq, this.#clock.now());
    if (!missed) {
      this.#sessions.end(session);
      return { kind: 'invalid', why: 'outside the replay window' };
    }
    session.hold();
    const epoch = await this.#takeover(session.id, rec, {
      shard: rec.shard,
      intents: rec.intents,
      seq: session.seq + 1,
      pos,
      opaque: false,
    });
    if (epoch === 0 || session.ended) {
      // another RESUME of it won (here: it releases the session; elsewhere: its takeover message or the
      // next write makes this replica forget it), or the anchor was reset meanwhile: op 9, and the
      // session carries on as it was
      if (!session.ended && session.epoch === rec.epoch) session.unhold();
      return { kind: 'invalid', why: 'taken over or changed meanwhile' };
    }
    session.epoch = epoch;
    this.#written.set(session, { key: '', at: this.#clock.now(), resets: session.resets + 1 });
    return { kind: 'ok', session, missed, pos };
  }

  async #resumeRemote(id: string, rec: StoredSessionRecord, seq: number): Promise<SharedResume> {
    const shardId = rec.shard[0];
    // this replica must have fanned out at least up to the anchor (another replica may read ahead of it)
    const deadline = Date.now() + this.#o.resumeWaitMs;
    let pos = this.#upstream.dispatchedPosition(shardId);
    while (pos === undefined || compareStreamIds(pos, rec.pos) < 0) {
      if (Date.now() > deadline || this.#closed)
        return { kind: 'invalid', why: 'this replica is behind the session' };
      await new Promise((r) => setTimeout(r, 10));
      pos = this.#upstream.dispatchedPosition(shardId);
    }
    const session = this.#sessions.adopt(id, rec.shard, rec.intents);
    if (!session) return { kind: 'invalid', why: 'no room for another session (or resumed here meanwhile)' };
    this.prepare(session);
    session.hold();
    const fail = (why: string, end: boolean): SharedResume => {
      if (end) {
        session.epoch = rec.epoch;
        this.#sessions.end(session);
      } else this.#sessions.drop(session);
      return { kind: 'invalid', why };
    };
    let events: { at: number; event: OutboundEvent; pos: string }[] | string;
    try {
      events = await this.#scan(session, rec.pos, pos);
    } catch (err) {
      return fail(`reading the stream: ${(err as ShardlineError).message}`, false);
    }
    if (session.ended) return { kind: 'invalid', why: 'ended meanwhile' };
    if (typeof events === 'string') return fail(events, true);
    const last = rec.seq + events.length;
    if (seq > last) {
      session.epoch = rec.epoch;
      this.#sessions.end(session);
      return { kind: 'bad-seq' };
    }
    if (seq < rec.seq) return fail('the client is behind the stored anchor', true);
    const missedFrom = seq - rec.seq; // index of the first missed event
    if (last - seq > this.#replay.maxEvents) return fail('more missed events than replayEvents', true);
    const first = events[missedFrom];
    if (first && Date.now() - first.at > this.#replay.maxAgeMs)
      return fail('missed events older than replayMs', true);
    const epoch = await this.#takeover(id, rec, {
      shard: rec.shard,
      intents: rec.intents,
      seq: last + 1,
      pos,
      opaque: false,
    });
    if (epoch === 0 || session.ended) return fail('taken over meanwhile', false);
    session.restore(rec.seq, events);
    session.epoch = epoch;
    this.#written.set(session, { key: '', at: this.#clock.now(), resets: session.resets + 1 });
    this.#remoteResumes++;
    const missed = events.slice(missedFrom).map((e, i) => ({ s: seq + 1 + i, event: e.event }));
    return { kind: 'ok', session, missed, pos };
  }

  /**
   * The session's events after stream entry `from` up to `to` (inclusive), as the fan-out made them; a
   * string says why they cannot be rebuilt (the stream no longer holds `from`, or too much to read).
   */
  async #scan(
    session: ClientSession,
    from: string,
    to: string,
  ): Promise<{ at: number; event: OutboundEvent; pos: string }[] | string> {
    if (from === '0-0') return 'anchor at the start of an empty stream';
    const key = this.#upstream.streamOf(session.shardId);
    const out: { at: number; event: OutboundEvent; pos: string }[] = [];
    const botId = (this.#cache.user() as { id?: unknown } | undefined)?.id;
    const bot = typeof botId === 'string' ? botId : undefined;
    const count = this.#upstream.shardCount;
    let start = from;
    let scanned = 0;
    for (let page = 0; ; page++) {
      let reply: unknown;
      try {
        reply = await this.#o.redis.xrange(key, start, to, 'COUNT', SCAN_PAGE);
      } catch (err) {
        throw toRedisError(err);
      }
      if (!Array.isArray(reply)) return 'unexpected XRANGE reply';
      if (page === 0) {
        // trimming removes the oldest entries: if the anchor's own entry is still there, so is all after it
        const head = reply[0] as unknown;
        if (!Array.isArray(head) || head[0] !== from) return 'the stream no longer holds the anchor';
      }
      for (const entry of reply as unknown[]) {
        if (!Array.isArray(entry) || typeof entry[0] !== 'string' || !Array.isArray(entry[1]))
          return 'unexpected XRANGE entry';
        const id = entry[0];
        if (id === from) continue;
        if (++scanned > this.#o.maxResumeScan)
          return `more than ${this.#o.maxResumeScan} stream entries to read`;
        const h = parseEventHeader(entry[1] as RawValue[]);
        if (!h || h.shardId !== session.shardId || UPSTREAM_SESSION_EVENTS.has(h.type)) continue;
        let data: unknown;
        try {
          data = parsePayload(h);
        } catch {
          continue;
        }
        if (
          (h.type === 'GUILD_MEMBERS_CHUNK' || h.type === 'RATE_LIMITED') &&
          this.#members.isProxyAnswer(h.type, data)
        )
          continue;
        const event = new OutboundEvent(h.type, data);
        if (!sessionReceives(session, count, event)) continue;
        const sent = strippedFor(session) ? (stripContent(event, bot) ?? event) : event;
        out.push({ at: Number(id.slice(0, id.indexOf('-'))), event: sent, pos: id });
      }
      const lastId = (reply[reply.length - 1] as unknown[] | undefined)?.[0];
      if (reply.length < SCAN_PAGE || lastId === to || typeof lastId !== 'string') break;
      start = `(${lastId}`;
    }
    return out;
  }

  /** A takeover message: another replica resumed a session this one holds. */
  #onTakeover(message: string): void {
    const t = parseTakeover(message);
    if (!t || t.owner === this.#replica) return;
    const local = this.#sessions.get(t.id);
    if (local && local.epoch < t.epoch) this.#forget(local);
  }

  /** The session lives on elsewhere: close its connection here (resumable) and forget it. */
  #forget(session: ClientSession): void {
    const sink = session.sink;
    this.#sessions.drop(session);
    sink?.takenOver();
    this.#takeovers++;
  }

  #ended(session: ClientSession): void {
    if (session.epoch === 0) return;
    this.#eval(DELETE_SCRIPT, session.id, [session.epoch]).catch((err: ShardlineError) =>
      this.#debug(`deleting session ${session.id.slice(0, 8)}…: ${err.message}`),
    );
  }

  #record(session: ClientSession, opaque: boolean): SessionRecord {
    const a = session.anchor()!;
    return {
      shard: [session.shardId, session.shardCount],
      intents: session.intents,
      seq: a.seq,
      pos: a.pos,
      opaque,
    };
  }

  #stateKey(session: ClientSession, opaque: boolean): string {
    const a = session.anchor();
    return `${a?.seq} ${a?.pos} ${opaque}`;
  }

  /** Writes the record when it changed (or to refresh the TTL); `'failed'` when Redis could not be asked. */
  async #write(
    session: ClientSession,
    opaque: boolean,
    force: boolean,
  ): Promise<'ok' | 'skipped' | 'failed'> {
    // a held session is being resumed (its takeover may be on its way): its record is the RESUME's to write
    if (session.epoch === 0 || session.lost || session.ended || session.held || !session.anchor())
      return 'skipped';
    const now = this.#clock.now();
    const key = this.#stateKey(session, opaque);
    const prev = this.#written.get(session);
    if (!force && prev && prev.key === key && now - prev.at < this.#ttlMs / 3) return 'skipped';
    const reset = !prev || prev.resets !== session.resets || (opaque && !prev.key.endsWith('true'));
    const epoch = session.epoch;
    this.#written.set(session, { key, at: now, resets: session.resets });
    let r: unknown;
    try {
      r = await this.#eval(WRITE_SCRIPT, session.id, [
        epoch,
        encodeSessionRecord(this.#record(session, opaque)),
        this.#ttlMs,
        reset ? 1 : 0,
      ]);
    } catch (err) {
      this.#written.delete(session);
      this.#debug(`storing session ${session.id.slice(0, 8)}…: ${(err as ShardlineError).message}`);
      return 'failed';
    }
    if (r === 0 && session.epoch === epoch && !session.ended && !session.held) this.#forget(session);
    else if (r === -1 && session.epoch === epoch) session.lost = true;
    return 'ok';
  }

  async #takeover(id: string, rec: StoredSessionRecord, next: SessionRecord): Promise<number> {
    try {
      const r = await this.#eval(TAKEOVER_SCRIPT, id, [
        rec.epoch,
        rec.chain,
        this.#replica,
        encodeSessionRecord(next),
        this.#ttlMs,
        sessionChannel(this.#prefix),
        id,
      ]);
      return typeof r === 'number' && r > 0 ? r : 0;
    } catch (err) {
      this.#debug(`taking session ${id.slice(0, 8)}… over: ${(err as ShardlineError).message}`);
      return 0;
    }
  }

  /** The stored record, or why there is none to use. */
  async #read(id: string): Promise<StoredSessionRecord | string> {
    const reply = await this.#eval(READ_SCRIPT, id, [this.#o.maxRecordBytes]);
    if (reply === null || reply === undefined) return 'no stored session (expired, ended or lost)';
    if (typeof reply === 'string') return `stored session refused: ${reply}`;
    const rec = decodeSessionRecord(reply, this.#o.maxRecordBytes);
    return 'invalid' in rec ? `stored session refused: ${rec.invalid}` : rec;
  }

  async #eval(script: string, id: string, args: (string | number)[]): Promise<unknown> {
    try {
      return await this.#o.redis.eval(script, 1, sessionRecordKey(this.#prefix, id), ...args);
    } catch (err) {
      throw toRedisError(err);
    }
  }

  #schedule(): void {
    if (this.#closed) return;
    this.#timer = this.#clock.setTimeout(() => {
      void this.sync().finally(() => this.#schedule());
    }, this.#o.syncMs);
  }

  /** Writes every owned session whose anchor moved (or whose TTL is due). */
  async sync(force = false): Promise<void> {
    const writes: Promise<unknown>[] = [];
    for (const session of [...this.#sessions.all()])
      writes.push(this.#write(session, session.ownEvents > 0 || this.#members.hasPending(session), force));
    await Promise.all(writes);
  }

  /** A last write of every session (other replicas resume them from it), then unsubscribes. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#clock.clearTimeout(this.#timer);
    await this.sync(true);
    if (this.#sub) {
      this.#sub.disconnect(false);
      await closeClient(this.#sub);
    }
  }
}
