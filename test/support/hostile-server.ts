/**
 * A seeded malicious gateway for the hostile chaos run: it speaks enough of the protocol for a `Shard` to
 * make progress (`GET /gateway/bot`, HELLO, READY, MESSAGE_CREATE dispatches with increasing `s`, RESUME
 * with replay, RESUMED, heartbeat ACKs, zlib-stream/zstd-stream, JSON/ETF) and, on the sessions of the
 * shards it is told to attack, mixes hostile payloads of every class into that traffic. It keeps the log of
 * every valid dispatch it sequenced per session, so the run can check that each one was delivered exactly
 * once, in order, and that nothing else was delivered as a dispatch.
 *
 * Not the simulator: the simulator stays a faithful peer; this one lies on purpose.
 */
import { randomBytes } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { constants, deflateRawSync, deflateSync } from 'node:zlib';
import WebSocket, { WebSocketServer } from 'ws';
import { decodeEtf } from '../../src/codec/etf/index.js';
import {
  createCompressor,
  deflateSegment,
  type TransportCompressor,
  zstdRawBlocks,
} from '../../src/simulator/compression.js';
import { seededRandom } from '../../src/util/clock.js';
import { EtfBignum, etfTerm } from './hostile-gateway.js';

/** Every hostile class the server mixes in (`hello-interval` only on connections to a resume URL). */
export const HOSTILE_CLASSES = [
  'seq-infinity',
  'seq-bignum',
  'seq-1e999',
  'seq-negative',
  'seq-fraction',
  'seq-unsafe',
  'hello-interval',
  'op7-after-resumed',
  'op9-after-resumed',
  'close-token-reason',
  'resume-url-scheme',
  'two-t',
  'zlib-bomb',
  'zstd-bomb',
  'endless-fragments',
  'etf-compressed-bomb',
  'deep-nesting',
  'huge-structure-count',
  'oversize',
] as const;
export type HostileClass = (typeof HOSTILE_CLASSES)[number];

export interface HostileServerOptions {
  /** The token clients must present; echoed back in hostile close reasons. */
  readonly token: string;
  /** Shard count `GET /gateway/bot` recommends. */
  readonly shards: number;
  /** Shard ids whose sessions get hostile payloads; the others are served valid traffic only. */
  readonly hostileShards: ReadonlySet<number>;
  readonly seed?: number;
  /** A valid MESSAGE_CREATE per live session every this many ms (sequenced while disconnected too). */
  readonly eventEveryMs?: number;
  /** Mean gap between two hostile actions on a hostile session's connection. */
  readonly hostileEveryMs?: number;
  /** Valid HELLO interval. */
  readonly heartbeatIntervalMs?: number;
  /** Decompressed size of zlib/zstd/ETF bombs, and the size of an oversize payload (over the client's limit). */
  readonly bombBytes?: number;
  /** Element count of the huge-structure and ETF compressed-term bombs. */
  readonly bombElements?: number;
  /** Nesting depth of the deep-nesting payloads. */
  readonly nestingDepth?: number;
  /** Fragments of an endless compressed message (over the client's `maxPendingFrames`). */
  readonly endlessFragments?: number;
}

export interface ServerSession {
  readonly id: string;
  readonly shard: number;
  readonly hostile: boolean;
  /** Last valid seq sequenced (READY is 1). */
  seq: number;
  /** Hostile actions so far (they rotate through the classes that apply to the connection). */
  actions: number;
  resumes: number;
  ended: boolean;
  connection: HostileServerConnection | undefined;
}

export interface HostileServerStats {
  readonly connections: number;
  /** Connection times (ms since start) per shard id, learned from the path or the first IDENTIFY/RESUME. */
  readonly connectionTimesByShard: Map<number, number[]>;
  readonly hostileSent: Record<string, number>;
  /** Hostile actions (payloads, closes, odd HELLOs and resume URLs) per shard id. */
  readonly hostileByShard: Map<number, number>;
  readonly identifies: number;
  readonly resumes: number;
  /** Client payloads the server judged wrong (heartbeat/RESUME seq beyond what was sent, …). */
  readonly clientViolations: string[];
  /** Client frames that did not decode. */
  readonly undecodable: number;
}

