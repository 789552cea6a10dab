import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { gzipSync } from 'node:zlib';
import { UsageError } from '../../src/cli/args.js';
import { parseSimulateArgs } from '../../src/cli/commands/simulate.js';
import { RecordingError } from '../../src/errors.js';
import { formatEntry, formatHeader, type RecordingEntry } from '../../src/simulator/recording/format.js';
import { openRecording } from '../../src/simulator/recording/reader.js';
import { RecordingWriter } from '../../src/simulator/recording/writer.js';
import { loadRecording, resolveReplayOptions } from '../../src/simulator/replay.js';
import { startSimulator } from '../../src/simulator/server.js';

const dir = mkdtempSync(join(tmpdir(), 'shardline-recording-'));
test.after(() => rmSync(dir, { recursive: true, force: true }));
let n = 0;
const file = (content: string | Uint8Array): string => {
  const path = join(dir, `r${n++}`);
  writeFileSync(path, content);
  return path;
};

const HEADER = formatHeader({
  shardCount: 2,
  encoding: 'json',
  compression: 'none',
  startedAt: '2026-01-01T00:00:00.000Z',
  intents: 513,
  anonymized: false,
});
const payload = (at: number, s: number, t: string, d: unknown = {}): string =>
  JSON.stringify({ at, shard: 0, op: 0, s, t, d });

async function failure(path: string, maxLineBytes?: number): Promise<RecordingError> {
  const options = resolveReplayOptions({ path, ...(maxLineBytes !== undefined ? { maxLineBytes } : {}) });
  try {
    await loadRecording(options);
  } catch (err) {
    assert.ok(err instanceof RecordingError, `a RecordingError, got ${String(err)}`);
    return err;
  }
  assert.fail('the recording was accepted');
}

test('hostile recordings fail with a typed error naming the line', async () => {
  const cases: Array<[string, string, string, number]> = [
    ['empty', '', 'RECORDING_BAD_HEADER', 1],
    ['not a header', `${payload(0, 1, 'READY')}\n`, 'RECORDING_BAD_HEADER', 1],
    ['future version', `${HEADER.replace('"version":1', '"version":2')}\n`, 'RECORDING_BAD_VERSION', 1],
    ['bad shard count', `${HEADER.replace('"shardCount":2', '"shardCount":0')}\n`, 'RECORDING_BAD_HEADER', 1],
    [
      'malformed JSON',
      `${HEADER}\n${payload(0, 1, 'READY')}\n\n{"at":1,"shard":0,"op":0,\n`,
      'RECORDING_MALFORMED_LINE',
      4,
    ],
    [
      'shard beyond the count',
      `${HEADER}\n${JSON.stringify({ at: 0, shard: 2, op: 10, d: {} })}\n`,
      'RECORDING_MALFORMED_LINE',
      2,
    ],
    ['bad event name', `${HEADER}\n${payload(0, 1, 'ready; rm -rf')}\n`, 'RECORDING_MALFORMED_LINE', 2],
    [
      'negative time',
      `${HEADER}\n${JSON.stringify({ at: -5, shard: 0, op: 11 })}\n`,
      'RECORDING_MALFORMED_LINE',
      2,
    ],
    [
      'dispatch without t',
      `${HEADER}\n${JSON.stringify({ at: 1, shard: 0, op: 0, s: 1 })}\n`,
      'RECORDING_MALFORMED_LINE',
      2,
    ],
    ['array entry', `${HEADER}\n[1,2]\n`, 'RECORDING_MALFORMED_LINE', 2],
  ];
  for (const [what, content, code, line] of cases) {
    const err = await failure(file(content));
    assert.equal(err.code, code, what);
    assert.equal(err.line, line, what);
    assert.match(err.message, new RegExp(`^line ${line}: `), what);
  }
});

