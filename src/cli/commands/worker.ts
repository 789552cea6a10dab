/**
 * `shardline worker`: a thin layer over `ShardWorker` (src/redis/worker.ts). Parses flags into worker
 * options, logs the worker's lines (src/cli/log.ts), serves /metrics, and on SIGTERM/SIGINT stops taking shards,
 * closes them resumably, flushes and releases the leases. The token comes from an environment variable.
 */
import { ENCODINGS } from '../../codec/formats.js';
import type { MetricsServer } from '../../manager/metrics.js';
import { serveMetrics } from '../../manager/metrics.js';
import {
  closeClient,
  createRedisClient,
  DEFAULT_KEY_PREFIX,
  ShardWorker,
  type ShardWorkerOptions,
} from '../../redis/index.js';
import { redact } from '../../util/redact.js';
import { type CliIo, choiceFlag, intFlag, parseFlags, rangeFlag, tokenFromEnv, UsageError } from '../args.js';
import {
  DASHBOARD_FLAGS,
  type DashboardFlags,
  dashboardUsage,
  describeRedis,
  openDashboard,
  parseDashboardFlags,
} from '../dashboard-flags.js';
import {
  createCliLogger,
  LOG_FLAGS,
  LOG_USAGE,
  type LogSettings,
  logFormat,
  parseLogFlags,
  shardField,
} from '../log.js';
import { explainConnectFailure, parseIntents } from './connect.js';

export const WORKER_USAGE = `usage: shardline worker --redis URL --shard-ids 0-7|auto [--shard-count 16] [--max-shards N] [flags]
Runs shards coordinated through Redis: one owner per shard (leases), dispatches to the event streams,
commands from the command streams. Token from $DISCORD_TOKEN (or --token-env), never on the command line.
  --redis URL              redis:// or rediss:// URL (or $SHARDLINE_REDIS_URL)
  --shard-ids LIST|auto    shard ids this worker runs (0-7, 3 or 0,2,4-6), or auto: a fair share of the
                           free shards; workers may be added or removed at will
  --shard-count auto|N     the bot's shard count (default auto: GET /gateway/bot's recommendation)
  --max-shards N           with --shard-ids auto: never hold more than N shards
  --token-env NAME         environment variable holding the bot token (default DISCORD_TOKEN)
  --api URL                REST base (default https://discord.com/api; the simulator's for offline runs)
  --prefix P               Redis key prefix (default ${DEFAULT_KEY_PREFIX})
  --owner ID               worker id in leases and command groups (default: random)
  --intents LIST|N         intent names (Guilds,GuildMessages,…) or a number (default Guilds,GuildMessages)
  --encoding json|etf      gateway encoding (default etf)
  --compression zlib-stream|zstd-stream|none   transport compression (default zlib-stream)
  --partitions N           event stream partitions; must match the consumers (default 1)
  --high-water-mark N      events buffered while Redis is down before gateway reads pause (default 10000)
  --lease-ttl MS           shard lease lifetime: a dead worker's shards move after this (default 10000)
  --identify-window MS     identify window per bucket (default 5000; smaller for a time-scaled simulator)
  --redis-wait S           at startup, wait at most S seconds for Redis to answer (default: wait as long as it
                           takes, saying so on every attempt; 0: exit 1 at once)
  --metrics-port N         serve Prometheus metrics on http://127.0.0.1:N/metrics
${dashboardUsage("this worker's shards and the whole fleet in Redis")}
${LOG_USAGE}
SIGTERM/SIGINT: closes the shards resumably, flushes events and sessions, releases the leases (a second
signal exits at once).`;

const FLAGS = {
  redis: { type: 'string' },
  'shard-ids': { type: 'string' },
  'shard-count': { type: 'string' },
  'max-shards': { type: 'string' },
  'token-env': { type: 'string' },
  api: { type: 'string' },
  prefix: { type: 'string' },
  owner: { type: 'string' },
  intents: { type: 'string' },
  encoding: { type: 'string' },
  compression: { type: 'string' },
  partitions: { type: 'string' },
  'high-water-mark': { type: 'string' },
  'lease-ttl': { type: 'string' },
  'identify-window': { type: 'string' },
  'metrics-port': { type: 'string' },
  'redis-wait': { type: 'string' },
  ...LOG_FLAGS,
  ...DASHBOARD_FLAGS,
} as const;

