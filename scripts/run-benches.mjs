#!/usr/bin/env node
// Runs every compiled bench file dist/bench/*.bench.js one after the other, each in its own node process.
// Usage: node scripts/run-benches.mjs [name-substring ...] [-- flags passed to every bench, e.g. --time 2000]
// (`npm run bench` builds first.) Each bench file is also runnable alone: node dist/bench/etf.bench.js
import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { join, relative } from 'node:path';

const root = new URL('..', import.meta.url).pathname;
const benchDir = join(root, 'dist', 'bench');

const args = process.argv.slice(2);
const sep = args.indexOf('--');
const filters = sep >= 0 ? args.slice(0, sep) : args;
const passThrough = sep >= 0 ? args.slice(sep + 1) : [];

let files;
try {
  files = readdirSync(benchDir)
    .filter((f) => f.endsWith('.bench.js'))
    .sort()
    .map((f) => join(benchDir, f));
} catch {
  files = [];
}
files = files.filter((f) => filters.length === 0 || filters.some((s) => f.includes(s)));
if (files.length === 0) {
  console.error('run-benches: no bench files found under dist/bench — did the build run?');
  process.exit(1);
}
let failed = 0;
for (const file of files) {
  console.log(`\n## ${relative(root, file)}  (node ${process.version}, ${new Date().toISOString()})`);
  const r = spawnSync(process.execPath, ['--expose-gc', file, ...passThrough], {
    cwd: root,
    stdio: 'inherit',
  });
  if (r.status !== 0) {
    failed++;
    console.error(`run-benches: ${relative(root, file)} exited with ${r.status ?? r.signal}`);
  }
}
process.exit(failed > 0 ? 1 : 0);
