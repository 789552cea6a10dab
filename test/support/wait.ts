/** Options of {@link waitFor}. */
export interface WaitOptions {
  /** What is awaited, for the error message; a function is called only on time-out (it may be costly). */
  readonly what: string | (() => string);
  /** A hang guard, not a timing check: generous, so a loaded machine never trips it. Default 15 s. */
  readonly timeoutMs?: number;
  /** Polling interval. Default 5 ms. */
  readonly everyMs?: number;
}

/** Resolves once `check()` holds (it may be async), polling; rejects with `timed out waiting for …` after `timeoutMs`. */
export async function waitFor(check: () => boolean | Promise<boolean>, options: WaitOptions): Promise<void> {
  const { what, timeoutMs = 15_000, everyMs = 5 } = options;
  const start = Date.now();
  while (!(await check())) {
    if (Date.now() - start > timeoutMs) {
      throw new Error(`timed out waiting for ${typeof what === 'function' ? what() : what}`);
    }
    await new Promise((resolve) => setTimeout(resolve, everyMs));
  }
}
