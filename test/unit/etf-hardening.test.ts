import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { deflateSync } from 'node:zlib';
import {
  configureEtfShapeCompiler,
  DEFAULT_FACTORIES_PER_SECOND,
  etfShapeCacheStats,
} from '../../src/codec/etf/decode.js';
import { decodeEtf, encodeEtf, MAX_ETF_DECODE_DEPTH, Tag } from '../../src/codec/etf/index.js';
import { CodecError, type CodecErrorCode, ConfigError } from '../../src/errors.js';
import { peekEtfEnvelope } from '../../src/transport/etf-peek.js';

function probe(name: string, flags: string[], args: string[] = []): Record<string, unknown> {
  const script = fileURLToPath(new URL(`../support/${name}.js`, import.meta.url));
  const out = execFileSync(process.execPath, [...flags, script, ...args], { encoding: 'utf8' });
  return JSON.parse(out.trim().split('\n').at(-1)!) as Record<string, unknown>;
}

function codecError(fn: () => unknown): CodecError {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof CodecError, `expected a CodecError, got ${String(err)}`);
    assert.ok(err.offset >= 0, 'a decode error carries an offset');
    return err;
  }
  assert.fail('expected a CodecError, but decoding succeeded');
}

function codeOf(fn: () => unknown): CodecErrorCode {
  return codecError(fn).code;
}

function compressed(inner: Uint8Array, declared = inner.length): Uint8Array {
  const z = deflateSync(inner);
  const out = new Uint8Array(6 + z.length);
  out.set([131, 80, declared >>> 24, (declared >>> 16) & 0xff, (declared >>> 8) & 0xff, declared & 0xff]);
  out.set(z, 6);
  return out;
}

// ---- shared state and the stack ----

test('a stack overflow anywhere inside a decode leaves the key, shape and bignum caches consistent', () => {
  // `--no-opt`: cold code, every call a real call, so the sweep interrupts decodes between any two calls.
  const r = probe('etf-stack-probe', ['--no-opt']);
  assert.ok((r.attempts as number) > 1000, `swept ${r.attempts} stack depths`);
  // An interrupted decode surfaces as a typed CodecError (overflows) or, when the caller left too little
  // stack even to build that error, as the engine's RangeError (leaked; which one dominates differs by
  // Node major). Either way the decode was cut off mid-way, and no later document may decode differently.
  assert.ok((r.overflows as number) + (r.leaked as number) > 0, 'some decodes ran out of stack');
  assert.equal(r.corrupted, false, 'a later document decoded to another one');
});

test('maxDepth is capped to what the stack holds, with an error that says so', () => {
  const err = (() => {
    try {
      decodeEtf(Uint8Array.from([131, 97, 1]), { maxDepth: MAX_ETF_DECODE_DEPTH + 1 });
    } catch (e) {
      return e;
    }
    return undefined;
  })();
  assert.ok(err instanceof ConfigError && err.option === 'maxDepth', String(err));
  assert.match(err.message, new RegExp(`at most ${MAX_ETF_DECODE_DEPTH}.*stack`));
  assert.ok(MAX_ETF_DECODE_DEPTH >= 256, 'the default depth stays allowed');
  assert.equal(decodeEtf(Uint8Array.from([131, 97, 1]), { maxDepth: MAX_ETF_DECODE_DEPTH }), 1);
});

/** Nesting shapes, from the cheapest to the costliest per level of stack. */
function nestedAtDepth(kind: 'list' | 'tuple' | 'map' | 'keyChain', levels: number): Uint8Array {
  const out: number[] = [131];
  if (kind === 'list') {
    for (let i = 0; i < levels; i++) out.push(108, 0, 0, 0, 1);
    out.push(106);
    for (let i = 0; i < levels; i++) out.push(106);
  } else if (kind === 'tuple') {
    for (let i = 0; i < levels; i++) out.push(104, 1);
    out.push(97, 0);
  } else if (kind === 'map') {
    for (let i = 0; i < levels; i++) out.push(116, 0, 0, 0, 1, 119, 1, 107);
    out.push(97, 0);
  } else {
    // Maps whose key is a tuple holding the next map: the deepest recursion per level.
    for (let i = 0; i < levels / 2; i++) out.push(116, 0, 0, 0, 1, 104, 1);
    out.push(97, 0);
    for (let i = 0; i < levels / 2; i++) out.push(97, 0);
  }
  return Uint8Array.from(out);
}

