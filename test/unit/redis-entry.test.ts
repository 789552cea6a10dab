import assert from 'node:assert/strict';
import { test } from 'node:test';
import { RedisError } from '../../src/errors.js';
import {
  encodeEventValue,
  parseEventFields,
  parseEventHeader,
  parsePayload,
  parseStreamsReply,
  traceFieldOf,
} from '../../src/redis/entry.js';
import { formatTraceparent, parseTraceparent } from '../../src/redis/tracing.js';

const badEntry = (err: unknown): boolean => err instanceof RedisError && err.code === 'REDIS_BAD_ENTRY';

test('an entry of one `e` field reads back the same from a string or a Buffer', () => {
  const value = encodeEventValue(3, 42, 'abc', 'MESSAGE_CREATE', '{"content":"é"}');
  assert.equal(value, '3 42 abc MESSAGE_CREATE\n{"content":"é"}');
  const expected = { shardId: 3, seq: 42, sessionId: 'abc', type: 'MESSAGE_CREATE', data: { content: 'é' } };
  assert.deepEqual(parseEventFields(['e', value]), expected);
  assert.deepEqual(parseEventFields([Buffer.from('e'), Buffer.from(value)]), expected);
});

test('reads the largest sequence numbers and a type with spaces exactly', () => {
  const seq = Number.MAX_SAFE_INTEGER;
  const value = Buffer.from(encodeEventValue(0, seq, 's', 'A B', 'null'));
  const h = parseEventHeader([Buffer.from('e'), value]);
  assert.equal(h?.seq, seq);
  assert.equal(h?.type, 'A B');
  assert.equal(parsePayload(h!), null);
});

test('a dead letter (the event field plus dl:* fields) still parses as the event', () => {
  const fields = ['e', '1 7 s T\n{}', 'dl:group', 'g', 'dl:id', '1-1', 'dl:reason', 'r'];
  assert.equal(parseEventFields(fields)?.seq, 7);
  assert.equal(parseEventFields(fields.map((f) => Buffer.from(f)))?.seq, 7);
});

test('malformed compact headers are not events', () => {
  for (const value of [
    '',
    '1 2 s T',
    'x 2 s T\n{}',
    '1 y s T\n{}',
    '1  s T\n{}',
    '1 2  T\n{}',
    '1 2 s\n{}',
    ' 1 2 s T\n{}',
    '12345678901234567 2 s T\n{}',
    '1 12345678901234567 s T\n{}',
    '1 9007199254740993 s T\n{}',
    '-1 2 s T\n{}',
    '1.5 2 s T\n{}',
  ]) {
    assert.equal(parseEventHeader(['e', value]), undefined, JSON.stringify(value));
    assert.equal(parseEventHeader([Buffer.from('e'), Buffer.from(value)]), undefined, JSON.stringify(value));
  }
});

test('a payload that is not JSON is a REDIS_BAD_ENTRY when parsed, the header alone still reads', () => {
  for (const fields of [
    ['e', '1 2 s T\n{oops'],
    [Buffer.from('e'), Buffer.from('1 2 s T\n')],
  ]) {
    const h = parseEventHeader(fields);
    assert.equal(h?.type, 'T');
    assert.throws(() => parsePayload(h!), badEntry);
    assert.equal(parseEventFields(fields), undefined);
  }
});

test('a stream read reply is checked and converted: names and ids to strings, fields kept', () => {
  const fields = [Buffer.from('e'), Buffer.from('1 2 s T\n{}')];
  const reply = [
    [
      Buffer.from('p:events:0'),
      [
        [Buffer.from('1-1'), fields],
        [Buffer.from('1-2'), null],
      ],
    ],
  ];
  assert.deepEqual(parseStreamsReply(reply), [
    [
      'p:events:0',
      [
        ['1-1', fields],
        ['1-2', null],
      ],
    ],
  ]);
  assert.equal(parseStreamsReply(null), null);
  assert.deepEqual(parseStreamsReply([['s', [['1-1', ['e', 'v']]]]]), [['s', [['1-1', ['e', 'v']]]]]);
});

test('an unexpected stream read reply is a REDIS_BAD_ENTRY, never a TypeError', () => {
  const id = Buffer.from('1-1');
  for (const reply of [
    42,
    'OK',
    [42],
    [[Buffer.from('s')]],
    [[Buffer.from('s'), 'not entries']],
    [[7, []]],
    [[Buffer.from('s'), [42]]],
    [[Buffer.from('s'), [[id]]]],
    [[Buffer.from('s'), [[null, []]]]],
    [[Buffer.from('s'), [[id, 'fields']]]],
    [[Buffer.from('s'), [[id, [Buffer.from('e'), 5]]]]],
  ]) {
    assert.throws(() => parseStreamsReply(reply), badEntry, JSON.stringify(reply));
  }
});

test('a trace field beside the event is ignored by the event parse and read on its own', () => {
  const tp = `00-${'a'.repeat(32)}-${'b'.repeat(16)}-01`;
  const value = encodeEventValue(1, 5, 's', 'T', '{"x":1}');
  for (const fields of [
    ['e', value, 'tp', tp],
    [Buffer.from('e'), Buffer.from(value), Buffer.from('tp'), Buffer.from(tp)],
  ]) {
    assert.deepEqual(parseEventFields(fields), {
      shardId: 1,
      seq: 5,
      sessionId: 's',
      type: 'T',
      data: { x: 1 },
    });
    assert.equal(traceFieldOf(fields), tp);
  }
  assert.equal(traceFieldOf(['e', value]), undefined);
  assert.equal(traceFieldOf(['e', value, 'tp', 'x'.repeat(100)]), undefined, 'too long to be one');
  assert.equal(parseTraceparent(tp)?.traceId, 'a'.repeat(32));
  for (const bad of [
    '',
    'garbage',
    `01-${'a'.repeat(32)}-${'b'.repeat(16)}-01`,
    `00-${'0'.repeat(32)}-${'b'.repeat(16)}-01`,
    `00-${'A'.repeat(32)}-${'b'.repeat(16)}-01`,
  ])
    assert.equal(parseTraceparent(bad), undefined, bad);
  assert.equal(formatTraceparent('a'.repeat(32), 'b'.repeat(16), 1), tp);
});