interface ConnectionInfo {
  readonly ws: WebSocket;
  readonly encoding: 'json' | 'etf';
  readonly compressor: TransportCompressor | undefined;
  readonly compression: 'none' | 'zlib-stream' | 'zstd-stream';
  /** The session named by the resume URL path the client connected to, if any. */
  readonly pathSession: ServerSession | undefined;
}

const ODD_RESUME_URLS = [
  'ws+unix:///tmp/shardline-hostile.sock:/',
  'http://127.0.0.1:1/',
  'file:///etc/passwd',
  'javascript:alert(1)',
  'wss://user:secret@127.0.0.1:1/',
  `ws://${'a'.repeat(3000)}.example/`,
  'not a url',
];

const BAD_HEARTBEAT_INTERVALS: readonly unknown[] = [2 ** 31, 2 ** 40, 1e-9, 0, -1, 1, '41250', null];

export class HostileServerConnection {
  readonly info: ConnectionInfo;
  readonly #server: HostileServer;
  session: ServerSession | undefined;
  #eventTimer: NodeJS.Timeout | undefined;
  #hostileTimer: NodeJS.Timeout | undefined;
  closed = false;

  constructor(server: HostileServer, info: ConnectionInfo) {
    this.#server = server;
    this.info = info;
  }

  get open(): boolean {
    return !this.closed && this.info.ws.readyState === WebSocket.OPEN;
  }

  /** A whole payload, encoded in the connection's encoding, through its compressor. */
  sendPayload(payload: { op: number; d?: unknown; s?: unknown; t?: string | null }): void {
    const full = { op: payload.op, d: payload.d ?? null, s: payload.s ?? null, t: payload.t ?? null };
    this.sendEncoded(this.info.encoding === 'etf' ? etfTerm(full) : Buffer.from(JSON.stringify(full)));
  }

  /** Bytes of one payload (ETF or JSON text), through the compressor. */
  sendEncoded(bytes: Uint8Array): void {
    if (!this.open) return;
    const { compressor, encoding, ws } = this.info;
    if (compressor) ws.send(compressor.message(bytes), { binary: true });
    else if (encoding === 'etf') ws.send(bytes, { binary: true });
    else ws.send(Buffer.from(bytes).toString('utf8'), { binary: false });
  }

  /** Raw bytes of the compressed stream (a bomb or a fragment), not through the compressor. */
  sendRawFrame(bytes: Uint8Array, fin = true): void {
    if (this.open) this.info.ws.send(bytes, { binary: true, fin });
  }

  close(code: number, reason = ''): void {
    if (!this.open) return;
    this.closed = true;
    this.stopTimers();
    this.info.ws.close(code, reason);
  }

  startTimers(): void {
    this.stopTimers();
    const s = this.#server;
    this.#eventTimer = setInterval(() => s.tick(this), s.eventEveryMs);
    if (this.session?.hostile) this.#scheduleHostile();
  }

