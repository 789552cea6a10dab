/** Checks for values that come from the gateway: every one is hostile until checked. */

export type Json = Record<string, unknown>;

const SNOWFLAKE_RE = /^\d{1,20}$/;

/** A plain, non-array object. */
export function isObject(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * A snowflake as a map key: a string of 1–20 digits, or a safe non-negative integer (what an ETF
 * decoder yields for a small id). Anything else is `undefined`.
 */
export function snowflakeOf(value: unknown): string | undefined {
  if (typeof value === 'string') return SNOWFLAKE_RE.test(value) ? value : undefined;
  if (typeof value === 'number' && Number.isSafeInteger(value) && value >= 0) return String(value);
  if (typeof value === 'bigint' && value >= 0n && value < 2n ** 64n) return value.toString();
  return undefined;
}

/** The id of `value.key` when `value` is an object and the field is a snowflake. */
export function idField(value: unknown, key: string): string | undefined {
  return isObject(value) ? snowflakeOf(value[key]) : undefined;
}

/**
 * A shallow merge that never touches a prototype: `__proto__` arrives from JSON.parse as an own data
 * key, and spread copies it as a data property (never `[[SetPrototypeOf]]`); `Object.assign` would not.
 */
export function merge<T extends Json>(base: T, patch: Json): T {
  return { ...base, ...patch };
}

/** `value` without the listed keys (a fresh object). */
export function omit(value: Json, keys: readonly string[]): Json {
  const out: Json = {};
  for (const key of Object.keys(value)) {
    if (keys.includes(key)) continue;
    if (key === '__proto__') {
      Object.defineProperty(out, key, {
        value: value[key],
        enumerable: true,
        writable: true,
        configurable: true,
      });
    } else out[key] = value[key];
  }
  return out;
}
