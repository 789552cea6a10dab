import assert from 'node:assert/strict';
import { test } from 'node:test';
import { decodeEtf, encodeEtf } from '../../src/codec/index.js';
import { ConfigError } from '../../src/errors.js';
import { throwsCode } from '../support/codec-assert.js';

// Reference bytes produced by Erlang/OTP 25 `term_to_binary/1,2` (see each comment).
const b = (...bytes: number[]) => Uint8Array.from(bytes);

test('decodes SMALL_INTEGER_EXT and INTEGER_EXT at their boundaries', () => {
  assert.equal(decodeEtf(b(131, 97, 0)), 0);
  assert.equal(decodeEtf(b(131, 97, 255)), 255); // 255
  assert.equal(decodeEtf(b(131, 98, 0, 0, 1, 0)), 256); // 256
  assert.equal(decodeEtf(b(131, 98, 255, 255, 255, 255)), -1); // -1
  assert.equal(decodeEtf(b(131, 98, 127, 255, 255, 255)), 2147483647); // 2^31-1
  assert.equal(decodeEtf(b(131, 98, 128, 0, 0, 0)), -2147483648);
});

test('decodes SMALL_BIG_EXT to numbers while safe and to decimal strings beyond 2^53-1', () => {
  assert.equal(decodeEtf(b(131, 110, 4, 0, 0, 0, 0, 128)), 2147483648); // 2^31
  assert.equal(decodeEtf(b(131, 110, 4, 1, 1, 0, 0, 128)), -2147483649); // -2^31-1
  assert.equal(decodeEtf(b(131, 110, 7, 0, 255, 255, 255, 255, 255, 255, 31)), 9007199254740991); // 2^53-1
  assert.equal(decodeEtf(b(131, 110, 7, 0, 0, 0, 0, 0, 0, 0, 32)), '9007199254740992'); // 2^53
  assert.equal(decodeEtf(b(131, 110, 7, 1, 0, 0, 0, 0, 0, 0, 32)), '-9007199254740992');
  assert.equal(
    decodeEtf(b(131, 110, 8, 0, 255, 255, 255, 255, 255, 255, 255, 255)),
    '18446744073709551615', // 2^64-1
  );
  assert.equal(decodeEtf(b(131, 110, 9, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1)), '18446744073709551616'); // 2^64
  assert.equal(decodeEtf(b(131, 110, 9, 1, 0, 0, 0, 0, 0, 0, 0, 0, 1)), '-18446744073709551616'); // -2^64
  assert.equal(decodeEtf(b(131, 110, 8, 0, 197, 204, 228, 67, 196, 127, 33, 19)), '1378523441881468101'); // snowflake
  assert.equal(decodeEtf(b(131, 110, 0, 0)), 0);
  assert.equal(decodeEtf(b(131, 110, 1, 1, 0)), 0, 'negative zero bignum is plain 0');
});

test('decodes every 8-byte bignum to the same decimal string as BigInt does', () => {
  let x = 0x9e3779b97f4a7c15n;
  for (let i = 0; i < 2000; i++) {
    x = (x * 6364136223846793005n + 1442695040888963407n) & 0xffffffffffffffffn;
    const v = i % 3 === 0 ? x >> BigInt(i % 64) : x;
    const bytes = [131, 110, 8, 0];
    for (let k = 0n; k < 8n; k++) bytes.push(Number((v >> (8n * k)) & 0xffn));
    const expected = v <= 9007199254740991n ? Number(v) : v.toString();
    assert.equal(decodeEtf(Uint8Array.from(bytes)), expected, `for ${v}`);
  }
});

test('returns BigInt for every bignum with bigint: "bigint"', () => {
  assert.equal(decodeEtf(b(131, 110, 4, 0, 0, 0, 0, 128), { bigint: 'bigint' }), 2147483648n);
  assert.equal(
    decodeEtf(b(131, 110, 8, 0, 197, 204, 228, 67, 196, 127, 33, 19), { bigint: 'bigint' }),
    1378523441881468101n,
  );
  assert.equal(decodeEtf(b(131, 110, 9, 1, 0, 0, 0, 0, 0, 0, 0, 0, 1), { bigint: 'bigint' }), -(2n ** 64n));
  assert.equal(decodeEtf(b(131, 97, 5), { bigint: 'bigint' }), 5, 'small integers stay numbers');
});