  #scheduleHostile(): void {
    const s = this.#server;
    this.#hostileTimer = setTimeout(
      () => {
        if (!this.open || s.quiet) return;
        s.hostileAction(this);
        this.#scheduleHostile();
      },
      Math.round(s.hostileEveryMs * (0.5 + s.random())),
    );
  }

  stopTimers(): void {
    clearInterval(this.#eventTimer);
    clearTimeout(this.#hostileTimer);
    this.#eventTimer = undefined;
    this.#hostileTimer = undefined;
  }
}

export class HostileServer {
  readonly options: Required<HostileServerOptions>;
  readonly random: () => number;
  readonly sessions = new Map<string, ServerSession>();
  readonly #log = new Map<string, { seq: number; id: string; twoT: boolean }[]>();
  readonly #bySession = new Map<string, ServerSession>();
  readonly #http: Server;
  readonly #wss: WebSocketServer;
  readonly #started = Date.now();
  readonly #connections = new Set<HostileServerConnection>();
  readonly #stats = {
    connections: 0,
    connectionTimesByShard: new Map<number, number[]>(),
    hostileSent: {} as Record<string, number>,
    hostileByShard: new Map<number, number>(),
    identifies: 0,
    resumes: 0,
    clientViolations: [] as string[],
    undecodable: 0,
  };
  readonly #bombs = new Map<string, Uint8Array>();
  #sequencer: NodeJS.Timeout | undefined;
  #port = 0;
  #nextEventId = 0;
  #hostileIdentifies = 0;
  #hostileHellos = 0;
  /** No more hostile actions and no more new events (the settle phase). */
  quiet = false;
  /** The class of the last hostile action (for attributing the heap peak). */
  lastHostile: string | undefined;

  constructor(options: HostileServerOptions) {
    this.options = {
      seed: 1,
      eventEveryMs: 50,
      hostileEveryMs: 400,
      heartbeatIntervalMs: 1_000,
      bombBytes: 80 * 1024 * 1024,
      bombElements: 4_000_000,
      nestingDepth: 100_000,
      endlessFragments: 5_000,
      ...options,
    };
    this.random = seededRandom(this.options.seed);
    this.#http = createServer((req, res) => {
      if (req.method === 'GET' && /\/gateway\/bot$/.test(new URL(req.url ?? '/', 'http://x').pathname)) {
        res.setHeader('content-type', 'application/json');
        res.end(
          JSON.stringify({
            url: this.url,
            shards: this.options.shards,
            session_start_limit: { total: 1000, remaining: 1000, reset_after: 0, max_concurrency: 16 },
          }),
        );
        return;
      }
      res.statusCode = 404;
      res.end('{}');
    });
    this.#wss = new WebSocketServer({ server: this.#http, perMessageDeflate: false });
    this.#wss.on('connection', (ws, request) => this.#accept(ws, request.url ?? '/'));
  }

  get eventEveryMs(): number {
    return this.options.eventEveryMs;
  }
  get hostileEveryMs(): number {
    return this.options.hostileEveryMs;
  }
  get url(): string {
    return `ws://127.0.0.1:${this.#port}`;
  }
  get restUrl(): string {
    return `http://127.0.0.1:${this.#port}/api`;
  }

  async listen(): Promise<void> {
    await new Promise<void>((resolve) => this.#http.listen(0, '127.0.0.1', resolve));
    this.#port = (this.#http.address() as AddressInfo).port;
    // Sessions keep being sequenced while their client is away (replayed on RESUME), as Discord does.
    this.#sequencer = setInterval(() => {
      if (this.quiet) return;
      for (const s of this.sessions.values()) if (!s.ended && !s.connection) this.#sequence(s);
    }, this.options.eventEveryMs);
  }

  async close(): Promise<void> {
    clearInterval(this.#sequencer);
    for (const c of this.#connections) c.stopTimers();
    for (const ws of this.#wss.clients) ws.terminate();
    await new Promise<void>((resolve) => this.#wss.close(() => resolve()));
    await new Promise<void>((resolve) => this.#http.close(() => resolve()));
  }

  stats(): HostileServerStats {
    return this.#stats;
  }

  /** The valid dispatches of a session, in order: seq and whether it was the two-`t` variant. */
  sent(sessionId: string): readonly { seq: number; id: string; twoT: boolean }[] {
    return this.#log.get(sessionId) ?? [];
  }

  /** The newest session of each shard. */
  currentSessions(): Map<number, ServerSession> {
    const out = new Map<number, ServerSession>();
    for (const s of this.sessions.values()) if (!s.ended) out.set(s.shard, s);
    return out;
  }

  #countConnection(shard: number): void {
    let times = this.#stats.connectionTimesByShard.get(shard);
    if (!times) {
      times = [];
      this.#stats.connectionTimesByShard.set(shard, times);
    }
    times.push(Date.now() - this.#started);
  }

  #accept(ws: WebSocket, path: string): void {
    ws.on('error', () => {});
    const url = new URL(path, 'ws://x');
    const encoding = url.searchParams.get('encoding') === 'etf' ? 'etf' : 'json';
    const c = url.searchParams.get('compress');
    const compression = c === 'zlib-stream' || c === 'zstd-stream' ? c : 'none';
    const pathSession = /^\/r\/([\w-]+)$/.exec(url.pathname)?.[1];
    const info: ConnectionInfo = {
      ws,
      encoding,
      compression,
      // Independent zlib segments: #sendBig splices hand-made segments into the stream.
      compressor: createCompressor(compression, { zlibIndependent: true }),
      pathSession: pathSession === undefined ? undefined : this.#bySession.get(pathSession),
    };
    const conn = new HostileServerConnection(this, info);
    this.#connections.add(conn);
    this.#stats.connections++;
    let counted = false;
    if (info.pathSession) {
      this.#countConnection(info.pathSession.shard);
      counted = true;
    }
    ws.on('close', () => {
      conn.closed = true;
      conn.stopTimers();
      this.#connections.delete(conn);
      if (conn.session?.connection === conn) conn.session.connection = undefined;
    });
    ws.on('message', (data: Buffer, isBinary) => {
      let p: { op?: unknown; d?: unknown };
      try {
        p = (isBinary ? decodeEtf(data) : JSON.parse(data.toString('utf8'))) as typeof p;
      } catch {
        this.#stats.undecodable++;
        return;
      }
      if (!counted && (p.op === 2 || p.op === 6)) {
        const shard =
          p.op === 2
            ? ((p.d as { shard?: [number, number] }).shard?.[0] ?? 0)
            : this.#bySession.get(String((p.d as { session_id?: unknown }).session_id))?.shard;
        if (shard !== undefined) this.#countConnection(shard);
        counted = true;
      }
      this.#onClientPayload(conn, p);
    });
    // HELLO: hostile intervals only on a resume connection of a hostile session (the shard is known there).
    const bad =
      info.pathSession?.hostile === true &&
      !this.quiet &&
      this.#every('hello-interval', ++this.#hostileHellos % 3 === 1, info.pathSession.shard);
    conn.sendPayload({
      op: 10,
      d: {
        heartbeat_interval: bad
          ? BAD_HEARTBEAT_INTERVALS[Math.floor(this.random() * BAD_HEARTBEAT_INTERVALS.length)]
          : this.options.heartbeatIntervalMs,
      },
    });
  }

  /** `when`, counting `kind` when true (the periodic classes: every n-th HELLO, READY, RESUMED). */
  #every(kind: HostileClass, when: boolean, shard: number): boolean {
    if (!when) return false;
    this.#count(kind, shard);
    return true;
  }

  #count(kind: string, shard: number | undefined): void {
    if (kind !== 'two-t') this.lastHostile = kind;
    this.#stats.hostileSent[kind] = (this.#stats.hostileSent[kind] ?? 0) + 1;
    if (shard !== undefined && kind !== 'two-t') {
      this.#stats.hostileByShard.set(shard, (this.#stats.hostileByShard.get(shard) ?? 0) + 1);
    }
  }

  #onClientPayload(conn: HostileServerConnection, p: { op?: unknown; d?: unknown }): void {
    const session = conn.session;
    switch (p.op) {
      case 1: {
        const d = p.d;
        if (
          d !== null &&
          !(Number.isSafeInteger(d) && (d as number) >= 0 && (d as number) <= (session?.seq ?? 0))
        )
          this.#stats.clientViolations.push(`heartbeat with d = ${String(d)} (session seq ${session?.seq})`);
        conn.sendPayload({ op: 11 });
        return;
      }
      case 2:
        this.#identify(conn, p.d as { token?: unknown; shard?: [number, number] });
        return;
      case 6:
        this.#resume(conn, p.d as { session_id?: unknown; seq?: unknown });
        return;
      default:
        return;
    }
  }

  #identify(conn: HostileServerConnection, d: { token?: unknown; shard?: [number, number] }): void {
    this.#stats.identifies++;
    if (d.token !== this.options.token) {
      conn.close(4004, 'Authentication failed.');
      return;
    }
    const shard = d.shard?.[0] ?? 0;
    // A new session of the shard ends the previous one (Discord would let it time out).
    for (const s of this.sessions.values()) if (s.shard === shard) s.ended = true;
    const id = randomBytes(16).toString('hex');
    const session: ServerSession = {
      id,
      shard,
      hostile: this.options.hostileShards.has(shard),
      seq: 0,
      actions: 0,
      resumes: 0,
      ended: false,
      connection: conn,
    };
    this.sessions.set(id, session);
    this.#bySession.set(id, session);
    this.#log.set(id, []);
    conn.session = session;
    const odd =
      session.hostile &&
      !this.quiet &&
      this.#every('resume-url-scheme', ++this.#hostileIdentifies % 2 === 0, shard);
    const resumeUrl = odd
      ? ODD_RESUME_URLS[Math.floor(this.random() * ODD_RESUME_URLS.length)]!
      : `${this.url}/r/${id}`;
    session.seq = 1;
    this.#log.get(id)!.push({ seq: 1, id: 'ready', twoT: false });
    conn.sendPayload({
      op: 0,
      t: 'READY',
      s: 1,
      d: {
        v: 10,
        session_id: id,
        resume_gateway_url: resumeUrl,
        user: { id: '1', username: 'hostile', discriminator: '0', bot: true },
        guilds: [],
        shard: d.shard ?? [0, 1],
        application: { id: '1', flags: 0 },
      },
    });
    conn.startTimers();
  }

  #resume(conn: HostileServerConnection, d: { session_id?: unknown; seq?: unknown }): void {
    this.#stats.resumes++;
    const session = this.#bySession.get(String(d.session_id));
    if (!session || session.ended) {
      conn.sendPayload({ op: 9, d: false });
      return;
    }
    const seq = d.seq;
    if (!(Number.isSafeInteger(seq) && (seq as number) >= 0 && (seq as number) <= session.seq)) {
      this.#stats.clientViolations.push(`RESUME with seq ${String(seq)} (session seq ${session.seq})`);
      conn.close(4007, 'Invalid seq');
      return;
    }
    const previous = session.connection;
    if (previous && previous !== conn) previous.close(4000, 'session resumed elsewhere');
    session.connection = conn;
    conn.session = session;
    for (const m of this.#log.get(session.id)!) {
      if (m.seq > (seq as number)) this.#sendDispatch(conn, m.seq, m.id, m.twoT);
    }
    conn.sendPayload({ op: 0, t: 'RESUMED', s: null, d: {} });
    if (session.hostile && !this.quiet) {
      const n = ++session.resumes;
      if (this.#every('op7-after-resumed', n % 4 === 1, session.shard)) conn.sendPayload({ op: 7 });
      else if (this.#every('op9-after-resumed', n % 4 === 3, session.shard))
        conn.sendPayload({ op: 9, d: true });
    }
    conn.startTimers();
  }

  /** Sequences the next valid dispatch of `session`; sent when it has a connection. */
  #sequence(session: ServerSession): void {
    const seq = ++session.seq;
    const id = String(++this.#nextEventId);
    // One in eight valid dispatches of a hostile session carries a second `t` key (the last one counts).
    const twoT = session.hostile && this.random() < 0.125;
    if (twoT) this.#count('two-t', session.shard);
    this.#log.get(session.id)!.push({ seq, id, twoT });
    const conn = session.connection;
    if (conn?.open) this.#sendDispatch(conn, seq, id, twoT);
  }

  /** The event timer of a live connection. */
  tick(conn: HostileServerConnection): void {
    const session = conn.session;
    if (this.quiet || !session || session.ended || session.connection !== conn || !conn.open) return;
    this.#sequence(session);
  }

  #sendDispatch(conn: HostileServerConnection, seq: number, id: string, twoT: boolean): void {
    if (id === 'ready') return; // READY is never replayed (a resume starts after it)
    const d = { id, channel_id: '1', content: `event ${id}` };
    if (!twoT) {
      conn.sendPayload({ op: 0, t: 'MESSAGE_CREATE', s: seq, d });
      return;
    }
    if (conn.info.encoding === 'json') {
      conn.sendEncoded(
        Buffer.from(`{"t":"TYPING_START","op":0,"s":${seq},"d":${JSON.stringify(d)},"t":"MESSAGE_CREATE"}`),
      );
    } else {
      conn.sendEncoded(
        etfMapWithDuplicateKeys([
          ['t', 'TYPING_START'],
          ['op', 0],
          ['s', seq],
          ['d', d],
          ['t', 'MESSAGE_CREATE'],
        ]),
      );
    }
  }

  /** One hostile action on a live connection of a hostile session. */
  hostileAction(conn: HostileServerConnection): void {
    const { encoding, compression } = conn.info;
    const o = this.options;
    // The classes only this wire format can carry come first, so every session meets them early; the
    // others follow in rotation.
    const kinds: HostileClass[] = [];
    if (compression === 'zlib-stream') kinds.push('zlib-bomb', 'endless-fragments');
    else if (compression === 'zstd-stream') kinds.push('zstd-bomb', 'endless-fragments');
    else kinds.push('oversize', 'endless-fragments');
    if (encoding === 'etf') kinds.push('seq-infinity', 'seq-bignum', 'etf-compressed-bomb');
    else kinds.push('seq-1e999', 'huge-structure-count');
    kinds.push('seq-negative', 'seq-fraction', 'seq-unsafe', 'close-token-reason', 'deep-nesting');
    if (encoding === 'etf') kinds.push('huge-structure-count');
    const session = conn.session!;
    const kind = kinds[session.actions++ % kinds.length]!;
    this.#count(kind, session.shard);
    const d = { id: 'hostile', content: 'not a valid event' };
    switch (kind) {
      case 'seq-infinity':
        conn.sendPayload({ op: 0, t: 'MESSAGE_CREATE', s: Number.POSITIVE_INFINITY, d });
        return;
      case 'seq-bignum':
        conn.sendPayload({ op: 0, t: 'MESSAGE_CREATE', s: new EtfBignum(300), d });
        return;
      case 'seq-1e999':
        conn.sendEncoded(Buffer.from('{"op":0,"t":"MESSAGE_CREATE","s":1e999,"d":{"id":"hostile"}}'));
        return;
      case 'seq-negative':
        conn.sendPayload({ op: 0, t: 'MESSAGE_CREATE', s: -1, d });
        return;
      case 'seq-fraction':
        conn.sendPayload({ op: 0, t: 'MESSAGE_CREATE', s: 1.5, d });
        return;
      case 'seq-unsafe':
        conn.sendPayload({ op: 0, t: 'MESSAGE_CREATE', s: 2 ** 53 + 2, d });
        return;
      case 'close-token-reason': {
        // A close reason holds at most 123 bytes.
        const reason = `Authentication failed: ${o.token}`.slice(0, 123);
        conn.close(4000, reason);
        return;
      }
      case 'deep-nesting': {
        const depth = o.nestingDepth;
        if (encoding === 'json') {
          this.#sendBig(conn, 'json-deep', () =>
            Buffer.from(`{"op":0,"t":"MESSAGE_CREATE","s":-1,"d":${'['.repeat(depth)}${']'.repeat(depth)}}`),
          );
        } else this.#sendBig(conn, 'etf-deep', () => etfDeepList(depth));
        return;
      }
      case 'huge-structure-count': {
        const n = o.bombElements;
        if (encoding === 'json') {
          this.#sendBig(conn, 'json-structures', () =>
            Buffer.from(`{"op":0,"t":"MESSAGE_CREATE","s":-1,"d":[${'[],'.repeat(n)}[]]}`),
          );
        } else this.#sendBig(conn, 'etf-structures', () => etfEnvelopeAroundList(n, false));
        return;
      }
      case 'etf-compressed-bomb':
        this.#sendBig(conn, 'etf-compressed', () => etfEnvelopeAroundList(o.bombElements * 8, true));
        return;
      case 'zlib-bomb':
        conn.sendRawFrame(
          this.#bomb('zlib', () =>
            deflateRawSync(Buffer.alloc(o.bombBytes), { finishFlush: constants.Z_SYNC_FLUSH }),
          ),
        );
        return;
      case 'zstd-bomb':
        conn.sendRawFrame(this.#bomb('zstd', () => zstdRleBlocks(o.bombBytes)));
        return;
      case 'endless-fragments': {
        if (compression === 'none') {
          // One WebSocket message in continuation frames that never ends before the client's limit.
          const chunk = Buffer.alloc(64 * 1024, 0x20);
          const frames = Math.ceil(o.bombBytes / chunk.length) + 1;
          for (let i = 0; i < frames; i++) conn.sendRawFrame(chunk, false);
          return;
        }
        // Frames of a compressed message that never ends: zlib stored blocks without the sync flush
        // marker; zstd, a raw block declaring 128 KiB fed one byte at a time.
        if (compression === 'zlib-stream') {
          const piece = Uint8Array.of(0x00, 0x01, 0x00, 0xfe, 0xff, 0x78);
          for (let i = 0; i < o.endlessFragments; i++) conn.sendRawFrame(piece);
        } else {
          const size = 128 * 1024;
          conn.sendRawFrame(Uint8Array.of((size << 3) & 0xff, (size >>> 5) & 0xff, (size >>> 13) & 0xff));
          const one = Uint8Array.of(0x41);
          for (let i = 0; i < Math.min(o.endlessFragments, size - 1); i++) conn.sendRawFrame(one);
        }
        return;
      }
      case 'oversize':
        this.#sendBig(conn, 'oversize', () =>
          Buffer.from(`{"op":0,"t":"MESSAGE_CREATE","s":-1,"d":"${'x'.repeat(o.bombBytes)}"}`),
        );
        return;
      default:
        return;
    }
  }

  /**
   * Sends a big hostile payload built once: compressed once per compression too (a segment of the stream
   * that never refers back to earlier messages, as the simulator's shared bodies).
   */
  #sendBig(conn: HostileServerConnection, name: string, build: () => Uint8Array): void {
    const { compression } = conn.info;
    if (compression === 'none') {
      conn.sendEncoded(this.#bomb(name, build));
      return;
    }
    const bytes = this.#bomb(`${name}:${compression}`, () => {
      const plain = this.#bomb(name, build);
      return compression === 'zlib-stream' ? deflateSegment(plain) : zstdRawBlocks(plain);
    });
    conn.sendRawFrame(bytes);
  }

  /** A hostile payload built once and reused. */
  #bomb(name: string, build: () => Uint8Array): Uint8Array {
    let b = this.#bombs.get(name);
    if (!b) {
      b = build();
      this.#bombs.set(name, b);
    }
    return b;
  }
}

