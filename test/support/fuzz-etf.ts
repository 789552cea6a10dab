/**
 * Shared core of the ETF fuzzers (the bounded loop in test/unit/etf-robustness.test.ts and the ETF target
 * of scripts/fuzz.ts, see fuzz-codecs.ts): random JSON-shaped values, seed documents, byte mutations,
 * hostile documents with the outcome each must have (deep nesting, compressed bombs, huge declared lengths,
 * atoms under every tag, map-key blow-up, shape churn), and mutated ETF documents that must either decode or
 * throw a CodecError — never anything else.
 */
import { isDeepStrictEqual } from 'node:util';
import { deflateSync } from 'node:zlib';
import { decodeEtf, encodeEtf, MAX_ETF_DECODE_DEPTH } from '../../src/codec/index.js';
import { CodecError } from '../../src/errors.js';

export type Random = () => number;

const ALPHABET = [
  'a',
  'b',
  'z',
  'A',
  '0',
  '9',
  ' ',
  '_',
  '-',
  'é',
  'ß',
  '日本',
  '😀',
  '\u{feff}',
  '\n',
  '"',
  '\\',
  '\u0000',
];

export function randomInt(rand: Random, min: number, max: number): number {
  return min + Math.floor(rand() * (max - min + 1));
}

export function randomString(rand: Random, maxLen = 40): string {
  const n = randomInt(rand, 0, maxLen);
  let s = '';
  const asciiOnly = rand() < 0.7;
  for (let i = 0; i < n; i++) {
    s += asciiOnly
      ? String.fromCharCode(randomInt(rand, 0x20, 0x7e))
      : ALPHABET[randomInt(rand, 0, ALPHABET.length - 1)]!;
  }
  return s;
}

/** A decimal snowflake string (as in the JSON form). */
export function randomSnowflake(rand: Random): string {
  return (
    BigInt(randomInt(rand, 0, 2 ** 21 - 1)) * 2n ** 40n +
    BigInt(randomInt(rand, 0, 2 ** 30))
  ).toString();
}

function randomNumber(rand: Random): number {
  switch (randomInt(rand, 0, 6)) {
    case 0:
      return randomInt(rand, 0, 255);
    case 1:
      return randomInt(rand, -(2 ** 31), 2 ** 31 - 1);
    case 2:
      return randomInt(rand, -(2 ** 53) + 1, 2 ** 53 - 1);
    case 3:
      return (rand() - 0.5) * 10 ** randomInt(rand, -10, 300);
    case 4:
      return [
        0,
        1,
        255,
        256,
        2 ** 31 - 1,
        2 ** 31,
        -(2 ** 31),
        -(2 ** 31) - 1,
        2 ** 32,
        2 ** 53 - 1,
        -(2 ** 53 - 1),
      ][randomInt(rand, 0, 10)]!;
    case 5:
      return rand();
    default:
      return -randomInt(rand, 1, 1000);
  }
}

/** A random JSON-shaped value (strings for snowflakes; numbers are safe integers or finite non-integers). */
export function randomJsonValue(rand: Random, depth = 0): unknown {
  const r = rand();
  if (depth > 5 || r < 0.45) {
    switch (randomInt(rand, 0, 5)) {
      case 0:
        return randomString(rand);
      case 1:
        return randomNumber(rand);
      case 2:
        return rand() < 0.5;
      case 3:
        return null;
      case 4:
        return randomSnowflake(rand);
      default:
        return '';
    }
  }
  if (r < 0.7) {
    const n = randomInt(rand, 0, 6);
    const arr: unknown[] = [];
    for (let i = 0; i < n; i++) arr.push(randomJsonValue(rand, depth + 1));
    return arr;
  }
  const n = randomInt(rand, 0, 8);
  const obj: Record<string, unknown> = {};
  for (let i = 0; i < n; i++)
    obj[rand() < 0.5 ? randomString(rand, 12) : `k${randomInt(rand, 0, 20)}`] = randomJsonValue(
      rand,
      depth + 1,
    );
  return obj;
}

