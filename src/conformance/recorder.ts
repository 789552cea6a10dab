import type {
  ObservedClientPayload,
  ObservedClose,
  ObservedConnection,
  ObservedServerPayload,
  SimulatorObserver,
} from '../simulator/index.js';

/** One client payload as the gateway saw it, with its `d` kept only where grading needs it. */
export interface SeenClientPayload {
  readonly op: number | undefined;
  readonly at: number;
  readonly bytes: number;
  /** IDENTIFY: shard; RESUME: session id and seq; HEARTBEAT: seq; op 8: guild/query/limit. Never a token. */
  readonly info: Readonly<Record<string, unknown>>;
}

export interface SeenServerPayload {
  readonly op: number;
  readonly t: string | null;
  readonly s: number | null;
  readonly at: number;
  readonly sessionId: string | undefined;
  /** `d` of op 9 (resumable flag) and op 10 (interval); else undefined. */
  readonly d: unknown;
}

/** Everything one connection carried, from the simulator's side. */
export interface ConnectionLog {
  readonly id: number;
  readonly openedAt: number;
  readonly viaResumeUrl: boolean;
  readonly encoding: string;
  readonly compression: string;
  readonly client: SeenClientPayload[];
  readonly server: SeenServerPayload[];
  close: { code: number; by: 'server' | 'client'; at: number } | undefined;
}

const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

/** What of a client payload's `d` grading uses: small, and never the token. */
function infoOf(op: number | undefined, d: unknown): Record<string, unknown> {
  if (op === 1) return { seq: d };
  if (!isObject(d)) return {};
  if (op === 2) return { shard: Array.isArray(d.shard) ? d.shard.slice(0, 2) : null, intents: d.intents };
  if (op === 6) return { sessionId: d.session_id, seq: d.seq };
  if (op === 8)
    return { guildId: d.guild_id, query: d.query, limit: d.limit, userIds: d.user_ids !== undefined };
  return {};
}

/** A `SimulatorObserver` that keeps a log per connection, in the order connections opened. */
export class ConnectionRecorder implements SimulatorObserver {
  readonly connections: ConnectionLog[] = [];
  readonly #byId = new Map<number, ConnectionLog>();
  /** Called after every recorded event (scenarios wait on it). */
  onChange: (() => void) | undefined;

  connectionOpened(e: ObservedConnection): void {
    const log: ConnectionLog = {
      id: e.connectionId,
      openedAt: e.at,
      viaResumeUrl: e.viaResumeUrl,
      encoding: e.encoding,
      compression: e.compression,
      client: [],
      server: [],
      close: undefined,
    };
    this.connections.push(log);
    this.#byId.set(e.connectionId, log);
    this.onChange?.();
  }

  clientPayload(e: ObservedClientPayload): void {
    this.#byId
      .get(e.connectionId)
      ?.client.push({ op: e.op, at: e.at, bytes: e.bytes, info: infoOf(e.op, e.d) });
    this.onChange?.();
  }

  serverPayload(e: ObservedServerPayload): void {
    const keep = e.op === 9 || e.op === 10 ? e.d : undefined;
    this.#byId
      .get(e.connectionId)
      ?.server.push({ op: e.op, t: e.t, s: e.s, at: e.at, sessionId: e.sessionId, d: keep });
    this.onChange?.();
  }

  connectionClosed(e: ObservedClose): void {
    const log = this.#byId.get(e.connectionId);
    if (log) log.close = { code: e.code, by: e.by, at: e.at };
    this.onChange?.();
  }

  // ── queries ─────────────────────────────────────────────────────────────────────────────────────

  /** Connections opened after `at` (inclusive). */
  openedSince(at: number): ConnectionLog[] {
    return this.connections.filter((c) => c.openedAt >= at);
  }

  /** Every client payload with op `op` on any connection, with its connection, in time order. */
  clientOps(
    op: number,
    since = Number.NEGATIVE_INFINITY,
  ): Array<SeenClientPayload & { conn: ConnectionLog }> {
    const out: Array<SeenClientPayload & { conn: ConnectionLog }> = [];
    for (const conn of this.connections)
      for (const p of conn.client) if (p.op === op && p.at >= since) out.push({ ...p, conn });
    return out.sort((a, b) => a.at - b.at);
  }

  /** Connections that received READY, with the session id and READY time. */
  readies(): Array<{ conn: ConnectionLog; sessionId: string; at: number }> {
    const out: Array<{ conn: ConnectionLog; sessionId: string; at: number }> = [];
    for (const conn of this.connections) {
      const r = conn.server.find((p) => p.op === 0 && p.t === 'READY');
      if (r?.sessionId !== undefined) out.push({ conn, sessionId: r.sessionId, at: r.at });
    }
    return out;
  }

  /** Whether `conn` got RESUMED. */
  static resumed(conn: ConnectionLog): SeenServerPayload | undefined {
    return conn.server.find((p) => p.op === 0 && p.t === 'RESUMED');
  }

  /** Highest dispatch sequence sent on `conn` (0 when none). */
  static lastSeq(conn: ConnectionLog, before = Number.POSITIVE_INFINITY): number {
    let s = 0;
    for (const p of conn.server) if (p.op === 0 && p.s !== null && p.at <= before && p.s > s) s = p.s;
    return s;
  }
}
