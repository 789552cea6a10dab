import assert from 'node:assert/strict';
import { test } from 'node:test';
import { deflateSync } from 'node:zlib';
import { decodeEtf, encodeEtf } from '../../src/codec/index.js';
import { CodecError, type CodecErrorCode, ConfigError } from '../../src/errors.js';
import { seededRandom } from '../../src/util/clock.js';
import {
  fuzzEtf,
  fuzzHostileEtf,
  randomJsonValue,
  randomSnowflake,
  seedDocuments,
} from '../support/fuzz-etf.js';

function codeOf(fn: () => unknown): CodecErrorCode {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof CodecError, `expected a CodecError, got ${String(err)}`);
    assert.ok(err.offset >= 0, 'decode errors carry an offset');
    return err.code;
  }
  assert.fail('expected a CodecError, but decoding succeeded');
}

function compressed(inner: Uint8Array, declared = inner.length): Uint8Array {
  const z = deflateSync(inner);
  const out = new Uint8Array(6 + z.length);
  out.set([131, 80, declared >>> 24, (declared >>> 16) & 0xff, (declared >>> 8) & 0xff, declared & 0xff]);
  out.set(z, 6);
  return out;
}

test('every truncation of valid documents throws ETF_TRUNCATED', () => {
  const docs = [
    encodeEtf({
      op: 0,
      s: 42,
      t: 'MESSAGE_CREATE',
      d: { id: 1378523441881468101n, content: 'héllo 😀', n: [1, 300, 2 ** 40, 1.5] },
    }),
    encodeEtf([true, false, null, { k: [] }, -(2n ** 80n), 'x'.repeat(40)], { atomKeys: true }),
    ...seedDocuments(seededRandom(7)).filter((d) => d[1] !== 80),
  ];
  for (const doc of docs) {
    for (let cut = 0; cut < doc.length; cut++) {
      assert.equal(
        codeOf(() => decodeEtf(doc.subarray(0, cut))),
        'ETF_TRUNCATED',
        `cut at ${cut} of ${doc.length}`,
      );
    }
  }
});

test('every truncation of a COMPRESSED document throws a CodecError', () => {
  const doc = compressed(encodeEtf({ list: new Array(50).fill('abc') }).subarray(1));
  for (let cut = 0; cut < doc.length; cut++) {
    const code = codeOf(() => decodeEtf(doc.subarray(0, cut)));
    assert.ok(['ETF_TRUNCATED', 'ETF_INVALID'].includes(code), `cut at ${cut}: ${code}`);
  }
});

test('huge claimed lengths fail at once without allocating', () => {
  const cases: [number[], CodecErrorCode][] = [
    [[131, 108, 255, 255, 255, 255, 106, 106, 106, 106], 'ETF_TRUNCATED'], // 4-billion-element list
    [[131, 116, 255, 255, 255, 255, 106, 106, 106, 106], 'ETF_TRUNCATED'], // 4-billion-pair map
    [[131, 105, 255, 255, 255, 255, 97, 1], 'ETF_TRUNCATED'],
    [[131, 109, 255, 255, 255, 255, 0, 0], 'ETF_TRUNCATED'],
    [[131, 111, 255, 255, 255, 255, 0, 0, 0], 'ETF_TRUNCATED'],
    [[131, 107, 255, 255, 1], 'ETF_TRUNCATED'],
    [[131, 118, 255, 255, 1], 'ETF_TRUNCATED'],
    [[131, 80, 255, 255, 255, 255, 120, 156], 'ETF_TOO_LARGE'], // compressed, declares 4 GiB
  ];
  for (const [bytes, code] of cases)
    assert.equal(
      codeOf(() => decodeEtf(Uint8Array.from(bytes))),
      code,
      `${bytes}`,
    );
});

test('inputs over maxBytes are rejected with ETF_TOO_LARGE', () => {
  const doc = encodeEtf('x'.repeat(1000));
  assert.equal(
    codeOf(() => decodeEtf(doc, { maxBytes: 100 })),
    'ETF_TOO_LARGE',
  );
  assert.equal(decodeEtf(doc, { maxBytes: doc.length }), 'x'.repeat(1000));
});

