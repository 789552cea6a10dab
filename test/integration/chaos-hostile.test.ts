import assert from 'node:assert/strict';
import { test } from 'node:test';
import { runHostileChaos } from '../support/hostile-chaos.js';
import { HOSTILE_CLASSES } from '../support/hostile-server.js';

test('shards and a manager against a seeded malicious gateway: no crash, no storm, no leak, every valid dispatch once', async () => {
  const report = await runHostileChaos({
    seed: 7,
    durationMs: 3_000,
    untilEveryClassMs: 60_000,
    managerShards: 2,
    eventEveryMs: 40,
    hostileEveryMs: 150,
    maxPayloadBytes: 4 * 1024 * 1024,
    bombElements: 1_200_000,
    nestingDepth: 20_000,
    backoff: { baseMs: 20, maxMs: 400 },
    maxHeapGrowthBytes: 512 * 1024 * 1024,
    log: process.env.SHARDLINE_DEBUG ? (line) => process.stderr.write(`${line}\n`) : undefined,
  });
  // Seeded and rotating, and the attack goes on until every class was sent once.
  for (const kind of HOSTILE_CLASSES) {
    assert.ok(
      (report.hostileSent[kind] ?? 0) > 0,
      `no ${kind} was sent: ${JSON.stringify(report.hostileSent)}`,
    );
  }
  assert.deepEqual(report.failures, []);
  assert.equal(report.ready, report.shards);
  assert.ok(report.validDelivered > 100, `only ${report.validDelivered} valid dispatches delivered`);
  assert.deepEqual(report.unhandled, []);
  assert.deepEqual(report.tokenLeaks, []);
  // The limits answered with their own codes (each class reached the check meant for it).
  for (const code of ['PROTOCOL_VIOLATION', 'PAYLOAD_TOO_LARGE', 'TOO_MANY_FRAGMENTS', 'JSON_TOO_COMPLEX']) {
    assert.ok((report.errorsByCode[code] ?? 0) > 0, `no ${code}: ${JSON.stringify(report.errorsByCode)}`);
  }
});
