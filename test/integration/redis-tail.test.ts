import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { PassThrough } from 'node:stream';
import { type TestContext, test } from 'node:test';
import { type CliIo, UsageError } from '../../src/cli/args.js';
import { runTail } from '../../src/cli/commands/tail.js';
import { RedisEventPublisher } from '../../src/redis/index.js';
import { closedPort, REDIS_URL, redisFixture, waitFor } from '../support/redis.js';
import { CLI, WorkerProcess } from '../support/worker-process.js';

function io(): { io: CliIo; out: () => string } {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  let text = '';
  stdout.on('data', (chunk: Buffer) => {
    text += chunk.toString();
  });
  stderr.resume();
  return { io: { stdout, stderr, env: {}, signal: new AbortController().signal }, out: () => text };
}

test('shardline tail prints the asked event types as NDJSON', async (t) => {
  const { redis, prefix } = await redisFixture(t);
  const publisher = new RedisEventPublisher({ redis, prefix });
  publisher.publish({ shardId: 1, sessionId: 's', seq: 1, type: 'GUILD_CREATE', data: { id: '1' } });
  publisher.publish({ shardId: 1, sessionId: 's', seq: 2, type: 'MESSAGE_CREATE', data: { content: 'a' } });
  publisher.publish({ shardId: 1, sessionId: 's', seq: 3, type: 'MESSAGE_CREATE', data: { content: 'b' } });
  await publisher.close();
  for (const extra of [[], ['--group', 'tail-test']]) {
    const { io: cli, out } = io();
    const code = await runTail(
      [
        '--redis',
        REDIS_URL,
        '--prefix',
        prefix,
        '--from',
        '0',
        '--types',
        'MESSAGE_CREATE',
        '--count',
        '2',
        ...extra,
      ],
      cli,
    );
    assert.equal(code, 0);
    const lines = out()
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { shard: number; seq: number; t: string; d: unknown });
    assert.deepEqual(
      lines.map((l) => [l.shard, l.seq, l.t, l.d]),
      [
        [1, 2, 'MESSAGE_CREATE', { content: 'a' }],
        [1, 3, 'MESSAGE_CREATE', { content: 'b' }],
      ],
    );
  }
});

test('shardline tail rejects bad flags with a UsageError', async () => {
  const { io: cli } = io();
  await assert.rejects(runTail([], cli), UsageError);
  await assert.rejects(runTail(['--redis', 'http://x'], cli), /redis:\/\//);
  await assert.rejects(runTail(['--redis', REDIS_URL, '--types', 'message create'], cli), /--types/);
  await assert.rejects(runTail(['--redis', REDIS_URL, '--count', '0'], cli), /--count/);
  await assert.rejects(runTail(['--redis', REDIS_URL, '--from', 'start'], cli), /--from/);
});

function tailProcess(t: TestContext, args: readonly string[], name: string): WorkerProcess {
  const child = spawn(process.execPath, [CLI, 'tail', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  const proc = new WorkerProcess(child, name);
  t.after(() => proc.kill('SIGKILL'));
  return proc;
}

test('shardline tail against an unreachable Redis: a clear message, a bounded wait, exit 1', async (t) => {
  const port = await closedPort();
  const tail = tailProcess(t, ['--redis', `redis://127.0.0.1:${port}`, '--redis-wait', '1'], 'tail');
  assert.equal(await tail.exited, 1, tail.dump());
  assert.ok(
    tail.has(
      new RegExp(`waiting for Redis at redis://127\\.0\\.0\\.1:${port} \\(attempt 1\\): .*ECONNREFUSED`),
    ),
    tail.dump(),
  );
  assert.ok(tail.has(/did not answer within 1 s/), tail.dump());
  assert.ok(!tail.has(/maxRetriesPerRequest/), `no ioredis internals\n${tail.dump()}`);
});

for (const signal of ['SIGTERM', 'SIGINT'] as const) {
  test(`shardline tail stops on the first ${signal}, also while Redis is unreachable`, {
    timeout: 20_000,
  }, async (t) => {
    const port = await closedPort();
    const waiting = tailProcess(t, ['--redis', `redis://127.0.0.1:${port}`], 'tail-waiting');
    await waitFor(() => waiting.has(/waiting for Redis at/), { what: 'tail to wait for Redis' });
    assert.equal(await waiting.kill(signal), 0, waiting.dump());
    // and while it reads a live Redis
    const { prefix } = await redisFixture(t);
    const reading = tailProcess(t, ['--redis', REDIS_URL, '--prefix', prefix], 'tail-reading');
    await waitFor(() => reading.has(/^tailing /), { what: 'tail to read' });
    assert.equal(await reading.kill(signal), 0, reading.dump());
  });
}
