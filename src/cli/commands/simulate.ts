/**
 * `shardline simulate`: runs the local gateway simulator until interrupted. The first stdout line is
 * `simulator listening on http://HOST:PORT`; when no `--token` was given the next line prints the token.
 */
import { parseArgs } from 'node:util';
import { RecordingError, ShardlineError } from '../../errors.js';
import { type SimulatorOptions, startSimulator } from '../../simulator/index.js';
import type { ReplayOptions } from '../../simulator/replay.js';
import { PRIVILEGED_INTENTS, parseIntents } from '../../util/intents.js';
import { UsageError } from '../args.js';

export interface CommandIo {
  readonly stdout: { write(text: string): unknown };
  readonly stderr: { write(text: string): unknown };
  /** Stops the simulator when aborted; default: SIGINT / SIGTERM of this process. */
  readonly signal?: AbortSignal;
}

export const SIMULATE_USAGE =
  'usage: shardline simulate [--port N] [--host H] [--token T ...] [--guilds N] [--members-per-guild N] ' +
  '[--shards N] [--max-concurrency N] [--session-start-total N] [--heartbeat-interval MS] ' +
  '[--identify-window MS] [--session-timeout MS] [--events-per-second N] [--seed N] [--privileged-intents LIST] ' +
  '[--large-bot-shard-multiple N] ' +
  '[--replay FILE [--speed X | --as-fast-as-possible] [--loop] [--max-line-bytes N]]';

const INT_FLAGS = {
  port: 'port',
  guilds: 'guilds',
  'members-per-guild': 'membersPerGuild',
  shards: 'shards',
  'max-concurrency': 'maxConcurrency',
  'session-start-total': 'sessionStartTotal',
  'heartbeat-interval': 'heartbeatIntervalMs',
  'identify-window': 'identifyWindowMs',
  'session-timeout': 'sessionTimeoutMs',
  seed: 'seed',
  'large-bot-shard-multiple': 'largeBotShardMultiple',
} as const satisfies Record<string, keyof SimulatorOptions>;

/** Parses `simulate` arguments into simulator options; throws `UsageError` with a one-line reason. */
export function parseSimulateArgs(argv: readonly string[]): SimulatorOptions {
  const stringFlags = [
    ...Object.keys(INT_FLAGS),
    'host',
    'token',
    'events-per-second',
    'privileged-intents',
    'replay',
    'speed',
    'max-line-bytes',
  ];
  const booleanFlags = ['as-fast-as-possible', 'loop'];
  let parsed: ReturnType<typeof parseArgs>;
  try {
    parsed = parseArgs({
      args: [...argv],
      options: Object.fromEntries([
        ...stringFlags.map((f) => [
          f,
          f === 'token' ? { type: 'string', multiple: true } : { type: 'string' },
        ]),
        ...booleanFlags.map((f) => [f, { type: 'boolean' }]),
      ]),
      allowPositionals: false,
      strict: true,
    });
  } catch (err) {
    throw new UsageError((err as Error).message.split('\n')[0]!);
  }
  const v = parsed.values as Record<string, string | string[] | boolean | undefined>;
  const options: { -readonly [K in keyof SimulatorOptions]: SimulatorOptions[K] } = {};
  for (const [flag, key] of Object.entries(INT_FLAGS)) {
    const raw = v[flag];
    if (raw === undefined) continue;
    if (typeof raw !== 'string' || !/^\d+$/.test(raw))
      throw new UsageError(`--${flag} expects a non-negative integer, got '${String(raw)}'`);
    (options as Record<string, number>)[key] = Number(raw);
  }
  if (typeof v.host === 'string') options.host = v.host;
  if (Array.isArray(v.token)) {
    if (v.token.some((t) => t === '')) throw new UsageError('--token expects a non-empty token');
    options.tokens = v.token;
  }
  if (typeof v['events-per-second'] === 'string') {
    const n = Number(v['events-per-second']);
    if (!Number.isFinite(n) || n < 0)
      throw new UsageError(`--events-per-second expects a number ≥ 0, got '${v['events-per-second']}'`);
    options.eventsPerSecond = n;
  }
  if (typeof v['privileged-intents'] === 'string') {
    const text = v['privileged-intents'].trim();
    // `all` here means every privileged intent; `''` none.
    const bits = text === 'all' ? PRIVILEGED_INTENTS : text === '' ? 0 : parseIntents(text);
    if (bits === undefined) {
      throw new UsageError(
        `--privileged-intents expects a comma list of GUILD_MEMBERS, GUILD_PRESENCES, MESSAGE_CONTENT (or all, none), got '${v['privileged-intents']}'`,
      );
    }
    options.privilegedIntents = bits;
  }
  const replay = parseReplayFlags(v);
  if (replay) options.replay = replay;
  return options;
}

