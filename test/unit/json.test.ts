import assert from 'node:assert/strict';
import { test } from 'node:test';
import { decodeJson, encodeJson } from '../../src/codec/index.js';
import { CodecError } from '../../src/errors.js';

test('decodes JSON from UTF-8 bytes and from strings', () => {
  assert.deepEqual(decodeJson(Buffer.from('{"op":10,"d":{"heartbeat_interval":41250},"s":null,"t":null}')), {
    op: 10,
    d: { heartbeat_interval: 41250 },
    s: null,
    t: null,
  });
  assert.deepEqual(decodeJson('["é",1.5]'), ['é', 1.5]);
  const bytes = Uint8Array.from(Buffer.from('xx{"a":"日本"}')).subarray(2);
  assert.deepEqual(decodeJson(bytes), { a: '日本' });
});

test('throws JSON_INVALID with the SyntaxError as cause on bad input', () => {
  for (const bad of ['{"op":', '', 'nope', Buffer.from([0x7b, 0xff])]) {
    assert.throws(
      () => decodeJson(bad),
      (err: unknown) =>
        err instanceof CodecError && err.code === 'JSON_INVALID' && err.cause instanceof SyntaxError,
    );
  }
});

test('encodes JSON with BigInt as decimal strings and rejects cycles with JSON_INVALID', () => {
  assert.equal(
    encodeJson({ op: 1, d: 251, id: 1378523441881468101n }),
    '{"op":1,"d":251,"id":"1378523441881468101"}',
  );
  const cyclic: Record<string, unknown> = {};
  cyclic.self = cyclic;
  assert.throws(
    () => encodeJson(cyclic),
    (err: unknown) => err instanceof CodecError && err.code === 'JSON_INVALID',
  );
  assert.throws(
    () => encodeJson(undefined),
    (err: unknown) => err instanceof CodecError && err.code === 'JSON_INVALID',
  );
});
