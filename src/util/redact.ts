import { inspect } from 'node:util';

const REDACTED = '[redacted]';

/**
 * Holds a secret (the bot token). Printing it in any ordinary way — string interpolation, JSON,
 * `util.inspect`, `console.log` — yields `[redacted]`; only `reveal()` returns the value.
 */
export class Secret {
  readonly #value: string;
  constructor(value: string) {
    this.#value = value;
  }
  reveal(): string {
    return this.#value;
  }
  toString(): string {
    return REDACTED;
  }
  toJSON(): string {
    return REDACTED;
  }
  [inspect.custom](): string {
    return REDACTED;
  }
  [Symbol.toPrimitive](): string {
    return REDACTED;
  }
}

/**
 * Shortest piece of a secret that is redacted on its own: text from the network (a close reason, an error
 * body) may echo part of the token, cut anywhere. Eight characters of a token are already a real leak.
 */
export const MIN_SECRET_PIECE_CHARS = 8;

/**
 * Replaces every occurrence of `secret` in `text`, and every run of `MIN_SECRET_PIECE_CHARS` or more
 * characters that is a piece of it, with `[redacted]`.
 */
export function redact(text: string, secret: string | Secret | undefined): string {
  if (secret === undefined || typeof text !== 'string') return text;
  const value = secret instanceof Secret ? secret.reveal() : secret;
  if (value.length === 0 || text.length === 0) return text;
  let out = text.includes(value) ? text.split(value).join(REDACTED) : text;
  const n = MIN_SECRET_PIECE_CHARS;
  if (value.length <= n || out.length < n) return out;
  const pieces = new Set<string>();
  for (let i = 0; i + n <= value.length; i++) pieces.add(value.slice(i, i + n));
  let result = '';
  let last = 0;
  let i = 0;
  while (i + n <= out.length) {
    if (!pieces.has(out.slice(i, i + n))) {
      i++;
      continue;
    }
    let end = i + n;
    while (end < out.length && value.includes(out.slice(i, end + 1))) end++;
    result += out.slice(last, i) + REDACTED;
    last = end;
    i = end;
  }
  if (last > 0) out = result + out.slice(last);
  return out;
}

/**
 * An excerpt of untrusted `text` of at most `maxChars` characters, redacted BEFORE it is cut: cutting first
 * could split the secret and leave a piece the redaction no longer recognises.
 */
export function redactedExcerpt(text: string, secret: string | Secret | undefined, maxChars: number): string {
  const value = secret instanceof Secret ? secret.reveal() : (secret ?? '');
  // Only the head can reach the excerpt; keep enough of it to see any secret that starts inside it.
  const head = text.length > maxChars + value.length ? text.slice(0, maxChars + value.length) : text;
  const redacted = redact(head, secret);
  return redacted.length > maxChars ? `${redacted.slice(0, maxChars)}…` : redacted;
}

const MAX_ERROR_DEPTH = 8;

/**
 * Redacts `secret` in place from an error and its causes: `message`, `stack` and every other own string
 * property (a close `reason`, a codec `excerpt`…), down `cause` chains and `AggregateError.errors`. For
 * errors that carry text from the network before they reach an event, a log or a rejection.
 */
export function redactError<T>(error: T, secret: string | Secret | undefined): T {
  if (secret === undefined) return error;
  redactErrorInto(error, secret, 0, new Set());
  return error;
}

function redactErrorInto(value: unknown, secret: string | Secret, depth: number, seen: Set<object>): void {
  if (value === null || typeof value !== 'object' || depth > MAX_ERROR_DEPTH || seen.has(value)) return;
  seen.add(value);
  const record = value as Record<string, unknown>;
  for (const key of ['message', 'stack', ...Object.keys(value)]) {
    let current: unknown;
    try {
      current = record[key];
    } catch {
      continue;
    }
    if (typeof current === 'string') {
      const clean = redact(current, secret);
      if (clean !== current) {
        try {
          Object.defineProperty(value, key, { value: clean, writable: true, configurable: true });
        } catch {
          // A frozen error keeps its text; nothing better can be done here.
        }
      }
    }
  }
  if (value instanceof Error) redactErrorInto(value.cause, secret, depth + 1, seen);
  if (value instanceof AggregateError) {
    for (const inner of value.errors as unknown[]) redactErrorInto(inner, secret, depth + 1, seen);
  }
}
