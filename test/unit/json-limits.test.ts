import assert from 'node:assert/strict';
import { test } from 'node:test';
import { DEFAULT_JSON_DECODE_OPTIONS, decodeJson } from '../../src/codec/json.js';
import { CodecError } from '../../src/errors.js';
import { FrameDecoder } from '../../src/transport/frame-decoder.js';
import { jsonMessage } from '../support/zlib-streams.js';

const isTooComplex = (err: unknown): boolean => {
  assert.ok(err instanceof CodecError, `expected a CodecError, got ${String(err)}`);
  assert.equal(err.code, 'JSON_TOO_COMPLEX');
  return true;
};

const MAX = DEFAULT_JSON_DECODE_OPTIONS.maxStructures;

test('refuses a document of empty arrays over maxStructures before parsing it', () => {
  const text = `[${'[],'.repeat(MAX)}[]]`;
  assert.throws(() => decodeJson(text), isTooComplex);
  assert.throws(() => decodeJson(Buffer.from(text)), isTooComplex);
});

test('refuses deep nesting, many keys and long flat lists over maxStructures', () => {
  const n = MAX + 1;
  const deep = `${'['.repeat(n)}${']'.repeat(n)}`;
  const keys = `{${Array.from({ length: n }, (_, i) => `"${i.toString(36)}":0`).join(',')}}`;
  const numbers = `[${'0,'.repeat(n)}0]`;
  for (const text of [deep, keys, numbers]) assert.throws(() => decodeJson(text), isTooComplex);
});

test('a payload at the limit decodes, and the limit is an option', () => {
  const text = `[${'0,'.repeat(MAX - 1)}0]`; // MAX - 1 commas + one bracket = MAX structures
  assert.equal((decodeJson(text) as unknown[]).length, MAX);
  assert.throws(() => decodeJson('[[],[],[]]', { maxStructures: 3 }), isTooComplex);
  assert.deepEqual(decodeJson('[[],[]]', { maxStructures: 4 }), [[], []]); // [ [ , [
});

test('a large realistic guild payload (8 MB of members) is far below the limit', () => {
  const value = decodeJson(jsonMessage(8 * 1024 * 1024, 3)) as { d: { members: unknown[] } };
  assert.ok(value.d.members.length > 50_000);
});

test('the frame decoder refuses the same document, with and without a dispatch filter', () => {
  const text = `{"op":0,"t":"MESSAGE_CREATE","s":1,"d":[${'[],'.repeat(MAX)}[]]}`;
  for (const wantDispatch of [undefined, (t: string) => t !== 'MESSAGE_CREATE']) {
    const decoder = new FrameDecoder({
      encoding: 'json',
      compression: 'none',
      maxPayloadBytes: 64 * 1024 * 1024,
      wantDispatch,
    });
    assert.throws(() => decoder.decode(Buffer.from(text), false), isTooComplex);
  }
});
