import assert from 'node:assert/strict';
import { test } from 'node:test';
import { CodecError, ShardError } from '../../src/errors.js';
import { FrameDecoder } from '../../src/transport/frame-decoder.js';
import { peekJsonEnvelope, peekUnwantedJsonDispatch } from '../../src/transport/json-peek.js';
import { seededRandom } from '../../src/util/clock.js';
import { jsonPeekCase } from '../support/fuzz-codecs.js';

type Outcome = { op: number; s: number | null; t: string | null } | { error: string };

/** What the full decoder (no dispatch filter) makes of `text`. */
function fullDecode(text: string): Outcome {
  const decoder = new FrameDecoder({ encoding: 'json', compression: 'none', maxPayloadBytes: 1 << 26 });
  try {
    const e = decoder.decode(Buffer.from(text), false)!;
    return { op: e.op, s: e.s, t: e.t };
  } catch (err) {
    assert.ok(err instanceof CodecError || err instanceof ShardError, String(err));
    return { error: err.code };
  }
}

function check(text: string): void {
  const full = fullDecode(text);
  const peek = peekJsonEnvelope(text);
  if (peek !== undefined) assert.deepEqual(full, peek, `peek disagrees on ${JSON.stringify(text)}`);
  // Through the frame decoder with a filter: a skipped dispatch must be what the full decode says.
  for (const want of [() => false, (t: string) => t.length % 2 === 0]) {
    const decoder = new FrameDecoder({
      encoding: 'json',
      compression: 'none',
      maxPayloadBytes: 1 << 26,
      wantDispatch: want,
    });
    let got: Outcome;
    let skipped = false;
    try {
      const e = decoder.decode(Buffer.from(text), false)!;
      skipped = e.skipped === true;
      got = { op: e.op, s: e.s, t: e.t };
    } catch (err) {
      got = { error: (err as CodecError).code };
    }
    assert.deepEqual(got, full, `filtered decode disagrees on ${JSON.stringify(text)}`);
    if (skipped) assert.ok('t' in full && full.t !== null && full.op === 0 && !want(full.t));
  }
  // A shard thread's raw delivery (`rawDispatch`): the text left undecoded must be one the main thread's
  // JSON.parse reads with the same op, s and t, and everything else must decode as without it.
  for (const raw of [() => true, (t: string) => t.length % 2 === 1]) {
    const decoder = new FrameDecoder({
      encoding: 'json',
      compression: 'none',
      maxPayloadBytes: 1 << 26,
      rawDispatch: raw,
    });
    let got: Outcome;
    let rawText: string | undefined;
    try {
      const e = decoder.decode(Buffer.from(text), false)!;
      rawText = e.raw;
      got = { op: e.op, s: e.s, t: e.t };
    } catch (err) {
      got = { error: (err as CodecError).code };
    }
    assert.deepEqual(got, full, `raw decode disagrees on ${JSON.stringify(text)}`);
    if (rawText !== undefined) {
      assert.equal(rawText, text);
      const parsed = JSON.parse(rawText) as { op: unknown; s?: unknown; t: unknown };
      assert.deepEqual({ op: parsed.op, s: parsed.s ?? null, t: parsed.t }, full, 'main-thread parse');
      assert.ok(typeof parsed.t === 'string' && raw(parsed.t));
    }
  }
}

