/**
 * The fuzz loop, run in a worker thread by fuzz-runner.ts so that the main thread stays free to watch it:
 * before each case the worker writes the case record into shared memory and bumps the case counter; a
 * finding is posted with its reproducer; a hang or a dead worker is noticed (and the input read from
 * shared memory) by the watchdog in the main thread.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { seededRandom } from '../../src/util/clock.js';
import { etfRunner, type FuzzRunner, jsonRunner, zlibRunner, zstdRunner } from './fuzz-codecs.js';
import {
  type CaseRecord,
  describe,
  FuzzFinding,
  type FuzzTarget,
  fromReproducer,
  newStats,
  type Reproducer,
  randomBytes,
  type SharedCaseMemory,
  toReproducer,
  writeRecord,
} from './fuzz-core.js';
import { shardRunner } from './fuzz-shard.js';
import { simulatorRunner } from './fuzz-simulator.js';

export interface FuzzWorkerData {
  readonly target: FuzzTarget;
  readonly seed: number;
  readonly seconds: number;
  readonly cases: number;
  readonly memory: SharedCaseMemory;
  readonly replay?: Reproducer;
}

export type FuzzWorkerMessage =
  | { type: 'done'; stats: ReturnType<typeof newStats> }
  | { type: 'finding'; stats: ReturnType<typeof newStats>; reproducer: Reproducer; stack: string };

/** The case number at which the self-test targets misbehave. */
export const SELFTEST_BAD_CASE = 5;

function selftestRunner(kind: 'hang' | 'throw' | 'crash'): FuzzRunner {
  return {
    generate: (rand) => ({ settings: { kind }, chunks: [{ bytes: randomBytes(rand, 8) }] }),
    run(record, stats) {
      stats.inputs++;
      if (record.case !== SELFTEST_BAD_CASE) {
        stats.ok++;
        return;
      }
      if (kind === 'throw') throw new TypeError('selftest: an untyped error');
      if (kind === 'crash') process.exit(3);
      for (;;) {
        // selftest: a synchronous hang the watchdog must catch.
      }
    },
  };
}

async function runnerFor(target: FuzzTarget): Promise<FuzzRunner> {
  switch (target) {
    case 'etf':
      return etfRunner();
    case 'zlib':
      return zlibRunner();
    case 'zstd':
      return zstdRunner();
    case 'json':
      return jsonRunner();
    case 'simulator':
      return simulatorRunner();
    case 'shard':
      return shardRunner();
    case 'selftest-hang':
      return selftestRunner('hang');
    case 'selftest-throw':
      return selftestRunner('throw');
    case 'selftest-crash':
      return selftestRunner('crash');
  }
}

async function main(data: FuzzWorkerData): Promise<FuzzWorkerMessage> {
  const { target, seed, memory } = data;
  const stats = newStats(target, seed);
  const started = Date.now();
  const runner = await runnerFor(target);
  const rand = seededRandom(seed);
  let current: CaseRecord | undefined;
  const note = (record: CaseRecord) => {
    current = record;
    writeRecord(memory, record);
  };
  try {
    if (data.replay) {
      note(fromReproducer(data.replay));
      await runner.run(current!, stats, note);
    } else {
      // The budget counts from after the target's set-up, and a run always tries at least one input: on a
      // loaded machine building the hostile corpora alone can take longer than a one-second run.
      const stopAt = Date.now() + data.seconds * 1000;
      for (let n = 0; n < data.cases && (n === 0 || Date.now() < stopAt); n++) {
        note({ target, seed, case: n, ...runner.generate(rand) });
        const pending = runner.run(current!, stats, note);
        if (pending) await pending;
      }
    }
    await runner.finish?.(stats);
  } catch (err) {
    stats.seconds = (Date.now() - started) / 1000;
    const kind = err instanceof FuzzFinding ? err.kind : 'untyped-error';
    const message = err instanceof Error ? err.message : String(err);
    const record = current ?? { target, seed, case: -1, settings: { phase: 'finish' }, chunks: [] };
    try {
      await runner.finish?.(stats);
    } catch {
      // The finding is what matters; the final checks may fail after it too.
    }
    return { type: 'finding', stats, reproducer: toReproducer(record, kind, message), stack: describe(err) };
  }
  stats.seconds = (Date.now() - started) / 1000;
  return { type: 'done', stats };
}

if (parentPort) {
  const port = parentPort;
  main(workerData as FuzzWorkerData).then(
    (message) => port.postMessage(message),
    (err: unknown) => {
      // Setup failed: report it as an error of the worker (the runner turns it into a crash finding).
      throw err;
    },
  );
}