test('depth bombs stop at maxDepth with ETF_DEPTH_EXCEEDED', () => {
  const n = 100_000;
  const lists = new Uint8Array(2 + n * 6);
  lists[0] = 131;
  for (let i = 0; i < n; i++) lists.set([108, 0, 0, 0, 1], 1 + i * 5);
  lists.fill(106, 1 + n * 5);
  assert.equal(
    codeOf(() => decodeEtf(lists)),
    'ETF_DEPTH_EXCEEDED',
  );
  const maps = new Uint8Array(2 + n * 7);
  maps[0] = 131;
  for (let i = 0; i < n; i++) maps.set([116, 0, 0, 0, 1, 97, 0], 1 + i * 7);
  maps[1 + n * 7] = 106;
  assert.equal(
    codeOf(() => decodeEtf(maps)),
    'ETF_DEPTH_EXCEEDED',
  );
  const tuples = new Uint8Array(2 + n * 2);
  tuples[0] = 131;
  for (let i = 0; i < n; i++) tuples.set([104, 1], 1 + i * 2);
  tuples[1 + n * 2] = 106;
  assert.equal(
    codeOf(() => decodeEtf(tuples)),
    'ETF_DEPTH_EXCEEDED',
  );
  assert.equal(
    codeOf(() => decodeEtf(tuples, { maxDepth: 10 })),
    'ETF_DEPTH_EXCEEDED',
  );
  // A custom limit beyond what the stack can hold is refused up front.
  assert.throws(
    () => decodeEtf(tuples, { maxDepth: 1e9 }),
    (err: unknown) => err instanceof ConfigError && err.option === 'maxDepth',
  );
  // Exactly at the limit is fine.
  let ok: unknown = 1;
  for (let i = 0; i < 256; i++) ok = [ok];
  assert.deepEqual(decodeEtf(encodeEtf(ok, { maxDepth: 300 })), ok);
});

test('COMPRESSED: inflates a good term, rejects bombs, size mismatches and corrupt data', () => {
  const inner = encodeEtf({ a: new Array(200).fill('compressible') }).subarray(1);
  assert.deepEqual(decodeEtf(compressed(inner)), { a: new Array(200).fill('compressible') });
  // Bomb: 10 MB of zeros inside a BINARY, declared as 100 bytes.
  const bombInner = new Uint8Array(5 + 10_000_000);
  bombInner.set([109, 0, 0x98, 0x96, 0x80]);
  assert.equal(
    codeOf(() => decodeEtf(compressed(bombInner, 100))),
    'ETF_TOO_LARGE',
  );
  // Same bomb, declared truthfully but over maxBytes.
  assert.equal(
    codeOf(() => decodeEtf(compressed(bombInner), { maxBytes: 1_000_000 })),
    'ETF_TOO_LARGE',
  );
  // Declared larger than the real inflated size.
  assert.equal(
    codeOf(() => decodeEtf(compressed(inner, inner.length + 1))),
    'ETF_INVALID',
  );
  // Corrupt zlib data.
  const corrupt = compressed(inner);
  corrupt[8] = corrupt[8]! ^ 0xff;
  corrupt[9] = corrupt[9]! ^ 0xff;
  assert.ok(['ETF_INVALID', 'ETF_TOO_LARGE'].includes(codeOf(() => decodeEtf(corrupt))));
  // Garbage inside: the inner error is reported as a CodecError too.
  assert.equal(
    codeOf(() => decodeEtf(compressed(Uint8Array.from([97, 1, 2])))),
    'ETF_TRAILING_BYTES',
  );
  assert.equal(
    codeOf(() => decodeEtf(compressed(Uint8Array.from([80, 0, 0, 0, 1, 97])))),
    'ETF_INVALID',
  );
  // Only allowed as the whole document.
  assert.equal(
    codeOf(() => decodeEtf(Uint8Array.from([131, 108, 0, 0, 0, 1, 80, 0, 0, 0, 0, 106]))),
    'ETF_INVALID',
  );
});

test('encode → decode is the identity on seeded random JSON-shaped values', () => {
  const rand = seededRandom(20_240_601);
  for (let i = 0; i < 1500; i++) {
    const value = randomJsonValue(rand);
    assert.deepEqual(decodeEtf(encodeEtf(value)), value);
  }
});

test('snowflakes round-trip as strings, as BigInt and as 64-bit integers', () => {
  const rand = seededRandom(99);
  for (let i = 0; i < 1000; i++) {
    const s = randomSnowflake(rand);
    const asInt = encodeEtf({ id: BigInt(s) });
    const expected = BigInt(s) <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(s) : s;
    assert.deepEqual(decodeEtf(asInt), { id: expected });
    assert.deepEqual(decodeEtf(asInt, { bigint: 'bigint' }), { id: BigInt(s) });
    assert.deepEqual(decodeEtf(encodeEtf({ id: s })), { id: s });
  }
});

test('mutated documents decode or throw a CodecError, never anything else', () => {
  const stats = fuzzEtf(seededRandom(1234), 15_000);
  assert.equal(stats.cases, 15_000);
  assert.ok(stats.decoded > 0);
  for (const code of ['ETF_TRUNCATED', 'ETF_UNKNOWN_TAG', 'ETF_TRAILING_BYTES'])
    assert.ok((stats.errors[code] ?? 0) > 0, code);
});

test('hostile documents (deep nesting, bombs, huge lengths, atoms of every tag, shape churn) get their exact outcome', () => {
  const stats = fuzzHostileEtf(seededRandom(4321), 3000, { cases: 0, decoded: 0, errors: {} });
  for (const code of ['ETF_DEPTH_EXCEEDED', 'ETF_TOO_LARGE', 'ETF_TRUNCATED'])
    assert.ok((stats.errors[code] ?? 0) > 0, code);
  assert.ok(stats.decoded > 200);
});