test('decodes LARGE_BIG_EXT of any length up to maxBigBytes', () => {
  const n = 300;
  const bytes = [131, 111, 0, 0, n >> 8, n & 0xff, 0];
  for (let i = 0; i < n - 1; i++) bytes.push(0);
  bytes.push(1);
  assert.equal(decodeEtf(Uint8Array.from(bytes)), (2n ** BigInt(8 * (n - 1))).toString());
  throwsCode(() => decodeEtf(Uint8Array.from(bytes), { maxBigBytes: 64 }), 'ETF_TOO_LARGE');
});

test('decodes NEW_FLOAT_EXT and the legacy FLOAT_EXT', () => {
  assert.equal(decodeEtf(b(131, 70, 63, 248, 0, 0, 0, 0, 0, 0)), 1.5); // 1.5
  // term_to_binary(1.5, [{minor_version, 0}])
  const legacy = b(
    131,
    99,
    49,
    46,
    53,
    48,
    48,
    48,
    48,
    48,
    48,
    48,
    48,
    48,
    48,
    48,
    48,
    48,
    48,
    48,
    48,
    48,
    48,
    48,
    101,
    43,
    48,
    48,
    0,
    0,
    0,
    0,
    0,
  );
  assert.equal(decodeEtf(legacy), 1.5);
  const garbage = Uint8Array.from(legacy);
  garbage[3] = 0x78;
  throwsCode(() => decodeEtf(garbage), 'ETF_INVALID');
});

test('decodes atoms of all four tags; true/false become booleans, nil/null become null', () => {
  assert.equal(decodeEtf(b(131, 100, 0, 4, 116, 114, 117, 101)), true); // ATOM_EXT true
  assert.equal(decodeEtf(b(131, 100, 0, 3, 110, 105, 108)), null); // ATOM_EXT nil
  assert.equal(decodeEtf(b(131, 100, 0, 5, 104, 101, 108, 108, 111)), 'hello');
  assert.equal(decodeEtf(b(131, 100, 0, 5, 104, 233, 108, 108, 111)), 'héllo', 'ATOM_EXT is Latin-1');
  assert.equal(decodeEtf(b(131, 119, 4, 116, 114, 117, 101)), true); // SMALL_ATOM_UTF8_EXT
  assert.equal(decodeEtf(b(131, 119, 3, 110, 105, 108)), null);
  assert.equal(decodeEtf(b(131, 119, 6, 104, 195, 169, 108, 108, 111)), 'héllo');
  assert.equal(decodeEtf(b(131, 115, 5, 102, 97, 108, 115, 101)), false); // SMALL_ATOM_EXT false
  assert.equal(decodeEtf(b(131, 115, 4, 110, 117, 108, 108)), null);
  assert.equal(decodeEtf(b(131, 118, 0, 5, 82, 69, 65, 68, 89)), 'READY'); // ATOM_UTF8_EXT
});

test('decodes tuples, NIL, STRING_EXT and proper lists to arrays', () => {
  assert.deepEqual(decodeEtf(b(131, 104, 2, 97, 1, 109, 0, 0, 0, 1, 120)), [1, 'x']); // {1, <<"x">>}
  assert.deepEqual(decodeEtf(b(131, 105, 0, 0, 0, 1, 97, 9)), [9]);
  assert.deepEqual(decodeEtf(b(131, 106)), []);
  assert.deepEqual(decodeEtf(b(131, 107, 0, 3, 1, 2, 3)), [1, 2, 3]); // [1,2,3] as STRING_EXT
  assert.deepEqual(
    decodeEtf(b(131, 108, 0, 0, 0, 3, 97, 1, 109, 0, 0, 0, 1, 120, 98, 0, 0, 1, 44, 106)),
    [1, 'x', 300], // [1, <<"x">>, 300]
  );
});

test('rejects an improper list', () => {
  const err = throwsCode(() => decodeEtf(b(131, 108, 0, 0, 0, 1, 97, 1, 97, 2)), 'ETF_IMPROPER_LIST');
  assert.equal(err.offset, 8);
});

