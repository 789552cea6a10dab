import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

// Runs from dist/test/unit; the committed reports live in <root>/api.
const root = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');

test('the public API matches the committed report of every entry point', () => {
  const run = spawnSync(process.execPath, [join(root, 'scripts', 'api-report.mjs')], { encoding: 'utf8' });
  assert.equal(run.status, 0, `${run.stdout}${run.stderr}`);
});

test('every type a public signature names is exported by its entry point', () => {
  for (const name of readdirSync(join(root, 'api')).filter((f) => f.endsWith('.api.md'))) {
    const forgotten = readFileSync(join(root, 'api', name), 'utf8')
      .split('\n')
      .filter((line) => line.includes('ae-forgotten-export'));
    assert.deepEqual(forgotten, [], `api/${name}`);
  }
});