/** Valid seed documents covering every tag the decoder understands. */
export function seedDocuments(rand: Random): Uint8Array[] {
  const docs: Uint8Array[] = [];
  for (let i = 0; i < 12; i++) docs.push(encodeEtf(randomJsonValue(rand)));
  docs.push(
    encodeEtf(
      { op: 0, t: 'READY', s: 1, d: { id: 2n ** 63n - 5n, v: -(2n ** 70n), f: 1.5 } },
      { atomKeys: true },
    ),
  );
  // Hand-built: tuples, STRING_EXT, ATOM_EXT, ATOM_UTF8_EXT, legacy FLOAT_EXT, LARGE_BIG_EXT, integer key.
  docs.push(Uint8Array.from([131, 104, 3, 97, 1, 107, 0, 2, 65, 66, 100, 0, 4, 116, 114, 117, 101]));
  docs.push(Uint8Array.from([131, 105, 0, 0, 0, 2, 118, 0, 3, 110, 105, 108, 111, 0, 0, 0, 2, 0, 1, 1]));
  const legacy = [131, 99, ...Buffer.from('1.50000000000000000000e+00'), 0, 0, 0, 0, 0];
  docs.push(Uint8Array.from(legacy));
  docs.push(Uint8Array.from([131, 116, 0, 0, 0, 1, 97, 7, 108, 0, 0, 0, 1, 106, 106]));
  const inner = encodeEtf(['compressed', 'compressed', 'compressed', 1, 2, 3]).subarray(1);
  const z = deflateSync(inner);
  const c = new Uint8Array(6 + z.length);
  c.set([131, 80, 0, 0, 0, inner.length]);
  c.set(z, 6);
  docs.push(c);
  return docs;
}

const INTERESTING = [
  0, 1, 0x7f, 0x80, 0xff, 97, 98, 104, 106, 107, 108, 109, 110, 111, 116, 118, 119, 80, 70, 99, 100,
];

/** One random mutation of a document. */
export function mutate(rand: Random, doc: Uint8Array): Uint8Array {
  const out = Uint8Array.from(doc);
  const kind = randomInt(rand, 0, 6);
  const at = randomInt(rand, 0, Math.max(0, out.length - 1));
  switch (kind) {
    case 0:
      out[at] = out[at]! ^ (1 << randomInt(rand, 0, 7));
      return out;
    case 1:
      out[at] = INTERESTING[randomInt(rand, 0, INTERESTING.length - 1)]!;
      return out;
    case 2:
      return out.subarray(0, at);
    case 3: {
      // A 4-byte length overwritten with a big value.
      const v = [0xff, 0x7f, 0x10, 0x00][randomInt(rand, 0, 3)]!;
      for (let i = 0; i < 4 && at + i < out.length; i++) out[at + i] = i === 0 ? v : randomInt(rand, 0, 255);
      return out;
    }
    case 4: {
      const extra = new Uint8Array(out.length + 1);
      extra.set(out.subarray(0, at));
      extra[at] = randomInt(rand, 0, 255);
      extra.set(out.subarray(at), at + 1);
      return extra;
    }
    case 5: {
      for (let i = 0; i < 4; i++) {
        const p = randomInt(rand, 0, Math.max(0, out.length - 1));
        out[p] = randomInt(rand, 0, 255);
      }
      return out;
    }
    default: {
      // Splice a random slice of itself (repeats containers).
      const from = randomInt(rand, 1, Math.max(1, out.length - 1));
      const to = Math.min(out.length, from + randomInt(rand, 0, 32));
      const piece = out.subarray(from, to);
      const res = new Uint8Array(out.length + piece.length);
      res.set(out.subarray(0, at));
      res.set(piece, at);
      res.set(out.subarray(at), at + piece.length);
      return res;
    }
  }
}

export interface FuzzStats {
  cases: number;
  decoded: number;
  errors: Record<string, number>;
}

/**
 * Runs `cases` mutated documents through decodeEtf (and re-encodes what decodes). Throws an Error describing
 * the input when anything but a CodecError escapes.
 */
export function fuzzEtf(
  rand: Random,
  cases: number,
  stats: FuzzStats = { cases: 0, decoded: 0, errors: {} },
): FuzzStats {
  const seeds = seedDocuments(rand);
  for (let i = 0; i < cases; i++) {
    let doc = seeds[randomInt(rand, 0, seeds.length - 1)]!;
    const rounds = randomInt(rand, 1, 3);
    for (let r = 0; r < rounds; r++) doc = mutate(rand, doc);
    stats.cases++;
    try {
      const value = decodeEtf(doc, { maxBytes: 1 << 20 });
      stats.decoded++;
      try {
        encodeEtf(value);
      } catch (err) {
        if (!(err instanceof CodecError)) throw err;
      }
    } catch (err) {
      if (!(err instanceof CodecError)) {
        throw new Error(`non-CodecError for input ${Buffer.from(doc).toString('hex')}: ${String(err)}`, {
          cause: err,
        });
      }
      stats.errors[err.code] = (stats.errors[err.code] ?? 0) + 1;
    }
  }
  return stats;
}

// ---- hostile documents with a known outcome ----

