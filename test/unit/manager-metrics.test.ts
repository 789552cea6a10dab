import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ManagerMetrics, serveMetrics } from '../../src/manager/metrics.js';
import { parsePrometheus, sampleValue } from '../support/prometheus.js';

test('exposes shard status, latency, events, reconnects, budget and loop lag in Prometheus text', async (t) => {
  const metrics = new ManagerMetrics();
  t.after(() => metrics.close());
  metrics.setShardStatus(0, 'connecting');
  metrics.setShardStatus(0, 'ready');
  metrics.setShardStatus(1, 'resuming');
  metrics.heartbeatLatency.observe({ shard: '0' }, 0.042);
  metrics.events.inc({ type: 'MESSAGE_CREATE' }, 3);
  metrics.reconnects.inc({ reason: '4000' });
  metrics.identifiesRemaining.set(997);
  const parsed = parsePrometheus(await metrics.collect());
  assert.equal(sampleValue(parsed, 'shardline_shard_status', { shard: '0', status: 'ready' }), 1);
  assert.equal(sampleValue(parsed, 'shardline_shard_status', { shard: '0', status: 'connecting' }), 0);
  assert.equal(sampleValue(parsed, 'shardline_shard_status', { shard: '1', status: 'resuming' }), 1);
  assert.equal(sampleValue(parsed, 'shardline_heartbeat_latency_seconds_count', { shard: '0' }), 1);
  assert.equal(
    sampleValue(parsed, 'shardline_heartbeat_latency_seconds_bucket', { shard: '0', le: '0.05' }),
    1,
  );
  assert.equal(sampleValue(parsed, 'shardline_events_total', { type: 'MESSAGE_CREATE' }), 3);
  assert.equal(sampleValue(parsed, 'shardline_reconnects_total', { reason: '4000' }), 1);
  assert.equal(sampleValue(parsed, 'shardline_identifies_remaining'), 997);
  assert.ok((sampleValue(parsed, 'shardline_event_loop_lag_seconds') ?? -1) >= 0);
  assert.equal(parsed.types.get('shardline_heartbeat_latency_seconds'), 'histogram');
  metrics.removeShard(1);
  const after = parsePrometheus(await metrics.collect());
  assert.equal(sampleValue(after, 'shardline_shard_status', { shard: '1' }), undefined);
});

test('two managers keep separate registries', async (t) => {
  const a = new ManagerMetrics();
  const b = new ManagerMetrics();
  t.after(() => {
    a.close();
    b.close();
  });
  a.events.inc({ type: 'READY' });
  assert.equal(
    sampleValue(parsePrometheus(await b.collect()), 'shardline_events_total', { type: 'READY' }),
    undefined,
  );
});

test('serveMetrics answers GET /metrics and 404 elsewhere', async (t) => {
  const metrics = new ManagerMetrics();
  metrics.identifiesRemaining.set(5);
  const server = await serveMetrics({ collectMetrics: () => metrics.collect() }, { port: 0 });
  t.after(async () => {
    await server.close();
    metrics.close();
  });
  const res = await fetch(server.url);
  assert.equal(res.status, 200);
  assert.match(res.headers.get('content-type') ?? '', /text\/plain/);
  assert.equal(sampleValue(parsePrometheus(await res.text()), 'shardline_identifies_remaining'), 5);
  const missing = await fetch(server.url.replace('/metrics', '/nope'));
  assert.equal(missing.status, 404);
  await missing.text();
});

test('countEvent counts reach events_total at scrape time, added to inc() counts', async (t) => {
  const metrics = new ManagerMetrics();
  t.after(() => metrics.close());
  for (let i = 0; i < 5; i++) metrics.countEvent('MESSAGE_CREATE');
  metrics.countEvent('TYPING_START');
  metrics.events.inc({ type: 'MESSAGE_CREATE' }, 2);
  const first = parsePrometheus(await metrics.collect());
  assert.equal(sampleValue(first, 'shardline_events_total', { type: 'MESSAGE_CREATE' }), 7);
  assert.equal(sampleValue(first, 'shardline_events_total', { type: 'TYPING_START' }), 1);
  metrics.countEvent('MESSAGE_CREATE');
  const second = parsePrometheus(await metrics.collect());
  assert.equal(sampleValue(second, 'shardline_events_total', { type: 'MESSAGE_CREATE' }), 8);
  assert.equal(sampleValue(second, 'shardline_events_total', { type: 'TYPING_START' }), 1);
});
