import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  decodeSessionRecord,
  encodeSessionRecord,
  parseTakeover,
  type SessionRecord,
} from '../../src/proxy/session-record.js';

const rec: SessionRecord = { shard: [1, 4], intents: 513, seq: 42, pos: '1700000000000-3', opaque: false };
const owner = '0123456789abcdef';
const fields = (over: Record<string, unknown> = {}, top: Partial<Record<'e' | 'c' | 'o', unknown>> = {}) => [
  'e' in top ? top.e : '3',
  'c' in top ? top.c : '7',
  'o' in top ? top.o : owner,
  JSON.stringify({ ...JSON.parse(encodeSessionRecord(rec)), ...over }),
];

test('a stored session record round-trips with its epoch, chain and owner', () => {
  assert.deepEqual(decodeSessionRecord(fields(), 4096), { ...rec, epoch: 3, chain: 7, owner });
});

test('every field of a stored session record is checked: a typed reason, never a throw', () => {
  const bad: [unknown, RegExp][] = [
    [null, /not a session record/],
    ['x', /not a session record/],
    [[1, 2, 3], /not a session record/],
    [fields({}, { e: '0' }), /epoch/],
    [fields({}, { e: '1e3' }), /epoch/],
    [fields({}, { e: '9'.repeat(30) }), /epoch/],
    [fields({}, { c: null }), /chain/],
    [fields({}, { o: 'someone' }), /owner/],
    [['1', '0', owner, null], /no rec/],
    [['1', '0', owner, '{'], /not JSON/],
    [['1', '0', owner, '[]'], /not an object/],
    [fields({ v: 2 }), /version/],
    [fields({ shard: [4, 4] }), /shard/],
    [fields({ shard: [0, 0] }), /shard/],
    [fields({ shard: '0,4' }), /shard/],
    [fields({ intents: -1 }), /intents/],
    [fields({ intents: 2 ** 40 }), /intents/],
    [fields({ seq: 1.5 }), /seq/],
    [fields({ seq: -1 }), /seq/],
    [fields({ pos: '1-2-3' }), /pos/],
    [fields({ pos: 12 }), /pos/],
    [fields({ opaque: 'no' }), /opaque/],
    [fields({ pad: 'x'.repeat(5000) }), /larger than/],
  ];
  for (const [reply, reason] of bad) {
    const r = decodeSessionRecord(reply, 4096);
    assert.ok('invalid' in r, `refused: ${JSON.stringify(reply)?.slice(0, 80)}`);
    assert.match(r.invalid, reason);
  }
});

test('takeover messages are checked', () => {
  const id = 'ab'.repeat(16);
  assert.deepEqual(parseTakeover(`${id} 5 ${owner}`), { id, epoch: 5, owner });
  for (const m of [
    undefined,
    '',
    `${id} 5`,
    `${id} x ${owner}`,
    `${id} 5 ${owner} extra`,
    `AB 5 ${owner}`,
    `${id} 5 ${owner.toUpperCase()}`,
    'x'.repeat(200),
  ])
    assert.equal(parseTakeover(m), undefined, String(m));
});
