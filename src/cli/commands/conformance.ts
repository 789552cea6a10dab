/**
 * `shardline conformance [flags] -- <command that starts the client>`: runs a gateway client against scripted
 * simulator scenarios and grades, from the gateway's side, what it did. Exit 0 when nothing failed, 1 otherwise.
 */

import { formatHeader, formatRow, formatSummary } from '../../conformance/report.js';
import {
  CLIENT_ENV_VARS,
  type ClientEnvVar,
  runConformance,
  scenarioNames,
} from '../../conformance/runner.js';
import type { CheckResult } from '../../conformance/scenario.js';
import { ConformanceError } from '../../errors.js';
import { type CliIo, intFlag, parseFlags, UsageError } from '../args.js';

export const CONFORMANCE_USAGE = `usage: shardline conformance [--json] [--scenario NAME ...] [--env NAME=VAR ...]
                             [--heartbeat-interval MS] [--boot-timeout S] -- <command that starts the client>
Starts a fresh simulator per scenario, runs the client with these variables in its environment and grades
what it sent, from the gateway's side:
${Object.entries(CLIENT_ENV_VARS)
  .map(([k, v]) => `  ${k.padEnd(29)} ${v}`)
  .join('\n')}
  --env NAME=VAR          also give the client VAR's value as NAME (e.g. --env BOT_TOKEN=DISCORD_TOKEN)
  --scenario NAME         run only these (repeatable): ${scenarioNames().join(', ')}
  --heartbeat-interval MS Hello interval (default 1000); every timing bound is a multiple of it
  --boot-timeout S        how long the client may take to reach READY (default 30)
  --json                  print the results as one JSON object instead of a table
A client may print {"conformance":"dispatch","s":N,"t":"…"} lines on stdout: the replay check then uses them.
Exit 0 when no scenario failed, 1 when one did, 2 on bad usage.`;

const FLAGS = {
  json: { type: 'boolean' },
  scenario: { type: 'string', multiple: true },
  env: { type: 'string', multiple: true },
  'heartbeat-interval': { type: 'string' },
  'boot-timeout': { type: 'string' },
} as const;

export interface ConformanceArgs {
  readonly json: boolean;
  readonly scenarios: readonly string[] | undefined;
  readonly envMap: Readonly<Record<string, ClientEnvVar>>;
  readonly heartbeatIntervalMs: number | undefined;
  readonly bootTimeoutMs: number | undefined;
  readonly command: readonly string[];
}

/** Parses the flags before `--` and takes what follows as the client command. Throws `UsageError`. */
export function parseConformanceArgs(argv: readonly string[]): ConformanceArgs {
  const dash = argv.indexOf('--');
  const flags = dash < 0 ? argv : argv.slice(0, dash);
  const command = dash < 0 ? [] : argv.slice(dash + 1);
  const { values } = parseFlags(flags, FLAGS);
  if (command.length === 0 || command[0] === '')
    throw new UsageError('give the command that starts the client after --, e.g. -- node bot.js');
  const envMap: Record<string, ClientEnvVar> = {};
  for (const pair of (values.env as string[] | undefined) ?? []) {
    const m = /^([A-Za-z_][A-Za-z0-9_]*)=([A-Z_]+)$/.exec(pair);
    if (!m) throw new UsageError(`--env expects NAME=VAR such as BOT_TOKEN=DISCORD_TOKEN, got '${pair}'`);
    const [, name, from] = m as unknown as [string, string, string];
    if (!Object.hasOwn(CLIENT_ENV_VARS, from))
      throw new UsageError(`--env ${pair}: ${from} is not one of ${Object.keys(CLIENT_ENV_VARS).join(', ')}`);
    envMap[name] = from as ClientEnvVar;
  }
  const scenarios = values.scenario as string[] | undefined;
  const known = scenarioNames();
  for (const s of scenarios ?? [])
    if (!known.includes(s))
      throw new UsageError(`--scenario '${s}' is unknown; scenarios: ${known.join(', ')}`);
  const interval = intFlag('heartbeat-interval', values['heartbeat-interval'] as string | undefined, {
    min: 100,
    max: 60_000,
  });
  const boot = intFlag('boot-timeout', values['boot-timeout'] as string | undefined, { min: 1, max: 3600 });
  return {
    json: values.json === true,
    scenarios,
    envMap,
    heartbeatIntervalMs: interval,
    bootTimeoutMs: boot === undefined ? undefined : boot * 1000,
    command,
  };
}

export async function runConformanceCommand(argv: readonly string[], io: CliIo): Promise<number> {
  const args = parseConformanceArgs(argv);
  const started = Date.now();
  if (!args.json) io.stdout.write(`${formatHeader()}\n`);
  let results: CheckResult[];
  try {
    results = await runConformance({
      command: args.command,
      ...(args.scenarios ? { scenarios: args.scenarios } : {}),
      envMap: args.envMap,
      ...(args.heartbeatIntervalMs !== undefined ? { heartbeatIntervalMs: args.heartbeatIntervalMs } : {}),
      ...(args.bootTimeoutMs !== undefined ? { bootTimeoutMs: args.bootTimeoutMs } : {}),
      baseEnv: io.env,
      signal: io.signal,
      onResult: (r) => {
        if (!args.json) io.stdout.write(`${formatRow(r)}\n`);
      },
    });
  } catch (err) {
    if (err instanceof ConformanceError) throw new UsageError(err.message);
    throw err;
  }
  const elapsed = Date.now() - started;
  if (args.json) {
    io.stdout.write(
      `${JSON.stringify({ command: args.command, heartbeatIntervalMs: args.heartbeatIntervalMs ?? 1000, elapsedMs: elapsed, results })}\n`,
    );
  } else io.stdout.write(`${formatSummary(results, elapsed)}\n`);
  return results.some((r) => r.verdict === 'fail') ? 1 : 0;
}
