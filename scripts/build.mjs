#!/usr/bin/env node
// Compiles the TypeScript sources to dist/ with tsc, incrementally (dist/.tsbuildinfo), and says so: a cold
// build takes tens of seconds on a small machine and tsc prints nothing while it works. When no input is
// newer than the last build, tsc is not started at all. Runs at install (`prepare`), before `npm start`,
// `npm test` and the benches. Usage: node scripts/build.mjs [--force]
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';

const root = new URL('..', import.meta.url).pathname;
const buildInfo = join(root, 'dist', '.tsbuildinfo');
// tsc leaves .tsbuildinfo untouched when nothing changed, so the time of the last build is kept here.
const stamp = join(root, 'dist', '.build-stamp');
const INPUT_DIRS = ['src', 'test', 'bench', 'scripts'];
const INPUT_FILES = ['tsconfig.json', 'package.json', 'package-lock.json'];

/** The newest modification time among the build's inputs (ms). */
function newestInput() {
  let newest = 0;
  const visit = (path) => {
    let st;
    try {
      st = statSync(path);
    } catch {
      return;
    }
    if (st.isDirectory()) {
      for (const name of readdirSync(path)) if (name !== 'node_modules') visit(join(path, name));
    } else if (path.endsWith('.ts') || INPUT_FILES.some((f) => path === join(root, f))) {
      newest = Math.max(newest, st.mtimeMs);
    }
  };
  for (const dir of INPUT_DIRS) visit(join(root, dir));
  for (const file of INPUT_FILES) visit(join(root, file));
  return newest;
}

const force = process.argv.includes('--force');
if (!force && existsSync(buildInfo) && existsSync(stamp) && newestInput() <= statSync(stamp).mtimeMs) {
  console.log('build: dist/ is up to date (no source changed since the last build)');
  process.exit(0);
}
const cold = !existsSync(buildInfo);
console.log(
  cold
    ? 'build: compiling TypeScript to dist/ with tsc (first build: up to a minute on a 2-core machine) …'
    : 'build: recompiling what changed since the last build (tsc, incremental) …',
);
const started = performance.now();
const startedAt = new Date();
const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
const result = spawnSync(process.execPath, [tsc, '-p', join(root, 'tsconfig.json')], {
  cwd: root,
  stdio: 'inherit',
});
if (result.status !== 0) {
  console.error(`build: tsc failed (exit ${result.status ?? result.signal})`);
  process.exit(result.status ?? 1);
}
// The start time: a file saved while tsc ran is newer than the stamp and gets compiled next time.
writeFileSync(stamp, '');
utimesSync(stamp, startedAt, startedAt);
console.log(`build: done in ${((performance.now() - started) / 1000).toFixed(1)} s`);
