import { parseArgs } from 'node:util';
import { ShardlineError } from '../errors.js';

/** Bad command-line usage: the CLI prints the one-line reason and the usage, then exits 2. */
export class UsageError extends ShardlineError {
  declare readonly code: 'CLI_USAGE';
  constructor(message: string) {
    super('CLI_USAGE', message);
  }
}

export interface CliIo {
  stdout: NodeJS.WritableStream & { isTTY?: boolean; columns?: number };
  stderr: NodeJS.WritableStream;
  /** Keys for the demo, read when it is a terminal; default `process.stdin`. */
  stdin?: NodeJS.ReadableStream & { isTTY?: boolean; setRawMode?(raw: boolean): unknown };
  env: NodeJS.ProcessEnv;
  /** Aborted when the user asks to stop (Ctrl-C, SIGTERM). */
  signal: AbortSignal;
}

export type FlagSpec = Record<string, { type: 'string' | 'boolean'; short?: string; multiple?: boolean }>;

export type FlagValues = Record<string, string | boolean | string[] | boolean[] | undefined>;

/**
 * `parseArgs` in strict mode, with its errors turned into one-line `UsageError`s that name the flag. A
 * negative number after a value flag (`--duration -1`) is taken as its value, so the flag's own check can
 * say what is allowed instead of parseArgs calling the argument ambiguous.
 */
export function parseFlags(argv: readonly string[], options: FlagSpec): { values: FlagValues } {
  const args: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    const next = argv[i + 1];
    const name = /^--([^=]+)$/.exec(arg)?.[1];
    if (name !== undefined && options[name]?.type === 'string' && next !== undefined && /^-\d/.test(next)) {
      args.push(`${arg}=${next}`);
      i++;
    } else args.push(arg);
  }
  try {
    const { values } = parseArgs({ args, options, strict: true, allowPositionals: false });
    return { values: values as FlagValues };
  } catch (err) {
    throw new UsageError(explainParseError(err, args, options));
  }
}

/** parseArgs' multi-line messages, as one line that names the flag and what to do. */
function explainParseError(err: unknown, args: readonly string[], options: FlagSpec): string {
  const message = err instanceof Error ? err.message : String(err);
  const code = (err as { code?: unknown }).code;
  const flag = /'(--?[^' <=]+)/.exec(message)?.[1];
  if (code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION' && flag !== undefined) {
    const known = Object.keys(options).map((k) => `--${k}`);
    return `Unknown option '${flag}' (known: ${known.join(', ')})`;
  }
  if (code === 'ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL') {
    const arg = /'([^']*)'/.exec(message)?.[1] ?? '';
    return `unexpected argument '${arg}': this command takes only flags`;
  }
  if (code === 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE' && flag !== undefined) {
    if (message.includes('ambiguous')) {
      const value = args[args.indexOf(flag) + 1] ?? '';
      return `${flag} needs a value, got the flag-like '${value}'; to pass a value that starts with a dash write ${flag}=${value}`;
    }
    if (message.includes('does not take an argument')) {
      const given = args.find((a) => a.startsWith(`${flag}=`)) ?? flag;
      return `${flag} takes no value, got '${given}'`;
    }
    if (message.includes('argument missing')) return `${flag} needs a value`;
  }
  return message.split('\n').join(' ');
}

/** An integer flag: `undefined` when absent, else a whole number within [min, max]. */
export function intFlag(
  name: string,
  raw: string | undefined,
  { min = 0, max = Number.MAX_SAFE_INTEGER }: { min?: number; max?: number } = {},
): number | undefined {
  if (raw === undefined) return undefined;
  if (!/^-?\d+$/.test(raw.trim())) throw new UsageError(`--${name} must be a whole number, got '${raw}'`);
  const value = Number(raw);
  if (value < min || value > max)
    throw new UsageError(`--${name} must be between ${min} and ${max}, got ${value}`);
  return value;
}

/** A flag restricted to a fixed set of words. */
export function choiceFlag<const C extends readonly string[]>(
  name: string,
  raw: string | undefined,
  choices: C,
): C[number] | undefined {
  if (raw === undefined) return undefined;
  if (!(choices as readonly string[]).includes(raw))
    throw new UsageError(`--${name} must be one of ${choices.join(', ')}, got '${raw}'`);
  return raw as C[number];
}

/** A shard range such as `0-7`, `3` or `0,2,4-6` → sorted unique ids. */
export function rangeFlag(name: string, raw: string | undefined): number[] | undefined {
  if (raw === undefined) return undefined;
  const ids = new Set<number>();
  for (const part of raw.split(',')) {
    const m = /^\s*(\d+)\s*(?:-\s*(\d+)\s*)?$/.exec(part);
    if (!m) throw new UsageError(`--${name} must look like 0-7 or 0,2,4-6, got '${raw}'`);
    const from = Number(m[1]);
    const to = m[2] === undefined ? from : Number(m[2]);
    if (to < from) throw new UsageError(`--${name}: range ${part.trim()} runs backwards`);
    if (to - from > 100_000) throw new UsageError(`--${name}: range ${part.trim()} is too large`);
    for (let i = from; i <= to; i++) ids.add(i);
  }
  return [...ids].sort((a, b) => a - b);
}

/**
 * The bot token from environment variable `name`: a UsageError that says whether it is unset or empty
 * (never the value). `what` says what belongs there.
 */
export function tokenFromEnv(
  env: Readonly<Record<string, string | undefined>>,
  name: string,
  what = 'your bot token',
  hint = 'or name another with --token-env',
): string {
  const token = env[name];
  if (token === undefined)
    throw new UsageError(`environment variable ${name} is not set: export ${what} there (${hint})`);
  if (token.trim() === '')
    throw new UsageError(`environment variable ${name} is empty: export ${what} there (${hint})`);
  return token;
}
