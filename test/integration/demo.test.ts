import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { test } from 'node:test';
import { runDemo } from '../../src/cli/commands/demo.js';

function sink(): { stream: Writable; text: () => string } {
  const chunks: string[] = [];
  const stream = new Writable({
    write(chunk, _enc, done) {
      chunks.push(String(chunk));
      done();
    },
  });
  return { stream, text: () => chunks.join('') };
}

test('the demo summary counts dispatches still in flight when the run stops', async () => {
  const out = sink();
  const err = sink();
  const code = await runDemo(
    [
      '--shards',
      '2',
      '--guilds',
      '40',
      '--duration',
      '4',
      '--fault-every',
      '1',
      '--seed',
      '3',
      '--events-per-second',
      '400',
    ],
    { stdout: out.stream, stderr: err.stream, env: {}, signal: new AbortController().signal },
  );
  const text = out.text();
  const summary = /(\d+)\/(\d+) sessions delivered every sequenced dispatch exactly once/.exec(text);
  assert.ok(summary, text);
  assert.equal(summary[1], summary[2], text);
  assert.doesNotMatch(text, /delivered \d+, sequenced \d+/);
  assert.doesNotMatch(text, /violations:/);
  assert.equal(code, 0, text + err.text());
});
