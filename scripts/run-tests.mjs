#!/usr/bin/env node
// Runs every compiled test file under dist/test with node's test runner, from an explicit file list
// (not every supported Node's --test globs the same way). Fails when the list is empty. Usage:
//   node scripts/run-tests.mjs [--exclude substring ...] [substring-filter ...]
import { spawnSync } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';

const root = new URL('..', import.meta.url).pathname;
const testDir = join(root, 'dist', 'test');

function walk(dir) {
  const out = [];
  let entries;
  try {
    entries = readdirSync(dir);
  } catch {
    return out;
  }
  for (const name of entries.sort()) {
    const full = join(dir, name);
    if (statSync(full).isDirectory()) out.push(...walk(full));
    else if (name.endsWith('.test.js')) out.push(full);
  }
  return out;
}

const filters = [];
const excludes = [];
const args = process.argv.slice(2);
for (let i = 0; i < args.length; i++) {
  if (args[i] === '--exclude' && args[i + 1] !== undefined) excludes.push(args[++i]);
  else filters.push(args[i]);
}
const files = walk(testDir)
  .map((f) => relative(root, f))
  .filter((f) => filters.length === 0 || filters.some((s) => f.includes(s)))
  .filter((f) => !excludes.some((s) => f.includes(s)));
if (files.length === 0) {
  console.error(
    `run-tests: no test files found under ${relative(root, testDir) || testDir} — did the build run?`,
  );
  process.exit(1);
}
console.log(`run-tests: ${files.length} test files`);
// --test-timeout can apply to a test file as a whole (Node 20 did so), not only to each test in it. The longest
// file, test/integration/readme-commands.test.ts (every README command in a fresh copy: npm install, three
// builds, demo, chaos and proxy runs; the install builds one native devDependency), takes 2–5 min on a loaded
// 2-core machine, so the limit is 10 min: a hang guard, not a timing check.
const result = spawnSync(
  process.execPath,
  ['--test', '--test-concurrency=2', '--test-timeout=600000', ...files],
  { cwd: root, stdio: 'inherit', env: { ...process.env, SHARDLINE_TEST: '1' } },
);
process.exit(result.status ?? 1);