export interface HostileEtfDocument {
  readonly name: string;
  readonly bytes: Uint8Array;
  /** An error code, or 'ok' (then `value`, when given, is what it decodes to). */
  readonly expect: string;
  readonly value?: unknown;
  readonly maxBytes: number;
}

function u32be(n: number): number[] {
  return [n >>> 24, (n >>> 16) & 0xff, (n >>> 8) & 0xff, n & 0xff];
}

function compressedDoc(inner: Uint8Array, declared = inner.length): Uint8Array {
  const z = deflateSync(inner);
  const out = new Uint8Array(6 + z.length);
  out.set([131, 80, ...u32be(declared)]);
  out.set(z, 6);
  return out;
}

function withVersion(term: Uint8Array): Uint8Array {
  const out = new Uint8Array(1 + term.length);
  out[0] = 131;
  out.set(term, 1);
  return out;
}

function nestedDoc(open: readonly number[], middle: readonly number[], close: readonly number[], n: number) {
  const out = new Uint8Array(1 + n * (open.length + close.length) + middle.length);
  out[0] = 131;
  let at = 1;
  for (let i = 0; i < n; i++, at += open.length) out.set(open, at);
  out.set(middle, at);
  at += middle.length;
  for (let i = 0; i < n; i++, at += close.length) out.set(close, at);
  return out;
}

const ATOM_TAGS = [100, 115, 118, 119] as const;

function atomBytes(tag: number, name: string): number[] {
  const text = [...Buffer.from(name, tag === 100 || tag === 115 ? 'latin1' : 'utf8')];
  return tag === 100 || tag === 118 ? [tag, 0, text.length, ...text] : [tag, text.length, ...text];
}

let hostileCache: HostileEtfDocument[] | undefined;

/** Documents of every hostile class, each with the outcome the decoder must give (built once). */
export function hostileEtfDocuments(): HostileEtfDocument[] {
  hostileCache ??= buildHostileEtfDocuments();
  return hostileCache;
}

function buildHostileEtfDocuments(): HostileEtfDocument[] {
  const MiB = 1 << 20;
  const docs: HostileEtfDocument[] = [];
  const deep = 2 * MAX_ETF_DECODE_DEPTH;
  // Deep nesting of every container kind, and maps keyed by tuples holding maps (the costliest recursion).
  docs.push({
    name: 'deep lists',
    bytes: nestedDoc([108, 0, 0, 0, 1], [106], [106], deep),
    expect: 'ETF_DEPTH_EXCEEDED',
    maxBytes: MiB,
  });
  docs.push({
    name: 'deep tuples',
    bytes: nestedDoc([104, 1], [106], [], deep),
    expect: 'ETF_DEPTH_EXCEEDED',
    maxBytes: MiB,
  });
  docs.push({
    name: 'deep map values',
    bytes: nestedDoc([116, 0, 0, 0, 1, 119, 1, 107], [106], [], deep),
    expect: 'ETF_DEPTH_EXCEEDED',
    maxBytes: MiB,
  });
  docs.push({
    name: 'deep map keys',
    bytes: nestedDoc([116, 0, 0, 0, 1, 104, 1], [97, 0], [97, 0], deep),
    expect: 'ETF_DEPTH_EXCEEDED',
    maxBytes: MiB,
  });
  // Map keys that are maps: each level's property name is the JSON of the one below, escaped again.
  docs.push({
    name: 'map-key blow-up',
    bytes: nestedDoc([116, 0, 0, 0, 1], [97, 0], [97, 0], 40),
    expect: 'ETF_TOO_LARGE',
    maxBytes: MiB,
  });
  // Compressed bombs: millions of one-byte empty lists, a long run of zeros, a lying declared size.
  const empties = 3_000_000;
  const emptiesInner = new Uint8Array(6 + empties);
  emptiesInner.set([108, ...u32be(empties)]);
  emptiesInner.fill(106, 5);
  docs.push({
    name: 'compressed empty lists',
    bytes: compressedDoc(emptiesInner),
    expect: 'ETF_TOO_LARGE',
    maxBytes: 64 * MiB,
  });
  docs.push({
    name: 'empty lists',
    bytes: withVersion(emptiesInner),
    expect: 'ETF_TOO_LARGE',
    maxBytes: 64 * MiB,
  });
  const zeros = new Uint8Array(5 + 2 * MiB);
  zeros.set([109, ...u32be(2 * MiB)]);
  docs.push({
    name: 'compressed zeros over maxBytes',
    bytes: compressedDoc(zeros),
    expect: 'ETF_TOO_LARGE',
    maxBytes: MiB,
  });
  docs.push({
    name: 'compressed zeros, lying size',
    bytes: compressedDoc(zeros, 1000),
    expect: 'ETF_TOO_LARGE',
    maxBytes: 64 * MiB,
  });
  // Huge declared lengths with nothing behind them.
  for (const [name, head] of [
    ['list', [108, 255, 255, 255, 255]],
    ['map', [116, 255, 255, 255, 255]],
    ['large tuple', [105, 255, 255, 255, 255]],
    ['binary', [109, 255, 255, 255, 255]],
    ['large big', [111, 255, 255, 255, 255, 0]],
    ['string', [107, 255, 255]],
    ['atom', [100, 255, 255]],
    ['utf8 atom', [118, 255, 255]],
  ] as const)
    docs.push({
      name: `huge ${name}`,
      bytes: Uint8Array.from([131, ...head, 106, 106]),
      expect: 'ETF_TRUNCATED',
      maxBytes: MiB,
    });
  // Atoms under every tag, in every position: one meaning whatever the tag.
  const bin = (t: string) => [109, ...u32be(Buffer.byteLength(t)), ...Buffer.from(t)];
  for (const [name, value, key] of [
    ['nil', null, 'null'],
    ['null', null, 'null'],
    ['true', true, 'true'],
    ['false', false, 'false'],
    ['READY', 'READY', 'READY'],
  ] as const) {
    for (const tag of ATOM_TAGS) {
      const a = atomBytes(tag, name);
      docs.push({
        name: `atom ${name} (tag ${tag})`,
        bytes: Uint8Array.from([131, 116, 0, 0, 0, 2, ...a, ...a, ...bin('l'), 108, 0, 0, 0, 1, ...a, 106]),
        expect: 'ok',
        value: { [key]: value, l: [value] },
        maxBytes: MiB,
      });
    }
  }
  // Shape churn: many never-seen key sets, each three times; must decode exactly.
  const churn: Record<string, number>[] = [];
  for (let i = 0; i < 80; i++) {
    const m: Record<string, number> = {};
    for (let k = 0; k < 3; k++) m[`churn_${i}_${k}`] = i + k;
    churn.push(m, m, m);
  }
  docs.push({ name: 'shape churn', bytes: encodeEtf(churn), expect: 'ok', value: churn, maxBytes: MiB });
  return docs;
}

