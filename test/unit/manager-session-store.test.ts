import assert from 'node:assert/strict';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { FileSessionStore, MemorySessionStore, type StoredSession } from '../../src/manager/session-store.js';
import { ManualClock } from '../../src/util/clock.js';

function session(shardId: number, shardCount = 4, sequence = 1): StoredSession {
  return { shardId, shardCount, sessionId: `s${shardId}`, sequence, resumeGatewayUrl: 'ws://127.0.0.1:1' };
}

async function tempDir(t: { after(fn: () => Promise<void>): void }): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'shardline-sessions-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

test('the memory store keys sessions by shard id and shard count', async () => {
  const store = new MemorySessionStore();
  await store.set(session(0, 4));
  await store.set(session(0, 8));
  assert.equal((await store.get(0, 4))?.shardCount, 4);
  assert.equal((await store.get(0, 8))?.shardCount, 8);
  store.setSequence(0, 4, 42);
  assert.equal((await store.get(0, 4))?.sequence, 42);
  assert.equal((await store.get(0, 8))?.sequence, 1);
  await store.delete(0, 4);
  assert.equal(await store.get(0, 4), undefined);
  store.setSequence(3, 4, 5);
  assert.equal(await store.get(3, 4), undefined, 'a sequence without a session is ignored');
});

test('the file store batches sequence updates into one write per flush interval', async (t) => {
  const dir = await tempDir(t);
  const clock = new ManualClock();
  const store = new FileSessionStore({ path: join(dir, 'sessions.json'), flushIntervalMs: 1000, clock });
  await store.set(session(0));
  await store.set(session(1));
  for (let seq = 2; seq < 1000; seq++) store.setSequence(seq % 2, 4, seq);
  assert.equal(store.writes, 0);
  clock.advance(1000);
  assert.ok(store.writing, 'the batched write started when the interval ended');
  await store.writing;
  assert.equal(store.writes, 1);
  const onDisk = JSON.parse(await readFile(store.path, 'utf8'));
  assert.deepEqual(
    onDisk.sessions.map((s: StoredSession) => [s.shardId, s.sequence]),
    [
      [0, 998],
      [1, 999],
    ],
  );
});

test('close writes the final sequence numbers and a new store resumes from them', async (t) => {
  const dir = await tempDir(t);
  const path = join(dir, 'nested', 'sessions.json');
  const clock = new ManualClock();
  const first = new FileSessionStore({ path, flushIntervalMs: 60_000, clock });
  await first.set(session(2, 4, 10));
  first.setSequence(2, 4, 77);
  await first.close();
  assert.equal(first.writes, 1);
  const second = new FileSessionStore({ path, clock });
  assert.deepEqual(await second.get(2, 4), session(2, 4, 77));
  assert.equal(await second.get(2, 8), undefined);
  const leftovers = (await readdir(join(dir, 'nested'))).filter((f) => f.endsWith('.tmp'));
  assert.deepEqual(leftovers, [], 'the temp file was renamed into place');
});

test('a missing file is an empty store and a corrupt file is SESSION_STORE_FAILED', async (t) => {
  const dir = await tempDir(t);
  const empty = new FileSessionStore({ path: join(dir, 'absent.json') });
  assert.equal(await empty.get(0, 1), undefined);
  const bad = join(dir, 'bad.json');
  await writeFile(bad, '{ not json');
  await assert.rejects(new FileSessionStore({ path: bad }).get(0, 1), { code: 'SESSION_STORE_FAILED' });
  const foreign = join(dir, 'foreign.json');
  await writeFile(foreign, '{"version":9}');
  await assert.rejects(new FileSessionStore({ path: foreign }).get(0, 1), { code: 'SESSION_STORE_FAILED' });
});

test('invalid options and sessions are ConfigErrors', async () => {
  assert.throws(() => new FileSessionStore({ path: '' }), { code: 'CONFIG_INVALID' });
  assert.throws(() => new FileSessionStore({ path: 'x', flushIntervalMs: Number.NaN }), {
    code: 'CONFIG_INVALID',
  });
  await assert.rejects(new MemorySessionStore().set({} as StoredSession), { code: 'CONFIG_INVALID' });
});
