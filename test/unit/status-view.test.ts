import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  formatDuration,
  progressBar,
  renderPlainLine,
  renderStatus,
  type StatusSnapshot,
} from '../../src/cli/status-view.js';

const snapshot: StatusSnapshot = {
  title: 'shardline demo',
  uptimeMs: 65_000,
  expectedShards: 4,
  startupEtaMs: 5_000,
  startingUp: true,
  shards: [
    { id: 0, state: 'ready', latencyMs: 12.4, eventsPerSecond: 101, seq: 4521, guilds: 75, reconnects: 1 },
    { id: 1, state: 'ready', latencyMs: 8, eventsPerSecond: 99, seq: 4400, guilds: 70, reconnects: 0 },
    { id: 2, state: 'identifying', latencyMs: null, eventsPerSecond: 0, seq: 0, guilds: 0, reconnects: 0 },
  ],
  recentEvents: [
    { at: Date.UTC(2026, 10, 28, 12, 0, 1), shard: 0, type: 'MESSAGE_CREATE', summary: 'guild 1' },
  ],
  footer: ['keys: r = resume fault'],
};

test('renders a row per shard, totals, startup progress and recent events', () => {
  const lines = renderStatus(snapshot);
  assert.equal(lines[0], 'shardline demo · up 1m05s');
  assert.match(lines[2]!, /^\s+0 {2}ready\s+12 ms\s+101\s+4521\s+75\s+1$/);
  assert.match(lines[4]!, /^\s+2 {2}identifying\s+-\s+0\s+0\s+0\s+0$/);
  assert.match(lines[5]!, /^\s*total {2}2\/4 ready\s+10 ms\s+200\s+145\s+1$/);
  assert.equal(lines[6], `starting ${progressBar(2, 4)} 2/4 READY · ETA 5s`);
  assert.equal(lines[7], 'last events:');
  assert.equal(lines[8], '  12:00:01 #0 MESSAGE_CREATE guild 1');
  assert.equal(lines.at(-1), 'keys: r = resume fault');
});

test('drops the progress line once every shard is ready and clips to the width', () => {
  const all = { ...snapshot, expectedShards: 2, shards: snapshot.shards.slice(0, 2) };
  const lines = renderStatus(all, 30);
  assert.ok(!lines.some((l) => l.startsWith('starting')));
  assert.ok(lines.every((l) => l.length <= 30));
});

test('a shard that drops after startup shows in the totals, not as a startup progress bar', () => {
  const running = { ...snapshot, startingUp: false, startupEtaMs: null };
  const lines = renderStatus(running);
  assert.ok(!lines.some((l) => l.startsWith('starting')), lines.join('\n'));
  assert.match(lines[5]!, /^\s*total {2}2\/4 ready/);
});

test('notes explain closes under the table, before the footer', () => {
  const lines = renderStatus({ ...snapshot, notes: ['12:00:02 shard 2: identify refused (op 9)'] });
  assert.equal(lines.at(-2), '12:00:02 shard 2: identify refused (op 9)');
  assert.equal(lines.at(-1), 'keys: r = resume fault');
});

test('the plain line carries totals and per-shard states', () => {
  assert.equal(
    renderPlainLine(snapshot),
    'status up=1m05s ready=2/4 events/s=200 reconnects=1 shards=[0:ready 1:ready 2:identifying]',
  );
});

test('durations and bars format at their edges', () => {
  assert.equal(formatDuration(0), '0s');
  assert.equal(formatDuration(59_400), '59s');
  assert.equal(formatDuration(3_600_000 + 120_000), '1h02m');
  assert.equal(progressBar(0, 4, 4), '[----]');
  assert.equal(progressBar(4, 4, 4), '[####]');
  assert.equal(progressBar(9, 4, 4), '[####]');
  assert.equal(progressBar(0, 0, 2), '[##]');
});
