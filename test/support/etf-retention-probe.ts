/**
 * Child-process probe (run by test/unit/etf-hardening.test.ts under `node --expose-gc`, one process per case
 * so no case cleans up after another): decodes a document that fails after 60 values of 1 MiB and prints, as
 * one JSON line, the error code and how many bytes (heap and external) it left reachable after a full GC:
 * `{ "code": "ETF_TRUNCATED", "retained": n }`. Cases: map, bigMap, keys, list, compressed.
 */
import { deflateSync } from 'node:zlib';
import { decodeEtf } from '../../src/codec/etf/index.js';

const gc = (globalThis as { gc?: () => void }).gc;
if (gc === undefined) throw new Error('run with node --expose-gc');

const VALUES = 60;
const VALUE_BYTES = 1 << 20;
const value = Buffer.alloc(VALUE_BYTES, 0x61);

function binary(text: Buffer): Buffer {
  const head = Buffer.alloc(5);
  head[0] = 109;
  head.writeUInt32BE(text.length, 1);
  return Buffer.concat([head, text]);
}

function key(i: number): Buffer {
  return binary(Buffer.from(`k${i}`));
}

/** A map of `arity` pairs whose first VALUES values are large, cut short before its last value. */
function failingMap(arity: number, bigKeys = false): Buffer {
  const head = Buffer.from([131, 116, 0, 0, 0, 0]);
  head.writeUInt32BE(arity, 2);
  const parts: Buffer[] = [head];
  for (let i = 0; i < VALUES; i++) {
    if (bigKeys) parts.push(binary(Buffer.concat([Buffer.from(`${i}:`), value])), Buffer.from([97, 1]));
    else parts.push(key(i), binary(value));
  }
  for (let i = VALUES; i < arity - 1; i++) parts.push(key(i), Buffer.from([97, 1]));
  parts.push(key(arity - 1)); // …and no value: ETF_TRUNCATED
  return Buffer.concat(parts);
}

function failingList(): Buffer {
  const parts: Buffer[] = [Buffer.from([131, 108, 0, 0, 0, VALUES + 1])];
  for (let i = 0; i < VALUES; i++) parts.push(binary(value));
  return Buffer.concat(parts); // one element and the tail missing
}

function failingCompressed(): Buffer {
  const inner = failingMap(VALUES + 1).subarray(1);
  const z = deflateSync(inner);
  const head = Buffer.from([131, 80, 0, 0, 0, 0]);
  head.writeUInt32BE(inner.length, 2);
  return Buffer.concat([head, z]);
}

function heapAfterGc(): number {
  gc!();
  gc!();
  const m = process.memoryUsage();
  return m.heapUsed + m.external;
}

const cases: Record<string, () => Buffer> = {
  map: () => failingMap(VALUES + 1),
  bigMap: () => failingMap(VALUES + 10),
  keys: () => failingMap(VALUES + 1, true),
  list: failingList,
  compressed: failingCompressed,
};
const make = cases[process.argv[2] ?? ''];
if (make === undefined) throw new Error(`case must be one of ${Object.keys(cases).join(', ')}`);
const before = heapAfterGc();
let doc: Buffer | undefined = make();
let code = 'none';
try {
  decodeEtf(doc, { maxBytes: 256 << 20 });
} catch (err) {
  code = (err as { code?: string }).code ?? 'raw';
}
doc = undefined;
process.stdout.write(`${JSON.stringify({ code, retained: heapAfterGc() - before })}\n`);
