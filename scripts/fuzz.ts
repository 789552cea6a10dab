/**
 * Fuzzes the ETF decoder, the zlib-stream and zstd-stream decompressors, the simulator's frame handling and
 * the shard's pure protocol machine against hostile gateway inputs. `npm run fuzz -- [options]` builds first; or `node dist/scripts/fuzz.js [options]`:
 *   --seconds N      per target (default 30)
 *   --cases N        stop a target after N cases (default: no limit)
 *   --seed S         seed of the first target; target i uses S + i (default: from the clock; printed)
 *   --target LIST    comma-separated: etf, zlib, zstd, json, simulator, shard (default: all)
 *   --hang-ms N      a case running longer is a hang (default 2000; 10000 for the simulator)
 *   --findings DIR   where reproducers are saved (default fuzz-findings)
 *   --replay FILE    runs one saved reproducer again
 * Each target runs in a worker thread under a watchdog. Exits 1 on any finding (crash, hang, untyped error,
 * broken contract), after printing it and the path of its reproducer.
 */
import { readFileSync } from 'node:fs';
import { FUZZ_TARGETS, type FuzzTarget, type Reproducer } from '../test/support/fuzz-core.js';
import { type FuzzRunResult, formatStats, runFuzz } from '../test/support/fuzz-runner.js';

function option(name: string): string | undefined {
  const i = process.argv.lastIndexOf(`--${name}`); // the last one wins: `npm run fuzz:etf -- --seconds 5`
  return i >= 0 ? process.argv[i + 1] : undefined;
}

function numberOption(name: string, fallback: number): number {
  const raw = option(name);
  if (raw === undefined) return fallback;
  const v = Number(raw);
  if (!Number.isFinite(v) || v < 0) {
    console.error(`fuzz: --${name} expects a non-negative number, got ${raw}`);
    process.exit(2);
  }
  return v;
}

function targets(): FuzzTarget[] {
  const raw = option('target');
  if (raw === undefined) return [...FUZZ_TARGETS];
  const list = raw.split(',').map((s) => s.trim());
  for (const t of list) {
    if (!(FUZZ_TARGETS as readonly string[]).includes(t)) {
      console.error(`fuzz: unknown target ${t}; expected ${FUZZ_TARGETS.join(', ')}`);
      process.exit(2);
    }
  }
  return list as FuzzTarget[];
}

function report(result: FuzzRunResult): boolean {
  console.log(`  ${formatStats(result.stats)}`);
  const f = result.finding;
  if (!f) return true;
  const r = f.reproducer;
  console.error(`FINDING in ${r.target} (${r.kind}), seed ${r.seed}, case ${r.case}: ${r.message}`);
  console.error(`  settings: ${JSON.stringify(r.settings)}`);
  const hex = r.chunks.map((c) => c.hex).join(' | ');
  console.error(
    `  input (hex, ${r.chunks.length} chunk(s)): ${hex.length > 600 ? `${hex.slice(0, 600)}…` : hex}`,
  );
  if (f.file) console.error(`  reproducer: ${f.file} (node dist/scripts/fuzz.js --replay ${f.file})`);
  console.error(`  ${f.detail.split('\n').slice(0, 8).join('\n  ')}`);
  return false;
}

const findingsDir = option('findings') ?? 'fuzz-findings';
const replayFile = option('replay');
if (replayFile !== undefined) {
  const reproducer = JSON.parse(readFileSync(replayFile, 'utf8')) as Reproducer;
  console.log(
    `fuzz: replaying ${replayFile} (${reproducer.target}, seed ${reproducer.seed}, case ${reproducer.case})`,
  );
  const result = await runFuzz({
    target: reproducer.target,
    seed: reproducer.seed,
    seconds: 600,
    hangMs: numberOption('hang-ms', reproducer.target === 'simulator' ? 10_000 : 2000),
    replay: reproducer,
  });
  const ok = report(result);
  console.log(ok ? 'fuzz: the case passes now' : 'fuzz: the case still fails');
  process.exit(ok ? 0 : 1);
}

const seconds = numberOption('seconds', 30);
const cases = numberOption('cases', Number.POSITIVE_INFINITY);
const seed = Math.floor(numberOption('seed', Date.now() % 2 ** 31));
const list = targets();
console.log(`fuzz: seed ${seed}, ${seconds} s per target, targets ${list.join(', ')}`);
let ok = true;
for (const [i, target] of list.entries()) {
  const hangMs = numberOption('hang-ms', target === 'simulator' ? 10_000 : 2000);
  const result = await runFuzz({ target, seed: seed + i, seconds, cases, hangMs, findingsDir });
  ok = report(result) && ok;
}
console.log(ok ? 'fuzz: no findings' : 'fuzz: FINDINGS (see above)');
process.exit(ok ? 0 : 1);
