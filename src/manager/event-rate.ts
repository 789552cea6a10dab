/** Events per second over a sliding window of whole seconds: one counter per second slot, O(1) per event. */

/** Seconds the rate is averaged over. */
export const EVENT_RATE_WINDOW_S = 10;

export class EventRate {
  readonly #slots = new Array<number>(EVENT_RATE_WINDOW_S).fill(0);
  #second: number;

  constructor(nowMs: number) {
    this.#second = Math.floor(nowMs / 1000);
  }

  /** Counts `n` events (default one) at `nowMs`. */
  count(nowMs: number, n = 1): void {
    const second = Math.floor(nowMs / 1000);
    this.#advance(second);
    this.#slots[second % EVENT_RATE_WINDOW_S]! += n;
  }

  /** Mean events per second over the last `EVENT_RATE_WINDOW_S` seconds. */
  perSecond(nowMs: number): number {
    this.#advance(Math.floor(nowMs / 1000));
    return this.#slots.reduce((a, b) => a + b, 0) / EVENT_RATE_WINDOW_S;
  }

  #advance(second: number): void {
    if (second <= this.#second) return;
    const steps = Math.min(second - this.#second, EVENT_RATE_WINDOW_S);
    for (let i = 1; i <= steps; i++) this.#slots[(this.#second + i) % EVENT_RATE_WINDOW_S] = 0;
    this.#second = second;
  }
}
