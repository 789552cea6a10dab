/**
 * Runs `node dist/src/cli/main.js worker …` as a child process (the real CLI, as an operator would) and
 * records its output lines. Killed with SIGKILL after the test if still running.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { dirname, join } from 'node:path';
import type { TestContext } from 'node:test';
import { fileURLToPath } from 'node:url';
import type { Simulator } from '../../src/simulator/index.js';
import { logMessage } from './log-lines.js';

export const CLI = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'src', 'cli', 'main.js');

export class WorkerProcess {
  readonly child: ChildProcess;
  /** Output lines as messages (a JSON log line gives its `msg`; see log-lines.ts). */
  readonly stdout: string[] = [];
  readonly stderr: string[] = [];
  /** Every output line as written, stdout and stderr. */
  readonly raw: string[] = [];
  readonly exited: Promise<number | null>;
  readonly name: string;

  constructor(child: ChildProcess, name: string) {
    this.child = child;
    this.name = name;
    const lines = (into: string[]) => {
      let rest = '';
      return (chunk: Buffer) => {
        rest += chunk.toString('utf8');
        const parts = rest.split('\n');
        rest = parts.pop()!;
        this.raw.push(...parts);
        into.push(...parts.map(logMessage));
      };
    };
    child.stdout?.on('data', lines(this.stdout));
    child.stderr?.on('data', lines(this.stderr));
    this.exited = new Promise((resolve) => child.once('exit', (code) => resolve(code)));
  }

  get running(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  /** Every output line, stdout and stderr. */
  get lines(): string[] {
    return [...this.stdout, ...this.stderr];
  }

  has(re: RegExp): boolean {
    return this.lines.some((l) => re.test(l));
  }

  /** Shard ids of `shard N ready` / `shard N resumed` lines. */
  shardsMatching(re: RegExp): number[] {
    return this.stdout.flatMap((l) => {
      const m = re.exec(l);
      return m ? [Number(m[1])] : [];
    });
  }

  async kill(signal: NodeJS.Signals): Promise<number | null> {
    if (this.running) this.child.kill(signal);
    return this.exited;
  }

  /** Output for an assertion message. */
  dump(): string {
    return `--- ${this.name}\n${this.lines.join('\n')}`;
  }
}

export interface WorkerSpawnOptions {
  readonly redisUrl: string;
  readonly prefix: string;
  readonly sim: Simulator;
  readonly args: readonly string[];
  readonly name: string;
}

export function startWorker(t: TestContext, o: WorkerSpawnOptions): WorkerProcess {
  const child = spawn(
    process.execPath,
    [
      CLI,
      'worker',
      '--redis',
      o.redisUrl,
      '--prefix',
      o.prefix,
      '--api',
      o.sim.restUrl,
      '--token-env',
      'SHARDLINE_TEST_TOKEN',
      '--owner',
      o.name,
      '--encoding',
      'json',
      '--compression',
      'none',
      ...o.args,
    ],
    {
      env: { ...process.env, SHARDLINE_TEST_TOKEN: o.sim.tokens[0]! },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  const worker = new WorkerProcess(child, o.name);
  t.after(async () => {
    if (worker.running) await worker.kill('SIGKILL');
  });
  return worker;
}
