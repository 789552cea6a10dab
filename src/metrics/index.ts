// Public API of `shardline/metrics`: a Prometheus `/metrics` endpoint for a `ShardManager` or `ShardWorker`.
// Re-exports only; prom-client itself loads on the first collection, not at import.
export type { MetricsServer } from '../manager/metrics.js';
export { serveMetrics } from '../manager/metrics.js';
