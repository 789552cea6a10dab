import { ConformanceError } from '../errors.js';
import { startSimulator } from '../simulator/index.js';
import { ClientProcess } from './client-process.js';
import { ConnectionRecorder } from './recorder.js';
import type { CheckResult, Scenario, ScenarioContext } from './scenario.js';
import { EXPECTED_VIOLATIONS, SCENARIOS } from './scenarios.js';

/**
 * The variables a client under test receives (documented in docs/conformance.md). `--env NAME=VAR` copies
 * one of them into another name for clients that read others.
 */
export const CLIENT_ENV_VARS = {
  SHARDLINE_API: 'REST base without the version, e.g. http://127.0.0.1:PORT/api (append /v10/…)',
  SHARDLINE_GATEWAY_URL: 'gateway URL, e.g. ws://127.0.0.1:PORT (also the url of GET /gateway/bot)',
  DISCORD_TOKEN: 'the token the simulator accepts',
  SHARDLINE_SHARD_COUNT: 'shard count to run (also the shards of GET /gateway/bot)',
  SHARDLINE_IDENTIFY_WINDOW_MS:
    "the simulator's identify window (Discord's is 5000 ms); a client may keep 5000",
  SHARDLINE_COMPRESS:
    'set in the compression scenarios: zlib-stream or zstd-stream, the transport compression to use',
  SHARDLINE_REQUEST_MEMBERS:
    'set in member-request-limit: a guild id whose members to request, twice at once',
  SHARDLINE_SCENARIO: 'name of the running scenario',
} as const;
export type ClientEnvVar = keyof typeof CLIENT_ENV_VARS;

export interface ConformanceOptions {
  /** The command that starts the client: program and arguments (no shell). */
  readonly command: readonly string[];
  /** Scenario names (or check names such as `startup.first-heartbeat`, which select their scenario). Default all. */
  readonly scenarios?: readonly string[];
  /** Client variable name → documented variable whose value it gets. */
  readonly envMap?: Readonly<Record<string, ClientEnvVar>>;
  /** Hello heartbeat interval, in ms; every timing bound is a multiple of it. Default 1000. */
  readonly heartbeatIntervalMs?: number;
  /** Hang guard for a client to start and reach READY, in ms. Default 30000. */
  readonly bootTimeoutMs?: number;
  /** Environment the client inherits (the documented variables are replaced). Default `process.env`. */
  readonly baseEnv?: NodeJS.ProcessEnv;
  /** Called with each result as soon as it is known. */
  readonly onResult?: (result: CheckResult) => void;
  /** Stops after the running scenario (its client is stopped). */
  readonly signal?: AbortSignal;
}

export const DEFAULT_CONFORMANCE_OPTIONS = {
  heartbeatIntervalMs: 1000,
  bootTimeoutMs: 30_000,
} as const satisfies Partial<ConformanceOptions>;

/** Names accepted by `--scenario`: scenario names and the check names of multi-check scenarios. */
export function scenarioNames(): string[] {
  return SCENARIOS.flatMap((s) => [s.name, ...(s.checks ?? [])]);
}

/** The scenarios `names` select, in run order; throws `ConformanceError` naming an unknown one. */
export function selectScenarios(names: readonly string[] | undefined): Scenario[] {
  if (names === undefined || names.length === 0) return [...SCENARIOS];
  const known = new Set(scenarioNames());
  for (const n of names) {
    if (!known.has(n))
      throw new ConformanceError(
        'CONFORMANCE_SCENARIO_UNKNOWN',
        `unknown scenario '${n}'; scenarios: ${SCENARIOS.map((s) => s.name).join(', ')}`,
      );
  }
  return SCENARIOS.filter((s) => names.some((n) => n === s.name || s.checks?.includes(n)));
}

