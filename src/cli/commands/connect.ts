/**
 * `shardline connect`: runs a real bot's shards against Discord (or any REST base such as the simulator's)
 * with the live status view. The token comes from an environment variable, never from the command line.
 */
import { GatewayIntentBits } from 'discord-api-types/v10';
import { COMPRESSIONS, ENCODINGS } from '../../codec/formats.js';
import { managerBudget } from '../../dashboard/sources.js';
import { GatewayCloseError, ManagerError, RestError, ShardlineError } from '../../errors.js';
import { ShardManager } from '../../manager/manager.js';
import { serveMetrics } from '../../manager/metrics.js';
import { FileSessionStore } from '../../manager/session-store.js';
import { INTENT_NAMES, intentBit, parseIntents as parseIntentNames } from '../../util/intents.js';
import { redact } from '../../util/redact.js';
import { type CliIo, choiceFlag, intFlag, parseFlags, rangeFlag, tokenFromEnv, UsageError } from '../args.js';
import { DASHBOARD_FLAGS, dashboardUsage, openDashboard, parseDashboardFlags } from '../dashboard-flags.js';
import { LiveView, waitForStop } from '../live-view.js';
import { createCliLogger, LOG_FLAGS, LOG_USAGE, logFormat, parseLogFlags } from '../log.js';
import { dropForeignSessions } from '../session-check.js';

export const CONNECT_USAGE = `usage: shardline connect [flags]   (token from $DISCORD_TOKEN)
  --token-env NAME         environment variable holding the bot token (default DISCORD_TOKEN)
  --api URL                REST base (default https://discord.com/api; the simulator's for offline runs)
  --intents LIST|N         intent names (Guilds,GuildMessages,…) or a number (default Guilds,GuildMessages)
  --shard-count auto|N     shard count (default auto, from GET /gateway/bot)
  --shard-ids LIST         run only these shard ids (0-7, 3 or 0,2,4-6; needs --shard-count N)
  --encoding json|etf      gateway encoding (default etf)
  --compression zlib-stream|zstd-stream|none   transport compression (default zlib-stream)
  --session-file PATH      keep sessions in a file so a restart resumes instead of identifying
  --events                 print every dispatch as NDJSON on stdout (the status goes to stderr)
  --metrics-port N         serve Prometheus metrics on http://127.0.0.1:N/metrics
${dashboardUsage('the shard table, the identify budget, charts')}
  --duration S             exit by itself after S seconds
  --plain                  log lines instead of the live view, even on a terminal
${LOG_USAGE}
On a terminal the live view shows the shards; elsewhere (or with --plain or --log-format) every state
change, close and status line is a log record.`;

/** `Guilds,GuildMessages` or `513` → bitfield; unknown names are a UsageError listing the known ones. */
export function parseIntents(raw: string | undefined): number {
  if (raw === undefined) return GatewayIntentBits.Guilds | GatewayIntentBits.GuildMessages;
  const bits = parseIntentNames(raw);
  if (bits !== undefined) return bits;
  const name =
    raw
      .split(',')
      .find((part) => intentBit(part) === undefined)
      ?.trim() ?? raw;
  throw new UsageError(`--intents: unknown intent '${name}'; known: ${INTENT_NAMES.join(', ')}`);
}

/** A sentence a bot developer can act on, for the failures one meets when connecting. */
export function explainConnectFailure(err: unknown, api: string): string {
  if (err instanceof GatewayCloseError) {
    if (err.closeCode === 4004)
      return 'Discord rejected the token (close 4004): check the token in your environment';
    if (err.closeCode === 4014)
      return 'disallowed intents (close 4014): enable the privileged intents (GuildMembers, GuildPresences, MessageContent) for this application in the Developer Portal, or drop them from --intents';
    if (err.closeCode === 4013)
      return 'invalid intents (close 4013): --intents has a bit Discord does not know';
    if (err.closeCode === 4011)
      return 'sharding required (close 4011): use --shard-count auto or a larger count';
    return err.message;
  }
  if (err instanceof RestError) {
    if (err.code === 'REST_UNAUTHORIZED')
      return `the token was rejected by ${api} (401): check the token in your environment`;
    if (err.code === 'REST_NETWORK_ERROR') return `cannot reach ${api}: ${err.message} — is the network up?`;
    return err.message;
  }
  if (err instanceof ManagerError || err instanceof ShardlineError) return `${err.message} [${err.code}]`;
  return err instanceof Error ? err.message : String(err);
}

