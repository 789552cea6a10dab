/**
 * JSON codec for the gateway's `encoding=json`: UTF-8 bytes or text in, values out. Snowflakes stay strings.
 *
 * What one document may cost is bounded before `JSON.parse` runs: a byte scan counts `[`, `{` and `,`
 * (inside strings too, so the count only over-estimates) and refuses a document over `maxStructures`. The
 * count bounds the arrays, objects, elements and members the parse would allocate; a long document of
 * plain text (a message's content) counts little. Documents shorter than the limit are not scanned at all.
 */
import { Buffer } from 'node:buffer';
import { CodecError, ConfigError } from '../errors.js';

export interface JsonDecodeOptions {
  /**
   * Largest number of `[`, `{` and `,` a document may hold (an upper bound on the arrays, objects and
   * their elements it decodes to). Default 1,000,000: Discord's largest payloads hold a small fraction.
   */
  maxStructures?: number;
}

export const DEFAULT_JSON_DECODE_OPTIONS = {
  maxStructures: 1_000_000,
} as const satisfies Required<JsonDecodeOptions>;

function resolveMaxStructures(options: JsonDecodeOptions | undefined): number {
  const max = options?.maxStructures ?? DEFAULT_JSON_DECODE_OPTIONS.maxStructures;
  if (!Number.isSafeInteger(max) || max < 1)
    throw new ConfigError('maxStructures', `must be a positive integer, got ${String(max)}`);
  return max;
}

/** Counts `[`, `{` and `,` in `data`, stopping once the count passes `max`. */
export function countJsonStructures(data: Uint8Array | string, max = Number.MAX_SAFE_INTEGER): number {
  let count = 0;
  if (typeof data === 'string') {
    for (let i = 0, n = data.length; i < n; i++) {
      const c = data.charCodeAt(i);
      // `[` 0x5b and `{` 0x7b differ only in bit 5; `,` is 0x2c.
      if ((c | 0x20) === 0x7b || c === 0x2c) {
        if (++count > max) return count;
      }
    }
    return count;
  }
  for (let i = 0, n = data.length; i < n; i++) {
    const c = data[i]!;
    if ((c | 0x20) === 0x7b || c === 0x2c) {
      if (++count > max) return count;
    }
  }
  return count;
}

/**
 * Throws `CodecError('JSON_TOO_COMPLEX')` when `data` holds more than `maxStructures` structures. Cheap:
 * nothing is scanned for a document shorter than the limit, and the scan allocates nothing.
 */
export function assertJsonWithinLimits(data: Uint8Array | string, options?: JsonDecodeOptions): void {
  const max = resolveMaxStructures(options);
  if (data.length <= max) return;
  const count = countJsonStructures(data, max);
  if (count > max)
    throw new CodecError(
      'JSON_TOO_COMPLEX',
      `JSON document holds more than maxStructures (${max}) arrays, objects and elements`,
    );
}

/**
 * Parses one JSON document from UTF-8 bytes or a string.
 * @throws CodecError `JSON_INVALID` (the SyntaxError as `cause`), `JSON_TOO_COMPLEX` over `maxStructures`.
 */
export function decodeJson(data: Uint8Array | string, options?: JsonDecodeOptions): unknown {
  let text: string;
  if (typeof data === 'string') text = data;
  else if (data instanceof Uint8Array) {
    assertJsonWithinLimits(data, options);
    text = Buffer.from(data.buffer, data.byteOffset, data.byteLength).toString('utf8');
    return parseJsonText(text, data);
  } else throw new CodecError('JSON_INVALID', 'decodeJson expects a Uint8Array or a string');
  assertJsonWithinLimits(text, options);
  return parseJsonText(text, data);
}

/** `JSON.parse` with its SyntaxError as a `CodecError('JSON_INVALID')`; no limits checked. */
export function parseJsonText(text: string, source: Uint8Array | string = text): unknown {
  try {
    return JSON.parse(text);
  } catch (cause) {
    const bytes = typeof source === 'string' ? Buffer.from(source.slice(0, 4096)) : source;
    const m = /position (\d+)/.exec((cause as Error).message);
    const offset = m ? Number(m[1]) : 0;
    throw new CodecError(
      'JSON_INVALID',
      `invalid JSON: ${(cause as Error).message}`,
      { offset, bytes },
      { cause },
    );
  }
}

/**
 * Serializes a value as JSON text. BigInt values are written as decimal strings (the JSON form of snowflakes).
 * @throws CodecError `JSON_INVALID` when the value cannot be serialized (cycles) or is not representable.
 */
export function encodeJson(value: unknown): string {
  let text: string | undefined;
  try {
    text = JSON.stringify(value, bigintReplacer);
  } catch (cause) {
    throw new CodecError('JSON_INVALID', `cannot encode as JSON: ${(cause as Error).message}`, {}, { cause });
  }
  if (text === undefined) throw new CodecError('JSON_INVALID', `cannot encode ${typeof value} as JSON`);
  return text;
}

function bigintReplacer(_key: string, v: unknown): unknown {
  return typeof v === 'bigint' ? v.toString() : v;
}
