/**
 * `shardline proxy`: holds the bot's real shards and serves any unmodified bot the plain gateway protocol
 * on `ws://HOST:PORT`, with `http://HOST:PORT/api` as its REST base for the gateway routes. The bot token
 * and the client tokens come from environment variables, never from the command line.
 */
import { COMPRESSIONS, ENCODINGS } from '../../codec/formats.js';
import { managerBudget } from '../../dashboard/sources.js';
import { ConfigError } from '../../errors.js';
import { FileSessionStore } from '../../manager/session-store.js';
import { GatewayProxy } from '../../proxy/index.js';
import { closeClient, createRedisClient, DEFAULT_KEY_PREFIX } from '../../redis/client.js';
import { redact } from '../../util/redact.js';
import { type CliIo, choiceFlag, intFlag, parseFlags, tokenFromEnv, UsageError } from '../args.js';
import {
  DASHBOARD_FLAGS,
  dashboardUsage,
  describeRedis,
  openDashboard,
  parseDashboardFlags,
} from '../dashboard-flags.js';
import { waitForStop } from '../live-view.js';
import { createCliLogger, LOG_FLAGS, LOG_USAGE, logFormat, parseLogFlags, shardField } from '../log.js';
import { explainConnectFailure, parseIntents } from './connect.js';

export const DEFAULT_PROXY_PORT = 7878;
export const DEFAULT_CLIENT_TOKEN_ENV = 'SHARDLINE_PROXY_TOKEN';

export const PROXY_USAGE = `usage: shardline proxy [flags]   (bot token from $DISCORD_TOKEN, client tokens from $${DEFAULT_CLIENT_TOKEN_ENV})
       shardline proxy --redis URL [flags]   (serves a worker fleet's shards; runs none itself, needs no bot token)
  --port N                 port for clients (default ${DEFAULT_PROXY_PORT}; 0 = any free port)
  --host H                 interface to listen on (default 127.0.0.1)
  --public-url URL         ws:// or wss:// URL given to clients, when they reach the proxy through another address
  --token-env NAME         environment variable holding the bot token (default DISCORD_TOKEN)
  --client-token-env NAME  environment variable holding the token(s) clients identify with, comma-separated
                           (default ${DEFAULT_CLIENT_TOKEN_ENV}; name DISCORD_TOKEN to accept the bot's own token)
  --api URL                upstream REST base (default https://discord.com/api; the simulator's for offline runs)
  --intents LIST|N         upstream intents (default Guilds,GuildMessages); clients may ask for a subset
  --shard-count auto|N     upstream shard count (default auto: Discord's recommendation)
  --encoding json|etf      upstream encoding (default etf)
  --compression zlib-stream|zstd-stream|none   upstream transport compression (default zlib-stream)
  --replay-events N        events each client session keeps for RESUME (default 10000)
  --replay-ms MS           and for how long (default 180000)
  --session-file PATH      keep the upstream sessions in a file so a proxy restart resumes them
  --duration S             exit by itself after S seconds
${dashboardUsage('the upstream shards (or the fleet with --redis), clients, sessions')}
${LOG_USAGE}
 Redis mode (excludes --api, --shard-count, --encoding, --compression, --session-file, --token-env):
  --redis URL              redis:// or rediss:// URL of the worker fleet
  --prefix P               Redis key prefix of the fleet (default ${DEFAULT_KEY_PREFIX})
  --partitions N           event stream partitions; must match the workers (default 1)
  --snapshot-interval S    store the cache snapshot in Redis every S seconds (default 30)`;

/** Flags that configure the proxy's own shards: meaningless when a worker fleet runs them. */
const OWN_SHARD_FLAGS = ['api', 'shard-count', 'encoding', 'compression', 'session-file', 'token-env'];

