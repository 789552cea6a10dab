import assert from 'node:assert/strict';
import { test } from 'node:test';
import { formatStats, runFuzz } from '../support/fuzz-runner.js';

test('fuzzed frames get documented close codes, and the simulator keeps serving (seed 404)', async () => {
  // Same worker, oracle and final checks as `npm run fuzz -- --target simulator`: a control connection
  // still gets its heartbeat ACKed at the end and the simulator's stats match what the clients did.
  // Bounded by cases, not by time: at load 18 a 5 s budget ran only 18 inputs. `seconds` is only a cap.
  const result = await runFuzz({ target: 'simulator', seed: 404, cases: 150, seconds: 120, hangMs: 10_000 });
  const f = result.finding;
  assert.equal(f, undefined, f && `${f.reproducer.message}\n${JSON.stringify(f.reproducer).slice(0, 2000)}`);
  const s = result.stats;
  assert.ok(s.inputs >= 50, formatStats(s));
  assert.ok(s.ok > 0, formatStats(s));
  for (const code of ['4002', '4001', '4003'])
    assert.ok((s.errors[code] ?? 0) > 0, `${code}: ${formatStats(s)}`);
});
