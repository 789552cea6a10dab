import { type ChildProcess, spawn } from 'node:child_process';

/** A child process that reports one JSON object per stdout line (the third-party client children). */
export interface NdjsonChild<L> {
  readonly child: ChildProcess;
  /** Every line parsed so far, in order. */
  readonly lines: L[];
  stderr(): string;
}

/** Starts `node script` with only PATH and `env` in its environment; its JSON lines accumulate in `lines`. */
export function startNdjsonChild<L>(script: string, env: NodeJS.ProcessEnv): NdjsonChild<L> {
  const child = spawn(process.execPath, [script], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { PATH: process.env.PATH, ...env },
  });
  const lines: L[] = [];
  let buffer = '';
  let stderr = '';
  child.stdout!.on('data', (chunk: Buffer) => {
    buffer += chunk.toString();
    let i = buffer.indexOf('\n');
    while (i >= 0) {
      lines.push(JSON.parse(buffer.slice(0, i)) as L);
      buffer = buffer.slice(i + 1);
      i = buffer.indexOf('\n');
    }
  });
  child.stderr!.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  return { child, lines, stderr: () => stderr };
}

/** Kills `child` with SIGKILL (unless it already exited) and resolves once it is gone. */
export function killed(child: ChildProcess): Promise<void> {
  return new Promise<void>((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve();
    child.once('exit', () => resolve());
    child.kill('SIGKILL');
  });
}