test('decodes BINARY_EXT as UTF-8 and keeps a leading byte-order mark', () => {
  assert.equal(decodeEtf(b(131, 109, 0, 0, 0, 6, 104, 195, 169, 108, 108, 111)), 'héllo');
  assert.equal(decodeEtf(b(131, 109, 0, 0, 0, 4, 0xef, 0xbb, 0xbf, 0x41)), '\u{feff}A');
  const long = `${'x'.repeat(100)}日本語`;
  const bytes = Buffer.from(long);
  assert.equal(decodeEtf(Uint8Array.from([131, 109, 0, 0, 0, bytes.length, ...bytes])), long);
  const lone = b(131, 109, 0, 0, 0, 2, 0xff, 0x41);
  assert.equal(decodeEtf(lone), '\u{fffd}A', 'invalid UTF-8 becomes U+FFFD, never an exception');
});

test('decodes maps with binary, atom and other keys to string-keyed objects', () => {
  assert.deepEqual(decodeEtf(b(131, 116, 0, 0, 0, 1, 109, 0, 0, 0, 1, 97, 97, 1)), { a: 1 }); // #{<<"a">> => 1}
  // #{op => 0, s => 1, t => 'READY', d => #{<<"v">> => 10}} (ATOM_EXT keys)
  const envelope = b(
    131,
    116,
    0,
    0,
    0,
    4,
    100,
    0,
    1,
    100,
    116,
    0,
    0,
    0,
    1,
    109,
    0,
    0,
    0,
    1,
    118,
    97,
    10,
    100,
    0,
    2,
    111,
    112,
    97,
    0,
    100,
    0,
    1,
    115,
    97,
    1,
    100,
    0,
    1,
    116,
    100,
    0,
    5,
    82,
    69,
    65,
    68,
    89,
  );
  assert.deepEqual(decodeEtf(envelope), { d: { v: 10 }, op: 0, s: 1, t: 'READY' });
  // #{op => 0, t => 'READY'} with SMALL_ATOM_UTF8_EXT (minor_version 2)
  assert.deepEqual(
    decodeEtf(b(131, 116, 0, 0, 0, 2, 119, 2, 111, 112, 97, 0, 119, 1, 116, 119, 5, 82, 69, 65, 68, 89)),
    {
      op: 0,
      t: 'READY',
    },
  );
  assert.deepEqual(
    decodeEtf(b(131, 116, 0, 0, 0, 2, 97, 7, 106, 110, 8, 0, 197, 204, 228, 67, 196, 127, 33, 19, 97, 1)),
    {
      7: [],
      '1378523441881468101': 1,
    },
  );
});

test('a "__proto__" map key becomes an own property and pollutes no prototype', () => {
  // #{<<"__proto__">> => #{<<"polluted">> => true}}
  const key = [...Buffer.from('__proto__')];
  const inner = [116, 0, 0, 0, 1, 109, 0, 0, 0, 8, ...Buffer.from('polluted'), 119, 4, 116, 114, 117, 101];
  const doc = Uint8Array.from([131, 116, 0, 0, 0, 1, 109, 0, 0, 0, key.length, ...key, ...inner]);
  const value = decodeEtf(doc) as Record<string, unknown>;
  assert.equal(Object.getPrototypeOf(value), Object.prototype);
  assert.ok(Object.hasOwn(value, '__proto__'));
  assert.deepEqual(Object.getOwnPropertyDescriptor(value, '__proto__')?.value, { polluted: true });
  assert.equal(({} as Record<string, unknown>).polluted, undefined);
  assert.equal((value as { polluted?: unknown }).polluted, undefined);
  // Same with an atom key.
  const atomDoc = Uint8Array.from([131, 116, 0, 0, 0, 1, 119, key.length, ...key, ...inner]);
  assert.ok(Object.hasOwn(decodeEtf(atomDoc) as object, '__proto__'));
});

test('decodes a COMPRESSED term produced by term_to_binary(..., [compressed])', () => {
  // term_to_binary(lists:duplicate(100, <<"abc">>), [compressed])
  const doc = b(
    131,
    80,
    0,
    0,
    3,
    38,
    120,
    156,
    203,
    97,
    96,
    96,
    72,
    201,
    5,
    18,
    204,
    137,
    73,
    201,
    163,
    244,
    40,
    61,
    74,
    99,
    210,
    89,
    0,
    207,
    118,
    159,
    211,
  );
  assert.deepEqual(decodeEtf(doc), new Array(100).fill('abc'));
});