/** Decodes one hostile document and throws an Error saying how the outcome differs from the expected one. */
export function checkHostileEtf(doc: HostileEtfDocument, bytes = doc.bytes): string {
  let code = 'ok';
  let value: unknown;
  try {
    value = decodeEtf(bytes, { maxBytes: doc.maxBytes });
  } catch (err) {
    if (!(err instanceof CodecError) || err.offset < 0)
      throw new Error(`${doc.name}: ${String(err)} is not a CodecError with an offset`, { cause: err });
    code = err.code;
  }
  if (bytes === doc.bytes) {
    if (code !== doc.expect) throw new Error(`${doc.name}: expected ${doc.expect}, got ${code}`);
    if (doc.value !== undefined && !isDeepStrictEqual(value, doc.value))
      throw new Error(`${doc.name}: decoded to ${JSON.stringify(value)}`);
  }
  return code;
}

/**
 * Every hostile document as it is (outcome checked), then `mutations` mutated copies of them (they must
 * decode or throw a CodecError), then fresh-shape documents checked against encode → decode.
 */
export function fuzzHostileEtf(rand: Random, mutations: number, stats: FuzzStats): FuzzStats {
  const hostile = hostileEtfDocuments();
  for (const doc of hostile) {
    stats.cases++;
    const code = checkHostileEtf(doc);
    if (code === 'ok') stats.decoded++;
    else stats.errors[code] = (stats.errors[code] ?? 0) + 1;
  }
  const small = hostile.filter((d) => d.bytes.length < 1 << 16);
  for (let i = 0; i < mutations; i++) {
    const doc = small[randomInt(rand, 0, small.length - 1)]!;
    stats.cases++;
    const code = checkHostileEtf(doc, mutate(rand, doc.bytes));
    if (code === 'ok') stats.decoded++;
    else stats.errors[code] = (stats.errors[code] ?? 0) + 1;
  }
  for (let i = 0; i < 200; i++) {
    const value: Record<string, unknown>[] = [];
    for (let m = 0; m < 8; m++) {
      const o: Record<string, unknown> = {};
      for (let k = randomInt(rand, 1, 6); k > 0; k--) o[randomString(rand, 10)] = randomJsonValue(rand, 4);
      value.push(o, o, o);
    }
    stats.cases++;
    const back = decodeEtf(encodeEtf(value));
    if (!isDeepStrictEqual(back, value))
      throw new Error(`shape churn: ${JSON.stringify(value)} decoded differently`);
    stats.decoded++;
  }
  return stats;
}
