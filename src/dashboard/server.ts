/**
 * The web dashboard: a `node:http` server on 127.0.0.1 (unless told otherwise) that serves one page and
 * pushes the state to it with Server-Sent Events, once per tick. Resources are bounded: at most
 * `maxClients` event streams, and a client that does not read is skipped (its socket buffer is never
 * allowed past `maxBufferedBytes`) and dropped after `slowClientTicks` skipped ticks. In the demo the page
 * can inject faults through `POST /api/fault`, guarded by guard.ts.
 */
import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ConfigError } from '../errors.js';
import { allowedHosts, checkRequest, TOKEN_HEADER, WILDCARD_HOSTS } from './guard.js';
import { SampleHistory } from './history.js';
import { DASHBOARD_CSS, DASHBOARD_JS, dashboardHtml } from './page.js';
import { FleetSource, type FleetSourceOptions, ShardTable, type ShardTableSource } from './sources.js';
import type { DashboardBudget, DashboardHello, DashboardShard, DashboardState } from './state.js';

export interface DashboardFault {
  readonly kind: string;
  readonly label: string;
  /** What the shard does about it (`resume`, `identify`, `heartbeat`). */
  readonly outcome: string;
}

export interface DashboardOptions {
  /** Shown as the page's title. Never put a token or a URL with a password here. */
  readonly title: string;
  /** Port (0 = any free port). */
  readonly port?: number;
  /** Interface (default 127.0.0.1). */
  readonly host?: string;
  /** The shards of this process: a `ShardManager` or `ShardWorker`. */
  readonly shards?: ShardTableSource;
  /** The identify budget (see `managerBudget`); the fleet's is used when absent. */
  readonly budget?: () => DashboardBudget | null;
  /** A worker fleet's Redis keys. */
  readonly fleet?: FleetSourceOptions;
  /** Faults the page may inject, and how (demo only). Returns whether a connection was hit. */
  readonly faults?: {
    readonly kinds: readonly DashboardFault[];
    inject(kind: string, shardId: number): boolean;
  };
  /** Extra facts for the header. */
  readonly info?: () => readonly (readonly [string, string])[];
  /** State pushes per second are 1000 / tickMs (default 1000). */
  readonly tickMs?: number;
  /** Chart samples kept (default 300: five minutes at one a second). */
  readonly historySamples?: number;
  /** Event streams served at once (default 8); more get 503. */
  readonly maxClients?: number;
  /** Bytes an event stream may have unsent before ticks are skipped for it (default 256 KiB). */
  readonly maxBufferedBytes?: number;
  /** Ticks in a row a client may be skipped before it is disconnected (default 30). */
  readonly slowClientTicks?: number;
}

export interface Dashboard {
  /** `http://host:port/` */
  readonly url: string;
  readonly server: Server;
  /** Event streams open now. */
  readonly clients: number;
  close(): Promise<void>;
}

/** Largest request body read (a fault request is a few dozen bytes). */
const MAX_BODY_BYTES = 1024;
/** Bytes of a refused body read and dropped before the connection is cut. */
const MAX_DRAIN_BYTES = 64 * 1024;

const SECURITY_HEADERS = {
  'content-security-policy':
    "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self' data:; frame-ancestors 'none'; base-uri 'none'; form-action 'none'",
  'x-frame-options': 'DENY',
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'cache-control': 'no-store',
} as const;

interface Client {
  readonly res: ServerResponse;
  skipped: number;
}

function positive(name: string, value: number | undefined, fallback: number): number {
  const v = value ?? fallback;
  if (!Number.isInteger(v) || v < 1)
    throw new ConfigError(name, `must be a positive integer, got ${String(v)}`);
  return v;
}

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { ...SECURITY_HEADERS, 'content-type': 'application/json; charset=utf-8' });
  res.end(JSON.stringify(body));
}

function header(req: IncomingMessage, name: string): string | undefined {
  const v = req.headers[name];
  return Array.isArray(v) ? v[0] : v;
}

