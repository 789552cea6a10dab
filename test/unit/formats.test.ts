import assert from 'node:assert/strict';
import { test } from 'node:test';
import { COMPRESSIONS, type Compression, ENCODINGS, type Encoding } from '../../src/codec/formats.js';
import { COMPRESSIONS as SIM_COMPRESSIONS } from '../../src/simulator/compression.js';
import { ENCODINGS as SIM_ENCODINGS } from '../../src/simulator/encoding.js';

// Compile-time: each list names every member of its type (a missing member makes these `never`).
const everyEncoding: Exclude<Encoding, (typeof ENCODINGS)[number]> extends never ? true : never = true;
const everyCompression: Exclude<Compression, (typeof COMPRESSIONS)[number]> extends never ? true : never =
  true;

test('the client format lists name every encoding and compression once', () => {
  assert.ok(everyEncoding && everyCompression);
  assert.deepEqual([...ENCODINGS], ['json', 'etf']);
  assert.deepEqual([...COMPRESSIONS], ['zlib-stream', 'zstd-stream', 'none']);
});

test("the simulator's own lists accept exactly the client's formats", () => {
  assert.deepEqual([...SIM_ENCODINGS].sort(), [...ENCODINGS].sort());
  assert.deepEqual([...SIM_COMPRESSIONS].sort(), [...COMPRESSIONS].sort());
});
