import assert from 'node:assert/strict';
import { test } from 'node:test';
import { decodeEtf, encodeEtf } from '../../src/codec/index.js';
import { seededRandom } from '../../src/util/clock.js';

// encodeEtf writes objects with one of two copies of its loop (small object literals vs. prototype-less,
// large or dictionary-mode objects, kept apart for V8's type feedback). These tests compare its output for
// every kind of object with an independent reference writer, cold and after the optimizing compiler has seen
// many shapes, so neither copy can drift from the format.

type AtomKeys = boolean | 'envelope';

/** A minimal independent ETF writer for the values used here (no bignums, no floats). */
function reference(value: unknown, atomKeys: AtomKeys = false): number[] {
  const out = [131];
  const u32 = (n: number) => out.push((n >>> 24) & 0xff, (n >>> 16) & 0xff, (n >>> 8) & 0xff, n & 0xff);
  const atom = (name: string) => {
    const bytes = Buffer.from(name, 'latin1');
    out.push(115, bytes.length, ...bytes);
  };
  const write = (v: unknown, depth: number): void => {
    if (v === null || v === undefined) atom('nil');
    else if (typeof v === 'boolean') atom(String(v));
    else if (typeof v === 'string') {
      const bytes = Buffer.from(v, 'utf8');
      out.push(109);
      u32(bytes.length);
      out.push(...bytes);
    } else if (typeof v === 'number' && Number.isInteger(v) && v >= 0 && v <= 255) out.push(97, v);
    else if (typeof v === 'number' && Number.isInteger(v) && Math.abs(v) < 2 ** 31) {
      out.push(98);
      u32(v >>> 0);
    } else if (Array.isArray(v)) {
      if (v.length === 0) out.push(106);
      else {
        out.push(108);
        u32(v.length);
        for (let i = 0; i < v.length; i++) write(v[i], depth + 1);
        out.push(106);
      }
    } else if (typeof v === 'object') {
      const entries = Object.keys(v)
        .map((k) => [k, (v as Record<string, unknown>)[k]] as const)
        .filter(([, x]) => x !== undefined);
      out.push(116);
      u32(entries.length);
      for (const [k, x] of entries) {
        if (atomKeys === true || (atomKeys === 'envelope' && depth === 0)) atom(k);
        else write(k, depth + 1);
        write(x, depth + 1);
      }
    } else throw new Error(`reference writer cannot write ${typeof v}`);
  };
  write(value, 0);
  return out;
}

function assertSame(value: unknown, label: string, atomKeys: AtomKeys = false): void {
  assert.deepEqual([...encodeEtf(value, { atomKeys })], reference(value, atomKeys), label);
}

/** Objects of the kinds V8 keeps in dictionary mode or with elements, and plain literals beside them. */
function kinds(): [string, unknown][] {
  const computed: Record<string, unknown> = {};
  for (let i = 0; i < 30; i++) computed[`key_${i}`] = i % 3 === 0 ? `v${i}` : i;
  computed.nothing = undefined;
  computed.empty = null;
  const seventeen: Record<string, unknown> = {};
  for (let i = 0; i < 17; i++) seventeen[`k${i}`] = i;
  const sixteen: Record<string, unknown> = {};
  for (let i = 0; i < 16; i++) sixteen[`k${i}`] = i;
  const deleted: Record<string, unknown> = { a: 1, b: 'two', c: [3], d: null };
  delete deleted.b;
  const bare = Object.create(null) as Record<string, unknown>;
  bare.x = 1;
  bare.y = { z: 'nested' };
  bare.u = undefined;
  bare.n = null;
  const bareBig = Object.create(null) as Record<string, unknown>;
  for (let i = 0; i < 40; i++) bareBig[`f${i}`] = [i, `s${i}`];
  const withGetter = {
    plain: 1,
    get computed() {
      return 'from getter';
    },
    skipped: undefined,
  };
  const bigWithGetter: Record<string, unknown> = { ...computed };
  Object.defineProperty(bigWithGetter, 'lazy', { enumerable: true, get: () => [1, 2] });
  Object.defineProperty(bigWithGetter, 'hidden', { enumerable: false, value: 'not written' });
  const holes: unknown[] = [1];
  holes[2] = 3; // index 1 is a hole, written as nil
  return [
    ['literal', { op: 2, d: { token: 't', shard: [0, 1], presence: { status: 'online', afk: false } } }],
    ['16 computed keys (the last compact size)', sixteen],
    ['17 computed keys', seventeen],
    ['30 computed keys (dictionary mode)', computed],
    ['a property deleted (dictionary mode)', deleted],
    ['no prototype', bare],
    ['no prototype, 40 keys', bareBig],
    ['integer keys (elements) first', { 2: 'two', 10: 'ten', name: 'n', 0: 'zero' }],
    ['a key that starts with a digit but is no index', { '9lives': 1, cat: true }],
    ['getter and an undefined value', withGetter],
    ['30 keys, a getter and a non-enumerable property', bigWithGetter],
    ['array holes', { list: holes, sparse: new Array(3), empty: {} }],
    [
      'a large object inside a literal inside a large one',
      { outer: { ...computed, inner: { a: computed } } },
    ],
  ];
}

test('objects of every kind encode like the reference writer, binary and atom keys', () => {
  for (const [label, value] of kinds()) {
    assertSame(value, label);
    assertSame(value, `${label} (atomKeys: true)`, true);
    assertSame({ op: 0, d: value }, `${label} (atomKeys: 'envelope')`, 'envelope');
  }
});

test('both object paths stay exact after the optimizer has seen hundreds of shapes', () => {
  const rand = seededRandom(15);
  const shapes: unknown[] = [];
  for (let s = 0; s < 600; s++) {
    const o: Record<string, unknown> = s % 5 === 0 ? (Object.create(null) as Record<string, unknown>) : {};
    const n = Math.floor(rand() * 40);
    for (let i = 0; i < n; i++) {
      const r = rand();
      o[r < 0.1 ? String(i) : `s${s % 37}_${i}`] =
        r < 0.3 ? i : r < 0.6 ? `v${i}` : r < 0.8 ? [i, null] : { i };
    }
    if (n > 3 && rand() < 0.3) delete o[Object.keys(o)[1]!];
    shapes.push(o);
  }
  const kindsList = kinds();
  // Enough rounds for the optimizing compiler to compile both loops with everything above in their feedback.
  for (let round = 0; round < 40; round++) {
    for (const value of shapes) encodeEtf(value);
    for (const [, value] of kindsList) encodeEtf(value);
  }
  shapes.forEach((value, i) => {
    assertSame(value, `shape ${i}`);
  });
  for (const [label, value] of kindsList) assertSame(value, `${label}, warm`);
  const identify = { op: 2, d: { token: 't', properties: { os: 'linux' }, intents: 513 }, s: null, t: null };
  assertSame(identify, 'a client payload after the churn');
  assert.deepEqual(decodeEtf(encodeEtf(identify)), identify);
});

test('inherited enumerable properties are skipped on both object paths', (t) => {
  const proto = Object.prototype as Record<string, unknown>;
  Object.defineProperty(proto, 'polluted', {
    value: 'no',
    enumerable: true,
    configurable: true,
    writable: true,
  });
  t.after(() => {
    delete proto.polluted;
  });
  for (const [label, value] of kinds()) {
    // The reference writer uses Object.keys, which never lists inherited properties.
    assertSame(value, `${label}, Object.prototype polluted`);
  }
});
