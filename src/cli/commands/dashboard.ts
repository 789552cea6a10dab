/**
 * `shardline dashboard --redis URL`: the web dashboard of a whole worker fleet, read from its Redis keys
 * (leases, worker registry, identify budget, event streams and their consumer groups). Runs no shard.
 */
import { startDashboard } from '../../dashboard/server.js';
import { closeClient, createRedisClient, DEFAULT_KEY_PREFIX } from '../../redis/client.js';
import { type CliIo, intFlag, parseFlags, UsageError } from '../args.js';
import { describeRedis, hostFlag } from '../dashboard-flags.js';
import { waitForStop } from '../live-view.js';

export const DEFAULT_DASHBOARD_PORT = 7880;

export const DASHBOARD_COMMAND_USAGE = `usage: shardline dashboard --redis URL [--port N] [flags]
Serves a live web page of a worker fleet: shards and their leases, workers, the identify budget, event
stream lengths and consumer-group lag, events per second over the last minutes. Reads Redis only.
  --redis URL              redis:// or rediss:// URL of the fleet (or $SHARDLINE_REDIS_URL)
  --port N                 port of the page (default ${DEFAULT_DASHBOARD_PORT}; 0 = any free port)
  --host H                 interface to listen on (default 127.0.0.1; anything else exposes it)
  --prefix P               Redis key prefix of the fleet (default ${DEFAULT_KEY_PREFIX})
  --partitions N           event stream partitions; must match the workers (default 1)
  --duration S             exit by itself after S seconds`;

export async function runDashboard(argv: readonly string[], io: CliIo): Promise<number> {
  const { values: v } = parseFlags(argv, {
    redis: { type: 'string' },
    port: { type: 'string' },
    host: { type: 'string' },
    prefix: { type: 'string' },
    partitions: { type: 'string' },
    duration: { type: 'string' },
  });
  const str = (k: string) => v[k] as string | undefined;
  const redisUrl = str('redis') ?? io.env.SHARDLINE_REDIS_URL;
  if (!redisUrl) throw new UsageError('--redis URL is required (or set SHARDLINE_REDIS_URL)');
  if (!/^rediss?:\/\/\S+$/.test(redisUrl))
    throw new UsageError(
      '--redis must be a redis:// or rediss:// URL (the value is not repeated: it may hold a password)',
    );
  const port = intFlag('port', str('port'), { min: 0, max: 65_535 }) ?? DEFAULT_DASHBOARD_PORT;
  const host = hostFlag('host', str('host')) ?? '127.0.0.1';
  const prefix = str('prefix') ?? DEFAULT_KEY_PREFIX;
  if (prefix === '' || /\s/.test(prefix)) throw new UsageError('--prefix must be non-empty, without spaces');
  const partitions = intFlag('partitions', str('partitions'), { min: 1, max: 1024 });
  const duration = intFlag('duration', str('duration'), { min: 1, max: 31_536_000 });

  const where = describeRedis(redisUrl, prefix);
  let lastError = '';
  const redis = createRedisClient(redisUrl, {
    onError: (err) => {
      // ioredis reports every failed reconnect; the page shows the state, one line per new failure here.
      if (err.message === lastError) return;
      lastError = err.message;
      io.stderr.write(`shardline dashboard: ${where}: ${err.message} [${err.code}]\n`);
    },
  });
  try {
    const dashboard = await startDashboard({
      title: `shardline fleet · ${where}`,
      port,
      host,
      fleet: { redis, prefix, ...(partitions !== undefined ? { partitions } : {}), label: where },
    });
    io.stdout.write(`dashboard of ${where} on ${dashboard.url}\n`);
    try {
      await waitForStop(io.signal, duration);
    } finally {
      await dashboard.close();
    }
  } finally {
    await closeClient(redis);
  }
  return 0;
}
