/**
 * Shared core of the ETF fuzzers (the bounded loop in test/unit/etf-robustness.test.ts and the ETF target
 * of scripts/fuzz.ts, see fuzz-codecs.ts): random JSON-shaped values, seed documents, byte mutations, and
 * mutated ETF documents that must either decode or throw a CodecError — never anything else.
 */
import { deflateSync } from 'node:zlib';
import { decodeEtf, encodeEtf } from '../../src/codec/index.js';
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
