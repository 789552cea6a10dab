/** A fixed-size ring of chart samples: the last N ticks, oldest first; memory never grows past N. */
import type { DashboardSample } from './state.js';

export class SampleHistory {
  readonly capacity: number;
  readonly #ring: (DashboardSample | undefined)[];
  #next = 0;
  #size = 0;

  constructor(capacity: number) {
    if (!Number.isInteger(capacity) || capacity < 1)
      throw new RangeError('capacity must be a positive integer');
    this.capacity = capacity;
    this.#ring = new Array(capacity);
  }

  push(sample: DashboardSample): void {
    this.#ring[this.#next] = sample;
    this.#next = (this.#next + 1) % this.capacity;
    if (this.#size < this.capacity) this.#size++;
  }

  get size(): number {
    return this.#size;
  }

  /** The samples, oldest first. */
  toArray(): DashboardSample[] {
    const out: DashboardSample[] = [];
    const start = (this.#next - this.#size + this.capacity) % this.capacity;
    for (let i = 0; i < this.#size; i++) out.push(this.#ring[(start + i) % this.capacity]!);
    return out;
  }
}
