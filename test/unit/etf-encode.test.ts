import assert from 'node:assert/strict';
import { test } from 'node:test';
import { decodeEtf, encodeEtf } from '../../src/codec/index.js';
import { throwsCode } from '../support/codec-assert.js';

// Expected bytes are Erlang/OTP 25 `term_to_binary/1` output for the same term, except atoms: OTP writes
// ATOM_EXT (100) there, we write SMALL_ATOM_EXT (115) like erlpack (same atom for every ETF reader).
const bytes = (v: unknown, options?: Parameters<typeof encodeEtf>[1]) => [...encodeEtf(v, options)];

test('encodes integers by size, never as floats', () => {
  assert.deepEqual(bytes(0), [131, 97, 0]);
  assert.deepEqual(bytes(255), [131, 97, 255]);
  assert.deepEqual(bytes(256), [131, 98, 0, 0, 1, 0]);
  assert.deepEqual(bytes(-1), [131, 98, 255, 255, 255, 255]);
  assert.deepEqual(bytes(2147483647), [131, 98, 127, 255, 255, 255]);
  assert.deepEqual(bytes(-2147483648), [131, 98, 128, 0, 0, 0]);
  assert.deepEqual(bytes(2147483648), [131, 110, 4, 0, 0, 0, 0, 128]);
  assert.deepEqual(bytes(-2147483649), [131, 110, 4, 1, 1, 0, 0, 128]);
  assert.deepEqual(bytes(9007199254740991), [131, 110, 7, 0, 255, 255, 255, 255, 255, 255, 31]);
  assert.deepEqual(bytes(9007199254740992), [131, 110, 7, 0, 0, 0, 0, 0, 0, 0, 32]);
  assert.deepEqual(bytes(2 ** 64), [131, 70, 67, 240, 0, 0, 0, 0, 0, 0], 'beyond 2^53 a double is not exact');
  assert.deepEqual(bytes(-0), [131, 97, 0]);
});

test('encodes BigInt as SMALL_BIG_EXT or LARGE_BIG_EXT', () => {
  assert.deepEqual(bytes(1378523441881468101n), [131, 110, 8, 0, 197, 204, 228, 67, 196, 127, 33, 19]);
  assert.deepEqual(bytes(2n ** 64n - 1n), [131, 110, 8, 0, 255, 255, 255, 255, 255, 255, 255, 255]);
  assert.deepEqual(bytes(2n ** 64n), [131, 110, 9, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1]);
  assert.deepEqual(bytes(-(2n ** 64n)), [131, 110, 9, 1, 0, 0, 0, 0, 0, 0, 0, 0, 1]);
  assert.deepEqual(bytes(0n), [131, 110, 0, 0]);
  const huge = 2n ** 2048n + 5n;
  const enc = encodeEtf(huge);
  assert.deepEqual([...enc.subarray(0, 7)], [131, 111, 0, 0, 1, 1, 0]);
  assert.equal(decodeEtf(enc, { bigint: 'bigint' }), huge);
  assert.equal(decodeEtf(encodeEtf(-huge), { bigint: 'bigint' }), -huge);
});

test('encodes other numbers as NEW_FLOAT_EXT and rejects NaN and infinities', () => {
  assert.deepEqual(bytes(1.5), [131, 70, 63, 248, 0, 0, 0, 0, 0, 0]);
  throwsCode(() => encodeEtf(Number.NaN), 'ETF_UNENCODABLE');
  throwsCode(() => encodeEtf({ a: [Number.POSITIVE_INFINITY] }), 'ETF_UNENCODABLE');
  throwsCode(() => encodeEtf(Number.NEGATIVE_INFINITY), 'ETF_UNENCODABLE');
});

test('encodes strings as UTF-8 BINARY_EXT, including astral characters and a BOM', () => {
  assert.deepEqual(bytes('héllo'), [131, 109, 0, 0, 0, 6, 104, 195, 169, 108, 108, 111]);
  assert.deepEqual(bytes(''), [131, 109, 0, 0, 0, 0]);
  for (const s of [
    '\u{feff}x',
    '😀',
    `${'a'.repeat(63)}é`,
    `${'b'.repeat(200)}🚀`,
    'é'.repeat(5000),
    '\u0000',
  ]) {
    const enc = encodeEtf(s);
    const utf8 = Buffer.from(s);
    assert.deepEqual(
      [...enc.subarray(0, 6)],
      [131, 109, ...[24, 16, 8, 0].map((k) => (utf8.length >>> k) & 0xff)],
    );
    assert.deepEqual(Buffer.from(enc.subarray(6)), utf8);
    assert.equal(decodeEtf(enc), s);
  }
  assert.equal(decodeEtf(encodeEtf('\ud800x')), '\ufffdx', 'a lone surrogate becomes U+FFFD');
});

test('encodes Uint8Array and Buffer as BINARY_EXT bytes', () => {
  assert.deepEqual(bytes(Uint8Array.from([1, 2, 255])), [131, 109, 0, 0, 0, 3, 1, 2, 255]);
  assert.deepEqual(bytes(Buffer.from('hi')), [131, 109, 0, 0, 0, 2, 104, 105]);
});

test('encodes booleans, null and undefined as SMALL_ATOM_EXT atoms', () => {
  assert.deepEqual(bytes(true), [131, 115, 4, 116, 114, 117, 101]);
  assert.deepEqual(bytes(false), [131, 115, 5, 102, 97, 108, 115, 101]);
  assert.deepEqual(bytes(null), [131, 115, 3, 110, 105, 108]);
  assert.deepEqual(bytes(undefined), [131, 115, 3, 110, 105, 108]);
  assert.deepEqual(bytes([undefined]), [131, 108, 0, 0, 0, 1, 115, 3, 110, 105, 108, 106]);
});

