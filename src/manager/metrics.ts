/**
 * Prometheus metrics of one manager, on a private prom-client `Registry` (never the global one, so two
 * managers in one process do not collide). `collect()` returns the text exposition format; `serveMetrics`
 * exposes it over HTTP for a scraper.
 *
 * prom-client costs ~10 MiB of RSS and ~200 ms to load, so it is loaded by the first collection (or the
 * first use of `registry`), not by importing shardline: until then counts live in plain maps, which the
 * metrics read when they are collected. Heartbeat latencies observed before that are kept, up to
 * `PENDING_LATENCIES_PER_SHARD` per shard.
 */
import { createServer, type Server } from 'node:http';
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
import { type IntervalHistogram, monitorEventLoopDelay } from 'node:perf_hooks';
import type { Counter, Gauge, Histogram, Registry } from 'prom-client';
import { SHARD_STATUSES } from '../shard/events.js';

export const METRICS_PREFIX = 'shardline_';

/** Shard states reported as a 0/1 gauge per state (states first seen at run time are added). */
export const KNOWN_SHARD_STATES: readonly string[] = SHARD_STATUSES;

/** Heartbeat latencies kept per shard until prom-client is loaded (about 11 h of heartbeats). */
export const PENDING_LATENCIES_PER_SHARD = 1000;

type PromClient = typeof import('prom-client');
let promClient: PromClient | undefined;
function loadPromClient(): PromClient {
  promClient ??= createRequire(import.meta.url)('prom-client') as PromClient;
  return promClient;
}

interface PromMetrics {
  readonly registry: Registry;
  readonly shardStatus: Gauge<'shard' | 'status'>;
  readonly heartbeatLatency: Histogram<'shard'>;
  readonly events: Counter<'type'>;
  readonly reconnects: Counter<'reason'>;
  readonly identifiesRemaining: Gauge;
  readonly identifies: Counter;
  readonly eventLoopLag: Gauge;
}

export class ManagerMetrics {
  readonly #prefix: string;
  #prom: PromMetrics | undefined;
  readonly #states = new Set<string>(KNOWN_SHARD_STATES);
  /** Events counted since the last scrape, by type (see countEvent). */
  readonly #eventCounts = new Map<string, number>();
  readonly #current = new Map<number, string>();
  readonly #reconnectCounts = new Map<string, number>();
  #identifyCount = 0;
  #identifiesLeft: number | undefined;
  /** Latencies (s) observed before prom-client was loaded, by shard label. */
  readonly #pendingLatencies = new Map<string, number[]>();
  #loop: IntervalHistogram | undefined;

  /** Dispatches by type (`events_total`); `countEvent` is the hot-path form. */
  readonly events = {
    inc: (labels: { type: string }, by = 1): void => {
      this.#eventCounts.set(labels.type, (this.#eventCounts.get(labels.type) ?? 0) + by);
    },
  };
  /** Identify permits granted by this manager (`identifies_total`). */
  readonly identifies = {
    inc: (by = 1): void => {
      this.#identifyCount += by;
    },
  };
  /** Shard reconnects by reason (`reconnects_total`). */
  readonly reconnects = {
    inc: (labels: { reason: string }, by = 1): void => {
      this.#reconnectCounts.set(labels.reason, (this.#reconnectCounts.get(labels.reason) ?? 0) + by);
    },
  };
  /** Identifies left in the daily budget, as last known (`identifies_remaining`). */
  readonly identifiesRemaining = {
    set: (value: number): void => {
      this.#identifiesLeft = value;
    },
  };
  /** Heartbeat round trips (`heartbeat_latency_seconds`). */
  readonly heartbeatLatency = {
    observe: (labels: { shard: string }, seconds: number): void => {
      if (this.#prom) {
        this.#prom.heartbeatLatency.observe(labels, seconds);
        return;
      }
      const pending = this.#pendingLatencies.get(labels.shard) ?? [];
      if (pending.length >= PENDING_LATENCIES_PER_SHARD) pending.shift();
      pending.push(seconds);
      this.#pendingLatencies.set(labels.shard, pending);
    },
  };

  constructor(prefix = METRICS_PREFIX) {
    this.#prefix = prefix;
    this.#loop = monitorEventLoopDelay({ resolution: 20 });
    this.#loop.enable();
  }

  /** The prom-client registry (loads prom-client); register more metrics of your own on it. */
  get registry(): Registry {
    return this.#load().registry;
  }