/** Starts a hostile server on port 0. */
export async function startHostileServer(options: HostileServerOptions): Promise<HostileServer> {
  const server = new HostileServer(options);
  await server.listen();
  return server;
}

// ------------------------------------------------------------------------------------- hostile bytes

/** An ETF map written key by key, duplicates kept (the project's encoder cannot write one). */
function etfMapWithDuplicateKeys(entries: readonly [string, unknown][]): Uint8Array {
  const parts: number[] = [131, 116, 0, 0, 0, entries.length];
  for (const [k, v] of entries) {
    const key = Buffer.from(k, 'utf8');
    parts.push(119, key.length, ...key);
    // etfTerm writes a whole term with its version byte: strip it.
    parts.push(...etfTerm(v).subarray(1));
  }
  return Uint8Array.from(parts);
}

/** `{op: 0, t: 'MESSAGE_CREATE', s: -1, d: [[], [], …]}` with `n` empty lists, optionally as a compressed term. */
function etfEnvelopeAroundList(n: number, compressed: boolean): Uint8Array {
  const head = Buffer.from(etfTerm({ op: 0, t: 'MESSAGE_CREATE', s: -1 }).subarray(1));
  // The map header says 3 entries: make it 4 and append `d`.
  head.writeUInt32BE(4, 1);
  const dKey = Buffer.from([119, 1, 0x64]);
  const listHead = Buffer.alloc(5);
  listHead[0] = 108;
  listHead.writeUInt32BE(n, 1);
  const body = Buffer.concat([head, dKey, listHead, Buffer.alloc(n, 106), Buffer.of(106)]);
  if (!compressed) return Buffer.concat([Buffer.of(131), body]);
  const size = Buffer.alloc(4);
  size.writeUInt32BE(body.length);
  return Buffer.concat([Buffer.of(131, 80), size, deflateSync(body)]);
}

