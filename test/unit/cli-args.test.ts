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

test('a negative number after a flag is its value, so the flag says what is allowed', () => {
  const { values } = parseFlags(['--duration', '-1'], { duration: { type: 'string' } });
  assert.equal(values.duration, '-1');
  assert.throws(
    () => intFlag('duration', values.duration as string, { min: 1, max: 86_400 }),
    /^UsageError: --duration must be between 1 and 86400, got -1$/,
  );
});

test("parseArgs' reasons become one line that names the flag and keeps the hint", () => {
  const spec = { duration: { type: 'string' }, plain: { type: 'boolean' } } as const;
  const reason = (argv: string[]) => {
    try {
      parseFlags(argv, spec);
    } catch (err) {
      assert.ok(err instanceof UsageError);
      assert.ok(!err.message.includes('\n'), err.message);
      return err.message;
    }
    assert.fail(`${argv.join(' ')} was accepted`);
  };
  assert.equal(
    reason(['--duration', '-x']),
    "--duration needs a value, got the flag-like '-x'; to pass a value that starts with a dash write --duration=-x",
  );
  assert.equal(reason(['--duration']), '--duration needs a value');
  assert.equal(reason(['--plain=yes']), "--plain takes no value, got '--plain=yes'");
  assert.equal(reason(['--nope']), "Unknown option '--nope' (known: --duration, --plain)");
  assert.equal(reason(['stray']), "unexpected argument 'stray': this command takes only flags");
});