  #load(): PromMetrics {
    if (this.#prom) return this.#prom;
    const { Counter, Gauge, Histogram, Registry } = loadPromClient();
    const prefix = this.#prefix;
    const registry = new Registry();
    const registers = [registry];
    const current = this.#current;
    const states = this.#states;
    const shardStatus = new Gauge({
      name: `${prefix}shard_status`,
      help: 'Current state of each shard: 1 for the state it is in, 0 for the others',
      labelNames: ['shard', 'status'],
      registers,
      collect() {
        this.reset();
        for (const [id, status] of current)
          for (const s of states) this.set({ shard: String(id), status: s }, s === status ? 1 : 0);
      },
    });
    const heartbeatLatency = new Histogram({
      name: `${prefix}heartbeat_latency_seconds`,
      help: 'Time from a heartbeat to its ACK',
      labelNames: ['shard'],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
      registers,
    });
    for (const [shard, values] of this.#pendingLatencies)
      for (const v of values) heartbeatLatency.observe({ shard }, v);
    this.#pendingLatencies.clear();
    const eventCounts = this.#eventCounts;
    const events = new Counter({
      name: `${prefix}events_total`,
      help: 'Dispatch events received, by type',
      labelNames: ['type'],
      registers,
      collect() {
        // Counts taken with countEvent() reach the counter at scrape time, not one inc() per event.
        for (const [type, n] of eventCounts) this.inc({ type }, n);
        eventCounts.clear();
      },
    });
    const reconnectCounts = this.#reconnectCounts;
    const reconnects = new Counter({
      name: `${prefix}reconnects_total`,
      help: 'Shard reconnects, by reason (close code or cause)',
      labelNames: ['reason'],
      registers,
      collect() {
        this.reset();
        for (const [reason, n] of reconnectCounts) this.inc({ reason }, n);
      },
    });
    const left = () => this.#identifiesLeft;
    const identifiesRemaining = new Gauge({
      name: `${prefix}identifies_remaining`,
      help: 'Identifies left in the daily session_start_limit budget (as last known)',
      registers,
      collect() {
        const value = left();
        if (value !== undefined) this.set(value);
      },
    });
    const granted = () => this.#identifyCount;
    const identifies = new Counter({
      name: `${prefix}identifies_total`,
      help: 'Identify permits granted by this manager',
      registers,
      collect() {
        this.reset();
        this.inc(granted());
      },
    });
    const loop = () => this.#loop;
    const eventLoopLag = new Gauge({
      name: `${prefix}event_loop_lag_seconds`,
      help: 'Event-loop delay: mean over the last scrape interval',
      registers,
      collect() {
        const h = loop();
        if (!h) return;
        const mean = Number.isFinite(h.mean) ? h.mean : 0;
        this.set(mean / 1e9);
        h.reset();
      },
    });
    this.#prom = {
      registry,
      shardStatus,
      heartbeatLatency,
      events,
      reconnects,
      identifiesRemaining,
      identifies,
      eventLoopLag,
    };
    return this.#prom;
  }

  /**
   * Counts one dispatch of `type` for `events_total`. The hot-path form of `events.inc({ type })`: a
   * labelled prom-client `inc` hashes its labels on every call, this is one Map update; the collect hook
   * adds the counts to the counter when it is read.
   */
  countEvent(type: string): void {
    const counts = this.#eventCounts;
    counts.set(type, (counts.get(type) ?? 0) + 1);
  }

  setShardStatus(shardId: number, status: string): void {
    this.#states.add(status);
    this.#current.set(shardId, status);
  }

  /** Drops the series of a shard that no longer exists (after a reshard). */
  removeShard(shardId: number): void {
    const shard = String(shardId);
    this.#current.delete(shardId);
    this.#pendingLatencies.delete(shard);
    this.#prom?.heartbeatLatency.remove({ shard });
  }

  get contentType(): string {
    return this.#load().registry.contentType;
  }

  collect(): Promise<string> {
    return this.#load().registry.metrics();
  }

  close(): void {
    this.#loop?.disable();
    this.#loop = undefined;
  }
}

export interface MetricsServer {
  /** `http://host:port/metrics` */
  readonly url: string;
  readonly server: Server;
  close(): Promise<void>;
}

/** Serves `collect()` on `GET /metrics` (Prometheus text format). Port 0 picks a free port. */
export function serveMetrics(
  source: { collectMetrics(): Promise<string> },
  options: { port?: number; host?: string } = {},
): Promise<MetricsServer> {
  const host = options.host ?? '127.0.0.1';
  const server = createServer((req, res) => {
    if (req.method !== 'GET' || (req.url ?? '/').split('?')[0] !== '/metrics') {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found\n');
      return;
    }
    source.collectMetrics().then(
      (text) => res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4; charset=utf-8' }).end(text),
      () => res.writeHead(500, { 'content-type': 'text/plain' }).end('metrics collection failed\n'),
    );
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, host, () => {
      server.off('error', reject);
      server.on('error', () => {});
      const { port } = server.address() as AddressInfo;
      const hostPart = host.includes(':') ? `[${host}]` : host;
      resolve({
        url: `http://${hostPart}:${port}/metrics`,
        server,
        close: () =>
          new Promise<void>((r) => {
            server.closeAllConnections();
            server.close(() => r());
          }),
      });
    });
  });
}
