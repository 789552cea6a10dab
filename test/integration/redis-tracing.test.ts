import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  BasicTracerProvider,
  InMemorySpanExporter,
  type ReadableSpan,
  SimpleSpanProcessor,
} from '@opentelemetry/sdk-trace-base';
import { otelTracing } from '../../src/otel/index.js';
import { parseEventFields } from '../../src/redis/consumer.js';
import { consume, eventStreamKey, RedisEventPublisher, type StreamEvent } from '../../src/redis/index.js';
import { redisFixture, waitFor } from '../support/redis.js';
import { collect, shardWorker, WORKER_SIM } from '../support/shard-worker.js';
import { simulator } from '../support/sim-helpers.js';

/** One "process": its own provider and exporter, so spans can only be linked through the stream entry. */
function tracer(name: string) {
  const exporter = new InMemorySpanExporter();
  const provider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
  return { exporter, tracing: otelTracing({ tracer: provider.getTracer(name) }) };
}

async function take(source: AsyncGenerator<StreamEvent>, n: number): Promise<StreamEvent[]> {
  const out: StreamEvent[] = [];
  for await (const event of source) {
    out.push(event);
    await event.ack();
    if (out.length === n) break;
  }
  return out;
}

test("a worker's dispatch span is the parent of the consumer's span, across the Redis stream", async (t) => {
  const { redis, prefix } = await redisFixture(t);
  const sim = await simulator(t, WORKER_SIM);
  const worker = tracer('worker');
  const consumer = tracer('consumer');
  const w = shardWorker(t, sim, { redis, prefix, shardIds: [0], shardCount: 1, tracing: worker.tracing });
  const ready = collect(w, 'ready', 1);
  await w.connect();
  await ready;
  const guilds = WORKER_SIM.guilds!;
  const events = await take(
    consume({ redis, prefix, group: 'g', consumer: 'c', blockMs: 100, tracing: consumer.tracing }),
    guilds + 1,
  );
  assert.deepEqual(
    events.map((e) => e.type),
    ['READY', ...Array<string>(guilds).fill('GUILD_CREATE')],
  );
  // the entry carries the publishing span's traceparent in its own field, beside the event field
  const [, raw] = (
    (await redis.xrange(eventStreamKey(prefix, 0), '-', '+', 'COUNT', 1)) as [string, string[]][]
  )[0]!;
  assert.equal(raw[0], 'e');
  assert.equal(raw[2], 'tp');
  assert.match(raw[3]!, /^00-[0-9a-f]{32}-[0-9a-f]{16}-01$/);
  assert.equal(parseEventFields(raw)?.type, 'READY', 'a reader that knows nothing of tp still decodes');

  await waitFor(() => consumer.exporter.getFinishedSpans().length === events.length, {
    what: 'a consumer span per acked event',
  });
  const published = new Map<string, ReadableSpan>(
    worker.exporter.getFinishedSpans().map((s) => [s.spanContext().spanId, s]),
  );
  for (const span of consumer.exporter.getFinishedSpans()) {
    const parent = span.parentSpanContext;
    assert.ok(parent, `${span.name} has a parent`);
    const producer = published.get(parent.spanId);
    assert.ok(producer, `${span.name}: its parent is a span of the worker`);
    assert.equal(span.spanContext().traceId, producer.spanContext().traceId);
    assert.equal(span.name, producer.name.replace(' publish', ' process'));
    assert.equal(span.attributes['discord.event.seq'], producer.attributes['discord.event.seq']);
    assert.equal(span.attributes['discord.shard_id'], 0);
  }
});

test('entries without a trace field, or with a hostile one, give root spans; a publisher without tracing writes none', async (t) => {
  const { redis, prefix } = await redisFixture(t);
  const plain = new RedisEventPublisher({ redis, prefix });
  plain.publish({ shardId: 0, sessionId: 's', seq: 1, type: 'MESSAGE_CREATE', data: { n: 1 } });
  await plain.flush();
  const stream = eventStreamKey(prefix, 0);
  for (const tp of ['garbage', `00-${'0'.repeat(32)}-${'1'.repeat(16)}-01`, 'x'.repeat(10_000)])
    await redis.xadd(stream, '*', 'e', `0 ${2 + (tp.length % 7)} s MESSAGE_CREATE\n{}`, 'tp', tp);
  const entries = (await redis.xrange(stream, '-', '+')) as [string, string[]][];
  assert.deepEqual(
    entries[0]![1].filter((_, i) => i % 2 === 0),
    ['e'],
    'no tp field without tracing',
  );
  const consumer = tracer('consumer');
  const events = await take(
    consume({ redis, prefix, group: 'g', consumer: 'c', blockMs: 100, tracing: consumer.tracing }),
    4,
  );
  assert.equal(events.length, 4);
  const spans = consumer.exporter.getFinishedSpans();
  assert.equal(spans.length, 4);
  for (const span of spans) assert.equal(span.parentSpanContext, undefined, 'a root span');
});
