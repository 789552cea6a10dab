import assert from 'node:assert/strict';
import { type ChildProcess, fork } from 'node:child_process';
import { dirname, join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { parseEventFields } from '../../src/redis/consumer.js';
import { eventStreamKey } from '../../src/redis/index.js';
import { REDIS_URL, redisFixture, waitFor } from '../support/redis.js';

const CHILD = join(dirname(fileURLToPath(import.meta.url)), '..', 'support', 'redis-worker-child.js');
const SHARDS = 4;
const EVENTS = 1_500;

interface Worker {
  child: ChildProcess;
  messages: { kind: string; shardId?: number; seq?: number; from?: number; shards?: number[] }[];
}

function startWorker(t: { after: (fn: () => void) => void }, prefix: string, ownerId: string): Worker {
  const child = fork(CHILD, [REDIS_URL, prefix, ownerId, String(SHARDS), String(EVENTS)], {
    stdio: 'inherit',
  });
  const worker: Worker = { child, messages: [] };
  child.on('message', (m) => worker.messages.push(m as Worker['messages'][number]));
  t.after(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  });
  return worker;
}

test('kill -9 of a worker mid-stream: another takes its shards over by resuming and the stream holds every event once, in order', async (t) => {
  const { redis, prefix } = await redisFixture(t);
  const a = startWorker(t, prefix, 'worker-a');
  // let A publish a good part of every shard, then kill it without warning
  await waitFor(
    () => {
      const last = new Map<number, number>();
      for (const m of a.messages) if (m.kind === 'published') last.set(m.shardId!, m.seq!);
      return last.size === SHARDS && [...last.values()].every((s) => s >= 200);
    },
    { what: 'worker A to publish 200 events per shard', timeoutMs: 30_000 },
  );
  const exited = new Promise((resolve) => a.child.once('exit', resolve));
  a.child.kill('SIGKILL');
  await exited;
  assert.ok(
    a.messages.every((m) => m.kind !== 'done'),
    'A finished before it was killed; raise EVENTS',
  );

  const b = startWorker(t, prefix, 'worker-b');
  await waitFor(() => b.messages.some((m) => m.kind === 'done'), {
    what: 'worker B to finish every shard',
    timeoutMs: 60_000,
  });
  assert.deepEqual(
    b.messages.filter((m) => m.kind === 'identified'),
    [],
    'B identified instead of resuming',
  );
  assert.equal(b.messages.filter((m) => m.kind === 'resumed').length, SHARDS);

  const entries = (await redis.xrange(eventStreamKey(prefix, 0), '-', '+')) as [string, string[]][];
  const perShard = new Map<number, number[]>();
  for (const [, raw] of entries) {
    const e = parseEventFields(raw)!;
    perShard.set(e.shardId, [...(perShard.get(e.shardId) ?? []), e.seq]);
  }
  for (let shard = 0; shard < SHARDS; shard++) {
    assert.deepEqual(
      perShard.get(shard),
      Array.from({ length: EVENTS }, (_, i) => i + 1),
      `shard ${shard}: every seq exactly once, in order`,
    );
  }
});
