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
import { redisAddress, waitForRedis } from '../../redis/wait-for-redis.js';
import { type CliIo, choiceFlag, intFlag, parseFlags, UsageError } from '../args.js';

/** Default of `--redis-wait`: an interactive command says at once when Redis is not there. */
export const DEFAULT_TAIL_REDIS_WAIT_S = 10;

export const TAIL_USAGE = `usage: shardline tail --redis URL [--group G [--consumer NAME]] [--types MESSAGE_CREATE,...]
                      [--prefix P] [--partitions N] [--from 0|$] [--count N] [--redis-wait S]
Prints the dispatches in the Redis event streams as NDJSON, one event per line:
  {"id":…,"shard":…,"seq":…,"session":…,"t":…,"d":…}
Without --group it only watches (XREAD, from the newest event unless --from 0); with --group it joins that
consumer group and acknowledges each printed event. Progress and errors go to stderr.
  --redis-wait S   at startup, wait at most S seconds for Redis to answer (default ${DEFAULT_TAIL_REDIS_WAIT_S}), then exit 1
SIGTERM/SIGINT (Ctrl-C): stops at once, exit 0.`;

const FLAGS = {
  redis: { type: 'string' },
  group: { type: 'string' },
  consumer: { type: 'string' },
  types: { type: 'string' },
  prefix: { type: 'string' },
  partitions: { type: 'string' },
  from: { type: 'string' },
  count: { type: 'string' },
  'redis-wait': { type: 'string' },
} as const;

/** ioredis' own wording for "the connection is down" names an option the user never set. */
function describeRedisError(err: ShardlineError): string {
  return /max retries per request|maxRetriesPerRequest/i.test(err.message)
    ? 'Redis is unreachable (connection lost)'
    : err.message;
}

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
  const redisWaitS =
    intFlag('redis-wait', values['redis-wait'] as string | undefined, { min: 0, max: 86_400 }) ??
    DEFAULT_TAIL_REDIS_WAIT_S;

  let lastError = '';
  const onError = (err: ShardlineError): void => {
    const message = describeRedisError(err);
    if (message === lastError) return;
    lastError = message;
    io.stderr.write(`shardline tail: ${message} [${err.code}] — retrying\n`);
  };
  let connecting = true;
  // While connecting, waitForRedis reports each attempt; afterwards connection errors are reported here.
  const redis = createRedisClient(url, { onError: (err) => (connecting ? undefined : onError(err)) });
  const abort = new AbortController();
  const onSignal = (): void => abort.abort();
  if (io.signal.aborted) abort.abort();
  else io.signal.addEventListener('abort', onSignal, { once: true });
  // Resolves when a signal (or --count) ends the tail: a read waiting on an unreachable Redis is not awaited.
  const aborted = new Promise<null>((resolve) => {
    if (abort.signal.aborted) resolve(null);
    else abort.signal.addEventListener('abort', () => resolve(null), { once: true });
  });
  try {
    const up = await waitForRedis({
      redis,
      attempt: async () => {
        await redis.ping();
      },
      waitMs: redisWaitS * 1000,
      signal: abort.signal,
      log: (_level, message) => io.stderr.write(`shardline tail: ${message}\n`),
    });
    if (!up) return 0;
    connecting = false;
    const common = { redis, prefix, partitions, signal: abort.signal, onError, ...(types ? { types } : {}) };
    const events: AsyncGenerator<StreamEvent> = group
      ? consume({ ...common, group, consumer, ...(from ? { startId: from } : {}) })
      : tailEvents({ ...common, ...(from ? { from } : {}) });
    io.stderr.write(
      `tailing ${partitions === 1 ? `${prefix}events:0` : `${partitions} partitions of ${prefix}events`} at ${redisAddress(redis)}${group ? ` as ${consumer} in group ${group}` : ''} (Ctrl-C to stop)\n`,
    );
    let printed = 0;
    for (;;) {
      const next = await Promise.race([events.next(), aborted]);
      if (next === null || next.done) break;
      const event = next.value;
      io.stdout.write(
        `${JSON.stringify({ id: event.id, shard: event.shardId, seq: event.seq, session: event.sessionId, t: event.type, d: event.data })}\n`,
      );
      await event.ack();
      if (limit !== undefined && ++printed >= limit) {
        await events.return(undefined);
        break;
      }
    }
  } finally {
    io.signal.removeEventListener('abort', onSignal);
    abort.abort();
    await closeClient(redis);
  }
  return 0;
}
