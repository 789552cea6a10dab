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

/** Replaces every occurrence of `secret` (and of `Bot <secret>`) in `text` with `[redacted]`. */
export function redact(text: string, secret: string | Secret | undefined): string {
  if (secret === undefined) return text;
  const value = secret instanceof Secret ? secret.reveal() : secret;
  if (value.length === 0) return text;
  return text.split(value).join(REDACTED);
}
