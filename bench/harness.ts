/**
 * A tiny wrapper over tinybench: run a group of tasks side by side and print one table with the median,
 * min and max time per operation, operations per second and the speed ratio against a named baseline.
 *
 * Every bench file calls `runGroup()` once per group. Fast operations are batched (see `GroupOptions.batch`). Command-line flags understood by every bench:
 *   --time <ms>      time budget per task (default 1000)
 *   --json <path>    also append the results as JSON lines to <path>
 */
import { appendFileSync } from 'node:fs';
import { Bench } from 'tinybench';

export interface BenchRow {
  readonly name: string;
  /** Median time per operation in microseconds. */
  readonly medianUs: number;
  readonly minUs: number;
  readonly maxUs: number;
  /** Operations per second derived from the median. */
  readonly opsPerSec: number;
  readonly samples: number;
  /** `baseline median / this median`: above 1 means faster than the baseline. Undefined without baseline. */
  readonly speedup: number | undefined;
  readonly error?: string;
}

export interface BenchGroupResult {
  readonly title: string;
  readonly baseline: string | undefined;
  readonly rows: readonly BenchRow[];
}

export interface GroupOptions {
  /** Name of the task the others are compared with. Defaults to the first task. */
  readonly baseline?: string;
  /** Time budget per task in milliseconds (the `--time` flag overrides the default, not this). */
  readonly timeMs?: number;
  readonly warmupMs?: number;
  /**
   * Operations per timed sample. By default calibrated so one sample takes ≥ ~200 µs, which keeps the timer's
   * own cost out of sub-microsecond operations; min/max are then per-op averages over one sample.
   */
  readonly batch?: number;
}

const SAMPLE_TARGET_MS = 0.2;

/** How many calls of `fn` make one sample of at least SAMPLE_TARGET_MS (also warms the function up). */
function calibrateBatch(fn: () => unknown): number {
  let calls = 0;
  const start = performance.now();
  let elapsed = 0;
  while (elapsed < 20 && calls < 1_000_000) {
    fn();
    calls++;
    elapsed = performance.now() - start;
  }
  const perCall = elapsed / calls;
  return Math.max(1, Math.ceil(SAMPLE_TARGET_MS / Math.max(perCall, 1e-6)));
}

/** A task: a name and a synchronous function performing one operation. Undefined `fn` = skipped peer. */
export interface BenchTask {
  readonly name: string;
  readonly fn: (() => unknown) | undefined;
}

/** Reads `--flag value` from the process arguments. */
export function benchFlag(name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

const DEFAULT_TIME_MS = 1000;
const DEFAULT_WARMUP_MS = 250;

/** Runs the tasks one after the other in one process and prints a table. */
export function runGroup(
  title: string,
  tasks: readonly BenchTask[],
  options: GroupOptions = {},
): BenchGroupResult {
  const flagTime = Number(benchFlag('time'));
  const time = options.timeMs ?? (Number.isFinite(flagTime) && flagTime > 0 ? flagTime : DEFAULT_TIME_MS);
  const bench = new Bench({
    name: title,
    time,
    warmupTime: options.warmupMs ?? Math.min(DEFAULT_WARMUP_MS, time),
    iterations: 16,
  });
  const active = tasks.filter((t) => t.fn !== undefined);
  const batches = new Map<string, number>();
  for (const t of active) {
    const fn = t.fn as () => unknown;
    const batch = options.batch ?? calibrateBatch(fn);
    batches.set(t.name, batch);
    bench.add(
      t.name,
      batch === 1
        ? fn
        : () => {
            for (let i = 0; i < batch; i++) fn();
          },
    );
  }
  bench.runSync();

  const raw = new Map<string, Omit<BenchRow, 'speedup'>>();
  for (const task of bench.tasks) {
    const r = task.result;
    const batch = batches.get(task.name) ?? 1;
    if ('latency' in r) {
      const medianMs = r.latency.p50 / batch;
      raw.set(task.name, {
        name: task.name,
        medianUs: medianMs * 1000,
        minUs: (r.latency.min / batch) * 1000,
        maxUs: (r.latency.max / batch) * 1000,
        opsPerSec: medianMs > 0 ? 1000 / medianMs : Number.POSITIVE_INFINITY,
        samples: r.latency.samplesCount,
      });
    } else {
      const error = r.state === 'errored' ? String(r.error?.message ?? r.error) : r.state;
      raw.set(task.name, {
        name: task.name,
        medianUs: Number.NaN,
        minUs: Number.NaN,
        maxUs: Number.NaN,
        opsPerSec: Number.NaN,
        samples: 0,
        error,
      });
    }
  }
  const baselineName = options.baseline ?? active[0]?.name;
  const base = baselineName === undefined ? undefined : raw.get(baselineName);
  const rows: BenchRow[] = [];
  for (const t of tasks) {
    const row = raw.get(t.name);
    if (!row) {
      rows.push({
        name: t.name,
        medianUs: Number.NaN,
        minUs: Number.NaN,
        maxUs: Number.NaN,
        opsPerSec: Number.NaN,
        samples: 0,
        speedup: undefined,
        error: 'skipped (peer not installed)',
      });
      continue;
    }
    const speedup = base && !row.error && !base.error ? base.medianUs / row.medianUs : undefined;
    rows.push({ ...row, speedup });
  }
  const result: BenchGroupResult = { title, baseline: base ? baselineName : undefined, rows };
  printGroup(result);
  const jsonPath = benchFlag('json');
  if (jsonPath) appendFileSync(jsonPath, `${JSON.stringify(result)}\n`);
  return result;
}

function fmt(n: number, digits = 2): string {
  if (!Number.isFinite(n)) return '-';
  if (n >= 1000) return n.toFixed(0);
  if (n >= 100) return n.toFixed(1);
  return n.toFixed(digits);
}

function fmtOps(n: number): string {
  if (!Number.isFinite(n)) return '-';
  return Math.round(n).toLocaleString('en-US');
}

/** Prints a result as an aligned plain-text table (markdown-compatible). */
export function printGroup(result: BenchGroupResult): void {
  const header = ['task', 'median µs', 'min µs', 'max µs', 'ops/s', `× vs ${result.baseline ?? '-'}`];
  const lines = result.rows.map((r) =>
    r.error
      ? [r.name, r.error, '', '', '', '']
      : [
          r.name,
          fmt(r.medianUs),
          fmt(r.minUs),
          fmt(r.maxUs),
          fmtOps(r.opsPerSec),
          r.speedup === undefined ? '-' : `${r.speedup.toFixed(2)}×`,
        ],
  );
  const widths = header.map((h, i) => Math.max(h.length, ...lines.map((l) => (l[i] ?? '').length)));
  const row = (cells: readonly string[]) =>
    `| ${cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join(' | ')} |`;
  console.log(`\n### ${result.title}`);
  console.log(row(header));
  console.log(
    `|${widths.map((w, i) => (i === 0 ? `:${'-'.repeat(w + 1)}` : `${'-'.repeat(w + 1)}:`)).join('|')}|`,
  );
  for (const l of lines) console.log(row(l));
}
