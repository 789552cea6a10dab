// Shard → Redis → consumer throughput (issue #8). Each iteration publishes N MESSAGE_CREATE dispatches from
// 4 shards with RedisEventPublisher (Lua dedupe + XADD, pipelined in batches), pausing while publish()
// reports backpressure as a worker pauses its gateway sockets, while a consumer in a CHILD PROCESS (as in
// production: bot processes are not shard workers; one process for the whole bench, so its JIT is warm as
// a running bot's) reads them through a consumer group (XREADGROUP COUNT 1000 + batched XACK), reading
// each event's data. The time runs from the first publish to the consumer's last event; events/s = N /
// time. Besides wall-clock it prints the CPU µs per event of each stage (publisher process, consumer
// process, Redis from INFO cpu — which counts every client of that Redis, so point it at a private one),
// which depends far less on the machine's load. Side by side: a consumer that only routes (lazy data),
// 4 partitions, smaller batches, no pipelining at all (batchSize 1: one round trip per event), and plain
// pipelined XADD of the same entries without idempotency.
// Run: npm run build && node dist/bench/redis.bench.js   (Redis at SHARDLINE_REDIS_URL or 127.0.0.1:6379;
// BENCH_EVENTS=N to change N, default 20 000). Never asserted: the figures depend on the machine and load.
// `--tracing on` adds, after the first row, the same row with OpenTelemetry traces on both sides (otelTracing
// over the SDK's BasicTracerProvider, every span sampled and batched to an exporter that drops them), so the
// cost of a span per event shows beside the untraced row.
import { type ChildProcess, fork } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { availableParallelism, loadavg } from 'node:os';
import { fileURLToPath } from 'node:url';
import { BasicTracerProvider, BatchSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { Bench } from 'tinybench';
import { otelTracing } from '../src/otel/index.js';
import { deleteKeysWithPrefix } from '../src/redis/client.js';
import { encodeEventValue } from '../src/redis/entry.js';
import {
  closeClient,
  consume,
  createRedisClient,
  eventStreamKey,
  RedisEventPublisher,
} from '../src/redis/index.js';
import { benchFlag } from './harness.js';

const URL = process.env.SHARDLINE_REDIS_URL ?? 'redis://127.0.0.1:6379';
const N = Number(process.env.BENCH_EVENTS ?? 20_000);
const SLOW_N = Math.min(N, 2_000);
const SHARDS = 4;
const GROUP = 'bench';
const TRACING = benchFlag('tracing') === 'on';

/** Traces as an application would run them, minus the network: sampled, batched, then dropped. */
function benchTracing() {
  const provider = new BasicTracerProvider({
    spanProcessors: [
      new BatchSpanProcessor({
        export: (_spans, done) => done({ code: 0 }),
        shutdown: async () => undefined,
      }),
    ],
  });
  return otelTracing({ tracer: provider.getTracer('bench') });
}

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
  // child, alive for the whole bench (so its JIT is warm after the warmup round, as a long-running bot's):
  // per round, consume `count` events of `prefix` (touching each event's data, as a real consumer does),
  // then report the round's CPU time
  const redis = createRedisClient(URL);
  const rounds: { prefix: string; count: number; partitions: number; lazy: boolean; traced: boolean }[] = [];
  // the span processor's timer runs only in a process that traces
  let tracing: ReturnType<typeof benchTracing> | undefined;
  let wake: (() => void) | undefined;
  process.on('message', (m: unknown) => {
    if (m === 'exit') process.exit(0);
    rounds.push(m as (typeof rounds)[number]);
    wake?.();
  });
  for (;;) {
    while (rounds.length === 0) await new Promise<void>((resolve) => (wake = resolve));
    const { prefix, count, partitions, lazy, traced } = rounds.shift()!;
    if (traced) tracing ??= benchTracing();
    const abort = new AbortController();
    let seen = 0;
    let nulls = 0;
    const cpuAtReady = process.cpuUsage();
    process.send?.('ready');
    for await (const event of consume({
      redis,
      prefix,
      group: GROUP,
      consumer: 'c',
      partitions,
      parseData: lazy ? 'lazy' : 'eager',
      count: 1_000,
      maxUnacked: 10_000,
      blockMs: 100,
      signal: abort.signal,
      ...(traced && tracing ? { tracing } : {}),
    })) {
      if (!lazy && event.data === null) nulls++;
      void event.ack();
      if (++seen === count) abort.abort();
    }
    const cpu = process.cpuUsage(cpuAtReady);
    if (nulls > 0) console.error(`consumer: ${nulls} events without data`);
    process.send?.(`cpu ${cpu.user + cpu.system}`);
    process.send?.('done');
  }
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
  done: Promise<void>;
}

