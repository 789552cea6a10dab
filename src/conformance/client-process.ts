import { type ChildProcess, spawn } from 'node:child_process';

/** A dispatch the client reported on stdout (`{"conformance":"dispatch","s":N,"t":"…","shard":0}`). */
export interface ReportedDispatch {
  readonly s: number;
  readonly t: string | undefined;
  readonly shard: number | undefined;
  readonly at: number;
}

const STDERR_KEPT = 4096;

/**
 * The client under test: one process (group) started with the scenario's environment. Its stdout is read
 * for optional report lines; the tail of its stderr is kept, with the token removed, for evidence.
 */
export class ClientProcess {
  readonly child: ChildProcess;
  readonly reported: ReportedDispatch[] = [];
  exit: { code: number | null; signal: NodeJS.Signals | null; at: number } | undefined;
  #stderr = '';
  #stdoutBuffer = '';
  readonly #secrets: readonly string[];
  readonly #now: () => number;
  readonly #exited: Promise<void>;

  constructor(
    command: readonly string[],
    env: NodeJS.ProcessEnv,
    secrets: readonly string[],
    now: () => number,
  ) {
    this.#secrets = secrets.filter((s) => s.length > 0);
    this.#now = now;
    // Its own process group, so a wrapper (`npm run …`, a shell) and what it starts are stopped together.
    this.child = spawn(command[0]!, command.slice(1), {
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: process.platform !== 'win32',
    });
    this.#exited = new Promise((resolve) => {
      this.child.once('exit', (code, signal) => {
        this.exit = { code, signal, at: this.#now() };
        resolve();
      });
      this.child.once('error', (err) => {
        this.#stderr += `could not start the client: ${err.message}\n`;
        this.exit ??= { code: null, signal: null, at: this.#now() };
        resolve();
      });
    });
    this.child.stdout!.setEncoding('utf8');
    this.child.stdout!.on('data', (chunk: string) => this.#onStdout(chunk));
    this.child.stderr!.setEncoding('utf8');
    this.child.stderr!.on('data', (chunk: string) => {
      this.#stderr = (this.#stderr + chunk).slice(-STDERR_KEPT * 2);
    });
  }

  #onStdout(chunk: string): void {
    this.#stdoutBuffer += chunk;
    if (this.#stdoutBuffer.length > 1 << 20) this.#stdoutBuffer = this.#stdoutBuffer.slice(-(1 << 16));
    let i = this.#stdoutBuffer.indexOf('\n');
    while (i >= 0) {
      const line = this.#stdoutBuffer.slice(0, i).trim();
      this.#stdoutBuffer = this.#stdoutBuffer.slice(i + 1);
      i = this.#stdoutBuffer.indexOf('\n');
      if (!line.startsWith('{') || !line.includes('"conformance"')) continue;
      try {
        const v = JSON.parse(line) as Record<string, unknown>;
        if (v.conformance === 'dispatch' && Number.isSafeInteger(v.s) && (v.s as number) >= 0) {
          this.reported.push({
            s: v.s as number,
            t: typeof v.t === 'string' ? v.t : undefined,
            shard: typeof v.shard === 'number' ? v.shard : undefined,
            at: this.#now(),
          });
        }
      } catch {
        // Not a report line.
      }
    }
  }

  /** The last lines of stderr, without any secret, for evidence. */
  stderrTail(maxChars = 300): string {
    let text = this.#stderr;
    for (const s of this.#secrets) text = text.split(s).join('[redacted]');
    // The first line that names an error says more than the end of its stack trace.
    const lines = text
      .split('\n')
      .map((l) => l.trim())
      .filter((l) => l.length > 0);
    const line = lines.find((l) => /error/i.test(l) && !l.startsWith('at ')) ?? lines.at(-1) ?? '';
    return line.length > maxChars ? `${line.slice(0, maxChars)}…` : line;
  }

  get running(): boolean {
    return this.exit === undefined;
  }

  #signal(signal: NodeJS.Signals): void {
    const pid = this.child.pid;
    if (pid === undefined || !this.running) return;
    try {
      if (process.platform !== 'win32') process.kill(-pid, signal);
      else this.child.kill(signal);
    } catch {
      // Already gone.
    }
  }

  /** SIGTERM to the group, SIGKILL after `graceMs`; resolves once the process exited. */
  async stop(graceMs = 2000): Promise<void> {
    if (!this.running) return;
    this.#signal('SIGTERM');
    const timer = setTimeout(() => this.#signal('SIGKILL'), graceMs);
    await this.#exited;
    clearTimeout(timer);
  }
}
