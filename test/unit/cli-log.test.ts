import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { test } from 'node:test';
import { createCliLogger, parseLogFlags } from '../../src/cli/log.js';
import { ShardError } from '../../src/errors.js';

const TOKEN = 'MTk4NjIyNDgzNDcxOTI1MjQ4.Cl2FMQ.ZnCjm1XVW7vRze4b7Cq4se7kKWs';
/** Every 8-character piece of the token: none may reach a line. */
const PIECES = Array.from({ length: TOKEN.length - 7 }, (_, i) => TOKEN.slice(i, i + 8));

function sink(isTTY = false): { stream: Writable & { isTTY?: boolean }; text: () => string } {
  let text = '';
  const stream = new Writable({
    write(chunk, _enc, done) {
      text += chunk.toString();
      done();
    },
  }) as Writable & { isTTY?: boolean };
  stream.isTTY = isTTY;
  return { stream, text: () => text };
}

function noPiece(text: string): void {
  assert.equal(
    PIECES.find((p) => text.includes(p)),
    undefined,
    text,
  );
}

test('JSON lines by default off a terminal: level, ISO time, name, shardId and fields', () => {
  const out = sink();
  const log = createCliLogger(out.stream, { name: 'worker', settings: parseLogFlags({}), secrets: [TOKEN] });
  log.info({ shardId: 3 }, 'shard 3 ready');
  log.debug('not shown at info');
  const lines = out.text().trim().split('\n');
  assert.equal(lines.length, 1);
  const record = JSON.parse(lines[0]!) as Record<string, unknown>;
  assert.equal(record.msg, 'shard 3 ready');
  assert.equal(record.level, 30);
  assert.equal(record.shardId, 3);
  assert.equal(record.name, 'shardline worker');
  assert.match(String(record.time), /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
});

test('pretty lines on a terminal or with --log-format pretty; --log-level filters', () => {
  for (const [settings, tty] of [
    [parseLogFlags({}), true],
    [parseLogFlags({ 'log-format': 'pretty', 'log-level': 'debug' }), false],
  ] as const) {
    const out = sink(tty);
    const log = createCliLogger(out.stream, { name: 'proxy', settings, secrets: [TOKEN] });
    log.warn({ shardId: 1 }, `shard 1: closed by ${TOKEN}`);
    log.debug('details');
    const text = out.text().replace(/\x1b\[[0-9;]*m/g, '');
    assert.match(text, /^\[\d\d:\d\d:\d\d\.\d{3}\] WARN: shard 1: closed by \[redacted\] \{"shardId":1\}$/m);
    assert.equal(/DEBUG: details/.test(text), settings.level === 'debug');
    assert.ok(!text.trimStart().startsWith('{'));
    noPiece(text);
  }
  assert.throws(() => parseLogFlags({ 'log-format': 'xml' }), /--log-format must be one of json, pretty/);
  assert.throws(() => parseLogFlags({ 'log-level': 'loud' }), /--log-level must be one of trace/);
});

test('no piece of a token survives in a message, a field, a nested header or an error', () => {
  const out = sink();
  const log = createCliLogger(out.stream, {
    name: 'connect',
    settings: parseLogFlags({ 'log-level': 'trace' }),
    secrets: [TOKEN, undefined, 'client-secret-token'],
  });
  const err = new ShardError('SOCKET_ERROR', `server said ${TOKEN.slice(5, 40)}`);
  log.error({ err }, 'failed');
  log.info({ token: TOKEN, nested: { token: TOKEN, headers: { authorization: `Bot ${TOKEN}` } } }, 'config');
  log.warn({ reason: `closed: ${TOKEN}` }, 'close reason %s', TOKEN.slice(10));
  log.info({ echoed: 'client-secret-token' }, 'client');
  const text = out.text();
  noPiece(text);
  assert.ok(!text.includes('client-secret-token'));
  for (const line of text.trim().split('\n')) JSON.parse(line); // still valid JSON after redaction
  assert.match(text, /\[redacted\]/);
});
