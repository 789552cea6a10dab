/**
 * Runs one fuzz target in a worker thread under a watchdog: when a case takes longer than `hangMs` (the
 * case counter in shared memory stops moving), or the worker dies, the input of that case is read from
 * shared memory and reported like any other finding. A finding is saved as a JSON reproducer (chunks in
 * hex) that `--replay FILE` runs again.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import {
  CONTROL_CASES,
  type FindingKind,
  type FuzzTarget,
  newSharedCaseMemory,
  newStats,
  type Reproducer,
  readRecord,
  type TargetStats,
  toReproducer,
} from './fuzz-core.js';
import type { FuzzWorkerData, FuzzWorkerMessage } from './fuzz-worker.js';

export interface FuzzRunOptions {
  readonly target: FuzzTarget;
  readonly seed: number;
  /** Stop after this many seconds (of the worker's clock) … */
  readonly seconds: number;
  /** … or after this many cases, whichever comes first. */
  readonly cases?: number;
  /** A case that runs longer than this is a hang. */
  readonly hangMs: number;
  /** Where reproducers are written; none when undefined. */
  readonly findingsDir?: string;
  /** Run this saved case instead of generating cases. */
  readonly replay?: Reproducer;
}

export interface FuzzFindingReport {
  readonly reproducer: Reproducer;
  /** Stack or details of the failure. */
  readonly detail: string;
  /** The reproducer file, when `findingsDir` was given. */
  readonly file?: string;
}

export interface FuzzRunResult {
  readonly stats: TargetStats;
  readonly finding?: FuzzFindingReport;
}

const POLL_MS = 100;
/** Time allowed to start the worker and build the corpora (or start the simulator) before the first case. */
const SETUP_MS = 60_000;

export function runFuzz(options: FuzzRunOptions): Promise<FuzzRunResult> {
  const memory = newSharedCaseMemory();
  const control = new Int32Array(memory.control);
  const data: FuzzWorkerData = {
    target: options.target,
    seed: options.seed,
    seconds: options.seconds,
    cases: options.cases ?? Number.POSITIVE_INFINITY,
    memory,
    ...(options.replay ? { replay: options.replay } : {}),
  };
  const worker = new Worker(new URL('./fuzz-worker.js', import.meta.url), { workerData: data });
  const startedAt = Date.now();
  return new Promise<FuzzRunResult>((resolve) => {
    let settled = false;
    let lastCases = -1;
    let lastChange = Date.now();
    const finish = (result: FuzzRunResult) => {
      if (settled) return;
      settled = true;
      clearInterval(watchdog);
      void worker.terminate().finally(() => resolve(save(result, options.findingsDir)));
    };
    /** A finding the worker could not report itself: built from the record in shared memory. */
    const fromMemory = (kind: FindingKind, message: string, detail: string) => {
      const read = readRecord(memory);
      const record = read?.record ?? {
        target: options.target,
        seed: options.seed,
        case: -1,
        settings: { phase: 'setup' },
        chunks: [],
      };
      const stats = newStats(options.target, options.seed);
      stats.inputs = Atomics.load(control, CONTROL_CASES);
      stats.seconds = (Date.now() - startedAt) / 1000;
      finish({
        stats,
        finding: { reproducer: toReproducer(record, kind, message, read?.truncated ?? false), detail },
      });
    };
    const watchdog = setInterval(() => {
      const cases = Atomics.load(control, CONTROL_CASES);
      const now = Date.now();
      if (cases !== lastCases) {
        lastCases = cases;
        lastChange = now;
      } else if (now - lastChange > (cases === 0 ? Math.max(SETUP_MS, options.hangMs) : options.hangMs)) {
        fromMemory(
          'hang',
          `case ${cases - 1} ran for more than ${options.hangMs} ms`,
          `no progress for ${now - lastChange} ms`,
        );
      }
    }, POLL_MS);
    worker.on('message', (m: FuzzWorkerMessage) => {
      if (m.type === 'done') finish({ stats: m.stats });
      else finish({ stats: m.stats, finding: { reproducer: m.reproducer, detail: m.stack } });
    });
    worker.on('error', (err) => {
      fromMemory('crash', `the fuzz worker threw: ${err.message}`, err.stack ?? String(err));
    });
    worker.on('exit', (code) => {
      fromMemory('crash', `the fuzz worker exited with code ${code}`, `exit code ${code}`);
    });
  });
}

function save(result: FuzzRunResult, dir: string | undefined): FuzzRunResult {
  if (!result.finding || dir === undefined) return result;
  const r = result.finding.reproducer;
  mkdirSync(dir, { recursive: true });
  const file = join(dir, `${r.target}-seed${r.seed}-case${r.case}-${r.kind}.json`);
  writeFileSync(file, `${JSON.stringify({ ...r, detail: result.finding.detail }, null, 2)}\n`);
  return { ...result, finding: { ...result.finding, file } };
}

/** One line of counts for a target: inputs, ok, typed errors by code, extra counters. */
export function formatStats(s: TargetStats): string {
  const codes = Object.entries(s.errors)
    .sort((a, b) => b[1] - a[1])
    .map(([k, v]) => `${k} ${v}`)
    .join(', ');
  const extra = Object.entries(s.extra)
    .map(([k, v]) => `${k} ${v}`)
    .join(', ');
  return (
    `${s.target}: seed ${s.seed}, ${s.inputs} inputs in ${s.seconds.toFixed(1)} s, ${s.ok} ok` +
    `${codes ? `; errors: ${codes}` : ''}${extra ? `; ${extra}` : ''}`
  );
}