test('every nesting shape at MAX_ETF_DECODE_DEPTH decodes or fails with a CodecError, from a deep caller', () => {
  // Spend a good part of the stack first, as a deep caller (a framework, a user's recursion) would.
  const deepCall = (frames: number, fn: () => unknown): unknown =>
    frames > 0 ? deepCall(frames - 1, fn) : fn();
  for (const kind of ['list', 'tuple', 'map', 'keyChain'] as const) {
    const doc = nestedAtDepth(kind, MAX_ETF_DECODE_DEPTH - 1);
    let outcome: unknown;
    try {
      outcome = deepCall(1000, () => decodeEtf(doc, { maxDepth: MAX_ETF_DECODE_DEPTH }));
    } catch (err) {
      assert.ok(err instanceof CodecError, `${kind}: ${String(err)}`);
      assert.ok(!(err.cause instanceof RangeError), `${kind}: the stack ran out (${err.message})`);
      outcome = err.code;
    }
    if (kind !== 'keyChain') assert.notEqual(typeof outcome, 'string', `${kind}: ${String(outcome)}`);
    assert.equal(
      codeOf(() =>
        decodeEtf(nestedAtDepth(kind, MAX_ETF_DECODE_DEPTH + 2), { maxDepth: MAX_ETF_DECODE_DEPTH }),
      ),
      kind === 'keyChain' ? 'ETF_DEPTH_EXCEEDED' : 'ETF_DEPTH_EXCEEDED',
    );
  }
});

test('a map key nested in map keys cannot blow up into an exponentially long property name', () => {
  // #{#{#{… => 0} => 0} => 0}: each level's key is the JSON text of the map below, escaped once more.
  const levels = 40;
  const out: number[] = [131];
  for (let i = 0; i < levels; i++) out.push(116, 0, 0, 0, 1);
  out.push(97, 0);
  for (let i = 0; i < levels; i++) out.push(97, 0);
  assert.equal(
    codeOf(() => decodeEtf(Uint8Array.from(out))),
    'ETF_TOO_LARGE',
  );
  // One level is an ordinary (if unusual) key.
  assert.deepEqual(decodeEtf(Uint8Array.from([131, 116, 0, 0, 0, 1, 108, 0, 0, 0, 1, 97, 7, 106, 97, 1])), {
    '[7]': 1,
  });
});

// ---- atoms: one meaning whatever the tag ----

const ATOM_TAGS = [
  ['ATOM_EXT', Tag.ATOM],
  ['SMALL_ATOM_EXT', Tag.SMALL_ATOM],
  ['ATOM_UTF8_EXT', Tag.ATOM_UTF8],
  ['SMALL_ATOM_UTF8_EXT', Tag.SMALL_ATOM_UTF8],
] as const;

function atom(tag: number, name: string): number[] {
  const text = [...Buffer.from(name, tag === Tag.ATOM || tag === Tag.SMALL_ATOM ? 'latin1' : 'utf8')];
  return tag === Tag.ATOM || tag === Tag.ATOM_UTF8
    ? [tag, text.length >> 8, text.length & 0xff, ...text]
    : [tag, text.length, ...text];
}

const bin = (s: string): number[] => {
  const b = [...Buffer.from(s)];
  return [109, 0, 0, 0, b.length, ...b];
};

// As values: null, true, false, or the name. As map keys: the name a JS property gets from that value
// (erlpack sets properties with the decoded key, so nil → null → "null").
const ATOMS: [name: string, value: unknown, key: string][] = [
  ['nil', null, 'null'],
  ['null', null, 'null'],
  ['true', true, 'true'],
  ['false', false, 'false'],
  ['READY', 'READY', 'READY'],
  ['op', 'op', 'op'],
  ['héllo', 'héllo', 'héllo'],
  [
    'a_rather_long_atom_name_over_32_characters',
    'a_rather_long_atom_name_over_32_characters',
    'a_rather_long_atom_name_over_32_characters',
  ],
];