test('peek and full decode agree on duplicated, escaped and nested keys, odd numbers and bad JSON', () => {
  const cases = [
    '{"t":"TYPING_START","s":5,"op":0,"d":{},"t":"MESSAGE_CREATE"}',
    '{"t":"TYPING_START","s":5,"op":0,"d":{},"op":1}',
    '{"t":"TYPING_START","s":5,"op":0,"d":{},"s":6}',
    '{"t":"TYPING_START","s":5,"op":0,"d":{},"d":[]}',
    '{"t":"A","s":5,"op":0,"\\u0074":"B","d":{}}',
    '{"\\u0074":"B","s":5,"op":0,"d":{}}',
    '{"t":"A","s":01,"op":0,"d":{}}',
    '{"t":"A","s":1,"op":00,"d":{}}',
    '{"t":"A","s":1,"op":0,"d":{}} x',
    '{"t":"A","s":1,"op":0,"d":{ not json',
    '{"t":"A","s":1,"op":0,"d":{"x":1,}}',
    '{"t":"A\u0001","s":1,"op":0,"d":{}}',
    '{"t":"A","s":1,"op":0,"d":"\\q"}',
    '{"t":"A","s":1,"op":0,"d":{"t":"B","s":2,"op":1}}',
    '{"d":{"k":"\\"t\\":\\"B\\""},"t":"A","s":1,"op":0}',
    ' \n\t{ "t" : "A" , "s" : 1 , "op" : 0 , "d" : [ 1 , -2.5e+3 , true , false , null ] } \r\n',
    '{"t":"A","s":1,"op":0,"d":{}}\u00a0',
    '\ufeff{"t":"A","s":1,"op":0,"d":{}}',
    '{"t":"A","s":1e2,"op":0}',
    '{"t":"A","s":1,"op":1e0}',
    `{"t":"A","s":1,"op":${'9'.repeat(400)}}`,
    `{"t":"A","s":${'9'.repeat(400)},"op":0}`,
    '{"t":"A","s":null,"op":0,"d":{}}',
    '{"t":null,"s":1,"op":0}',
    '{"op":0}',
    '{}',
    '[]',
    '{"t":"A","s":1,"op":0,"d":[1,2}',
    '{"t":"A","s":1,"op":0,"d":-}',
    '{"t":"A","s":1,"op":0,"d":1.}',
    '{"t":"A","s":1,"op":0,"d":tru}',
    '{"t":"A","s":1,"op":0,"__proto__":{"t":"B"}}',
    // The fast string path (indexOf to the next quote when no backslash comes first and the document holds
    // no control character): escapes after plain strings, quotes right after backslashes, control characters
    // in a string of a document that also has them as whitespace.
    '{"t":"A","s":1,"op":0,"d":{"a":"x","b":"y\\"z","c":"\\\\"}}',
    '{"t":"A","s":1,"op":0,"d":{"a":"x","b":"y\\\\"z"}}',
    '{"t":"A","s":1,"op":0,"d":{"a":"plain","b":"\\u00zz"}}',
    '{"t":"A","s":1,"op":0,"d":"a\tb"}',
    '{"t":"A","s":1,"op":0,"d":["ok",\n"a\nb"]}',
    '{"t":"A","s":1,"op":0,"d":["ok",\n"ab"]}',
    '{"t":"A","s":1,"op":0,"d":"\\"}',
    '{"t":"A","s":1,"op":0,"d":"x\\"',
    '{"t":"A\\"","s":1,"op":0,"d":{}}',
    '{"t":"A","s":1,"op":0,"d":{"k\\"":1,"k":"v"}}',
    '{"t":"A","s":1,"op":0,"d":"unterminated',
  ];
  for (const text of cases) check(text);
});

test('peek and full decode agree on 5,000 generated envelopes (seeded)', () => {
  const rand = seededRandom(1616);
  let peeked = 0;
  for (let i = 0; i < 5_000; i++) {
    const text = jsonPeekCase(rand);
    check(text);
    if (peekJsonEnvelope(text) !== undefined) peeked++;
  }
  // The generator must produce plenty of inputs the peek accepts, or the test proves little.
  assert.ok(peeked > 1_000, `only ${peeked} peeked`);
});

test('peek and full decode agree on 20,000 mutated realistic events (fast and slow string paths)', () => {
  const rand = seededRandom(4242);
  const base = [
    '{"t":"MESSAGE_CREATE","s":7,"op":0,"d":{"id":"1","content":"caf\u00e9 \\"quoted\\" \\\\ back","embeds":[],"n":-1.5e3,"ok":true,"x":null}}',
    '{"t":"PRESENCE_UPDATE","s":8,"op":0,"d":{"user":{"id":"2"},"status":"online","activities":[{"name":"\\u00e9t\u00e9","type":0}]}}',
    '{"t":"TYPING_START","s":9,"op":0,"d":{"channel_id":"3","user_id":"4","timestamp":1700000000}}',
  ];
  const chars = ['"', '\\', '\n', '\t', '\u0001', 'u', '0', '}', ']', ',', ':', ' ', 'x', '\u00e9'];
  let peeked = 0;
  for (let i = 0; i < 20_000; i++) {
    let text = base[i % base.length]!;
    const edits = 1 + Math.floor(rand() * 3);
    for (let k = 0; k < edits && rand() < 0.9; k++) {
      const at = Math.floor(rand() * text.length);
      const c = chars[Math.floor(rand() * chars.length)]!;
      const op = Math.floor(rand() * 3);
      text =
        op === 0
          ? text.slice(0, at) + text.slice(at + 1)
          : op === 1
            ? text.slice(0, at) + c + text.slice(at)
            : text.slice(0, at) + c + text.slice(at + 1);
    }
    check(text);
    if (peekJsonEnvelope(text) !== undefined) peeked++;
  }
  assert.ok(peeked > 2_000, `only ${peeked} peeked`);
});

test('an unwanted dispatch in Discord key order is peeked; a wanted one is left to the decoder', () => {
  const text = '{"t":"TYPING_START","s":9,"op":0,"d":{"user_id":"1"}}';
  assert.deepEqual(
    peekUnwantedJsonDispatch(text, () => false),
    { op: 0, s: 9, t: 'TYPING_START' },
  );
  assert.equal(
    peekUnwantedJsonDispatch(text, () => true),
    undefined,
  );
  assert.equal(
    peekUnwantedJsonDispatch('{"op":11}', () => false),
    undefined,
  );
});
