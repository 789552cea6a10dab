/**
 * JSON codec for the gateway's `encoding=json`: UTF-8 bytes or text in, values out. Snowflakes stay strings.
 */
import { Buffer } from 'node:buffer';
import { CodecError } from '../errors.js';

/**
 * Parses one JSON document from UTF-8 bytes or a string.
 * @throws CodecError `JSON_INVALID` (the SyntaxError as `cause`).
 */
export function decodeJson(data: Uint8Array | string): unknown {
  let text: string;
  if (typeof data === 'string') text = data;
  else if (data instanceof Uint8Array)
    text = Buffer.from(data.buffer, data.byteOffset, data.byteLength).toString('utf8');
  else throw new CodecError('JSON_INVALID', 'decodeJson expects a Uint8Array or a string');
  try {
    return JSON.parse(text);
  } catch (cause) {
    const bytes = typeof data === 'string' ? Buffer.from(data.slice(0, 4096)) : data;
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
