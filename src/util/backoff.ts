/**
 * Exponential backoff with jitter, as a pure function: attempt number in, delay out. Randomness is
 * injected so tests are reproducible.
 */
export interface BackoffOptions {
  /** Delay of attempt 0 before jitter, in ms. */
  readonly baseMs: number;
  /** Upper bound of any delay, in ms. */
  readonly maxMs: number;
  /** Growth per attempt (2 doubles). */
  readonly factor: number;
  /** Fraction of the delay that is random, in [0, 1]: 0.5 gives delays in [d/2, d). */
  readonly jitter: number;
}

export const DEFAULT_BACKOFF_OPTIONS = {
  baseMs: 1_000,
  maxMs: 60_000,
  factor: 2,
  jitter: 0.5,
} as const satisfies BackoffOptions;

/**
 * Delay before reconnect attempt `attempt` (0-based): `min(maxMs, baseMs × factor^attempt)`, of which a
 * `jitter` fraction is scaled by `random` (a float in [0, 1)).
 */
export function backoffDelay(attempt: number, random: number, options: BackoffOptions): number {
  const n = Math.max(0, Math.floor(attempt));
  const raw = options.baseMs * options.factor ** Math.min(n, 64);
  const capped = Math.min(options.maxMs, Number.isFinite(raw) ? raw : options.maxMs);
  const r = Math.min(Math.max(random, 0), 1);
  return Math.round(capped * (1 - options.jitter) + capped * options.jitter * r);
}