/** A list nested `depth` deep, as the `d` of a dispatch with a bad `s`. */
function etfDeepList(depth: number): Uint8Array {
  const head = Buffer.from(etfTerm({ op: 0, t: 'MESSAGE_CREATE', s: -1 }).subarray(1));
  head.writeUInt32BE(4, 1);
  const open = Buffer.of(108, 0, 0, 0, 1);
  const nest = Buffer.alloc(open.length * depth);
  for (let i = 0; i < depth; i++) open.copy(nest, i * open.length);
  return Buffer.concat([
    Buffer.of(131),
    head,
    Buffer.of(119, 1, 0x64),
    nest,
    Buffer.of(106), // innermost: []
    Buffer.alloc(depth, 106), // each list's tail
  ]);
}

/** zstd RLE blocks (never the last) decompressing to `bytes` zeros: about 4 bytes per 128 KiB. */
function zstdRleBlocks(bytes: number): Uint8Array {
  const block = 128 * 1024;
  const n = Math.ceil(bytes / block);
  const out = Buffer.alloc(n * 4);
  for (let i = 0; i < n; i++) {
    const header = (block << 3) | (1 << 1); // Block_Type 1 = RLE, Last_Block 0
    out[i * 4] = header & 0xff;
    out[i * 4 + 1] = (header >>> 8) & 0xff;
    out[i * 4 + 2] = (header >>> 16) & 0xff;
    out[i * 4 + 3] = 0;
  }
  return out;
}
