import assert from 'node:assert/strict';
import { test } from 'node:test';
import { backoffDelay, DEFAULT_BACKOFF_OPTIONS } from '../../src/util/backoff.js';

const noJitter = { baseMs: 100, maxMs: 5_000, factor: 2, jitter: 0 };

test('grows by the factor per attempt and stops at the cap', () => {
  assert.deepEqual(
    [0, 1, 2, 3, 4, 5, 6, 7].map((a) => backoffDelay(a, 0.5, noJitter)),
    [100, 200, 400, 800, 1_600, 3_200, 5_000, 5_000],
  );
});

test('jitter keeps delays within [d × (1 - jitter), d]', () => {
  const o = { ...noJitter, jitter: 0.5 };
  assert.equal(backoffDelay(2, 0, o), 200);
  assert.equal(backoffDelay(2, 0.999999, o), 400);
});

test('huge attempt numbers stay at the cap instead of overflowing', () => {
  assert.equal(backoffDelay(10_000, 1, DEFAULT_BACKOFF_OPTIONS), DEFAULT_BACKOFF_OPTIONS.maxMs);
  assert.equal(backoffDelay(Number.MAX_SAFE_INTEGER, 0, noJitter), 5_000);
});

test('negative or fractional attempts count as their floor, at least 0', () => {
  assert.equal(backoffDelay(-3, 0, noJitter), 100);
  assert.equal(backoffDelay(1.9, 0, noJitter), 200);
});
