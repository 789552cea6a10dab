import assert from 'node:assert/strict';
import { test } from 'node:test';
import { formatStats, runFuzz } from '../support/fuzz-runner.js';

// Short runs of `npm run fuzz` (same worker, watchdog and checks), fixed seeds, bounded by cases and time.
const RUNS = [
  {
    target: 'etf',
    seed: 101,
    cases: 12_000,
    codes: ['ETF_TRUNCATED', 'ETF_TOO_LARGE', 'ETF_DEPTH_EXCEEDED'],
  },
  {
    target: 'zlib',
    seed: 202,
    cases: 1_500,
    codes: ['ZLIB_INVALID', 'PAYLOAD_TOO_LARGE', 'TOO_MANY_FRAGMENTS'],
  },
  {
    target: 'zstd',
    seed: 303,
    cases: 1_000,
    codes: ['ZSTD_CORRUPT', 'PAYLOAD_TOO_LARGE', 'TOO_MANY_FRAGMENTS'],
  },
  { target: 'json', seed: 404, cases: 4_000, codes: ['JSON_INVALID', 'JSON_TOO_COMPLEX'] },
] as const;

for (const run of RUNS) {
  test(`fuzzing the ${run.target} decoder finds no crash, hang or untyped error (seed ${run.seed})`, async () => {
    const result = await runFuzz({
      target: run.target,
      seed: run.seed,
      cases: run.cases,
      seconds: 3,
      hangMs: 5000,
    });
    const f = result.finding;
    assert.equal(
      f,
      undefined,
      f && `${f.reproducer.kind}: ${f.reproducer.message}\n${JSON.stringify(f.reproducer).slice(0, 2000)}`,
    );
    const s = result.stats;
    assert.ok(s.inputs >= Math.min(run.cases, 100), formatStats(s));
    assert.ok(s.ok > 0, formatStats(s));
    for (const code of run.codes) assert.ok((s.errors[code] ?? 0) > 0, `${code}: ${formatStats(s)}`);
  });
}
