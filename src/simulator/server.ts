import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import { type WebSocket, WebSocketServer } from 'ws';
import type { Compression } from './compression.js';
import { COMPRESSIONS } from './compression.js';
import { SimConnection } from './connection.js';
import { ENCODINGS, type Encoding } from './encoding.js';
import type { Fault } from './faults.js';
import type { ResolvedSimulatorOptions, SimulatorOptions } from './options.js';
import { resolveSimulatorOptions } from './options.js';
import { loadRecording, Replay } from './replay.js';
import { handleHttp, parseRequestTarget } from './rest.js';
import { type EmitTarget, SimulatorCore, type SimulatorStats } from './simulator.js';
import type { World } from './world.js';

/** A running simulator. */
export interface Simulator {
  /**
   * REST base without the version, e.g. `http://127.0.0.1:PORT/api`: what `@discordjs/rest` (`api`), the
   * manager (`api`) and `--api` take. `GET {restUrl}/v10/gateway/bot` (and the unversioned route) answer.
   */
  readonly restUrl: string;
  /** Origin of the HTTP server, e.g. `http://127.0.0.1:PORT` (control routes live under `/_simulator/`). */
  readonly httpUrl: string;
  /** Bootstrap gateway URL (`url` of `/gateway/bot`), e.g. `ws://127.0.0.1:PORT`. */
  readonly gatewayUrl: string;
  /** `resume_gateway_url` given in READY, e.g. `ws://127.0.0.1:PORT/resume`. */
  readonly resumeGatewayUrl: string;
  readonly port: number;
  /** Tokens the simulator accepts (the first one is the default). */
  readonly tokens: readonly string[];
  readonly options: ResolvedSimulatorOptions;
  readonly world: World;
  stats(): SimulatorStats;
  /** Applies a fault; returns how many connections it hit. Throws `SimulatorError` on a malformed fault. */
  inject(fault: Fault): number;
  /** Sends dispatch `t` with data `d` to the sessions it routes to; returns how many sessions got it. */
  emitEvent(t: string, d: unknown, target?: EmitTarget): number;
  /**
   * Emits `count` random world events now; returns how many deliveries happened. `pool: n` cycles through
   * n pre-generated, pre-encoded events instead (load tests).
   */
  emitRandomEvents(count: number, options?: { pool?: number }): number;
  /**
   * Load tests: `emitRandomEvents` with each connection's output (encoded and compressed by its own stream,
   * byte for byte what it would have sent) kept back in order; returns how many deliveries happened.
   * `releasePrepared(n)` then writes the frames of the next n prepared events, so a timed burst costs the
   * simulator about its socket writes. Output produced meanwhile (a heartbeat ACK) waits behind them.
   */
  prepareRandomEvents(count: number, options?: { pool?: number }): number;
  /** Writes the frames of the next `count` prepared events; returns how many events were released. */
  releasePrepared(count: number): number;
  /** Prepared events not released yet. */
  readonly preparedEvents: number;
  setEventsPerSecond(n: number): void;
  /** Destroys every connection (clients see 1006) and stops the server. */
  close(): Promise<void>;
}