export async function runProxy(argv: readonly string[], io: CliIo): Promise<number> {
  const { values: v } = parseFlags(argv, {
    port: { type: 'string' },
    host: { type: 'string' },
    'public-url': { type: 'string' },
    'token-env': { type: 'string' },
    'client-token-env': { type: 'string' },
    api: { type: 'string' },
    intents: { type: 'string' },
    'shard-count': { type: 'string' },
    encoding: { type: 'string' },
    compression: { type: 'string' },
    'replay-events': { type: 'string' },
    'replay-ms': { type: 'string' },
    'session-file': { type: 'string' },
    duration: { type: 'string' },
    redis: { type: 'string' },
    prefix: { type: 'string' },
    partitions: { type: 'string' },
    'snapshot-interval': { type: 'string' },
    ...LOG_FLAGS,
    ...DASHBOARD_FLAGS,
  });
  const str = (k: string) => v[k] as string | undefined;
  const port = intFlag('port', str('port'), { min: 0, max: 65_535 }) ?? DEFAULT_PROXY_PORT;
  const host = str('host') ?? '127.0.0.1';
  if (!/^[\w.:-]+$/.test(host)) throw new UsageError(`--host must be a host name or address, got '${host}'`);
  const publicUrl = str('public-url');
  if (publicUrl !== undefined && !/^wss?:\/\/\S+$/.test(publicUrl))
    throw new UsageError(`--public-url must be a ws:// or wss:// URL, got '${publicUrl}'`);
  const redisUrl = str('redis');
  if (redisUrl === undefined) {
    for (const flag of ['prefix', 'partitions', 'snapshot-interval'])
      if (str(flag) !== undefined) throw new UsageError(`--${flag} needs --redis URL`);
  } else {
    if (!/^rediss?:\/\/\S+$/.test(redisUrl))
      throw new UsageError(`--redis must be a redis:// or rediss:// URL, got '${redisUrl}'`);
    const own = OWN_SHARD_FLAGS.filter((f) => str(f) !== undefined);
    if (own.length > 0)
      throw new UsageError(
        `--redis serves the shards of a worker fleet and runs none here: remove ${own.map((f) => `--${f}`).join(', ')} (give them to shardline worker)`,
      );
  }
  const api = str('api') ?? 'https://discord.com/api';
  if (!/^https?:\/\//.test(api)) throw new UsageError(`--api must be an http(s) URL, got '${api}'`);
  const intents = parseIntents(str('intents'));
  const shardsRaw = str('shard-count');
  const shardCount =
    shardsRaw === undefined || shardsRaw === 'auto'
      ? 'auto'
      : intFlag('shard-count', shardsRaw, { min: 1, max: 100_000 })!;
  const encoding = choiceFlag('encoding', str('encoding'), ENCODINGS) ?? 'etf';
  const compression = choiceFlag('compression', str('compression'), COMPRESSIONS) ?? 'zlib-stream';
  const replayEvents = intFlag('replay-events', str('replay-events'), { min: 0, max: 10_000_000 });
  const replayMs = intFlag('replay-ms', str('replay-ms'), { min: 0, max: 86_400_000 });
  const duration = intFlag('duration', str('duration'), { min: 1, max: 31_536_000 });
  const tokenEnv = str('token-env') ?? 'DISCORD_TOKEN';
  const token = redisUrl === undefined ? tokenFromEnv(io.env, tokenEnv) : undefined;
  const clientTokenEnv = str('client-token-env') ?? DEFAULT_CLIENT_TOKEN_ENV;
  const clientTokens = tokenFromEnv(
    io.env,
    clientTokenEnv,
    'the token your bot will identify with',
    "or --client-token-env DISCORD_TOKEN to accept the bot's own token",
  )
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');
  if (clientTokens.length === 0)
    throw new UsageError(
      `environment variable ${clientTokenEnv} holds no token (a comma-separated list is read): export the token your bot will identify with there`,
    );
  const sessionFile = str('session-file');
  const prefix = str('prefix') ?? DEFAULT_KEY_PREFIX;
  if (prefix === '' || /\s/.test(prefix)) throw new UsageError('--prefix must be non-empty, without spaces');
  const partitions = intFlag('partitions', str('partitions'), { min: 1, max: 1024 });
  const snapshotInterval = intFlag('snapshot-interval', str('snapshot-interval'), { min: 0, max: 86_400 });
  const logSettings = parseLogFlags(v);
  const log = createCliLogger(io.stdout, {
    name: 'proxy',
    settings: logSettings,
    secrets: [token, ...clientTokens],
  });
  const dashboardFlags = parseDashboardFlags(v);

  const common = {
    intents,
    clientTokens,
    host,
    port,
    ...(publicUrl !== undefined ? { publicUrl } : {}),
    ...(replayEvents !== undefined ? { replayEvents } : {}),
    ...(replayMs !== undefined ? { replayMs } : {}),
  };
  const redis =
    redisUrl === undefined
      ? undefined
      : createRedisClient(redisUrl, {
          onError: (err) => log.warn({ code: err.code }, `Redis connection: ${err.message} [${err.code}]`),
        });
  // where the upstream is, without a password a URL may carry
  const upstreamName = redisUrl === undefined ? api : describeRedis(redisUrl, prefix);
  const proxy = new GatewayProxy(
    redis !== undefined
      ? {
          ...common,
          redis: {
            redis,
            prefix,
            ...(partitions !== undefined ? { partitions } : {}),
            ...(snapshotInterval !== undefined ? { snapshotIntervalMs: snapshotInterval * 1000 } : {}),
          },
        }
      : {
          ...common,
          token: token!,
          api,
          shardCount,
          encoding,
          compression,
          ...(sessionFile ? { upstream: { sessionStore: new FileSessionStore({ path: sessionFile }) } } : {}),
        },
  );
  proxy.on('debug', (message) => log.debug(message));
  proxy.on('ready', (shardId) => log.debug({ shardId }, `upstream shard ${shardId} ready`));
  proxy.manager?.on('status', (status, previous, shardId) =>
    log.debug({ shardId, status, previous }, `upstream shard ${shardId}: ${previous} -> ${status}`),
  );
  proxy.manager?.on('close', (info, shardId) =>
    log[info.action === 'fatal' ? 'error' : 'info'](
      { shardId, closeCode: info.code, action: info.action },
      `upstream shard ${shardId}: connection closed ${info.code} (${info.action})`,
    ),
  );
  proxy.manager?.on('error', (err, shardId) =>
    log.warn(
      { ...shardField(shardId), code: err.code },
      `upstream shard ${shardId ?? '-'}: ${err.message} [${err.code}]`,
    ),
  );
  let failure: unknown;
  let stopping = false;
  // Ends the --duration wait when the command ends otherwise, so a failure exits at once.
  const ended = new AbortController();
  let dashboard: Awaited<ReturnType<typeof openDashboard>>;
  try {
    await proxy.listen();
    log.info({ url: proxy.httpUrl }, `proxy listening on ${proxy.httpUrl}`);
    log.info(
      { restUrl: proxy.restUrl, gatewayUrl: proxy.gatewayUrl, upstream: upstreamName },
      `REST base ${proxy.restUrl} · gateway ${proxy.gatewayUrl} · upstream ${upstreamName}`,
    );
    dashboard = await openDashboard(dashboardFlags, {
      title: `shardline proxy · ${proxy.gatewayUrl} · upstream ${upstreamName}`,
      ...(proxy.manager ? { shards: proxy.manager, budget: managerBudget(proxy.manager) } : {}),
      ...(redis !== undefined
        ? {
            fleet: {
              redis,
              prefix,
              ...(partitions !== undefined ? { partitions } : {}),
              label: upstreamName,
            },
          }
        : {}),
      info: () => {
        const s = proxy.status();
        return [
          ['clients', String(s.connections)],
          ['sessions', String(s.sessions)],
        ];
      },
    });
    if (dashboard) log.info({ url: dashboard.url }, `dashboard on ${dashboard.url}`);
    const connected = proxy.connect().then(
      () => {
        const rebuilt = proxy.redisStats();
        const from = rebuilt
          ? ` of the worker fleet (cache from the ${rebuilt.rebuiltFrom}, ${rebuilt.replayedEvents} events replayed)`
          : '';
        const shards = proxy.status().shardCount;
        log.info({ shards }, `upstream ready: ${shards} shards${from}; clients may identify`);
        return new Promise<never>(() => {});
      },
      (err: unknown) => {
        if (!stopping) failure = err;
        return 'failed' as const;
      },
    );
    await Promise.race([waitForStop(AbortSignal.any([io.signal, ended.signal]), duration), connected]);
  } catch (err) {
    if ((err as NodeJS.ErrnoException)?.code === 'EADDRINUSE')
      throw new ConfigError('port', `${host}:${port} is already in use; choose another --port`);
    throw err;
  } finally {
    ended.abort();
    stopping = true;
    await dashboard?.close();
    await proxy.destroy();
    if (redis !== undefined) await closeClient(redis);
  }
  if (failure !== undefined) {
    const why = explainConnectFailure(failure, api);
    if (logFormat(logSettings, io.stdout) === 'json') log.fatal(why);
    io.stderr.write(`shardline proxy: ${redact(why, token)}\n`);
    return 1;
  }
  return 0;
}
