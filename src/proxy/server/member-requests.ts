/**
 * Routing of op 8 requests forwarded to the upstream: each gets a nonce of the proxy's own, so the
 * GUILD_MEMBERS_CHUNKs (and a RATE_LIMITED) that answer it reach only the session that asked, with the
 * session's own nonce put back.
 */
import { randomBytes } from 'node:crypto';
import type { Clock, TimerHandle } from '../../util/clock.js';
import type { ClientSession } from './session.js';

interface Pending {
  readonly session: ClientSession;
  readonly nonce: string | undefined;
  timer: TimerHandle | undefined;
}

/**
 * Every nonce of a proxy starts with this. Its answers reach every proxy replica reading the same upstream
 * (Redis mode): an answer with this prefix that is not pending here belongs to another replica (or came
 * after its timeout) and is dropped, never fanned out.
 */
const PREFIX = 'slp.';

export class MemberRequestRouter {
  readonly #clock: Clock;
  readonly #timeoutMs: number;
  readonly #pending = new Map<string, Pending>();
  #next = 0;
  /** Per process, so two replicas (or a restarted proxy) never hand out the same nonce (≤ 32 bytes in all). */
  readonly #instance = `${PREFIX}${randomBytes(4).toString('hex')}.`;

  constructor(clock: Clock, timeoutMs: number) {
    this.#clock = clock;
    this.#timeoutMs = timeoutMs;
  }

  /** Registers a request of `session` and returns the nonce to send upstream in its place. */
  register(session: ClientSession, nonce: string | undefined): string {
    const own = `${this.#instance}${(this.#next++).toString(36)}`;
    const pending: Pending = { session, nonce, timer: undefined };
    pending.timer = this.#clock.setTimeout(() => this.#pending.delete(own), this.#timeoutMs);
    this.#pending.set(own, pending);
    return own;
  }

  /**
   * For a GUILD_MEMBERS_CHUNK or RATE_LIMITED of a forwarded request: the session it belongs to and `d`
   * with that session's nonce. Undefined for anything the proxy did not forward.
   */
  route(t: string, d: unknown): { session: ClientSession; d: unknown } | undefined {
    if (typeof d !== 'object' || d === null) return undefined;
    const record = d as Record<string, unknown>;
    if (t === 'GUILD_MEMBERS_CHUNK') {
      const pending = this.#take(record.nonce, () => {
        const index = record.chunk_index;
        const count = record.chunk_count;
        return typeof index !== 'number' || typeof count !== 'number' || index + 1 >= count;
      });
      if (!pending) return undefined;
      const { nonce: _ours, ...rest } = record;
      return {
        session: pending.session,
        d: pending.nonce === undefined ? rest : { ...rest, nonce: pending.nonce },
      };
    }
    if (t === 'RATE_LIMITED') {
      const meta = record.meta;
      if (typeof meta !== 'object' || meta === null) return undefined;
      const m = meta as Record<string, unknown>;
      const pending = this.#take(m.nonce, () => true);
      if (!pending) return undefined;
      const { nonce: _ours, ...restMeta } = m;
      const newMeta = pending.nonce === undefined ? restMeta : { ...restMeta, nonce: pending.nonce };
      return { session: pending.session, d: { ...record, meta: newMeta } };
    }
    return undefined;
  }

  /** Whether a forwarded request of `session` still waits for its answer. */
  hasPending(session: ClientSession): boolean {
    for (const p of this.#pending.values()) if (p.session === session) return true;
    return false;
  }

  /** A GUILD_MEMBERS_CHUNK or RATE_LIMITED answering a proxy's request that `route` did not take: drop it. */
  isProxyAnswer(t: string, d: unknown): boolean {
    if (typeof d !== 'object' || d === null) return false;
    const record = d as Record<string, unknown>;
    const meta = record.meta;
    const nonce =
      t === 'GUILD_MEMBERS_CHUNK'
        ? record.nonce
        : t === 'RATE_LIMITED' && typeof meta === 'object' && meta !== null
          ? (meta as Record<string, unknown>).nonce
          : undefined;
    return typeof nonce === 'string' && nonce.startsWith(PREFIX);
  }

  #take(nonce: unknown, last: () => boolean): Pending | undefined {
    if (typeof nonce !== 'string' || !nonce.startsWith(PREFIX)) return undefined;
    const pending = this.#pending.get(nonce);
    if (!pending) return undefined;
    if (last()) {
      this.#clock.clearTimeout(pending.timer);
      this.#pending.delete(nonce);
    }
    return pending;
  }

  close(): void {
    for (const p of this.#pending.values()) this.#clock.clearTimeout(p.timer);
    this.#pending.clear();
  }
}
