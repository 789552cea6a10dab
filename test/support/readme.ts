/**
 * Helpers for test/integration/readme-commands.test.ts: find the commands README.md tells a reader to run,
 * make a fresh copy of the repository to run them in, and run processes the way a user would (no TTY, no
 * stdin, killed with their children when they overrun).
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { cpSync, existsSync, lstatSync, mkdirSync, mkdtempSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { logMessage } from './log-lines.js';

export interface ReadmeCommand {
  /** The command as written, whitespace collapsed, without a trailing `# comment`. */
  command: string;
  /** 1-based line in README.md (the first occurrence). */
  line: number;
  /** `usage`: a row of the commands table, with `[…|…]` placeholders: syntax, not something to paste. */
  kind: 'sh-fence' | 'inline' | 'usage';
}

/** Inline code that is a command: `npm …`, `node [--flags] dist/…`, `shardline …`. */
const INLINE_COMMAND = /^(?:npm |node (?:--[\w-]+ )*dist\/|shardline )/;

/**
 * Every runnable command in a README: the lines of ```sh fences (comment lines skipped, trailing comments
 * cut) and inline code spans that start like a command. Spans in a markdown table row whose text carries
 * `[` placeholders are usage syntax (`kind: 'usage'`). Each command is listed once, at its first line.
 */
export function extractReadmeCommands(markdown: string): ReadmeCommand[] {
  const found = new Map<string, ReadmeCommand>();
  const add = (command: string, line: number, kind: ReadmeCommand['kind']) => {
    const normalized = command.replace(/\s+/g, ' ').trim();
    if (normalized !== '' && !found.has(normalized))
      found.set(normalized, { command: normalized, line, kind });
  };
  let fence: string | undefined;
  for (const [index, text] of markdown.split('\n').entries()) {
    const line = index + 1;
    const marker = /^\s*```(\S*)/.exec(text);
    if (marker) {
      fence = fence === undefined ? marker[1] : undefined;
      continue;
    }
    if (fence !== undefined) {
      if (fence === 'sh' || fence === 'bash' || fence === 'shell') {
        const command = text.replace(/(^|\s)#.*$/, '');
        add(command, line, 'sh-fence');
      }
      continue;
    }
    const tableRow = text.trimStart().startsWith('|');
    for (const match of text.matchAll(/`([^`]+)`/g)) {
      const span = match[1]!.replace(/\\\|/g, '|');
      if (!INLINE_COMMAND.test(span)) continue;
      add(span, line, tableRow && span.includes('[') ? 'usage' : 'inline');
    }
  }
  return [...found.values()];
}

/** The command names of the usage rows (`shardline demo [...]` → `demo`). */
export function usageCommandNames(commands: readonly ReadmeCommand[]): string[] {
  return commands
    .filter((c) => c.kind === 'usage')
    .map((c) => /^shardline ([\w-]+)/.exec(c.command)?.[1])
    .filter((n): n is string => n !== undefined);
}

/**
 * A fresh copy of the repository in a new temp dir, as a clone would have it: the files git tracks, as they
 * are in the working tree (so uncommitted edits count), plus untracked files that are not ignored (a new
 * source file not yet added is part of what the next commit builds). No node_modules, no dist.
 */
export function freshCopy(root: string): string {
  const listed = execFileSync('git', ['ls-files', '-z', '--cached', '--others', '--exclude-standard'], {
    cwd: root,
    encoding: 'utf8',
    maxBuffer: 64 * 1024 * 1024,
  })
    .split('\0')
    .filter((f) => f !== '');
  const dir = mkdtempSync(join(tmpdir(), 'shardline-readme-'));
  for (const file of listed) {
    const from = join(root, file);
    // Deleted in the working tree but not yet in a commit: a clone of the next commit lacks it too.
    if (!existsSync(from) || lstatSync(from).isDirectory()) continue;
    mkdirSync(dirname(join(dir, file)), { recursive: true });
    cpSync(from, join(dir, file), { verbatimSymlinks: true });
  }
  return dir;
}

/**
 * The environment a user's shell would give these commands: ours minus what an outer `npm test` set for its
 * own script (npm_package_*, npm_lifecycle_*, …) and this runner's SHARDLINE_TEST, with npm told not to
 * audit, fund or check for updates (network round trips that say nothing about this project).
 */
