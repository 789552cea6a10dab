// Shard → Redis → consumer throughput. Each iteration publishes N MESSAGE_CREATE dispatches from 4 shards
// with RedisEventPublisher (Lua dedupe + XADD MAXLEN ~, pipelined in batches) while a consumer in a CHILD
// PROCESS (as in production: bot processes are not shard workers) reads them through a consumer group
// (XREADGROUP COUNT 1000 + batched XACK). The time runs from the first publish to the consumer's last ack;
// events/s = N / time. Side by side: the publisher with smaller batches, with no pipelining at all
// (batchSize 1: one round trip per event), and a baseline of plain pipelined XADD without idempotency.
// Run: npm run build && node dist/bench/redis.bench.js   (Redis at SHARDLINE_REDIS_URL or 127.0.0.1:6379;
// BENCH_EVENTS=N to change N). Never asserted: the figures depend on the machine and its load.
import { type ChildProcess, fork } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { Bench } from 'tinybench';
import {
  closeClient,
  consume,
  createRedisClient,
  deleteKeysWithPrefix,
  eventStreamKey,
  RedisEventPublisher,
} from '../src/redis/index.js';

const URL = process.env.SHARDLINE_REDIS_URL ?? 'redis://127.0.0.1:6379';
const N = Number(process.env.BENCH_EVENTS ?? 20_000);
const SLOW_N = Math.min(N, 2_000);
const SHARDS = 4;
const GROUP = 'bench';

const message = {
  id: '1234567890123456789',
  channel_id: '1234567890123456780',
  guild_id: '1234567890123456781',
  author: { id: '1234567890123456782', username: 'bench', discriminator: '0', avatar: null, bot: false },
  content: 'x'.repeat(200),
  timestamp: '2026-01-01T00:00:00.000000+00:00',
  edited_timestamp: null,
  tts: false,
  mention_everyone: false,
  mentions: [],
  mention_roles: [],
  attachments: [],
  embeds: [],
  pinned: false,
  type: 0,
};

if (process.argv[2] === 'consumer') {
  // child: consume `count` events of `prefix`, then report
  const [, , , prefix, countText, partitionsText] = process.argv;
  const count = Number(countText);
  const partitions = Number(partitionsText);
  const redis = createRedisClient(URL);
  const abort = new AbortController();
  let seen = 0;
  process.send?.('ready');
  for await (const event of consume({
    redis,
    prefix: prefix!,
    group: GROUP,
    consumer: 'c',
    partitions,
    count: 1_000,
    maxUnacked: 10_000,
    blockMs: 100,
    signal: abort.signal,
  })) {
    void event.ack();
    if (++seen === count) abort.abort();
  }
  await closeClient(redis);
  process.send?.('done');
  process.exit(0);
}

const redis = createRedisClient(URL);
try {
  await redis.ping();
} catch {
  console.log(`redis.bench: Redis not reachable at ${URL}; skipped.`);
  redis.disconnect(false);
  process.exit(0);
}

interface Round {
  prefix: string;
  child: ChildProcess;
  done: Promise<void>;
}
let round: Round | undefined;
let session = 0;

async function startConsumer(n: number, partitions = 1): Promise<void> {
  const prefix = `shardline-bench:${randomBytes(4).toString('hex')}:`;
  for (let p = 0; p < partitions; p++) {
    await redis.xgroup('CREATE', eventStreamKey(prefix, p), GROUP, '0', 'MKSTREAM');
  }
  const child = fork(fileURLToPath(import.meta.url), ['consumer', prefix, String(n), String(partitions)], {
    stdio: 'inherit',
  });
  const messages: string[] = [];
  let wake: (() => void) | undefined;
  child.on('message', (m) => {
    messages.push(String(m));
    wake?.();
  });
  const waitFor = async (what: string): Promise<void> => {
    while (!messages.includes(what)) {
      await new Promise<void>((resolve) => {
        wake = resolve;
      });
    }
  };
  await waitFor('ready');
  round = { prefix, child, done: waitFor('done') };
}

async function stopConsumer(): Promise<void> {
  if (!round) return;
  await deleteKeysWithPrefix(redis, round.prefix);
  round = undefined;
}

async function publishRound(batchSize: number, n: number, partitions = 1): Promise<void> {
  const { prefix, done } = round!;
  const sessionId = `s${session++}`;
  const publisher = new RedisEventPublisher({ redis, prefix, batchSize, partitions, highWaterMark: n + 1 });
  for (let seq = 1; seq <= n; seq++) {
    publisher.publish({ shardId: seq % SHARDS, sessionId, seq, type: 'MESSAGE_CREATE', data: message });
  }
  await publisher.close();
  await done;
}

async function plainXaddRound(n: number): Promise<void> {
  const { prefix, done } = round!;
  const stream = eventStreamKey(prefix, 0);
  for (let start = 1; start <= n; start += 1_000) {
    const pipeline = redis.pipeline();
    for (let seq = start; seq < start + 1_000 && seq <= n; seq++) {
      pipeline.xadd(
        stream,
        'MAXLEN',
        '~',
        100_000,
        '*',
        'shard',
        seq % SHARDS,
        'seq',
        seq,
        'session',
        's',
        't',
        'MESSAGE_CREATE',
        'd',
        JSON.stringify(message),
      );
    }
    await pipeline.exec();
  }
  await done;
}

const hooks = (n: number, partitions = 1) => ({
  beforeEach: () => startConsumer(n, partitions),
  afterEach: stopConsumer,
});
const bench = new Bench({ iterations: 5, time: 0, warmup: true, warmupIterations: 1, warmupTime: 0 });
bench
  .add(`publisher batch 1000 → consumer process (${N} events)`, () => publishRound(1_000, N), hooks(N))
  .add(
    `publisher batch 1000, 4 partitions → consumer process (${N} events)`,
    () => publishRound(1_000, N, 4),
    hooks(N, 4),
  )
  .add(`publisher batch 100 → consumer process (${N} events)`, () => publishRound(100, N), hooks(N))
  .add(`publisher batch 1, no pipelining (${SLOW_N} events)`, () => publishRound(1, SLOW_N), hooks(SLOW_N))
  .add(`baseline: plain pipelined XADD, no dedupe (${N} events)`, () => plainXaddRound(N), hooks(N));
await bench.run();

const rows = bench.tasks.map((task, i) => {
  const r = task.result;
  if (r.state !== 'completed') return { task: task.name, state: r.state };
  const n = i === 3 ? SLOW_N : N;
  const perSec = (ms: number): number => Math.round(n / (ms / 1000));
  return {
    task: task.name,
    'median ev/s': perSec(r.latency.p50),
    'min ev/s': perSec(r.latency.max),
    'max ev/s': perSec(r.latency.min),
    'median ms': Number(r.latency.p50.toFixed(1)),
  };
});
console.log(`Shard → Redis → consumer throughput (${URL}; ${N} events per round, 5 rounds)`);
console.table(rows);
const rate = (i: number): number | undefined => {
  const row = rows[i];
  return row && 'median ev/s' in row ? row['median ev/s'] : undefined;
};
const [best, base, slow] = [rate(0), rate(4), rate(3)];
if (best && base) console.log(`publisher batch 1000 / plain XADD: ${(best / base).toFixed(2)}×`);
if (best && slow) console.log(`publisher batch 1000 / no pipelining: ${(best / slow).toFixed(1)}×`);
await closeClient(redis);
