import assert from 'node:assert/strict';
import { test } from 'node:test';
import { choiceFlag, intFlag, parseFlags, rangeFlag, UsageError } from '../../src/cli/args.js';

test('unknown flags become a one-line UsageError', () => {
  assert.throws(
    () => parseFlags(['--nope'], { port: { type: 'string' } }),
    (err: unknown) => err instanceof UsageError && err.code === 'CLI_USAGE' && !err.message.includes('\n'),
  );
});

test('integer flags reject words, fractions and out-of-range values', () => {
  assert.equal(intFlag('port', undefined), undefined);
  assert.equal(intFlag('port', '8080', { max: 65535 }), 8080);
  assert.throws(() => intFlag('port', 'abc'), /--port must be a whole number, got 'abc'/);
  assert.throws(() => intFlag('port', '1.5'), /whole number/);
  assert.throws(
    () => intFlag('port', '70000', { max: 65535 }),
    /--port must be between 0 and 65535, got 70000/,
  );
});

test('choice flags list what is allowed', () => {
  assert.equal(choiceFlag('encoding', 'etf', ['json', 'etf'] as const), 'etf');
  assert.throws(
    () => choiceFlag('encoding', 'xml', ['json', 'etf'] as const),
    /must be one of json, etf, got 'xml'/,
  );
});

test('shard ranges expand, dedupe and sort', () => {
  assert.deepEqual(rangeFlag('shards', '0-3'), [0, 1, 2, 3]);
  assert.deepEqual(rangeFlag('shards', '5,0-1,1'), [0, 1, 5]);
  assert.throws(() => rangeFlag('shards', '3-1'), /runs backwards/);
  assert.throws(() => rangeFlag('shards', 'a-b'), /must look like/);
});