/** Runs the selected scenarios one after the other, each against a fresh simulator and a fresh client. */
export async function runConformance(options: ConformanceOptions): Promise<CheckResult[]> {
  if (options.command.length === 0 || options.command[0] === '')
    throw new ConformanceError('CONFORMANCE_COMMAND_MISSING', 'no client command given');
  const interval = options.heartbeatIntervalMs ?? DEFAULT_CONFORMANCE_OPTIONS.heartbeatIntervalMs;
  const bootTimeoutMs = options.bootTimeoutMs ?? DEFAULT_CONFORMANCE_OPTIONS.bootTimeoutMs;
  const selected = selectScenarios(options.scenarios);
  const wanted = options.scenarios;
  const out: CheckResult[] = [];
  for (const scenario of selected) {
    if (options.signal?.aborted) break;
    const started = Date.now();
    let results = await runOne(scenario, { ...options, interval, bootTimeoutMs });
    results = results.map((r) => ({ ...r, durationMs: Date.now() - started }));
    // `--scenario startup.first-heartbeat` reports that check only.
    if (wanted && wanted.length > 0 && !wanted.includes(scenario.name))
      results = results.filter((r) => wanted.includes(r.scenario));
    for (const r of results) {
      out.push(r);
      options.onResult?.(r);
    }
  }
  return out;
}

async function runOne(
  scenario: Scenario,
  o: ConformanceOptions & { interval: number; bootTimeoutMs: number },
): Promise<CheckResult[]> {
  const rec = new ConnectionRecorder();
  const sim = await startSimulator({
    guilds: 2,
    membersPerGuild: 5,
    shards: 1,
    heartbeatIntervalMs: o.interval,
    identifyWindowMs: Math.max(1, Math.round(o.interval / 2)),
    ...scenario.simulator?.({ interval: o.interval }),
    observer: rec,
  });
  const token = sim.tokens[0]!;
  const vars: Partial<Record<ClientEnvVar, string>> = {
    SHARDLINE_API: sim.restUrl,
    SHARDLINE_GATEWAY_URL: sim.gatewayUrl,
    DISCORD_TOKEN: token,
    SHARDLINE_SHARD_COUNT: String(sim.options.shards),
    SHARDLINE_IDENTIFY_WINDOW_MS: String(sim.options.identifyWindowMs),
    SHARDLINE_SCENARIO: scenario.name,
    ...scenario.env?.(sim),
  };
  const env: NodeJS.ProcessEnv = { ...(o.baseEnv ?? process.env) };
  for (const name of Object.keys(CLIENT_ENV_VARS)) delete env[name];
  Object.assign(env, vars);
  for (const [name, from] of Object.entries(o.envMap ?? {})) {
    const value = vars[from];
    if (value === undefined) delete env[name];
    else env[name] = value;
  }
  // Every time compared in a scenario is on the simulator's clock (the observer's timestamps).
  const now = () => sim.options.clock.now();
  const client = new ClientProcess(o.command, env, [token], now);
  const ctx: ScenarioContext = {
    sim,
    rec,
    client,
    interval: o.interval,
    bootTimeoutMs: o.bootTimeoutMs,
    now,
    sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
    async waitFor(check, timeoutMs, opts = {}) {
      const end = Date.now() + timeoutMs;
      for (;;) {
        if (check()) return true;
        if (Date.now() >= end || o.signal?.aborted) return false;
        if (opts.untilExit && !client.running) return check();
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
    },
  };
  let results: CheckResult[];
  try {
    const r = await scenario.run(ctx);
    results = Array.isArray(r) ? r : [r];
  } catch (err) {
    results = [
      {
        scenario: scenario.name,
        verdict: 'fail',
        evidence: `the scenario itself failed: ${err instanceof Error ? err.message : String(err)}`,
      },
    ];
  }
  const violations = Object.entries(sim.stats().violations).filter(
    ([kind, n]) => n > 0 && !(EXPECTED_VIOLATIONS[scenario.name] ?? []).includes(kind as never),
  );
  await client.stop();
  await sim.close();
  if (violations.length > 0) {
    const text = violations.map(([k, n]) => `${k} ×${n}`).join(', ');
    results = results.map((r) =>
      r.verdict === 'skip' || r.evidence.includes(text)
        ? r
        : { ...r, verdict: 'fail', evidence: `${r.evidence}; simulator rule violations: ${text}` },
    );
  }
  return results;
}
