/**
 * Prometheus metrics of one manager, on a private prom-client `Registry` (never the global one, so two
 * managers in one process do not collide). `collect()` returns the text exposition format; `serveMetrics`
 * exposes it over HTTP for a scraper.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { type IntervalHistogram, monitorEventLoopDelay } from 'node:perf_hooks';
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import { SHARD_STATUSES } from '../shard/events.js';

export const METRICS_PREFIX = 'shardline_';

/** Shard states reported as a 0/1 gauge per state (states first seen at run time are added). */
export const KNOWN_SHARD_STATES: readonly string[] = SHARD_STATUSES;

export class ManagerMetrics {
  readonly registry = new Registry();
  readonly shardStatus: Gauge<'shard' | 'status'>;
  readonly heartbeatLatency: Histogram<'shard'>;
  readonly events: Counter<'type'>;
  readonly reconnects: Counter<'reason'>;
  readonly identifiesRemaining: Gauge;
  readonly identifies: Counter;
  readonly eventLoopLag: Gauge;
  readonly #states = new Set<string>(KNOWN_SHARD_STATES);
  /** Events counted since the last scrape, by type (see countEvent). */
  readonly #eventCounts = new Map<string, number>();
  readonly #current = new Map<number, string>();
  #loop: IntervalHistogram | undefined;

  constructor(prefix = METRICS_PREFIX) {
    const registers = [this.registry];
    this.shardStatus = new Gauge({
      name: `${prefix}shard_status`,
      help: 'Current state of each shard: 1 for the state it is in, 0 for the others',
      labelNames: ['shard', 'status'],
      registers,
    });
    this.heartbeatLatency = new Histogram({
      name: `${prefix}heartbeat_latency_seconds`,
      help: 'Time from a heartbeat to its ACK',
      labelNames: ['shard'],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
      registers,
    });
    const eventCounts = this.#eventCounts;
    this.events = new Counter({
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
    this.reconnects = new Counter({
      name: `${prefix}reconnects_total`,
      help: 'Shard reconnects, by reason (close code or cause)',
      labelNames: ['reason'],
      registers,
    });
    this.identifiesRemaining = new Gauge({
      name: `${prefix}identifies_remaining`,
      help: 'Identifies left in the daily session_start_limit budget (as last known)',
      registers,
    });
    this.identifies = new Counter({
      name: `${prefix}identifies_total`,
      help: 'Identify permits granted by this manager',
      registers,
    });
    this.#loop = monitorEventLoopDelay({ resolution: 20 });
    this.#loop.enable();
    const loop = () => this.#loop;
    this.eventLoopLag = new Gauge({
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
    const shard = String(shardId);
    const previous = this.#current.get(shardId);
    if (previous === undefined) {
      for (const s of this.#states) this.shardStatus.set({ shard, status: s }, 0);
    } else if (previous !== status) {
      this.shardStatus.set({ shard, status: previous }, 0);
    }
    this.shardStatus.set({ shard, status }, 1);
    this.#current.set(shardId, status);
  }

  /** Drops the series of a shard that no longer exists (after a reshard). */
  removeShard(shardId: number): void {
    const shard = String(shardId);
    for (const s of this.#states) this.shardStatus.remove({ shard, status: s });
    this.heartbeatLatency.remove({ shard });
    this.#current.delete(shardId);
  }

  get contentType(): string {
    return this.registry.contentType;
  }

  collect(): Promise<string> {
    return this.registry.metrics();
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
