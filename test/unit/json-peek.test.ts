import assert from 'node:assert/strict';
import { test } from 'node:test';
import { peekJsonEnvelope } from '../../src/transport/json-peek.js';

test('reads t, s and op in Discord key order, and answers only for a document the decoder accepts', () => {
  assert.deepEqual(peekJsonEnvelope('{"t":"MESSAGE_CREATE","s":42,"op":0,"d":{"x":[1,"}"]}}'), {
    op: 0,
    s: 42,
    t: 'MESSAGE_CREATE',
  });
  // `d` is invalid JSON: the decoder would refuse the payload, so the peek must not vouch for it.
  assert.equal(peekJsonEnvelope('{"t":"MESSAGE_CREATE","s":42,"op":0,"d":{ not json'), undefined);
  // A second `t` after `d`: JSON.parse keeps the last one, so only the full decode can answer.
  assert.equal(peekJsonEnvelope('{"t":"TYPING_START","s":1,"op":0,"d":{},"t":"MESSAGE_CREATE"}'), undefined);
});

test('skips over d when it comes first, including nested "t" keys, strings with braces and escapes', () => {
  const text = JSON.stringify({
    d: { t: 'FAKE', s: 999, nested: [{ x: '}{"t":"NOPE"' }, 'a\\"b'], op: 7 },
    op: 0,
    s: 7,
    t: 'TYPING_START',
  });
  assert.deepEqual(peekJsonEnvelope(text), { op: 0, s: 7, t: 'TYPING_START' });
});

test('handles null t and s, whitespace, and missing keys', () => {
  assert.deepEqual(peekJsonEnvelope(' { "op" : 11 } '), { op: 11, s: null, t: null });
  assert.deepEqual(peekJsonEnvelope('{"t":null,"s":null,"op":10,"d":{"heartbeat_interval":41250}}'), {
    op: 10,
    s: null,
    t: null,
  });
});

test('gives up (undefined) whenever it is not sure', () => {
  for (const text of [
    '',
    '[]',
    '{"op":"0"}',
    '{"t":"A\\u0042","s":1,"op":0}',
    '{"t\\u0000":"A","s":1,"op":0}',
    '{"s":1.5,"t":"A","op":0}',
    '{"d":{"unterminated":',
    '{"t":"A","s":1}',
    '{"t":"A" "s":1,"op":0}',
  ]) {
    assert.equal(peekJsonEnvelope(text), undefined, text);
  }
});

test('agrees with JSON.parse on the envelope of generated payloads', () => {
  const keys = ['t', 's', 'op', 'd'];
  for (let i = 0; i < 200; i++) {
    const order = [...keys].sort(() => ((i * 7919) % 3) - 1);
    const obj: Record<string, unknown> = {};
    for (const k of order) {
      if (k === 't') obj.t = i % 5 === 0 ? null : `EVENT_${i % 13}`;
      else if (k === 's') obj.s = i % 5 === 0 ? null : i;
      else if (k === 'op') obj.op = i % 5 === 0 ? 11 : 0;
      else obj.d = { t: 'X', s: -1, list: [i, `q"${i}}`, { op: 3 }], text: '\\"}]' };
    }
    const text = JSON.stringify(obj, null, i % 2 ? 1 : undefined);
    const parsed = JSON.parse(text) as { op: number; s: number | null; t: string | null };
    assert.deepEqual(peekJsonEnvelope(text), { op: parsed.op, s: parsed.s, t: parsed.t });
  }
});