test('an atom decodes the same under all four atom tags, as a value, a key, a list element and the whole term', () => {
  for (let round = 0; round < 3; round++) {
    // Three rounds: the first fills the intern and shape caches, the others decode through them.
    for (const [name, value, key] of ATOMS) {
      for (const [tagName, tag] of ATOM_TAGS) {
        const a = atom(tag, name);
        const where = `${name} as ${tagName} (round ${round})`;
        assert.deepEqual(decodeEtf(Uint8Array.from([131, ...a])), value, `top level: ${where}`);
        assert.deepEqual(
          decodeEtf(Uint8Array.from([131, 108, 0, 0, 0, 2, ...a, ...a, 106])),
          [value, value],
          `list element: ${where}`,
        );
        assert.deepEqual(decodeEtf(Uint8Array.from([131, 104, 1, ...a])), [value], `tuple element: ${where}`);
        assert.deepEqual(
          decodeEtf(Uint8Array.from([131, 116, 0, 0, 0, 1, ...bin('k'), ...a])),
          { k: value },
          `map value: ${where}`,
        );
        const asKey = decodeEtf(Uint8Array.from([131, 116, 0, 0, 0, 2, ...a, 97, 1, ...bin('z'), 97, 2]));
        assert.deepEqual(asKey, { [key]: 1, z: 2 }, `map key: ${where}`);
        // Same key last in a map, and in a wide map (the generic path).
        const wide: number[] = [131, 116, 0, 0, 0, 70];
        for (let i = 0; i < 69; i++) wide.push(...bin(`w${i}`), 97, i);
        wide.push(...a, 97, 99);
        const wideValue = decodeEtf(Uint8Array.from(wide)) as Record<string, unknown>;
        assert.equal(wideValue[key], 99, `key of a wide map: ${where}`);
      }
    }
  }
});

test('the envelope peek agrees with the decoder on atoms of every tag', () => {
  for (const [name] of ATOMS) {
    for (const [tagName, tag] of ATOM_TAGS) {
      const doc = Uint8Array.from([
        131,
        116,
        0,
        0,
        0,
        4,
        ...atom(tag, 't'),
        ...atom(tag, name),
        ...atom(tag, 's'),
        97,
        5,
        ...atom(tag, 'op'),
        97,
        0,
        ...atom(tag, 'd'),
        106,
      ]);
      const decoded = decodeEtf(doc) as { t: unknown };
      const peeked = peekEtfEnvelope(doc);
      if (peeked !== undefined) assert.equal(peeked.t, decoded.t, `t = ${name} as ${tagName}`);
    }
  }
  // Latin-1 atom bytes above 0x7f: the peek reads them as the decoder does.
  const latin = Uint8Array.from([
    131, 116, 0, 0, 0, 4, 115, 1, 116, 115, 2, 0x52, 0xe9, 115, 1, 115, 97, 1, 115, 2, 111, 112, 97, 0, 115,
    1, 100, 106,
  ]);
  assert.equal(peekEtfEnvelope(latin)?.t, (decodeEtf(latin) as { t: string }).t);
  assert.equal(peekEtfEnvelope(latin)?.t, 'Ré');
});

test('the envelope peek never answers for an envelope whose later keys the decoder would keep instead', () => {
  // {t: A, s, op, t: B}: the decoder keeps the last t.
  const dup = Uint8Array.from([
    131,
    116,
    0,
    0,
    0,
    4,
    ...bin('t'),
    ...bin('A'),
    ...bin('s'),
    97,
    1,
    ...bin('op'),
    97,
    0,
    ...bin('t'),
    ...bin('B'),
  ]);
  assert.equal((decodeEtf(dup) as { t: string }).t, 'B');
  assert.equal(peekEtfEnvelope(dup), undefined);
  const extra = Uint8Array.from([
    131,
    116,
    0,
    0,
    0,
    5,
    ...bin('t'),
    ...bin('A'),
    ...bin('s'),
    97,
    1,
    ...bin('op'),
    97,
    0,
    ...bin('d'),
    106,
    ...bin('x'),
    106,
  ]);
  assert.equal(peekEtfEnvelope(extra), undefined);
  const good = encodeEtf({ t: 'A', s: 1, op: 0, d: [] });
  assert.deepEqual(peekEtfEnvelope(good), { t: 'A', s: 1, op: 0 });
});