/** CPU time Redis has used so far, in µs (INFO cpu: counts every client of that Redis, so use a private one). */
async function redisCpuMicros(): Promise<number> {
  const info = await redis.info('cpu');
  const get = (name: string): number => Number(new RegExp(`${name}:([\\d.]+)`).exec(info)?.[1] ?? 0);
  return (get('used_cpu_user') + get('used_cpu_sys')) * 1e6;
}

/** Per task: CPU µs per event of the publishing process, the consumer process and Redis, per round. */
const cpuCost = new Map<string, { publisher: number[]; consumer: number[]; redis: number[] }>();
let lastConsumerCpu = Number.NaN;

async function measured(task: string, n: number, run: () => Promise<void>): Promise<void> {
  const cpu0 = process.cpuUsage();
  const redis0 = await redisCpuMicros();
  await run();
  const cpu = process.cpuUsage(cpu0);
  const redisCpu = (await redisCpuMicros()) - redis0;
  let entry = cpuCost.get(task);
  if (!entry) {
    entry = { publisher: [], consumer: [], redis: [] };
    cpuCost.set(task, entry);
  }
  entry.publisher.push((cpu.user + cpu.system) / n);
  entry.consumer.push(lastConsumerCpu / n);
  entry.redis.push(redisCpu / n);
}
let round: Round | undefined;
let session = 0;

// one consumer process for the whole bench
const child: ChildProcess = fork(fileURLToPath(import.meta.url), ['consumer'], { stdio: 'inherit' });
const messages: string[] = [];
let wakeParent: (() => void) | undefined;
child.on('message', (m) => {
  const text = String(m);
  if (text.startsWith('cpu ')) lastConsumerCpu = Number(text.slice(4));
  else messages.push(text);
  wakeParent?.();
});
const waitFor = async (what: string): Promise<void> => {
  for (;;) {
    const i = messages.indexOf(what);
    if (i >= 0) {
      messages.splice(i, 1);
      return;
    }
    await new Promise<void>((resolve) => {
      wakeParent = resolve;
    });
  }
};

async function startConsumer(n: number, partitions = 1, lazy = false, traced = false): Promise<void> {
  const prefix = `shardline-bench:${randomBytes(4).toString('hex')}:`;
  for (let p = 0; p < partitions; p++) {
    await redis.xgroup('CREATE', eventStreamKey(prefix, p), GROUP, '0', 'MKSTREAM');
  }
  lastConsumerCpu = Number.NaN;
  child.send({ prefix, count: n, partitions, lazy, traced });
  await waitFor('ready');
  round = { prefix, done: waitFor('done') };
}

async function stopConsumer(): Promise<void> {
  if (!round) return;
  await round.done;
  await deleteKeysWithPrefix(redis, round.prefix);
  round = undefined;
}

const publisherTracing = TRACING ? benchTracing() : undefined;

async function publishRound(
  task: string,
  batchSize: number,
  n: number,
  partitions = 1,
  traced = false,
): Promise<void> {
  await measured(task, n, () => publishOnly(batchSize, n, partitions, traced));
}

async function publishOnly(batchSize: number, n: number, partitions: number, traced: boolean): Promise<void> {
  const { prefix, done } = round!;
  const sessionId = `s${session++}`;
  // as a worker does: stop "reading the gateway" while publish() says the buffer is full (default mark)
  let resume: (() => void) | undefined;
  const publisher = new RedisEventPublisher({
    redis,
    prefix,
    batchSize,
    partitions,
    ...(traced && publisherTracing ? { tracing: publisherTracing } : {}),
    onBackpressure: (full) => {
      if (!full) resume?.();
    },
  });
  for (let seq = 1; seq <= n; seq++) {
    const more = publisher.publish({
      shardId: seq % SHARDS,
      sessionId,
      seq,
      type: 'MESSAGE_CREATE',
      data: message,
    });
    if (!more) await new Promise<void>((resolve) => (resume = resolve));
  }
  await publisher.close();
  await done;
}

async function plainXaddRound(task: string, n: number): Promise<void> {
  await measured(task, n, () => plainXaddOnly(n));
}

async function plainXaddOnly(n: number): Promise<void> {
  const { prefix, done } = round!;
  const stream = eventStreamKey(prefix, 0);
  for (let start = 1; start <= n; start += 1_000) {
    const pipeline = redis.pipeline();
    for (let seq = start; seq < start + 1_000 && seq <= n; seq++) {
      const value = encodeEventValue(seq % SHARDS, seq, 's', 'MESSAGE_CREATE', JSON.stringify(message));
      pipeline.xadd(stream, 'MAXLEN', '~', 100_000, '*', 'e', value);
    }
    await pipeline.exec();
  }
  await done;
}