/** `--replay FILE [--speed X | --as-fast-as-possible] [--loop] [--max-line-bytes N]` → replay options. */
function parseReplayFlags(v: Record<string, unknown>): ReplayOptions | undefined {
  const path = v.replay;
  const speedRaw = v.speed;
  const fast = v['as-fast-as-possible'] === true;
  const loop = v.loop === true;
  const maxLineRaw = v['max-line-bytes'];
  if (typeof path !== 'string') {
    if (speedRaw !== undefined || fast || loop || maxLineRaw !== undefined)
      throw new UsageError('--speed, --as-fast-as-possible, --loop and --max-line-bytes need --replay FILE');
    return undefined;
  }
  if (path === '') throw new UsageError('--replay expects the path of a recording');
  if (speedRaw !== undefined && fast)
    throw new UsageError('--speed and --as-fast-as-possible exclude each other');
  const out: { -readonly [K in keyof ReplayOptions]: ReplayOptions[K] } = {
    path,
    loop,
    asFastAsPossible: fast,
  };
  if (typeof speedRaw === 'string') {
    const speed = Number(speedRaw);
    if (speedRaw.trim() === '' || !Number.isFinite(speed) || speed <= 0 || speed > 1_000_000)
      throw new UsageError(`--speed expects a number > 0 (2 = twice as fast), got '${speedRaw}'`);
    out.speed = speed;
  }
  if (typeof maxLineRaw === 'string') {
    if (!/^\d+$/.test(maxLineRaw) || Number(maxLineRaw) < 1024)
      throw new UsageError(`--max-line-bytes expects an integer ≥ 1024, got '${maxLineRaw}'`);
    out.maxLineBytes = Number(maxLineRaw);
  }
  return out;
}

/** Runs the simulator until the signal aborts (or SIGINT/SIGTERM). Returns the exit code (2 = bad usage). */
export async function runSimulate(argv: readonly string[], io: CommandIo): Promise<number> {
  let options: SimulatorOptions;
  try {
    options = parseSimulateArgs(argv);
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    io.stderr.write(`shardline simulate: ${err.message}\n${SIMULATE_USAGE}\n`);
    return 2;
  }
  let sim: Awaited<ReturnType<typeof startSimulator>>;
  try {
    sim = await startSimulator(options);
  } catch (err) {
    if (err instanceof ShardlineError && err.code === 'CONFIG_INVALID') {
      io.stderr.write(`shardline simulate: ${err.message}\n${SIMULATE_USAGE}\n`);
      return 2;
    }
    if (err instanceof RecordingError) {
      io.stderr.write(`shardline simulate: ${options.replay?.path}: ${err.message} [${err.code}]\n`);
      return 1;
    }
    io.stderr.write(`shardline simulate: ${(err as Error).message}\n`);
    return 1;
  }
  io.stdout.write(`simulator listening on ${sim.httpUrl}\n`);
  if (options.tokens === undefined) io.stdout.write(`token: ${sim.tokens[0]}\n`);
  io.stdout.write(
    `gateway ${sim.gatewayUrl} · REST base ${sim.restUrl} · ${sim.world.guilds.length} guilds · ${sim.options.shards} recommended shard(s)\n`,
  );
  const replay = sim.stats().replay;
  let watch: NodeJS.Timeout | undefined;
  if (replay) {
    // Say once when the recording has been played through (or could not be).
    watch = setInterval(() => {
      const r = sim.stats().replay;
      if (!r || (r.state !== 'finished' && r.state !== 'failed')) return;
      clearInterval(watch);
      if (r.state === 'failed')
        io.stderr.write(`shardline simulate: replay stopped: ${r.error ?? 'unknown error'}\n`);
      else
        io.stdout.write(
          `replay finished: ${r.emittedTotal} events, ${r.deliveries} deliveries; still serving\n`,
        );
    }, 250);
    io.stdout.write(
      `replaying ${replay.path}: ${replay.events} events over ${(replay.durationMs / 1000).toFixed(1)} s recorded, ${replay.shardCount} shard(s)${replay.anonymized ? ', anonymized' : ''}; events start once the client's shards have identified\n`,
    );
  }
  await new Promise<void>((resolve) => {
    if (io.signal) {
      if (io.signal.aborted) resolve();
      else io.signal.addEventListener('abort', () => resolve(), { once: true });
      return;
    }
    const stop = () => {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
      resolve();
    };
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
  });
  clearInterval(watch);
  await sim.close();
  return 0;
}
