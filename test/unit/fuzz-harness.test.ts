import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type TestContext, test } from 'node:test';
import { DecompressError } from '../../src/errors.js';
import {
  type FindingKind,
  FuzzFinding,
  type FuzzTarget,
  type Reproducer,
  typedErrorCode,
} from '../support/fuzz-core.js';
import { type FuzzRunResult, runFuzz } from '../support/fuzz-runner.js';
import { SELFTEST_BAD_CASE } from '../support/fuzz-worker.js';

/** Runs a self-test target that misbehaves at case SELFTEST_BAD_CASE; returns its finding and saved file. */
async function selftest(
  t: TestContext,
  target: FuzzTarget,
  kind: FindingKind,
  hangMs = 5000,
): Promise<{ result: FuzzRunResult; saved: Reproducer }> {
  const dir = mkdtempSync(join(tmpdir(), 'shardline-fuzz-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const result = await runFuzz({ target, seed: 1, seconds: 30, hangMs, findingsDir: dir });
  const f = result.finding;
  assert.ok(f, `${target} must be a finding`);
  assert.equal(f.reproducer.kind, kind);
  assert.equal(f.reproducer.case, SELFTEST_BAD_CASE);
  assert.match(f.reproducer.chunks[0]!.hex, /^[0-9a-f]{16}$/);
  const saved = JSON.parse(readFileSync(f.file!, 'utf8')) as Reproducer;
  assert.deepEqual(saved.chunks, f.reproducer.chunks);
  return { result, saved };
}

test('the watchdog reports a case that hangs, with its input saved in hex', async (t) => {
  await selftest(t, 'selftest-hang', 'hang', 300);
});

test('an untyped error is a finding, and its reproducer replays to the same finding', async (t) => {
  const { result, saved } = await selftest(t, 'selftest-throw', 'untyped-error');
  assert.equal(result.stats.inputs, SELFTEST_BAD_CASE + 1);
  const again = await runFuzz({
    target: saved.target,
    seed: saved.seed,
    seconds: 30,
    hangMs: 5000,
    replay: saved,
  });
  assert.equal(again.finding?.reproducer.kind, 'untyped-error');
  assert.deepEqual(again.finding?.reproducer.chunks, saved.chunks);
});

test('a worker that dies is a crash finding with the input of the case it was running', async (t) => {
  await selftest(t, 'selftest-crash', 'crash');
});

test('a typed error that wraps a TypeError counts as a bug, not as a typed error', () => {
  const wrapped = new DecompressError('DECOMPRESSOR_FAILED', 'zstd: decoder failed unexpectedly', {
    cause: new TypeError("Cannot read properties of undefined (reading '0')"),
  });
  assert.throws(
    () => typedErrorCode(wrapped, 'push'),
    (err: unknown) => err instanceof FuzzFinding && err.kind === 'wrapped-bug',
  );
  assert.throws(
    () => typedErrorCode(new RangeError('Maximum call stack size exceeded'), 'push'),
    (err: unknown) => err instanceof FuzzFinding && err.kind === 'untyped-error',
  );
  assert.equal(typedErrorCode(new DecompressError('ZSTD_CORRUPT', 'bad'), 'push'), 'ZSTD_CORRUPT');
});
