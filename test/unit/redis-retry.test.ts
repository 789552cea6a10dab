import assert from 'node:assert/strict';
import { test } from 'node:test';
import { retryDelayMs } from '../../src/redis/client.js';

test('Redis retry waits start at 100 ms, double, and stop growing at 5 s', () => {
  assert.deepEqual(
    [0, 1, 2, 3, 4, 5, 6, 7, 50].map(retryDelayMs),
    [100, 200, 400, 800, 1600, 3200, 5000, 5000, 5000],
  );
});
