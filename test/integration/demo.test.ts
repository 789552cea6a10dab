import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { PassThrough, Writable } from 'node:stream';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { DEMO_KEYS, DEMO_USAGE, describeDemoKeys, runDemo } from '../../src/cli/commands/demo.js';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');

/** A stream that keeps what was written and lets a test wait for a line after a given position. */
function sink(tty = false) {
  const chunks: string[] = [];
  let waiters: (() => void)[] = [];
  const stream = Object.assign(
    new Writable({
      write(chunk, _enc, done) {
        chunks.push(String(chunk));
        for (const w of waiters) w();
        done();
      },
    }),
    tty ? { isTTY: true, columns: 160 } : {},
  );
  const text = () => chunks.join('');
  /** The first line matching `re` that starts at or after `from`; resolves with its end offset. */
  const line = (re: RegExp, from = 0, timeoutMs = 60_000) =>
    new Promise<{ line: string; end: number }>((resolvePromise, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`no line ${re} after offset ${from}:\n${text().slice(from)}`)),
        timeoutMs,
      );
      const check = () => {
        const all = text();
        let at = from;
        for (const l of all.slice(from).split('\n')) {
          if (re.test(l) && all.length > at + l.length) {
            clearTimeout(timer);
            waiters = waiters.filter((w) => w !== check);
            resolvePromise({ line: l, end: at + l.length + 1 });
            return;
          }
          at += l.length + 1;
        }
      };
      waiters.push(check);
      check();
    });
  return { stream, text, line };
}

/** Stands in for a terminal's stdin: the demo reads keys from it. */
function keyboard() {
  return Object.assign(new PassThrough(), { isTTY: true, setRawMode: () => {} });
}

test('the demo summary counts dispatches still in flight when the run stops', async () => {
  const out = sink();
  const err = sink();
  const code = await runDemo(
    [
      '--shard-count',
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

test('each demo key does what the README and the usage say it does', async () => {
  // The README and the usage state the same sentence, made from DEMO_KEYS.
  const readme = readFileSync(join(root, 'README.md'), 'utf8').replace(/\s+/g, ' ');
  assert.ok(readme.includes(describeDemoKeys('`')), `README.md lacks: ${describeDemoKeys('`')}`);
  assert.ok(DEMO_USAGE.includes(describeDemoKeys()));

  const out = sink();
  const err = sink();
  const keys = keyboard();
  const stop = new AbortController();
  const demo = runDemo(
    ['--shard-count', '1', '--guilds', '5', '--events-per-second', '20', '--heartbeat-interval', '1000'],
    { stdout: out.stream, stderr: err.stream, stdin: keys, env: {}, signal: stop.signal },
  );
  try {
    let at = (await out.line(/^shard 0: \S+ -> ready$/)).end;
    for (const k of DEMO_KEYS) {
      keys.write(k.key);
      at = (await out.line(new RegExp(`^fault: ${k.fault} -> shard 0$`), at)).end;
      if (k.outcome === 'heartbeat') {
        // The connection stays: the next close is the one of a close 4000 injected after it.
        keys.write('c');
        const closeFault = await out.line(/^fault: close -> shard 0$/, at);
        const closed = await out.line(/connection closed/, at);
        assert.ok(closed.end > closeFault.end, `${k.key}: ${out.text().slice(at)}`);
        at = (await out.line(/^shard 0: resuming -> ready$/, closed.end)).end;
        continue;
      }
      const closed = await out.line(/^shard 0: connection closed /, at);
      const action = k.outcome === 'resume' ? 'resume' : 'reidentify';
      assert.match(closed.line, new RegExp(`\\(${action}\\)`), `${k.key}: ${out.text().slice(at)}`);
      const ready = await out.line(/^shard 0: \S+ -> ready$/, closed.end);
      assert.equal(ready.line, `shard 0: ${k.outcome === 'resume' ? 'resuming' : 'identifying'} -> ready`);
      at = ready.end;
    }
  } finally {
    stop.abort();
  }
  assert.equal(await demo, 0, out.text() + err.text());
});

test('the startup progress bar does not come back when a shard drops after startup', async () => {
  const out = sink(true);
  const keys = keyboard();
  const stop = new AbortController();
  const demo = runDemo(
    ['--shard-count', '1', '--guilds', '5', '--events-per-second', '20', '--identify-window', '2000'],
    { stdout: out.stream, stderr: sink().stream, stdin: keys, env: {}, signal: stop.signal },
  );
  try {
    const started = await out.line(/^starting \[/);
    const up = await out.line(/^ {1}total {2}1\/1 ready/, started.end);
    // op 9 (not resumable): the shard waits 400–2000 ms, then identifies; the view redraws every 250 ms.
    keys.write('i');
    const down = await out.line(/^ {1}total {2}0\/1 ready/, up.end);
    const back = await out.line(/^ {1}total {2}1\/1 ready/, down.end);
    const after = out.text().slice(up.end, back.end);
    assert.doesNotMatch(after, /^starting \[/m);
    assert.match(after, /identifies a new session/);
  } finally {
    stop.abort();
  }
  assert.equal(await demo, 0);
});
