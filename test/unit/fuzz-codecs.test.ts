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
    // A floor that proves the loop ran; the codes below prove what it reached (bombs and endless messages make
    // single cases slow on a loaded machine, so the count in 3 s varies).
    assert.ok(s.inputs >= Math.min(run.cases, 20), formatStats(s));
    assert.ok(s.ok > 0, formatStats(s));
    for (const code of run.codes) assert.ok((s.errors[code] ?? 0) > 0, `${code}: ${formatStats(s)}`);
  });
}

test('fuzzing the shard machine with hostile gateway inputs: no exception, no bad timer or payload, no token (seed 505)', async () => {
  const result = await runFuzz({ target: 'shard', seed: 505, cases: 400, seconds: 60, hangMs: 5000 });
  const f = result.finding;
  assert.equal(
    f,
    undefined,
    f && `${f.reproducer.kind}: ${f.reproducer.message}\n${JSON.stringify(f.reproducer).slice(0, 2000)}`,
  );
  const s = result.stats;
  // Case counts decide the reach, not time: 400 runs of 10-200 inputs each.
  assert.equal(s.inputs, 400, formatStats(s));
  for (const code of ['PROTOCOL_VIOLATION', 'GATEWAY_CLOSED']) {
    assert.ok(
      Object.keys(s.errors).some((k) => k.endsWith(code)),
      `${code}: ${formatStats(s)}`,
    );
  }
  assert.ok((s.extra.resumes ?? 0) > 0 && (s.extra.dispatches ?? 0) > 0, formatStats(s));
});