/** Starts a simulator listening on `host:port` (127.0.0.1, a free port by default). */
export async function startSimulator(options: SimulatorOptions = {}): Promise<Simulator> {
  let o = resolveSimulatorOptions(options);
  // A replay reads (and checks) its recording first; its shard count is then what /gateway/bot recommends.
  const recording = o.replay ? await loadRecording(o.replay) : undefined;
  if (recording) o = resolveSimulatorOptions({ guilds: 0, shards: recording.header.shardCount, ...options });
  const core = new SimulatorCore(o);
  const replay = recording && o.replay ? new Replay(core, o.replay, recording) : undefined;
  core.opening = replay;

  // maxPayload is the simulator's own payload limit: `ws` refuses a longer frame (or fragmented message)
  // at its header instead of buffering up to it, and the connection answers with Discord's 4002.
  const wss = new WebSocketServer({
    noServer: true,
    maxPayload: o.maxPayloadBytes,
    perMessageDeflate: false,
  });
  const server: Server = createServer((req, res) => {
    try {
      handleHttp(core, req, res);
    } catch {
      core.countInternalError();
      if (!res.headersSent) {
        res.writeHead(500, { 'content-type': 'application/json', connection: 'close' });
        res.end('{"message":"internal error"}');
      } else res.destroy();
    }
  });
  server.on('clientError', (_err, socket: Duplex) => socket.destroy());

  server.on('upgrade', (req, socket: Duplex, head) => {
    socket.on('error', () => socket.destroy());
    try {
      upgrade(req, socket, head);
    } catch {
      core.countInternalError();
      socket.destroy();
    }
  });

  function upgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    if (core.closed) {
      socket.destroy();
      return;
    }
    const url = parseRequestTarget(req.url, 'ws');
    if (url === undefined) {
      socket.end('HTTP/1.1 400 Bad Request\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
      return;
    }
    wss.handleUpgrade(req, socket, head, (ws) => {
      let conn: SimConnection | undefined;
      ws.on('error', () => (conn ? conn.onSocketError() : ws.terminate()));
      try {
        conn = open(ws, url);
      } catch {
        core.countInternalError();
        if (conn) conn.internalError();
        else ws.terminate();
      }
    });
  }

  /** Checks the query of a new WebSocket; returns its connection, or undefined after closing it. */
  function open(ws: WebSocket, url: URL): SimConnection | undefined {
    const path = url.pathname.replace(/\/+$/, '');
    const q = url.searchParams;
    const v = q.get('v');
    const encoding = q.get('encoding') ?? 'json';
    const compress = q.get('compress') ?? 'none';
    if (v !== '10' && v !== '9') {
      core.countViolation('invalid-api-version');
      core.countServerClose(4012);
      ws.close(4012, 'invalid api version');
      return undefined;
    }
    if (
      !(ENCODINGS as readonly string[]).includes(encoding) ||
      !(COMPRESSIONS as readonly string[]).includes(compress)
    ) {
      core.countViolation('decode');
      core.countServerClose(4002);
      ws.close(4002, 'invalid encoding or compression');
      return undefined;
    }
    const conn = new SimConnection({
      ws,
      core,
      encoding: encoding as Encoding,
      compression: compress as Compression,
      encoder: core.encoders[encoding as Encoding],
      viaResumeUrl: path === o.resumePath,
    });
    core.connectionOpened(conn);
    conn.start();
    return conn;
  }

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(o.port, o.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  const host = o.host.includes(':') ? `[${o.host}]` : o.host;
  const httpUrl = `http://${host}:${port}`;
  core.gatewayUrl = `ws://${host}:${port}`;
  core.resumeGatewayUrl = `ws://${host}:${port}${o.resumePath}`;

  let closing: Promise<void> | undefined;
  return {
    restUrl: `${httpUrl}/api`,
    httpUrl,
    gatewayUrl: core.gatewayUrl,
    resumeGatewayUrl: core.resumeGatewayUrl,
    port,
    tokens: o.tokens,
    options: o,
    world: core.world,
    stats: () => core.stats(),
    inject: (fault) => core.inject(fault),
    emitEvent: (t, d, target) => core.emitEvent(t, d, target),
    emitRandomEvents: (count, options) => core.emitRandomEvents(count, options),
    prepareRandomEvents: (count, options) => core.prepareRandomEvents(count, options),
    releasePrepared: (count) => core.releasePrepared(count),
    get preparedEvents() {
      return core.preparedEvents;
    },
    setEventsPerSecond: (n) => core.setEventsPerSecond(n),
    close() {
      const stopped = replay?.stop();
      closing ??= new Promise<void>((resolve) => {
        core.shutdown();
        for (const c of core.connections) c.ws.terminate();
        for (const ws of wss.clients) ws.terminate();
        wss.close();
        server.close(() => resolve());
        server.closeAllConnections();
      }).then(() => stopped);
      return closing;
    },
  };
}