// ---- amplification ----

test('a compressed list of millions of empty lists fails at maxElements, cheaply', () => {
  const n = 6_000_000;
  const inner = new Uint8Array(6 + n);
  inner.set([108, n >>> 24, (n >>> 16) & 0xff, (n >>> 8) & 0xff, n & 0xff]);
  inner.fill(106, 5);
  const doc = compressed(inner);
  assert.ok(doc.length < 10_000, `${doc.length} bytes on the wire`);
  const err = codecError(() => decodeEtf(doc));
  assert.equal(err.code, 'ETF_TOO_LARGE');
  assert.match(err.message, /maxElements/);
  // The same list uncompressed, and nested empties spread over many small lists.
  assert.equal(
    codeOf(() => decodeEtf(Uint8Array.from([131, ...inner]))),
    'ETF_TOO_LARGE',
  );
  const lists = 2000;
  const each = 1000;
  const spread: number[] = [131, 108, 0, 0, lists >> 8, lists & 0xff];
  for (let i = 0; i < lists; i++)
    spread.push(108, 0, 0, each >> 8, each & 0xff, ...new Array(each).fill(106), 106);
  spread.push(106);
  const spreadDoc = Uint8Array.from(spread);
  assert.equal(
    codeOf(() => decodeEtf(spreadDoc, { maxElements: 1_000_000 })),
    'ETF_TOO_LARGE',
  );
  assert.equal((decodeEtf(spreadDoc) as unknown[]).length, lists, 'under the default it decodes');
});

test('maxElements counts list and tuple items, map entries and STRING_EXT bytes', () => {
  const list = encodeEtf([1, 2, 3]);
  assert.deepEqual(decodeEtf(list, { maxElements: 3 }), [1, 2, 3]);
  assert.equal(
    codeOf(() => decodeEtf(list, { maxElements: 2 })),
    'ETF_TOO_LARGE',
  );
  const map = encodeEtf({ a: [1], b: 2 });
  assert.deepEqual(decodeEtf(map, { maxElements: 3 }), { a: [1], b: 2 });
  assert.equal(
    codeOf(() => decodeEtf(map, { maxElements: 2 })),
    'ETF_TOO_LARGE',
  );
  const str = Uint8Array.from([131, 107, 0, 3, 1, 2, 3]);
  assert.equal(
    codeOf(() => decodeEtf(str, { maxElements: 2 })),
    'ETF_TOO_LARGE',
  );
  const tuple = Uint8Array.from([131, 104, 2, 97, 1, 97, 2]);
  assert.equal(
    codeOf(() => decodeEtf(tuple, { maxElements: 1 })),
    'ETF_TOO_LARGE',
  );
  assert.throws(
    () => decodeEtf(list, { maxElements: 0 }),
    (err: unknown) => err instanceof ConfigError && err.option === 'maxElements',
  );
});

test('bignums over 64 bits are charged against maxElements by the cost of their conversion', () => {
  // 30,000 bignums of 64 bytes: 30 KiB compressed, 2 million element-decodes of decimal conversion.
  const n = 40_000;
  const each = 6 + 64;
  const inner = new Uint8Array(6 + n * each);
  inner.set([108, n >>> 24, (n >>> 16) & 0xff, (n >>> 8) & 0xff, n & 0xff]);
  for (let i = 0; i < n; i++) {
    inner.set([111, 0, 0, 0, 64, 0], 5 + i * each);
    inner.fill(0xee, 5 + i * each + 6, 5 + (i + 1) * each);
  }
  inner[5 + n * each] = 106;
  const err = codecError(() => decodeEtf(compressed(inner)));
  assert.equal(err.code, 'ETF_TOO_LARGE');
  assert.match(err.message, /bignum of 64 bytes .*maxElements/);
  // Snowflakes (8 bytes) cost one element each, as before.
  const ids = encodeEtf(new Array(1000).fill(1378523441881468101n));
  assert.equal((decodeEtf(ids, { maxElements: 1000 }) as unknown[]).length, 1000);
});

