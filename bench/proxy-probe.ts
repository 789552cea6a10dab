/**
 * What delays a process's event handling, measured from inside it (for the `proxy.ts` bench): the event
 * loop delay (`monitorEventLoopDelay`, 1 ms resolution: how late a timer ran, i.e. how long the loop was
 * busy or descheduled) and the GC pauses (`PerformanceObserver` 'gc'). `start()` resets, `stop()` reports.
 */
import {
  constants,
  type IntervalHistogram,
  monitorEventLoopDelay,
  PerformanceObserver,
} from 'node:perf_hooks';

export interface ProbeReport {
  /** Event loop delay in ms (how much later than due a 1 ms timer ran): p50, p99, max. */
  readonly loopP50: number;
  readonly loopP99: number;
  readonly loopMax: number;
  readonly gcCount: number;
  readonly gcTotalMs: number;
  readonly gcMaxMs: number;
  /** Longest scavenge (young generation) and longest mark-compact (major) pause. */
  readonly gcMaxMinorMs: number;
  readonly gcMaxMajorMs: number;
}

export class Probe {
  #eld: IntervalHistogram | undefined;
  #gc: PerformanceObserver | undefined;
  #gcCount = 0;
  #gcTotal = 0;
  #gcMax = 0;
  #gcMinor = 0;
  #gcMajor = 0;

  start(): void {
    this.#eld?.disable();
    this.#gc?.disconnect();
    this.#gcCount = 0;
    this.#gcTotal = 0;
    this.#gcMax = 0;
    this.#gcMinor = 0;
    this.#gcMajor = 0;
    this.#eld = monitorEventLoopDelay({ resolution: 1 });
    this.#eld.enable();
    this.#gc = new PerformanceObserver((list) => {
      for (const e of list.getEntries()) {
        this.#gcCount++;
        this.#gcTotal += e.duration;
        this.#gcMax = Math.max(this.#gcMax, e.duration);
        const kind = (e as { detail?: { kind?: number } }).detail?.kind;
        if (kind === constants.NODE_PERFORMANCE_GC_MINOR) this.#gcMinor = Math.max(this.#gcMinor, e.duration);
        if (kind === constants.NODE_PERFORMANCE_GC_MAJOR) this.#gcMajor = Math.max(this.#gcMajor, e.duration);
      }
    });
    this.#gc.observe({ entryTypes: ['gc'] });
  }

  stop(): ProbeReport {
    const eld = this.#eld;
    eld?.disable();
    this.#gc?.disconnect();
    // the histogram holds the interval between timer runs: the 1 ms resolution itself is not delay
    const ms = (ns: number | undefined) => Math.max(0, (ns ?? 0) / 1e6 - 1);
    return {
      loopP50: ms(eld?.percentile(50)),
      loopP99: ms(eld?.percentile(99)),
      loopMax: ms(eld?.max),
      gcCount: this.#gcCount,
      gcTotalMs: this.#gcTotal,
      gcMaxMs: this.#gcMax,
      gcMaxMinorMs: this.#gcMinor,
      gcMaxMajorMs: this.#gcMajor,
    };
  }
}

/** Wall-clock time in µs with sub-ms resolution, comparable between processes of one machine. */
export function wallMicros(): number {
  return Math.round((performance.timeOrigin + performance.now()) * 1000);
}