export function userEnv(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (/^npm_(package|lifecycle|command|execpath|node_execpath)/i.test(key)) continue;
    if (key === 'INIT_CWD' || key === 'SHARDLINE_TEST' || key === 'NODE_TEST_CONTEXT') continue;
    env[key] = value;
  }
  return {
    ...env,
    npm_config_audit: 'false',
    npm_config_fund: 'false',
    npm_config_update_notifier: 'false',
    ...extra,
  };
}

export interface Finished {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  /** stdout and stderr interleaved as they arrived: what a user sees in the terminal. */
  output: string;
}

export interface Running {
  child: ChildProcess;
  /** Resolves with the next stdout line matching `pattern` (rejects when the process ends first). */
  line(pattern: RegExp): Promise<string>;
  /** stdout so far. */
  stdout(): string;
  /** Sends a signal to the process and everything it started. */
  kill(signal?: NodeJS.Signals): void;
  done: Promise<Finished>;
}

export interface StartOptions {
  cwd: string;
  env: NodeJS.ProcessEnv;
  /** The process and its children are killed (SIGKILL) after this long; generous, never asserted. */
  timeoutMs: number;
}

/** Every process group started here, so a failing test can stop what it left running. */
const live = new Set<Running>();
// They run in their own process groups (so a kill reaches npm's children too), which also means they
// outlive this process unless stopped: stop them however this process exits.
process.once('exit', () => {
  for (const r of live) r.kill('SIGKILL');
});

/**
 * Starts `argv` (split from a README command: no quoting there) with stdin closed and stdout/stderr piped,
 * in its own process group. `node` is this Node; `npm` is the one on PATH, as in a user's shell.
 */
export function start(argv: readonly string[], options: StartOptions): Running {
  const [program, ...args] = argv;
  if (program === undefined) throw new Error('empty command');
  const child = spawn(program === 'node' ? process.execPath : program, args, {
    cwd: options.cwd,
    env: options.env,
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  let stdout = '';
  let stderr = '';
  let output = '';
  let pending = '';
  const waiters: { pattern: RegExp; resolve: (l: string) => void; reject: (e: Error) => void }[] = [];
  const lines: string[] = [];
  const offer = (line: string) => {
    lines.push(line);
    for (const [i, w] of waiters.entries()) {
      if (w.pattern.test(line)) {
        waiters.splice(i, 1);
        w.resolve(line);
        return;
      }
    }
  };
  child.stdout?.on('data', (chunk: Buffer) => {
    const text = chunk.toString();
    stdout += text;
    output += text;
    pending += text;
    const parts = pending.split('\n');
    pending = parts.pop() ?? '';
    for (const l of parts) offer(logMessage(l));
  });
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
    output += chunk.toString();
  });
  const kill = (signal: NodeJS.Signals = 'SIGTERM') => {
    if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null) return;
    try {
      process.kill(-child.pid, signal);
    } catch {
      // already gone
    }
  };
  const timer = setTimeout(() => kill('SIGKILL'), options.timeoutMs);
  const running: Running = {
    child,
    kill,
    stdout: () => stdout,
    line(pattern) {
      const seen = lines.find((l) => pattern.test(l));
      if (seen !== undefined) return Promise.resolve(seen);
      return new Promise((resolve, reject) => waiters.push({ pattern, resolve, reject }));
    },
    done: new Promise<Finished>((resolve) => {
      child.on('error', (err) => {
        stderr += `spawn failed: ${err.message}\n`;
      });
      child.on('close', (code, signal) => {
        clearTimeout(timer);
        live.delete(running);
        if (pending !== '') offer(pending);
        for (const w of waiters.splice(0))
          w.reject(
            new Error(`${argv.join(' ')} ended (${code ?? signal}) before a line matched ${w.pattern}`),
          );
        resolve({ code, signal, stdout, stderr, output });
      });
    }),
  };
  live.add(running);
  return running;
}

export { waitFor } from './wait.js';

/** Runs `argv` to completion. */
export function run(argv: readonly string[], options: StartOptions): Promise<Finished> {
  return start(argv, options).done;
}

/** Kills every process started here that is still running (for `t.after`). */
export async function killLeftovers(): Promise<void> {
  const left = [...live];
  for (const r of left) r.kill('SIGKILL');
  await Promise.all(left.map((r) => r.done));
}

/** True when a Redis answers PING at host:port. */
export function redisAnswers(host: string, port: number, timeoutMs = 2_000): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host, port });
    const finish = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(timeoutMs, () => finish(false));
    socket.on('error', () => finish(false));
    socket.on('connect', () => socket.write('PING\r\n'));
    socket.on('data', (d: Buffer) => finish(d.toString().startsWith('+PONG')));
  });
}