test('a compressed term is bounded by maxBytes once inflated, with the offset of the COMPRESSED tag', () => {
  const inner = new Uint8Array(5 + (8 << 20));
  inner.set([109, 0, 0x80, 0, 0]);
  const err = codecError(() => decodeEtf(compressed(inner), { maxBytes: 1 << 20 }));
  assert.equal(err.code, 'ETF_TOO_LARGE');
  assert.equal(err.offset, 1);
});

// ---- shape factories ----

/** A document of `count` maps with never-seen key sets, each map twice (so it would earn a factory). */
function freshShapes(serial: number, count: number): Uint8Array {
  const maps: Record<string, number>[] = [];
  for (let i = 0; i < count; i++) {
    const m: Record<string, number> = {};
    for (let k = 0; k < 4; k++) m[`s${serial}_${i}_${k}`] = k;
    maps.push(m, m, m);
  }
  return encodeEtf(maps);
}

test('factory compilation is bounded per second over all documents, on an injected clock', (t) => {
  let now = 0;
  configureEtfShapeCompiler({ factoriesPerSecond: 20, now: () => now });
  t.after(() => configureEtfShapeCompiler());
  const start = etfShapeCacheStats().compiledTotal;
  for (let doc = 0; doc < 50; doc++) {
    const bytes = freshShapes(doc, 64);
    const value = decodeEtf(bytes) as Record<string, number>[];
    assert.equal(value.length, 192);
    assert.deepEqual(value[191], {
      [`s${doc}_63_0`]: 0,
      [`s${doc}_63_1`]: 1,
      [`s${doc}_63_2`]: 2,
      [`s${doc}_63_3`]: 3,
    });
  }
  assert.equal(etfShapeCacheStats().compiledTotal - start, 20, 'one window: 20 compilations');
  now += 999;
  decodeEtf(freshShapes(1000, 64));
  assert.equal(etfShapeCacheStats().compiledTotal - start, 20, 'still the same window');
  now += 1;
  decodeEtf(freshShapes(1001, 64));
  assert.equal(etfShapeCacheStats().compiledTotal - start, 40, 'the next window');
  // A shape that stays hot gets its factory once the budget allows, and decodes the same with it.
  configureEtfShapeCompiler({ factoriesPerSecond: 0, now: () => now });
  const hot = encodeEtf([
    { hot_a: 1, hot_b: 2 },
    { hot_a: 3, hot_b: 4 },
    { hot_a: 5, hot_b: 6 },
  ]);
  const before = etfShapeCacheStats().compiledTotal;
  assert.deepEqual(decodeEtf(hot), [
    { hot_a: 1, hot_b: 2 },
    { hot_a: 3, hot_b: 4 },
    { hot_a: 5, hot_b: 6 },
  ]);
  assert.equal(etfShapeCacheStats().compiledTotal, before);
  configureEtfShapeCompiler({ factoriesPerSecond: 1, now: () => now });
  assert.deepEqual(decodeEtf(hot), [
    { hot_a: 1, hot_b: 2 },
    { hot_a: 3, hot_b: 4 },
    { hot_a: 5, hot_b: 6 },
  ]);
  assert.equal(etfShapeCacheStats().compiledTotal, before + 1);
  assert.throws(
    () => configureEtfShapeCompiler({ factoriesPerSecond: -1 }),
    (err: unknown) => err instanceof ConfigError,
  );
  assert.equal(DEFAULT_FACTORIES_PER_SECOND > 0, true);
});

test('the shape cache stays bounded under a stream of ever-new shapes', () => {
  let last = etfShapeCacheStats();
  for (let doc = 0; doc < 400; doc++) {
    decodeEtf(freshShapes(10_000 + doc, 64));
    last = etfShapeCacheStats();
  }
  assert.ok(last.shapes <= 8192, `${last.shapes} shapes`);
  assert.ok(last.factories <= last.shapes);
});

// ---- nothing retained from a failed decode ----

test('a decode that fails after large values keeps none of them reachable', () => {
  for (const name of ['map', 'bigMap', 'keys', 'list', 'compressed']) {
    const r = probe('etf-retention-probe', ['--expose-gc'], [name]);
    assert.equal(r.code, 'ETF_TRUNCATED', name);
    // 60 values of 1 MiB went through the decoder; a few hundred KiB of heap noise is fine.
    assert.ok((r.retained as number) < 4 << 20, `${name}: ${r.retained} bytes still reachable`);
  }
});