export async function runConnect(argv: readonly string[], io: CliIo): Promise<number> {
  const { values: v } = parseFlags(argv, {
    'token-env': { type: 'string' },
    api: { type: 'string' },
    intents: { type: 'string' },
    'shard-count': { type: 'string' },
    'shard-ids': { type: 'string' },
    encoding: { type: 'string' },
    compression: { type: 'string' },
    'session-file': { type: 'string' },
    events: { type: 'boolean' },
    'metrics-port': { type: 'string' },
    duration: { type: 'string' },
    plain: { type: 'boolean' },
    ...LOG_FLAGS,
    ...DASHBOARD_FLAGS,
  });
  const str = (k: string) => v[k] as string | undefined;
  const tokenEnv = str('token-env') ?? 'DISCORD_TOKEN';
  const api = str('api') ?? 'https://discord.com/api';
  if (!/^https?:\/\//.test(api)) throw new UsageError(`--api must be an http(s) URL, got '${api}'`);
  const intents = parseIntents(str('intents'));
  const countRaw = str('shard-count');
  const shardCount =
    countRaw === undefined || countRaw === 'auto'
      ? 'auto'
      : intFlag('shard-count', countRaw, { min: 1, max: 100_000 })!;
  const shardIds = rangeFlag('shard-ids', str('shard-ids'));
  if (shardIds && shardCount === 'auto') {
    throw new UsageError(
      '--shard-ids needs --shard-count N (every process of the bot must agree on the count)',
    );
  }
  if (shardIds && shardCount !== 'auto' && shardIds.at(-1)! >= shardCount) {
    throw new UsageError(
      `--shard-ids: shard ${shardIds.at(-1)} does not exist with --shard-count ${shardCount}`,
    );
  }
  const encoding = choiceFlag('encoding', str('encoding'), ENCODINGS) ?? 'etf';
  const compression = choiceFlag('compression', str('compression'), COMPRESSIONS) ?? 'zlib-stream';
  const metricsPort = intFlag('metrics-port', str('metrics-port'), { min: 0, max: 65_535 });
  const duration = intFlag('duration', str('duration'), { min: 1, max: 31_536_000 });
  const events = v.events === true;
  const dashboardFlags = parseDashboardFlags(v);
  const token = tokenFromEnv(io.env, tokenEnv);
  const logSettings = parseLogFlags(v);

  // With --events, stdout carries NDJSON only; the view goes to stderr as plain lines.
  const viewIo: CliIo = events ? { ...io, stdout: io.stderr } : io;
  const tty = !events && Boolean(io.stdout.isTTY) && v.plain !== true && logSettings.format === undefined;
  const log = createCliLogger(viewIo.stdout, { name: 'connect', settings: logSettings, secrets: [token] });
  const sessionFile = str('session-file');
  const sessionStore = sessionFile ? new FileSessionStore({ path: sessionFile }) : undefined;
  const manager = new ShardManager({
    token,
    intents,
    api,
    shardCount,
    ...(shardIds ? { shardIds } : {}),
    encoding,
    compression,
    ...(sessionStore ? { sessionStore } : {}),
  });
  manager.on('error', (err, shardId) => {
    const line = `shard ${shardId ?? '-'}: ${err.message} [${err.code}]`;
    // under the live view the screen is stdout's: errors go to stderr as before
    if (tty) viewIo.stderr.write(`${redact(line, token)}\n`);
    else log.warn({ ...(shardId === null ? {} : { shardId }), code: err.code }, line);
  });
  if (events)
    manager.on('dispatch', (payload, shardId) => {
      io.stdout.write(`${JSON.stringify({ shard: shardId, s: payload.s, t: payload.t, d: payload.d })}\n`);
    });
  const view = new LiveView(manager, viewIo, {
    title: `shardline connect · ${api} · ${encoding}+${compression}`,
    expectedShards: 0,
    // Unknown until GET /gateway/bot answers; the progress bar still shows READY shards over all.
    startupEta: () => null,
    tty,
    log: (level, line, fields) => log[level](fields, line),
  });
  let metrics: Awaited<ReturnType<typeof serveMetrics>> | undefined;
  let dashboard: Awaited<ReturnType<typeof openDashboard>>;
  let failure: unknown;
  let stopping = false;
  // Ends the --duration wait when the command ends otherwise, so a failure exits at once.
  const ended = new AbortController();
  try {
    if (metricsPort !== undefined) {
      metrics = await serveMetrics(manager, { port: metricsPort });
      if (tty) viewIo.stderr.write(`metrics on ${metrics.url}\n`);
      else log.info({ url: metrics.url }, `metrics on ${metrics.url}`);
    }
    dashboard = await openDashboard(dashboardFlags, {
      title: `shardline connect · ${api} · ${encoding}+${compression}`,
      shards: manager,
      budget: managerBudget(manager),
    });
    if (dashboard) {
      if (tty) viewIo.stderr.write(`dashboard on ${dashboard.url}\n`);
      else log.info({ url: dashboard.url }, `dashboard on ${dashboard.url}`);
    }
    view.start();
    if (sessionStore) for (const note of await dropForeignSessions(sessionStore, api)) view.note(note);
    const connectFailed = manager.connect().then(
      () => new Promise<never>(() => {}),
      (err: unknown) => {
        // A connect() cut short by our own destroy() below is not a failure.
        if (!stopping) failure = err;
        return 'failed' as const;
      },
    );
    await Promise.race([waitForStop(AbortSignal.any([io.signal, ended.signal]), duration), connectFailed]);
  } finally {
    ended.abort();
    stopping = true;
    view.stop();
    await manager.destroy({ resumable: sessionFile !== undefined });
    await metrics?.close();
    await dashboard?.close();
  }
  if (failure !== undefined) {
    const why = explainConnectFailure(failure, api);
    if (!tty && logFormat(logSettings, viewIo.stdout) === 'json') log.fatal(why);
    io.stderr.write(`shardline connect: ${redact(why, token)}\n`);
    return 1;
  }
  view.draw();
  return 0;
}
