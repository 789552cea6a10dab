/**
 * Time goes through a `Clock` so tests can run on virtual time. `systemClock` is the real one;
 * `ManualClock` advances only when told to, firing due timers in order.
 */
export interface TimerHandle {
  readonly id: number;
}

export interface Clock {
  /** Milliseconds on a monotonic scale (not necessarily epoch based). */
  now(): number;
  setTimeout(fn: () => void, ms: number): TimerHandle;
  clearTimeout(handle: TimerHandle | undefined): void;
  /** A random float in [0, 1) — injectable so jitter is reproducible in tests. */
  random(): number;
}

let nextSystemId = 1;

class SystemClock implements Clock {
  readonly #timers = new Map<number, NodeJS.Timeout>();
  now(): number {
    return performance.now();
  }
  setTimeout(fn: () => void, ms: number): TimerHandle {
    const id = nextSystemId++;
    const t = setTimeout(
      () => {
        this.#timers.delete(id);
        fn();
      },
      Math.max(0, ms),
    );
    this.#timers.set(id, t);
    return { id };
  }
  clearTimeout(handle: TimerHandle | undefined): void {
    if (!handle) return;
    const t = this.#timers.get(handle.id);
    if (t) {
      clearTimeout(t);
      this.#timers.delete(handle.id);
    }
  }
  random(): number {
    return Math.random();
  }
}

export const systemClock: Clock = new SystemClock();

interface ManualTimer {
  id: number;
  at: number;
  seq: number;
  fn: () => void;
}

/** Virtual time for tests: `advance(ms)` runs every timer due by then, in due order. */
export class ManualClock implements Clock {
  #now: number;
  #seq = 0;
  #nextId = 1;
  #timers: ManualTimer[] = [];
  #random: () => number;
  constructor(start = 0, random: () => number = seededRandom(1)) {
    this.#now = start;
    this.#random = random;
  }
  now(): number {
    return this.#now;
  }
  setTimeout(fn: () => void, ms: number): TimerHandle {
    const timer = { id: this.#nextId++, at: this.#now + Math.max(0, ms), seq: this.#seq++, fn };
    this.#timers.push(timer);
    return { id: timer.id };
  }
  clearTimeout(handle: TimerHandle | undefined): void {
    if (!handle) return;
    this.#timers = this.#timers.filter((t) => t.id !== handle.id);
  }
  random(): number {
    return this.#random();
  }
  /** Number of timers not yet fired. */
  get pending(): number {
    return this.#timers.length;
  }
  advance(ms: number): void {
    const target = this.#now + ms;
    for (;;) {
      let next: ManualTimer | undefined;
      for (const t of this.#timers) {
        if (t.at <= target && (!next || t.at < next.at || (t.at === next.at && t.seq < next.seq))) next = t;
      }
      if (!next) break;
      this.#timers = this.#timers.filter((t) => t !== next);
      this.#now = next.at;
      next.fn();
    }
    this.#now = target;
  }
}

/** Small fast deterministic PRNG (mulberry32). Returns floats in [0, 1). */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