export interface WorkerCliConfig {
  readonly redisUrl: string;
  readonly tokenEnv: string;
  readonly metricsPort: number | undefined;
  readonly log: LogSettings;
  readonly dashboard: DashboardFlags | undefined;
  /** Everything for `new ShardWorker` except the client and the token. */
  readonly worker: Omit<ShardWorkerOptions, 'redis' | 'token'>;
}

/** Flags → worker configuration. Throws `UsageError` (exit 2) with a one-line reason. Pure: no I/O. */
export function parseWorkerArgs(argv: readonly string[], env: NodeJS.ProcessEnv): WorkerCliConfig {
  const { values: v } = parseFlags(argv, FLAGS);
  const str = (k: keyof typeof FLAGS): string | undefined => v[k] as string | undefined;
  const redisUrl = str('redis') ?? env.SHARDLINE_REDIS_URL;
  if (!redisUrl) throw new UsageError('--redis URL is required (or set SHARDLINE_REDIS_URL)');
  if (!/^rediss?:\/\//.test(redisUrl))
    throw new UsageError(`--redis must be a redis:// or rediss:// URL, got '${redisUrl}'`);
  const idsRaw = str('shard-ids');
  const auto = idsRaw === 'auto';
  const shardList = auto ? undefined : rangeFlag('shard-ids', idsRaw);
  if (!auto && !shardList)
    throw new UsageError('say which shards to run: --shard-ids 0-7 or --shard-ids auto');
  const countRaw = str('shard-count');
  const total =
    countRaw === undefined || countRaw === 'auto'
      ? undefined
      : intFlag('shard-count', countRaw, { min: 1, max: 1_000_000 });
  if (shardList && total !== undefined && shardList.at(-1)! >= total) {
    throw new UsageError(
      `--shard-ids ${idsRaw}: shard ${shardList.at(-1)} does not exist with --shard-count ${total}`,
    );
  }
  const maxShards = intFlag('max-shards', str('max-shards'), { min: 1, max: 1_000_000 });
  if (maxShards !== undefined && !auto)
    throw new UsageError('--max-shards only applies with --shard-ids auto');
  const api = str('api') ?? 'https://discord.com/api';
  if (!/^https?:\/\//.test(api)) throw new UsageError(`--api must be an http(s) URL, got '${api}'`);
  const prefix = str('prefix') ?? DEFAULT_KEY_PREFIX;
  if (prefix === '' || /\s/.test(prefix)) throw new UsageError('--prefix must be non-empty, without spaces');
  const owner = str('owner');
  if (owner !== undefined && (owner === '' || /\s/.test(owner)))
    throw new UsageError('--owner must be non-empty, without spaces');
  const tokenEnv = str('token-env') ?? 'DISCORD_TOKEN';
  if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(tokenEnv))
    throw new UsageError(`--token-env must name an environment variable, got '${tokenEnv}'`);
  const encoding = choiceFlag('encoding', str('encoding'), ENCODINGS);
  const compression = choiceFlag('compression', str('compression'), [
    'zlib-stream',
    'zstd-stream',
    'none',
  ] as const);
  const partitions = intFlag('partitions', str('partitions'), { min: 1, max: 1024 });
  const highWaterMark = intFlag('high-water-mark', str('high-water-mark'), { min: 1, max: 10_000_000 });
  const leaseTtlMs = intFlag('lease-ttl', str('lease-ttl'), { min: 300, max: 3_600_000 });
  const identifyWindowMs = intFlag('identify-window', str('identify-window'), { min: 1, max: 600_000 });
  const metricsPort = intFlag('metrics-port', str('metrics-port'), { min: 0, max: 65_535 });
  const redisWait = intFlag('redis-wait', str('redis-wait'), { min: 0, max: 2_592_000 });
  const worker: Omit<ShardWorkerOptions, 'redis' | 'token'> = {
    prefix,
    intents: parseIntents(str('intents')),
    shardIds: auto ? 'auto' : shardList!,
    api,
    ...(total !== undefined ? { shardCount: total } : {}),
    ...(maxShards !== undefined ? { maxShards } : {}),
    ...(owner !== undefined ? { ownerId: owner } : {}),
    ...(encoding !== undefined ? { encoding } : {}),
    ...(compression !== undefined ? { compression } : {}),
    ...(partitions !== undefined ? { partitions } : {}),
    ...(highWaterMark !== undefined ? { highWaterMark } : {}),
    ...(leaseTtlMs !== undefined ? { leaseTtlMs } : {}),
    ...(identifyWindowMs !== undefined ? { identifyWindowMs } : {}),
    ...(redisWait !== undefined ? { redisWaitMs: redisWait * 1000 } : {}),
  };
  return {
    redisUrl,
    tokenEnv,
    metricsPort,
    log: parseLogFlags(v),
    dashboard: parseDashboardFlags(v),
    worker,
  };
}

export async function runWorker(argv: readonly string[], io: CliIo): Promise<number> {
  const config = parseWorkerArgs(argv, io.env);
  const token = tokenFromEnv(io.env, config.tokenEnv);
  const log = createCliLogger(io.stdout, { name: 'worker', settings: config.log, secrets: [token] });
  /** The reason the process exits 1: a plain line on stderr, and a record for log collectors. */
  const die = (why: string): void => {
    if (logFormat(config.log, io.stdout) === 'json') log.fatal(why);
    io.stderr.write(`shardline worker: ${redact(why, token)}\n`);
  };
  let lastRedisError = '';
  const redis = createRedisClient(config.redisUrl, {
    onError: (err) => {
      // ioredis reports every failed reconnect; one line per distinct failure is enough.
      if (err.message === lastRedisError) return;
      lastRedisError = err.message;
      log.warn({ code: err.code }, `Redis connection: ${err.message} — reconnecting with backoff`);
    },
  });
  redis.on('ready', () => {
    if (lastRedisError !== '') log.info('Redis connection re-established');
    lastRedisError = '';
  });
  const worker = new ShardWorker({ ...config.worker, redis, token });
  worker.on('log', (level, message, shardId) => {
    log[level](shardField(shardId), message);
  });
  worker.on('error', (err, shardId) => {
    log.error(
      { ...shardField(shardId), code: err.code },
      `${shardId === null ? '' : `shard ${shardId}: `}${err.message} [${err.code}]`,
    );
  });
  let fatal: unknown;
  const fatalSeen = new Promise<'fatal'>((resolve) => {
    worker.once('fatal', (err) => {
      fatal = err;
      resolve('fatal');
    });
  });
  let metrics: MetricsServer | undefined;
  let dashboard: Awaited<ReturnType<typeof openDashboard>>;
  // A signal while start() still waits (for Redis, say) stops the worker at once.
  const stopOnSignal = (): void => void worker.destroy();
  if (io.signal.aborted) stopOnSignal();
  else io.signal.addEventListener('abort', stopOnSignal, { once: true });
  try {
    try {
      await worker.connect();
    } catch (err) {
      die(explainConnectFailure(err, config.worker.api ?? 'https://discord.com/api'));
      return 1;
    }
    if (config.metricsPort !== undefined) {
      metrics = await serveMetrics(worker, { port: config.metricsPort });
      log.info({ url: metrics.url }, `metrics on ${metrics.url}`);
    }
    const where = describeRedis(config.redisUrl, worker.options.prefix);
    dashboard = await openDashboard(config.dashboard, {
      title: `shardline worker ${worker.ownerId} · ${where}`,
      shards: worker,
      fleet: { redis, prefix: worker.options.prefix, partitions: worker.options.partitions, label: where },
    });
    if (dashboard) log.info({ url: dashboard.url }, `dashboard on ${dashboard.url}`);
    const stopped = new Promise<'signal'>((resolve) => {
      if (io.signal.aborted) resolve('signal');
      io.signal.addEventListener('abort', () => resolve('signal'), { once: true });
    });
    const why = await Promise.race([stopped, fatalSeen]);
    if (why === 'signal') log.info('signal received: stopping (a second signal exits at once)');
  } finally {
    await worker.destroy();
    await metrics?.close();
    await dashboard?.close();
    await closeClient(redis);
  }
  if (fatal !== undefined) {
    die(explainConnectFailure(fatal, config.worker.api ?? ''));
    return 1;
  }
  return 0;
}
