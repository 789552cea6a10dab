/**
 * The client-facing gateway: one HTTP server for the REST routes and the WebSocket upgrade (`ws`), the
 * sessions, and the fan-out of upstream dispatches to them.
 */
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import type { GatewayDispatchPayload } from 'discord-api-types/v10';
import { WebSocketServer } from 'ws';
import { COMPRESSIONS, type Compression, ENCODINGS, type Encoding } from '../../codec/formats.js';
import type { ProxyCacheView } from '../cache-view.js';
import type { ResolvedGatewayProxyOptions } from '../options.js';
import type { SharedSessions } from '../shared-sessions.js';
import type { ProxyUpstream } from '../upstream.js';
import { ClientConnection } from './connection.js';
import type { ProxyContext } from './context.js';
import { handleHttp } from './http.js';
import { MemberRequestRouter } from './member-requests.js';
import { OutboundEvent } from './outbound-event.js';
import { SessionRegistry } from './sessions.js';
import { Wire } from './wire.js';

/** Dispatches of the upstream's own session, never news to a client (each gets its own READY/RESUMED). */
const UPSTREAM_SESSION_EVENTS: ReadonlySet<string> = new Set(['READY', 'RESUMED']);

export class ProxyServer {
  readonly #options: ResolvedGatewayProxyOptions;
  readonly #upstream: ProxyUpstream;
  readonly #http: Server;
  readonly #wss: WebSocketServer;
  readonly #connections = new Set<ClientConnection>();
  readonly #waiting = new Map<number, Set<() => void>>();
  readonly sessions: SessionRegistry;
  readonly members: MemberRequestRouter;
  readonly #context: ProxyContext;
  #url = '';
  #closed = false;