const hooks = (n: number, partitions = 1, lazy = false, traced = false) => ({
  beforeEach: () => startConsumer(n, partitions, lazy, traced),
  afterEach: stopConsumer,
});
interface Task {
  readonly name: string;
  readonly n: number;
  readonly partitions: number;
  /** 0: plain XADD baseline. */
  readonly batch: number;
  readonly lazy?: boolean;
  readonly traced?: boolean;
}
const ALL_TASKS: readonly Task[] = [
  { name: `publisher batch 1000 → consumer process (${N} events)`, n: N, partitions: 1, batch: 1_000 },
  {
    name: `batch 1000, consumer routes only (parseData 'lazy', data never read) (${N} events)`,
    n: N,
    partitions: 1,
    batch: 1_000,
    lazy: true,
  },
  { name: `publisher batch 1000, 4 partitions (${N} events)`, n: N, partitions: 4, batch: 1_000 },
  { name: `publisher batch 100 (${N} events)`, n: N, partitions: 1, batch: 100 },
  { name: `publisher batch 1, no pipelining (${SLOW_N} events)`, n: SLOW_N, partitions: 1, batch: 1 },
  {
    name: `baseline: plain pipelined XADD of the same entries, no dedupe (${N} events)`,
    n: N,
    partitions: 1,
    batch: 0,
  },
];
const TRACED_TASK: Task = {
  name: `publisher batch 1000 → consumer process, OTel traces on both sides (${N} events)`,
  n: N,
  partitions: 1,
  batch: 1_000,
  traced: true,
};
const TASKS: readonly Task[] = [ALL_TASKS[0]!, ...(TRACING ? [TRACED_TASK] : []), ...ALL_TASKS.slice(1)];

const loadAtStart = loadavg()[0]!;
const bench = new Bench({ iterations: 5, time: 0, warmup: true, warmupIterations: 1, warmupTime: 0 });
for (const task of TASKS) {
  bench.add(
    task.name,
    () =>
      task.batch === 0
        ? plainXaddRound(task.name, task.n)
        : publishRound(task.name, task.batch, task.n, task.partitions, task.traced === true),
    hooks(task.n, task.partitions, task.lazy === true, task.traced === true),
  );
}
await bench.run();

const median = (xs: number[]): number => {
  const sorted = [...xs].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? Number.NaN;
};
const rows = bench.tasks.map((task, i) => {
  const r = task.result;
  if (r.state !== 'completed') return { task: task.name, state: r.state };
  const n = TASKS[i]!.n;
  const perSec = (ms: number): number => Math.round(n / (ms / 1000));
  const cost = cpuCost.get(task.name);
  return {
    task: task.name,
    'median ev/s': perSec(r.latency.p50),
    'min ev/s': perSec(r.latency.max),
    'max ev/s': perSec(r.latency.min),
    'CPU µs/ev publisher': cost ? Number(median(cost.publisher).toFixed(1)) : Number.NaN,
    consumer: cost ? Number(median(cost.consumer).toFixed(1)) : Number.NaN,
    redis: cost ? Number(median(cost.redis).toFixed(1)) : Number.NaN,
  };
});
console.log(
  `Shard → Redis → consumer throughput (${URL}; 5 rounds per row; load average ${loadAtStart.toFixed(1)} at start, ${loadavg()[0]!.toFixed(1)} at end, ${availableParallelism()} cores)`,
);
console.table(rows);
const rate = (i: number): number | undefined => {
  const row = rows[i];
  return row && 'median ev/s' in row ? row['median ev/s'] : undefined;
};
const [best, base, slow] = [rate(0), rate(TASKS.length - 1), rate(TASKS.length - 2)];
if (best && base) console.log(`publisher batch 1000 / plain XADD: ${(best / base).toFixed(2)}×`);
if (best && slow) console.log(`publisher batch 1000 / no pipelining: ${(best / slow).toFixed(1)}×`);
const tracedRow = rows[1];
if (TRACING && first0() && tracedRow && 'redis' in tracedRow) {
  const off = first0()!;
  const delta = (a = Number.NaN, b = Number.NaN): string =>
    `${(b - a).toFixed(1)} µs (${((b / a - 1) * 100).toFixed(0)} %)`;
  console.log(
    `tracing on vs off, CPU per event: publisher +${delta(off['CPU µs/ev publisher'], tracedRow['CPU µs/ev publisher'])}, consumer +${delta(off.consumer, tracedRow.consumer)}`,
  );
}
function first0() {
  const row = rows[0];
  return row && 'redis' in row ? row : undefined;
}
const first = rows[0];
if (first && 'redis' in first) {
  // each stage runs in its own process; on an otherwise idle machine the slowest stage's CPU cost bounds it
  const bound = Math.round(
    1e6 / Math.max(first['CPU µs/ev publisher'] ?? 0, first.consumer ?? 0, first.redis ?? 0),
  );
  console.log(`CPU-bound ceiling of the first row (1 / slowest stage's CPU time per event): ~${bound} ev/s`);
}
child.send('exit');
await closeClient(redis);