test('encodes arrays as LIST_EXT or NIL_EXT', () => {
  assert.deepEqual(bytes([]), [131, 106]);
  assert.deepEqual(
    bytes([1, 'x', 300]),
    [131, 108, 0, 0, 0, 3, 97, 1, 109, 0, 0, 0, 1, 120, 98, 0, 0, 1, 44, 106],
  );
});

test('encodes plain objects as MAP_EXT with binary keys and skips undefined values', () => {
  assert.deepEqual(bytes({ a: 1 }), [131, 116, 0, 0, 0, 1, 109, 0, 0, 0, 1, 97, 97, 1]);
  assert.deepEqual(bytes({ a: 1, b: undefined }), [131, 116, 0, 0, 0, 1, 109, 0, 0, 0, 1, 97, 97, 1]);
  assert.deepEqual(bytes({}), [131, 116, 0, 0, 0, 0]);
  const nullProto = Object.create(null) as Record<string, unknown>;
  nullProto.k = true;
  assert.deepEqual(decodeEtf(encodeEtf(nullProto)), { k: true });
});

test('writes map keys as atoms with atomKeys: true (SMALL_ATOM_EXT, UTF-8 tags when needed)', () => {
  assert.deepEqual(bytes({ op: 0 }, { atomKeys: true }), [131, 116, 0, 0, 0, 1, 115, 2, 111, 112, 97, 0]);
  assert.deepEqual(bytes({ é: 0 }, { atomKeys: true }), [131, 116, 0, 0, 0, 1, 119, 2, 195, 169, 97, 0]);
  const wide = '日'.repeat(100); // 300 UTF-8 bytes, 100 characters: ATOM_UTF8_EXT
  const enc = encodeEtf({ [wide]: 1 }, { atomKeys: true });
  assert.deepEqual([...enc.subarray(6, 9)], [118, 1, 44]);
  assert.deepEqual(decodeEtf(enc), { [wide]: 1 });
  throwsCode(() => encodeEtf({ ['x'.repeat(256)]: 1 }, { atomKeys: true }), 'ETF_UNENCODABLE');
  assert.deepEqual(decodeEtf(encodeEtf({ op: 10, d: { heartbeat_interval: 41250 } }, { atomKeys: true })), {
    op: 10,
    d: { heartbeat_interval: 41250 },
  });
});

test('rejects unencodable values with ETF_UNENCODABLE and never returns partial output', () => {
  const cyclic: Record<string, unknown> = { a: 1 };
  cyclic.self = cyclic;
  const cyclicArray: unknown[] = [];
  cyclicArray.push([cyclicArray]);
  for (const v of [
    () => 1,
    Symbol('s'),
    { f: () => 1 },
    new Map(),
    new Set([1]),
    new Date(0),
    new (class Thing {})(),
    cyclic,
    cyclicArray,
    [1, 2, Symbol.iterator],
  ]) {
    throwsCode(() => encodeEtf(v), 'ETF_UNENCODABLE');
  }
  // The encoder is still usable afterwards.
  assert.deepEqual(bytes({ a: 1 }), [131, 116, 0, 0, 0, 1, 109, 0, 0, 0, 1, 97, 97, 1]);
});

test('stops at maxDepth with ETF_DEPTH_EXCEEDED', () => {
  let deep: unknown = 1;
  for (let i = 0; i < 300; i++) deep = [deep];
  throwsCode(() => encodeEtf(deep), 'ETF_DEPTH_EXCEEDED');
  let ok: unknown = 1;
  for (let i = 0; i < 255; i++) ok = { k: ok };
  assert.deepEqual(decodeEtf(encodeEtf(ok)), ok);
  throwsCode(() => encodeEtf(ok, { maxDepth: 10 }), 'ETF_DEPTH_EXCEEDED');
});

test('returns independent byte arrays and grows past the scratch buffer', () => {
  const first = encodeEtf('first');
  encodeEtf('second');
  assert.equal(decodeEtf(first), 'first');
  const big = { blob: 'x'.repeat(5_000_000), list: Array.from({ length: 50_000 }, (_, i) => i) };
  assert.deepEqual(decodeEtf(encodeEtf(big)), big);
  assert.equal(decodeEtf(encodeEtf('after')), 'after');
});

test('a getter that calls encodeEtf re-entrantly gets ETF_UNENCODABLE instead of corrupting output', () => {
  const tricky = {
    get inner() {
      return encodeEtf({ nested: true });
    },
  };
  throwsCode(() => encodeEtf(tricky), 'ETF_UNENCODABLE');
  assert.deepEqual(decodeEtf(encodeEtf({ a: [1, 'b'] })), { a: [1, 'b'] });
});

test("atomKeys: 'envelope' writes atom keys only in the outermost map", () => {
  const enc = encodeEtf({ op: 0, d: { id: 1 } }, { atomKeys: 'envelope' });
  assert.deepEqual(
    [...enc],
    [
      131, 116, 0, 0, 0, 2, 115, 2, 111, 112, 97, 0, 115, 1, 100, 116, 0, 0, 0, 1, 109, 0, 0, 0, 2, 105, 100,
      97, 1,
    ],
  );
  assert.deepEqual(decodeEtf(enc), { op: 0, d: { id: 1 } });
});