test('rejects a bad version byte, unknown tags and BIT_BINARY_EXT with the offending offset', () => {
  const bad = throwsCode(() => decodeEtf(b(130, 97, 1)), 'ETF_BAD_VERSION');
  assert.equal(bad.offset, 0);
  assert.match(bad.message, /82 61 01/);
  const unknown = throwsCode(() => decodeEtf(b(131, 108, 0, 0, 0, 1, 103, 106)), 'ETF_UNKNOWN_TAG');
  assert.equal(unknown.offset, 6);
  assert.equal(unknown.excerpt, '83 6c 00 00 00 01 67 6a');
  throwsCode(() => decodeEtf(b(131, 77, 0, 0, 0, 1, 3, 0xe0)), 'ETF_INVALID');
  throwsCode(() => decodeEtf(b(131, 82, 0)), 'ETF_UNKNOWN_TAG');
  throwsCode(() => decodeEtf(b()), 'ETF_TRUNCATED');
  throwsCode(() => decodeEtf(b(131)), 'ETF_TRUNCATED');
  throwsCode(() => decodeEtf('nope' as unknown as Uint8Array), 'ETF_INVALID');
});

test('rejects trailing bytes after the term', () => {
  const err = throwsCode(() => decodeEtf(b(131, 97, 1, 0)), 'ETF_TRAILING_BYTES');
  assert.equal(err.offset, 3);
});

test('decodes from a Uint8Array view with a non-zero byteOffset', () => {
  const backing = new Uint8Array(64);
  backing.set(
    [131, 104, 3, 70, 63, 248, 0, 0, 0, 0, 0, 0, 109, 0, 0, 0, 30, ...Buffer.from('é'.repeat(15))],
    7,
  );
  backing.set([97, 1], 7 + 17 + 30);
  const view = backing.subarray(7, 7 + 17 + 30 + 2);
  assert.deepEqual(decodeEtf(view), [1.5, 'é'.repeat(15), 1]);
});

test('rejects invalid options with a ConfigError naming the option', () => {
  assert.throws(
    () => decodeEtf(b(131, 97, 1), { maxDepth: 0 }),
    (err: unknown) => err instanceof ConfigError && err.option === 'maxDepth',
  );
  assert.throws(
    () => decodeEtf(b(131, 97, 1), { maxBytes: -1 }),
    (err: unknown) => err instanceof ConfigError && err.option === 'maxBytes',
  );
  for (const [option, bad] of [
    ['maxBigBytes', 0],
    ['maxElements', 2.5],
    ['maxDepth', Number.NaN],
  ] as const) {
    assert.throws(
      () => decodeEtf(b(131, 97, 1), { [option]: bad }),
      (err: unknown) => err instanceof ConfigError && err.option === option,
    );
  }
  assert.throws(
    () => decodeEtf(b(131, 97, 1), { bigint: 'number' as 'string' }),
    (err: unknown) => err instanceof ConfigError && err.option === 'bigint',
  );
  assert.throws(
    () => encodeEtf(1, { maxDepth: 1.5 }),
    (err: unknown) => err instanceof ConfigError && err.option === 'maxDepth',
  );
});

test('repeated map shapes decode the same at any byteOffset and after a mispredicted key', () => {
  const docs = [
    { id: 1n << 60n, name: 'a', roles: ['x'], flags: 0 },
    { id: 2, name: 'b', roles: [], flags: 1.5 },
    { id: 3, name: 'c', roles: [], flagz: 2 },
    { id: 4, name: 'd', roles: [], flags: 3 },
    { id: 5, name: 'e', roles: [] },
  ];
  for (let round = 0; round < 3; round++) {
    for (const [i, d] of docs.entries()) {
      const enc = encodeEtf({ list: [d, d], d });
      const backing = new Uint8Array(enc.length + 3 + i);
      backing.set(enc, 3 + i);
      const expected = { ...d, id: typeof d.id === 'bigint' ? d.id.toString() : d.id };
      assert.deepEqual(decodeEtf(backing.subarray(3 + i)), { list: [expected, expected], d: expected });
    }
  }
});
