import type { Simulator, SimulatorOptions } from '../simulator/index.js';
import type { ClientProcess } from './client-process.js';
import type { ConnectionLog, ConnectionRecorder } from './recorder.js';

export const VERDICTS = ['pass', 'fail', 'skip'] as const;
export type Verdict = (typeof VERDICTS)[number];

/** One graded line of the report. */
export interface CheckResult {
  readonly scenario: string;
  readonly verdict: Verdict;
  /** What the simulator saw, in a sentence or two; for a failure also what Discord expects. */
  readonly evidence: string;
  /** Wall time of the scenario run this check belongs to, in ms. */
  readonly durationMs?: number;
}

/** What a scenario may use while it runs. */
export interface ScenarioContext {
  readonly sim: Simulator;
  readonly rec: ConnectionRecorder;
  readonly client: ClientProcess;
  /** The Hello heartbeat interval of this run, in ms: every bound is a multiple of it. */
  readonly interval: number;
  /** Hang guard for the client to start and reach READY, in ms. */
  readonly bootTimeoutMs: number;
  now(): number;
  sleep(ms: number): Promise<void>;
  /** Polls `check` until it holds (true) or `timeoutMs` passed (false), or the client exited (false). */
  waitFor(check: () => boolean, timeoutMs: number, options?: { untilExit?: boolean }): Promise<boolean>;
}

/** A scripted run against a fresh simulator. */
export interface Scenario {
  readonly name: string;
  /** One line for `--help` and the docs. */
  readonly summary: string;
  /** Check names it reports (default: its own name). */
  readonly checks?: readonly string[];
  /** Simulator options on top of the run's defaults. */
  simulator?(base: { interval: number }): SimulatorOptions;
  /** Extra environment for the client (values may reference the run: guild ids and the like). */
  env?(sim: Simulator): Record<string, string>;
  run(ctx: ScenarioContext): Promise<CheckResult | CheckResult[]>;
}

export const pass = (scenario: string, evidence: string): CheckResult => ({
  scenario,
  verdict: 'pass',
  evidence,
});
export const fail = (scenario: string, evidence: string): CheckResult => ({
  scenario,
  verdict: 'fail',
  evidence,
});
export const skip = (scenario: string, evidence: string): CheckResult => ({
  scenario,
  verdict: 'skip',
  evidence,
});

/** `1234 ms (1.23×interval)`. */
export function ms(value: number, interval: number): string {
  return `${Math.round(value)} ms (${(value / interval).toFixed(2)}×interval)`;
}

/** A short description of how a connection ended, for evidence. */
export function closeText(conn: ConnectionLog): string {
  if (!conn.close) return 'still open';
  return `closed by the ${conn.close.by} with ${conn.close.code}`;
}
