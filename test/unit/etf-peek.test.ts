import assert from 'node:assert/strict';
import { test } from 'node:test';
import { decodeEtf, encodeEtf } from '../../src/codec/etf/index.js';
import { peekEtfEnvelope } from '../../src/transport/etf-peek.js';

test('reads t, s and op of a Discord-ordered envelope with atom keys without touching d', () => {
  const bytes = encodeEtf(
    { t: 'MESSAGE_CREATE', s: 300, op: 0, d: { id: 1n, content: 'hi' } },
    { atomKeys: true },
  );
  // Corrupt the tail (inside d): the peek must not care.
  const broken = bytes.slice(0, bytes.length - 3);
  assert.deepEqual(peekEtfEnvelope(broken), { op: 0, s: 300, t: 'MESSAGE_CREATE' });
});

test('accepts binary keys, nil t and s, and large sequence numbers', () => {
  assert.deepEqual(peekEtfEnvelope(encodeEtf({ t: null, s: null, op: 11, d: null })), {
    op: 11,
    s: null,
    t: null,
  });
  assert.deepEqual(peekEtfEnvelope(encodeEtf({ t: 'READY', s: 70_000, op: 0, d: {} }, { atomKeys: true })), {
    op: 0,
    s: 70_000,
    t: 'READY',
  });
});

test('gives up (undefined) when d comes first or the bytes are not an envelope', () => {
  for (const bytes of [
    encodeEtf({ d: {}, t: 'A', s: 1, op: 0 }, { atomKeys: true }),
    encodeEtf([1, 2, 3]),
    encodeEtf({ t: 'A', s: 1.5, op: 0, d: null }),
    encodeEtf({ t: 'A', s: -1, op: 0, d: null }),
    Uint8Array.of(131, 116, 0, 0),
    Uint8Array.of(130, 116, 0, 0, 0, 1),
    new Uint8Array(0),
  ]) {
    assert.equal(peekEtfEnvelope(bytes), undefined);
  }
});

test('agrees with the full decoder whenever it answers', () => {
  for (let i = 0; i < 300; i++) {
    const env = {
      t: i % 7 === 0 ? null : `EVENT_${i % 11}`,
      s: i % 7 === 0 ? null : i * 977,
      op: i % 7 === 0 ? 10 : 0,
      d: { nested: { t: 'NOPE', s: 5 }, list: [i, `x${i}`] },
    };
    const bytes = encodeEtf(env, { atomKeys: i % 2 === 0 });
    const full = decodeEtf(bytes) as { op: number; s: number | null; t: string | null };
    assert.deepEqual(peekEtfEnvelope(bytes), { op: full.op, s: full.s, t: full.t });
  }
});