test('a line over maxLineBytes is refused before it is buffered, newline or not', async () => {
  const huge = `${HEADER}\n${payload(0, 1, 'READY')}\n${payload(1, 2, 'MESSAGE_CREATE', { content: 'x'.repeat(200_000) })}\n`;
  const err = await failure(file(huge), 4096);
  assert.equal(err.code, 'RECORDING_LINE_TOO_LONG');
  assert.equal(err.line, 3);
  const endless = `${HEADER}\n${'y'.repeat(1_000_000)}`;
  assert.equal((await failure(file(endless), 4096)).code, 'RECORDING_LINE_TOO_LONG');
});

test('missing, truncated gzip and oversized openings are typed errors; startSimulator rejects with them', async () => {
  const missing = await failure(join(dir, 'does-not-exist'));
  assert.equal(missing.code, 'RECORDING_UNREADABLE');
  assert.equal(missing.line, 0);
  const body = `${HEADER}\n${payload(0, 1, 'READY', { guilds: [] })}\n`;
  const gz = gzipSync(
    Buffer.from(`${body}${payload(5, 2, 'MESSAGE_CREATE', { content: 'z'.repeat(5000) })}\n`),
  );
  assert.equal((await failure(file(gz.subarray(0, gz.length - 12)))).code, 'RECORDING_UNREADABLE');
  const opening = `${HEADER}\n${payload(0, 1, 'READY', { guilds: [{ id: '1', unavailable: true }], pad: 'p'.repeat(4000) })}\n`;
  const options = resolveReplayOptions({ path: file(opening), maxOpeningBytes: 1000 });
  await assert.rejects(loadRecording(options), { code: 'RECORDING_TOO_LARGE', line: 2 });
  await assert.rejects(
    startSimulator({ replay: { path: file(`${HEADER.replace('"version":1', '"version":"1"')}\n`) } }),
    {
      name: 'RecordingError',
      code: 'RECORDING_BAD_VERSION',
      line: 1,
    },
  );
});

test('gzip round trip: the writer ends the stream with its trailer and the reader gets every entry back', async () => {
  const path = join(dir, 'round.ndjson.gz');
  const writer = await RecordingWriter.open({ path });
  assert.equal(writer.gzip, true);
  const entries: RecordingEntry[] = [
    { kind: 'payload', at: 0, shard: 0, op: 10, s: null, t: null, d: { heartbeat_interval: 41250 } },
    { kind: 'payload', at: 3, shard: 1, op: 0, s: 1, t: 'READY', d: { guilds: [], ü: 'ünïcödé ✓' } },
    { kind: 'close', at: 9, shard: null, close: 1006 },
  ];
  writer.writeLine(HEADER);
  for (const e of entries) writer.writeLine(formatEntry(e));
  await writer.close();
  const bytes = readFileSync(path);
  assert.deepEqual([bytes[0], bytes[1]], [0x1f, 0x8b]);
  const { header, entries: read } = await openRecording(path);
  assert.equal(header.shardCount, 2);
  const back: RecordingEntry[] = [];
  for await (const { entry } of read) back.push(entry);
  assert.deepEqual(back, entries);
});

test('simulate --replay flags parse into replay options, and misuse is a one-line usage error', () => {
  assert.deepEqual(parseSimulateArgs(['--replay', 'r.ndjson', '--speed', '2.5', '--loop']).replay, {
    path: 'r.ndjson',
    loop: true,
    asFastAsPossible: false,
    speed: 2.5,
  });
  assert.equal(
    parseSimulateArgs(['--replay', 'r.gz', '--as-fast-as-possible']).replay?.asFastAsPossible,
    true,
  );
  assert.equal(parseSimulateArgs([]).replay, undefined);
  for (const argv of [
    ['--speed', '2'],
    ['--loop'],
    ['--replay', 'r', '--speed', '0'],
    ['--replay', 'r', '--speed', 'fast'],
    ['--replay', 'r', '--speed', '2', '--as-fast-as-possible'],
    ['--replay', 'r', '--max-line-bytes', '10'],
  ]) {
    assert.throws(() => parseSimulateArgs(argv), UsageError, argv.join(' '));
  }
});
