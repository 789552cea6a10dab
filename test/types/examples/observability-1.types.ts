// docs/observability.md first example, verbatim (imports point at the sources); the build type-checks it.
import { otelTracing, withEventSpan } from '../../../src/otel/index.js';
import { consume, createRedisClient, ShardWorker } from '../../../src/redis/index.js';

declare function handle(type: string, data: unknown): Promise<void>;

const redis = createRedisClient('redis://127.0.0.1:6379');
const tracing = otelTracing(); // the globally registered tracer provider; or otelTracing({ tracer })

// in the worker process: a span per dispatch until it is in Redis
const worker = new ShardWorker({ redis, token: process.env.DISCORD_TOKEN!, intents: 513, shardIds: 'auto', tracing });

// in the bot process: a span per event, child of the worker's span, ended by ack()
for await (const event of consume({ redis, group: 'bot', consumer: 'bot-1', tracing })) {
  try {
    await withEventSpan(event, () => handle(event.type, event.data)); // the handler's spans are its children
    await event.ack();
  } catch (err) {
    event.trace?.end(err); // marks the span failed; the entry stays pending and is redelivered
  }
}
void worker;
