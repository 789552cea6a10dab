import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import { test } from 'node:test';
import { type CliIo, UsageError } from '../../src/cli/args.js';
import { runTail } from '../../src/cli/commands/tail.js';
import { RedisEventPublisher } from '../../src/redis/index.js';
import { REDIS_URL, redisFixture } from '../support/redis.js';

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
