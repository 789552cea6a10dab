import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { FileIdentifyQueue } from '../../src/manager/file-identify-queue.js';
import { ManualClock } from '../../src/util/clock.js';

test('two queues on one directory share the buckets: one identify per bucket per window', async (t) => {
  const directory = await mkdtemp(join(tmpdir(), 'shardline-identify-'));
  t.after(() => rm(directory, { recursive: true, force: true }));
  const clock = new ManualClock(1_000_000);
  const now = () => clock.now();
  // Two "processes": each has its own queue object over the same directory and the same wall clock.
  const options = { directory, maxConcurrency: 2, windowMs: 5_000, marginMs: 0, pollMs: 5, now, clock };
  const a = new FileIdentifyQueue(options);
  const b = new FileIdentifyQueue(options);
  const signal = new AbortController().signal;
  await a.waitForIdentify(0, signal);
  await b.waitForIdentify(1, signal);
  let granted = false;
  const second = b.waitForIdentify(2, signal).then(() => {
    granted = true;
  });
  while (clock.pending === 0) await new Promise((r) => setTimeout(r, 5));
  assert.equal(granted, false, 'bucket 0 is taken by the other process for this window');
  clock.advance(4_999);
  assert.equal(granted, false);
  clock.advance(1);
  await second;
  assert.equal(granted, true);
});

test('an aborted wait rejects with the abort reason', async (t) => {
  const directory = await mkdtemp(join(tmpdir(), 'shardline-identify-'));
  t.after(() => rm(directory, { recursive: true, force: true }));
  const q = new FileIdentifyQueue({ directory, maxConcurrency: 1, windowMs: 10_000 });
  await q.waitForIdentify(0, new AbortController().signal);
  const controller = new AbortController();
  const waiting = q.waitForIdentify(1, controller.signal);
  const reason = new Error('destroyed');
  setTimeout(() => controller.abort(reason), 20);
  await assert.rejects(waiting, (err) => err === reason);
});

test('bad options are ConfigErrors', () => {
  assert.throws(() => new FileIdentifyQueue({ directory: '', maxConcurrency: 1 }), { option: 'directory' });
  assert.throws(() => new FileIdentifyQueue({ directory: 'x', maxConcurrency: 0 }), {
    option: 'maxConcurrency',
  });
});
