import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { inspect } from 'node:util';
import type { Redis } from 'ioredis';
import { UsageError } from '../../src/cli/args.js';
import { parseWorkerArgs } from '../../src/cli/commands/worker.js';
import { main } from '../../src/cli/main.js';
import { ConfigError } from '../../src/errors.js';
import { createRedisClient, ShardWorker } from '../../src/redis/index.js';
import { resolveShardWorkerOptions } from '../../src/redis/worker-options.js';

const TOKEN = 'MTIzNDU2Nzg5MDEyMzQ1Njc4.secret.token-value';
const REDIS = ['--redis', 'redis://127.0.0.1:6379'];

function usage(argv: string[], re: RegExp): void {
  assert.throws(
    () => parseWorkerArgs(argv, {}),
    (err: unknown) =>
      err instanceof UsageError &&
      err.code === 'CLI_USAGE' &&
      re.test(err.message) &&
      !err.message.includes('\n'),
  );
}

describe('shardline worker: flag parsing', () => {
  test('--shard-ids with --shard-count gives a fixed list; defaults are filled in', () => {
    const c = parseWorkerArgs([...REDIS, '--shard-ids', '0-3,6', '--shard-count', '8'], {});
    assert.equal(c.redisUrl, 'redis://127.0.0.1:6379');
    assert.equal(c.tokenEnv, 'DISCORD_TOKEN');
    assert.equal(c.metricsPort, undefined);
    assert.deepEqual(c.worker.shardIds, [0, 1, 2, 3, 6]);
    assert.equal(c.worker.shardCount, 8);
    assert.equal(c.worker.prefix, 'shardline:');
    assert.equal(c.worker.api, 'https://discord.com/api');
  });

  test('--shard-ids auto with every tuning flag', () => {
    const c = parseWorkerArgs(
      [
        ...REDIS,
        '--shard-ids',
        'auto',
        '--max-shards',
        '4',
        '--token-env',
        'MY_BOT_TOKEN',
        '--api',
        'http://127.0.0.1:9999/api/v10',
        '--prefix',
        '{bot}:',
        '--owner',
        'worker-1',
        '--intents',
        'Guilds',
        '--encoding',
        'json',
        '--compression',
        'none',
        '--partitions',
        '4',
        '--high-water-mark',
        '500',
        '--lease-ttl',
        '3000',
        '--identify-window',
        '600',
        '--metrics-port',
        '9100',
        '--redis-wait',
        '30',
      ],
      {},
    );
    assert.equal(c.tokenEnv, 'MY_BOT_TOKEN');
    assert.equal(c.metricsPort, 9100);
    assert.deepEqual(c.worker, {
      prefix: '{bot}:',
      intents: 1,
      shardIds: 'auto',
      api: 'http://127.0.0.1:9999/api/v10',
      maxShards: 4,
      ownerId: 'worker-1',
      encoding: 'json',
      compression: 'none',
      partitions: 4,
      highWaterMark: 500,
      leaseTtlMs: 3000,
      identifyWindowMs: 600,
      redisWaitMs: 30_000,
    });
  });

  test('the Redis URL may come from SHARDLINE_REDIS_URL', () => {
    const c = parseWorkerArgs(['--shard-ids', 'auto'], { SHARDLINE_REDIS_URL: 'rediss://cache:6380' });
    assert.equal(c.redisUrl, 'rediss://cache:6380');
  });

  test('bad usage is a one-line UsageError naming the flag', () => {
    usage(['--shard-ids', 'auto'], /--redis URL is required/);
    usage(['--redis', 'http://x', '--shard-ids', 'auto'], /--redis must be a redis:\/\//);
    usage([...REDIS], /--shard-ids 0-7 or --shard-ids auto/);
    usage(
      [...REDIS, '--shard-ids', '0-8', '--shard-count', '8'],
      /shard 8 does not exist with --shard-count 8/,
    );
    usage([...REDIS, '--shard-ids', '2-1'], /runs backwards/);
    usage(
      [...REDIS, '--shard-ids', '0', '--max-shards', '2'],
      /--max-shards only applies with --shard-ids auto/,
    );
    usage([...REDIS, '--shard-ids', 'auto', '--lease-ttl', '10'], /--lease-ttl must be between 300/);
    usage([...REDIS, '--shard-ids', 'auto', '--encoding', 'xml'], /--encoding must be one of json, etf/);
    usage([...REDIS, '--shard-ids', 'auto', '--api', 'ftp://x'], /--api must be an http\(s\) URL/);
    usage(
      [...REDIS, '--shard-ids', 'auto', '--token-env', 'not a name'],
      /--token-env must name an environment variable/,
    );
    usage([...REDIS, '--shard-ids', 'auto', '--intents', 'Nope'], /unknown intent 'Nope'/);
    usage([...REDIS, '--shard-ids', 'auto', '--token', TOKEN], /Unknown option '--token'/);
    usage([...REDIS, '--shard-ids', 'auto', '--redis-wait=-1'], /--redis-wait must be between 0/);
    usage([...REDIS, '--shard-ids', 'auto', '--redis-wait', 'soon'], /--redis-wait must be a whole number/);
  });

  test('`worker --help` prints the usage; bad usage exits 2 with the reason and the usage', async () => {
    let out = '';
    let err = '';
    const io = {
      stdout: {
        write: (s: string) => {
          out += s;
          return true;
        },
      } as unknown as NodeJS.WritableStream,
      stderr: {
        write: (s: string) => {
          err += s;
          return true;
        },
      } as unknown as NodeJS.WritableStream,
      env: {},
      signal: new AbortController().signal,
    };
    assert.equal(await main(['worker', '--help'], io), 0);
    assert.match(out, /usage: shardline worker --redis URL/);
    assert.match(out, /--lease-ttl MS/);
    assert.equal(await main(['worker', '--redis', 'redis://127.0.0.1:1', '--shard-ids', 'x'], io), 2);
    assert.match(err, /^shardline worker: --shard-ids must look like 0-7/);
    assert.match(err, /usage: shardline worker/);
    err = '';
    assert.equal(
      await main(['worker', ...REDIS, '--shard-ids', 'auto'], io),
      2,
      'no token in the environment',
    );
    assert.match(err, /environment variable DISCORD_TOKEN is not set/);
    err = '';
    assert.equal(
      await main(['worker', ...REDIS, '--shard-ids', 'auto'], { ...io, env: { DISCORD_TOKEN: ' ' } }),
      2,
    );
    assert.match(err, /environment variable DISCORD_TOKEN is empty/);
  });
});

describe('ShardWorker options', () => {
  const base = { token: TOKEN, intents: 1, shardIds: [0, 1] as number[] };

  test('resolve fills the defaults and keeps the token in a Secret', () => {
    const o = resolveShardWorkerOptions(base);
    assert.deepEqual(o.shardIds, [0, 1]);
    assert.equal(o.leaseTtlMs, 10_000);
    assert.equal(o.claimIntervalMs, 3_333);
    assert.equal(o.highWaterMark, 10_000);
    assert.equal(o.identifyWindowMs, 5_000);
    assert.equal(o.redisWaitMs, Number.POSITIVE_INFINITY, 'start() waits for Redis as long as it takes');
    assert.ok(Object.isFrozen(o));
    assert.equal(o.token.reveal(), TOKEN);
    assert.ok(!JSON.stringify(o).includes(TOKEN));
    assert.ok(!inspect(o, { depth: 5 }).includes(TOKEN));
  });

  test('bad options are ConfigErrors naming the option, never echoing the token', () => {
    const bad: [Record<string, unknown>, RegExp][] = [
      [{ token: '' }, /^token:/],
      [{ token: `Bot ${TOKEN}` }, /^token:/],
      [{ shardIds: [] }, /^shardIds:/],
      [{ shardIds: [1.5] }, /^shardIds\[0\]:/],
      [{ shardIds: [0, 4], shardCount: 4 }, /^shardIds: shard 4 does not exist/],
      [{ shardIds: [0], maxShards: 2 }, /^maxShards: only applies/],
      [{ leaseTtlMs: 10 }, /^leaseTtlMs:/],
      [{ intents: -1 }, /^intents:/],
      [{ api: 'ws://x' }, /^api:/],
      [{ encoding: 'xml' }, /^encoding:/],
      [{ ownerId: 'a b' }, /^ownerId:/],
      [{ redisWaitMs: -5 }, /^redisWaitMs:/],
      [{ redisWaitMs: Number.NaN }, /^redisWaitMs:/],
    ];
    for (const [patch, re] of bad) {
      assert.throws(
        () => resolveShardWorkerOptions({ ...base, ...patch } as never),
        (err: unknown) => err instanceof ConfigError && re.test(err.message) && !err.message.includes(TOKEN),
        JSON.stringify(Object.keys(patch)),
      );
    }
  });

  test('invalid shardOptions are a ConfigError from the constructor, before any lease is taken', () => {
    const redis = createRedisClient('redis://127.0.0.1:1', { redisOptions: { lazyConnect: true } });
    const bad: [Record<string, unknown>, RegExp][] = [
      [{ helloTimeoutMs: -1 }, /^shardOptions\.helloTimeoutMs:/],
      [{ maxPayloadBytes: 'big' }, /^shardOptions\.maxPayloadBytes:/],
      [{ reconnectBackoff: { baseMs: -5 } }, /^shardOptions\.reconnectBackoff/],
      [{ largeThreshold: 1_000 }, /^shardOptions\.largeThreshold:/],
    ];
    for (const [shardOptions, re] of bad) {
      assert.throws(
        () => new ShardWorker({ ...base, redis, shardOptions } as never),
        (err: unknown) => err instanceof ConfigError && re.test(err.message) && !err.message.includes(TOKEN),
        JSON.stringify(shardOptions),
      );
      assert.throws(
        () => resolveShardWorkerOptions({ ...base, shardOptions } as never),
        (err: unknown) => err instanceof ConfigError && re.test(err.message),
      );
    }
    // the shard options a worker sets itself are refused with a clear message, not silently overridden
    assert.throws(
      () => resolveShardWorkerOptions({ ...base, shardOptions: { token: 'x' } } as never),
      /shardOptions\.token: is set by the worker/,
    );
    redis.disconnect();
  });

  test('a worker without a Redis client is a ConfigError', () => {
    assert.throws(() => new ShardWorker({ ...base, redis: undefined as unknown as Redis }), ConfigError);
  });
});
