import { hostname } from 'node:os';
import type { ShardlineError } from '../../errors.js';
import {
  closeClient,
  consume,
  createRedisClient,
  DEFAULT_KEY_PREFIX,
  type StreamEvent,
  tailEvents,
} from '../../redis/index.js';
import { type CliIo, choiceFlag, intFlag, parseFlags, UsageError } from '../args.js';

export const TAIL_USAGE = `usage: shardline tail --redis URL [--group G [--consumer NAME]] [--types MESSAGE_CREATE,...]
                      [--prefix P] [--partitions N] [--from 0|$] [--count N]
Prints the dispatches in the Redis event streams as NDJSON, one event per line:
  {"id":…,"shard":…,"seq":…,"session":…,"t":…,"d":…}
Without --group it only watches (XREAD, from the newest event unless --from 0); with --group it joins that
consumer group and acknowledges each printed event.`;

const FLAGS = {
  redis: { type: 'string' },
  group: { type: 'string' },
  consumer: { type: 'string' },
  types: { type: 'string' },
  prefix: { type: 'string' },
  partitions: { type: 'string' },
  from: { type: 'string' },
  count: { type: 'string' },
} as const;

/** `shardline tail`: resolves with the exit code (0 after --count events or an interrupt). */
export async function runTail(argv: readonly string[], io: CliIo): Promise<number> {
  const { values } = parseFlags(argv, FLAGS);
  const url = (values.redis as string | undefined) ?? io.env.SHARDLINE_REDIS_URL;
  if (!url) throw new UsageError('--redis URL is required (or set SHARDLINE_REDIS_URL)');
  if (!/^rediss?:\/\//.test(url))
    throw new UsageError(`--redis must be a redis:// or rediss:// URL, got '${url}'`);
  const types = (values.types as string | undefined)
    ?.split(',')
    .map((t) => t.trim())
    .filter((t) => t.length > 0);
  if (types?.some((t) => !/^[A-Z0-9_]+$/.test(t))) {
    throw new UsageError(
      `--types must be dispatch names such as MESSAGE_CREATE,GUILD_CREATE, got '${String(values.types)}'`,
    );
  }
  const partitions =
    intFlag('partitions', values.partitions as string | undefined, { min: 1, max: 1024 }) ?? 1;
  const limit = intFlag('count', values.count as string | undefined, { min: 1 });
  const from = choiceFlag('from', values.from as string | undefined, ['0', '$'] as const);
  const group = values.group as string | undefined;
  if (group === '') throw new UsageError('--group must not be empty');
  const consumer = (values.consumer as string | undefined) ?? `tail-${hostname()}-${process.pid}`;
  const prefix = (values.prefix as string | undefined) ?? DEFAULT_KEY_PREFIX;

  let lastError = '';
  const onError = (err: ShardlineError): void => {
    if (err.message === lastError) return;
    lastError = err.message;
    io.stderr.write(`shardline tail: ${err.code}: ${err.message} — retrying\n`);
  };
  const redis = createRedisClient(url, { onError });
  const abort = new AbortController();
  io.signal.addEventListener('abort', () => abort.abort(), { once: true });
  const common = { redis, prefix, partitions, signal: abort.signal, onError, ...(types ? { types } : {}) };
  const events: AsyncGenerator<StreamEvent> = group
    ? consume({ ...common, group, consumer, ...(from ? { startId: from } : {}) })
    : tailEvents({ ...common, ...(from ? { from } : {}) });
  let printed = 0;
  try {
    for await (const event of events) {
      io.stdout.write(
        `${JSON.stringify({ id: event.id, shard: event.shardId, seq: event.seq, session: event.sessionId, t: event.type, d: event.data })}\n`,
      );
      await event.ack();
      if (limit !== undefined && ++printed >= limit) break;
    }
  } finally {
    abort.abort();
    await closeClient(redis);
  }
  return 0;
}