  constructor(
    options: ResolvedGatewayProxyOptions,
    upstream: ProxyUpstream,
    cache: ProxyCacheView,
    debug: (message: string) => void,
  ) {
    this.#options = options;
    this.#upstream = upstream;
    this.sessions = new SessionRegistry(
      options.clock,
      {
        maxEvents: options.replayEvents,
        maxAgeMs: options.replayMs,
      },
      options.maxSessions,
    );
    this.members = new MemberRequestRouter(options.clock, options.memberRequestTimeoutMs);
    this.#context = {
      options,
      upstream,
      cache,
      sessions: this.sessions,
      members: this.members,
      shared: undefined,
      gatewayUrl: () => this.gatewayUrl,
      whenReady: (shardId, fn) => this.#whenReady(shardId, fn),
      debug,
    };
    this.#wss = new WebSocketServer({
      noServer: true,
      maxPayload: options.maxPayloadBytes,
      perMessageDeflate: false,
    });
    this.#http = createServer((req, res) => {
      try {
        handleHttp({ gatewayUrl: () => this.gatewayUrl, shardCount: () => upstream.shardCount }, req, res);
      } catch {
        if (!res.headersSent) res.writeHead(500, { 'content-type': 'application/json' });
        res.end('{"message":"internal error","code":0}');
      }
    });
    this.#http.on('clientError', (_err, socket: Duplex) => socket.destroy());
    this.#http.on('upgrade', (req, socket: Duplex, head) => {
      socket.on('error', () => socket.destroy());
      try {
        this.#upgrade(req, socket, head);
      } catch (err) {
        debug(`upgrade failed: ${String((err as Error)?.message ?? err)}`);
        socket.destroy();
      }
    });
  }

  /** Redis mode: client sessions shared with the other replicas. */
  set shared(shared: SharedSessions) {
    this.#context.shared = shared;
  }

  /** `ws://HOST:PORT` (or the configured public URL): bootstrap URL and `resume_gateway_url`. */
  get gatewayUrl(): string {
    return this.#url;
  }

  /** `http://HOST:PORT` of the listening server. */
  httpUrl = '';

  get connections(): number {
    return this.#connections.size;
  }

  async listen(): Promise<void> {
    await new Promise<void>((resolve, reject) => {
      this.#http.once('error', reject);
      this.#http.listen(this.#options.port, this.#options.host, () => {
        this.#http.off('error', reject);
        resolve();
      });
    });
    const { port } = this.#http.address() as AddressInfo;
    const host = this.#options.host.includes(':') ? `[${this.#options.host}]` : this.#options.host;
    this.httpUrl = `http://${host}:${port}`;
    this.#url = this.#options.publicUrl ?? `ws://${host}:${port}`;
  }

  /** An upstream dispatch: cached already; fanned out to the sessions of its shard. */
  dispatch(payload: GatewayDispatchPayload, shardId: number, pos?: string): void {
    const t = payload.t as string;
    if (UPSTREAM_SESSION_EVENTS.has(t)) return;
    if (t === 'GUILD_MEMBERS_CHUNK' || t === 'RATE_LIMITED') {
      const routed = this.members.route(t, payload.d);
      if (routed) {
        if (!routed.session.ended)
          routed.session.push(new OutboundEvent(t, routed.d), this.#options.clock.now());
        return;
      }
      if (this.members.isProxyAnswer(t, payload.d)) return;
    }
    const botId = (this.#context.cache.user() as { id?: unknown } | undefined)?.id;
    this.sessions.fanout(
      shardId,
      this.#upstream.shardCount,
      new OutboundEvent(t, payload.d),
      typeof botId === 'string' ? botId : undefined,
      pos,
    );
  }

  /** Upstream shard `shardId` is ready: identifies that waited for it go on. */
  shardReady(shardId: number): void {
    const waiting = this.#waiting.get(shardId);
    if (!waiting) return;
    this.#waiting.delete(shardId);
    for (const fn of waiting) fn();
  }

  #whenReady(shardId: number, fn: () => void): () => void {
    if (this.#upstream.isReady(shardId)) {
      fn();
      return () => {};
    }
    let set = this.#waiting.get(shardId);
    if (!set) {
      set = new Set();
      this.#waiting.set(shardId, set);
    }
    set.add(fn);
    return () => set.delete(fn);
  }

  #upgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    if (this.#closed || this.#connections.size >= this.#options.maxConnections) {
      socket.end('HTTP/1.1 503 Service Unavailable\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
      return;
    }
    let url: URL;
    try {
      url = new URL(req.url ?? '/', 'ws://proxy');
    } catch {
      socket.end('HTTP/1.1 400 Bad Request\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
      return;
    }
    this.#wss.handleUpgrade(req, socket, head, (ws) => {
      let conn: ClientConnection | undefined;
      // Unless a close of ours is under way (its frame must still go out), a socket error drops the connection.
      ws.on('error', () => (conn ? conn.onSocketError() : ws.terminate()));
      const q = url.searchParams;
      const v = q.get('v') ?? '10';
      const encoding = q.get('encoding') ?? 'json';
      const compress = q.get('compress') ?? 'none';
      if (v !== '10' && v !== '9') {
        ws.close(4012, 'invalid api version');
        return;
      }
      if (
        !(ENCODINGS as readonly string[]).includes(encoding) ||
        !(COMPRESSIONS as readonly string[]).includes(compress)
      ) {
        ws.close(4002, 'invalid encoding or compression');
        return;
      }
      const opened = new ClientConnection(
        ws,
        this.#context,
        new Wire(encoding as Encoding, compress as Compression),
      );
      conn = opened;
      this.#connections.add(opened);
      ws.once('close', () => this.#connections.delete(opened));
      opened.start();
    });
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    for (const ws of this.#wss.clients) ws.terminate();
    this.sessions.close();
    this.members.close();
    this.#waiting.clear();
    await new Promise<void>((resolve) => {
      this.#http.close(() => resolve());
      this.#http.closeAllConnections();
    });
    this.#wss.close();
  }
}
