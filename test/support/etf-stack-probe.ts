/**
 * Child-process probe for the ETF decoder's shared state (run by test/unit/etf-hardening.test.ts under
 * `node --no-opt`, where every call is a real call, so a stack overflow can land anywhere inside a decode).
 * It calls decodeEtf from ever deeper stacks, sweeping the point where the stack runs out across a whole
 * decode, and after each attempt checks that a probe document still decodes to itself. Prints one JSON line:
 * `{ attempts, overflows, leaked, corrupted }`.
 */
import { Buffer } from 'node:buffer';
import { decodeEtf, encodeEtf } from '../../src/codec/etf/index.js';
import { CodecError } from '../../src/errors.js';

const probes: [unknown, unknown][] = [
  [{ aaaaaaa1aa: 1 }, { aaaaaaa1aa: 1 }],
  [
    { shortk: 1.5, other: [1, 2] },
    { shortk: 1.5, other: [1, 2] },
  ],
  [
    { id: 1378523441881468101n, n: 2 },
    { id: '1378523441881468101', n: 2 },
  ],
];
const probeBytes = probes.map(([value]) => Buffer.from(encodeEtf(value)));
const expected = probes.map(([, decoded]) => decoded);

// Lists nested `depth` deep; the innermost term holds keys, floats and bignums seen for the first time,
// so the overflow can interrupt an update of the intern table, the shape table or the bignum cache.
const inners = [
  { aaaaaaa2aa: 1 },
  { shortk: 2.5, other: [3] },
  { id: 1378523441881468102n, n: 2 },
  { aaaaaaa2aa: 1, shortk: 2.5, other: [3], id: 1378523441881468102n, n: 1378523441881468103n },
].map((v) => encodeEtf(v).subarray(1));
const depth = Number(process.argv[2] ?? 200);

/** A Buffer (its subarrays are built by a JS constructor, one more place where the stack can run out). */
function nestedDoc(inner: Uint8Array): Buffer {
  const parts: number[] = [131];
  for (let i = 0; i < depth; i++) parts.push(108, 0, 0, 0, 1);
  parts.push(...inner);
  for (let i = 0; i < depth; i++) parts.push(106);
  return Buffer.from(parts);
}
let doc = nestedDoc(inners[0]!);

let overflows = 0;
let leaked = 0;

function decodeOnce(): string {
  try {
    decodeEtf(doc);
    return 'ok';
  } catch (err) {
    if (err instanceof CodecError) {
      overflows++;
      return err.code;
    }
    leaked++;
    return 'raw';
  }
}

// Frames of a few sizes, so consecutive attempts move the overflow point by a few bytes at a time.
const pads: ((...a: number[]) => string)[] = [
  () => decodeOnce(),
  (_a) => decodeOnce(),
  (_a, _b) => decodeOnce(),
  (_a, _b, _c) => decodeOnce(),
  (_a, _b, _c, _d) => decodeOnce(),
  (_a, _b, _c, _d, _e) => decodeOnce(),
  (_a, _b, _c, _d, _e, _f) => decodeOnce(),
  (_a, _b, _c, _d, _e, _f, _g) => decodeOnce(),
];

function at(k: number, j: number): string {
  if (k > 0) {
    try {
      return at(k - 1, j);
    } catch {
      return 'outer';
    }
  }
  try {
    return pads[j]!(1, 2, 3, 4, 5, 6, 7);
  } catch {
    return 'outer';
  }
}

function probesIntact(): boolean {
  for (let i = 0; i < probes.length; i++) {
    const v = decodeEtf(probeBytes[i]!) as Record<string, unknown>;
    if (JSON.stringify(v) !== JSON.stringify(expected[i])) {
      process.stdout.write(`${JSON.stringify({ mismatch: v, expected: expected[i] })}\n`);
      return false;
    }
  }
  return true;
}

let attempts = 0;
let corrupted = false;
for (const inner of inners) {
  doc = nestedDoc(inner);
  // Find the shallowest caller stack at which the decode no longer completes, then sweep around it.
  let lo = 0;
  let hi = 200_000;
  while (hi - lo > 1) {
    const mid = (lo + hi) >> 1;
    if (at(mid, 0) === 'ok') lo = mid;
    else hi = mid;
  }
  for (let k = Math.max(0, hi - 300); k < hi + 60 && !corrupted; k++) {
    for (let j = 0; j < pads.length && !corrupted; j++) {
      for (const b of probeBytes) decodeEtf(b);
      at(k, j);
      attempts++;
      if (!probesIntact()) corrupted = true;
    }
  }
}
process.stdout.write(`${JSON.stringify({ attempts, overflows, leaked, corrupted })}\n`);
