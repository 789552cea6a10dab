import assert from 'node:assert/strict';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { FileSessionStore, scopedSessionStore } from '../../src/manager/session-store.js';
import type { SessionInfo } from '../../src/manager/shard-contract.js';
import { ManualClock } from '../../src/util/clock.js';

function session(shardId: number, shardCount = 4, sequence = 1): SessionInfo {
  return { shardId, shardCount, sessionId: `s${shardId}`, sequence, resumeUrl: 'ws://127.0.0.1:1/resume' };
}

async function tempDir(t: { after(fn: () => Promise<void>): void }): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'shardline-sessions-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

test('the file store batches sequence updates into one write per flush interval', async (t) => {
  const dir = await tempDir(t);
  const clock = new ManualClock();
  const store = new FileSessionStore({ path: join(dir, 'sessions.json'), flushIntervalMs: 1000, clock });
  await store.save(0, session(0));
  await store.save(1, session(1));
  for (let seq = 2; seq < 1000; seq++) store.updateSequence(seq % 2, 4, seq);
  store.updateSequence(0, 8, 5000);
  assert.equal(store.writes, 0);
  clock.advance(1000);
  assert.ok(store.writing, 'the batched write started when the interval ended');
  await store.writing;
  assert.equal(store.writes, 1);
  const onDisk = JSON.parse(await readFile(store.path, 'utf8'));
  assert.deepEqual(
    onDisk.sessions.map((s: SessionInfo) => [s.shardId, s.sequence]),
    [
      [0, 998],
      [1, 999],
    ],
    'an update for another shard count is ignored',
  );
});

test('close writes the final sequence numbers and a new store loads them', async (t) => {
  const dir = await tempDir(t);
  const path = join(dir, 'nested', 'sessions.json');
  const clock = new ManualClock();
  const first = new FileSessionStore({ path, flushIntervalMs: 60_000, clock });
  await first.save(2, session(2, 4, 10));
  first.updateSequence(2, 4, 77);
  first.updateSequence(2, 4, 70);
  await first.close();
  assert.equal(first.writes, 1);
  const second = new FileSessionStore({ path, clock });
  assert.deepEqual(await second.load(2), session(2, 4, 77));
  assert.equal(await second.load(3), null);
  await second.save(2, null);
  await second.flush();
  assert.equal(await new FileSessionStore({ path }).load(2), null);
  const leftovers = (await readdir(join(dir, 'nested'))).filter((f) => f.endsWith('.tmp'));
  assert.deepEqual(leftovers, [], 'the temp files were renamed into place');
});

test('a scoped view loads only its shard count and never deletes another count’s session', async (t) => {
  const dir = await tempDir(t);
  const store = new FileSessionStore({ path: join(dir, 's.json'), clock: new ManualClock() });
  const old = scopedSessionStore(store, 4);
  const next = scopedSessionStore(store, 8);
  await old.save(0, session(0, 4));
  assert.equal(await next.load(0), null);
  assert.equal((await old.load(0))?.shardCount, 4);
  await next.save(0, session(0, 8));
  await old.save(0, null);
  assert.equal((await store.load(0))?.shardCount, 8);
  await next.save(0, null);
  assert.equal(await store.load(0), null);
});

test('a missing file is an empty store and a corrupt file is SESSION_STORE_FAILED', async (t) => {
  const dir = await tempDir(t);
  assert.equal(await new FileSessionStore({ path: join(dir, 'absent.json') }).load(0), null);
  const bad = join(dir, 'bad.json');
  await writeFile(bad, '{ not json');
  await assert.rejects(new FileSessionStore({ path: bad }).load(0), { code: 'SESSION_STORE_FAILED' });
  const foreign = join(dir, 'foreign.json');
  await writeFile(foreign, '{"version":9}');
  await assert.rejects(new FileSessionStore({ path: foreign }).load(0), { code: 'SESSION_STORE_FAILED' });
});

test('invalid options and sessions are ConfigErrors', async (t) => {
  const dir = await tempDir(t);
  assert.throws(() => new FileSessionStore({ path: '' }), { code: 'CONFIG_INVALID' });
  assert.throws(() => new FileSessionStore({ path: 'x', flushIntervalMs: Number.NaN }), {
    code: 'CONFIG_INVALID',
  });
  const store = new FileSessionStore({ path: join(dir, 'x.json') });
  await assert.rejects(store.save(0, {} as SessionInfo), { code: 'CONFIG_INVALID' });
  await assert.rejects(store.save(1, session(0)), { code: 'CONFIG_INVALID' });
});

test('sessions handed out by load, entries and save are copies that later sequence updates leave alone', async (t) => {
  const dir = await tempDir(t);
  const store = new FileSessionStore({ path: join(dir, 'sessions.json'), flushIntervalMs: 60_000 });
  const saved = session(0, 4, 1);
  await store.save(0, saved);
  const loaded = await store.load(0);
  const listed = store.entries();
  store.updateSequence(0, 4, 7);
  assert.equal(saved.sequence, 1);
  assert.equal(loaded?.sequence, 1);
  assert.equal(listed[0]?.sequence, 1);
  assert.equal((await store.load(0))?.sequence, 7);
  assert.equal(store.entries()[0]?.sequence, 7);
  store.updateSequence(0, 4, 5);
  assert.equal((await store.load(0))?.sequence, 7, 'a lower sequence never goes back');
  await store.close();
});