/** Starts the dashboard; resolves once it listens. Port in use → `ConfigError` naming the port. */
export async function startDashboard(options: DashboardOptions): Promise<Dashboard> {
  const host = options.host ?? '127.0.0.1';
  const tickMs = positive('tickMs', options.tickMs, 1000);
  const maxClients = positive('maxClients', options.maxClients, 8);
  const maxBuffered = positive('maxBufferedBytes', options.maxBufferedBytes, 256 * 1024);
  const slowTicks = positive('slowClientTicks', options.slowClientTicks, 30);
  const history = new SampleHistory(positive('historySamples', options.historySamples, 300));
  const token = randomBytes(24).toString('hex');
  const table = options.shards ? new ShardTable(options.shards) : undefined;
  const fleet = options.fleet ? new FleetSource(options.fleet) : undefined;
  const startedAt = Date.now();
  const clients = new Set<Client>();
  let allowed = new Set<string>();
  const faultKinds = options.faults?.kinds ?? [];

  const state = (): DashboardState => {
    const now = Date.now();
    const shards: DashboardShard[] = table ? table.rows() : (fleet?.rows() ?? []);
    let events = 0;
    let latencySum = 0;
    let latencyCount = 0;
    for (const s of shards) {
      events += s.eventsPerSecond;
      if (s.latencyMs !== null) {
        latencySum += s.latencyMs;
        latencyCount++;
      }
    }
    return {
      at: now,
      uptimeMs: now - startedAt,
      shards,
      budget: options.budget?.() ?? fleet?.budget() ?? null,
      fleet: fleet?.view() ?? null,
      sample: {
        t: now,
        eventsPerSecond: events,
        latencyMs: latencyCount === 0 ? null : latencySum / latencyCount,
      },
      info: options.info?.() ?? [],
    };
  };

  let last: DashboardState | undefined;
  const tick = (): void => {
    // A Redis that hangs must not stall the pushes: the read runs beside the ticks (one at a time) and
    // each tick shows the last one that completed, or its error.
    void fleet?.refresh();
    try {
      last = state();
    } catch {
      return; // a source that fails (a process shutting down) skips a tick, never throws into the loop
    }
    history.push(last.sample);
    const frame = `event: state\ndata: ${JSON.stringify(last)}\n\n`;
    for (const c of clients) {
      if (c.res.writableLength > maxBuffered) {
        // A client that does not read: skip it (the next frame carries the whole state anyway), then drop it.
        if (++c.skipped >= slowTicks) c.res.destroy();
        continue;
      }
      c.skipped = 0;
      c.res.write(frame);
    }
  };
  const timer = setInterval(tick, tickMs);
  timer.unref();

  const serveEvents = (req: IncomingMessage, res: ServerResponse): void => {
    if (clients.size >= maxClients) {
      sendJson(res, 503, { error: `too many dashboard clients (at most ${maxClients}); close another tab` });
      return;
    }
    res.writeHead(200, {
      ...SECURITY_HEADERS,
      'content-type': 'text/event-stream; charset=utf-8',
      connection: 'keep-alive',
    });
    const client: Client = { res, skipped: 0 };
    clients.add(client);
    const hello: DashboardHello = {
      title: options.title,
      faults: faultKinds,
      history: history.toArray(),
      historySamples: history.capacity,
      tickMs,
    };
    res.write(`retry: 2000\nevent: hello\ndata: ${JSON.stringify(hello)}\n\n`);
    if (last) res.write(`event: state\ndata: ${JSON.stringify(last)}\n\n`);
    const drop = (): void => {
      clients.delete(client);
    };
    req.on('close', drop);
    res.on('close', drop);
    res.on('error', drop);
  };

  const serveFault = (req: IncomingMessage, res: ServerResponse): void => {
    const faults = options.faults;
    if (!faults) {
      sendJson(res, 404, { error: 'this dashboard injects no faults (only the demo does)' });
      return;
    }
    if (!/^application\/json\b/i.test(header(req, 'content-type') ?? '')) {
      sendJson(res, 415, { error: 'send application/json' });
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    let refused = false;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_BODY_BYTES) {
        if (!refused) {
          refused = true;
          chunks.length = 0;
          res.shouldKeepAlive = false;
          sendJson(res, 413, { error: `body over ${MAX_BODY_BYTES} bytes` });
        }
        // The rest is read and dropped (closing on unread bytes would reset the answer), up to a bound.
        if (size > MAX_DRAIN_BYTES) req.destroy();
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => {
      if (refused) return;
      let body: unknown;
      try {
        body = JSON.parse(Buffer.concat(chunks).toString('utf8'));
      } catch {
        sendJson(res, 400, { error: 'body is not JSON' });
        return;
      }
      const { kind, shard } = (typeof body === 'object' && body !== null ? body : {}) as Record<
        string,
        unknown
      >;
      if (typeof kind !== 'string' || !faultKinds.some((f) => f.kind === kind)) {
        sendJson(res, 400, { error: `kind must be one of ${faultKinds.map((f) => f.kind).join(', ')}` });
        return;
      }
      const known = table?.rows().map((r) => r.id) ?? [];
      if (typeof shard !== 'number' || !known.includes(shard)) {
        sendJson(res, 400, { error: `shard must be one of ${known.join(', ')}` });
        return;
      }
      let injected: boolean;
      try {
        injected = faults.inject(kind, shard);
      } catch (err) {
        sendJson(res, 500, { error: `the fault could not be injected: ${(err as Error).message}` });
        return;
      }
      sendJson(res, 200, { injected });
    });
    req.on('error', () => {});
  };

  const server = createServer((req, res) => {
    res.on('error', () => {});
    const verdict = checkRequest(
      {
        method: req.method ?? 'GET',
        host: header(req, 'host'),
        origin: header(req, 'origin'),
        secFetchSite: header(req, 'sec-fetch-site'),
        token: header(req, TOKEN_HEADER),
      },
      allowed,
      token,
    );
    if (!verdict.ok) {
      sendJson(res, verdict.status, { error: verdict.reason });
      req.resume();
      return;
    }
    const path = (req.url ?? '/').split('?')[0];
    const route = `${req.method} ${path}`;
    switch (route) {
      case 'GET /':
        res.writeHead(200, { ...SECURITY_HEADERS, 'content-type': 'text/html; charset=utf-8' });
        res.end(dashboardHtml(token));
        return;
      case 'GET /app.js':
        res.writeHead(200, { ...SECURITY_HEADERS, 'content-type': 'text/javascript; charset=utf-8' });
        res.end(DASHBOARD_JS);
        return;
      case 'GET /app.css':
        res.writeHead(200, { ...SECURITY_HEADERS, 'content-type': 'text/css; charset=utf-8' });
        res.end(DASHBOARD_CSS);
        return;
      case 'GET /favicon.ico':
        res.writeHead(204, SECURITY_HEADERS).end();
        return;
      case 'GET /events':
        serveEvents(req, res);
        return;
      case 'GET /api/state':
        if (last) sendJson(res, 200, last);
        else sendJson(res, 503, { error: 'no state yet' });
        return;
      case 'POST /api/fault':
        serveFault(req, res);
        return;
      default:
        req.resume();
        sendJson(res, path === '/api/fault' || path === '/' ? 405 : 404, { error: `no route ${route}` });
    }
  });
  server.maxConnections = maxClients + 16;
  server.headersTimeout = 10_000;
  server.requestTimeout = 10_000;
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(options.port ?? 0, host, () => {
        server.off('error', reject);
        resolve();
      });
    });
  } catch (err) {
    clearInterval(timer);
    table?.close();
    const code = (err as NodeJS.ErrnoException)?.code;
    if (code === 'EADDRINUSE')
      throw new ConfigError(
        'dashboardPort',
        `${host}:${options.port} is already in use; choose another dashboard port`,
      );
    if (code === 'EADDRNOTAVAIL' || code === 'ENOTFOUND')
      throw new ConfigError('dashboardHost', `cannot listen on ${host}: no such local address`);
    throw err;
  }
  server.on('error', () => {});
  const { port } = server.address() as AddressInfo;
  allowed = allowedHosts(host, port);
  // A wildcard bind is reachable on loopback too: print that address (it is among the allowed hosts).
  const shown = WILDCARD_HOSTS.has(host) ? '127.0.0.1' : host;
  const hostPart = shown.includes(':') ? `[${shown}]` : shown;
  tick();
  return {
    url: `http://${hostPart}:${port}/`,
    server,
    get clients() {
      return clients.size;
    },
    close: () =>
      new Promise<void>((resolve) => {
        clearInterval(timer);
        table?.close();
        for (const c of clients) c.res.end();
        clients.clear();
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
