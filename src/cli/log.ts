/**
 * The operator's log of `worker`, `proxy` and `connect`: pino records (level, ISO time, `shardId` when a
 * shard is concerned), JSON lines when stdout is not a terminal or with `--log-format json`, pino-pretty's
 * lines on a terminal or with `--log-format pretty`. Every line passes the token redaction on its way out,
 * whatever field or error text carries it.
 */
import { type Logger, pino, stdSerializers, stdTimeFunctions } from 'pino';
import { prettyFactory } from 'pino-pretty';
import { redact } from '../util/redact.js';
import { type CliIo, choiceFlag } from './args.js';

export const LOG_FORMATS = ['json', 'pretty'] as const;
export type LogFormat = (typeof LOG_FORMATS)[number];
export const LOG_LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'] as const;
export type CliLogLevel = (typeof LOG_LEVELS)[number];

/** The flags every command with a log takes, for `parseFlags`. */
export const LOG_FLAGS = {
  'log-format': { type: 'string' },
  'log-level': { type: 'string' },
} as const;

export const LOG_USAGE = `  --log-format json|pretty  log lines as JSON (default when stdout is not a terminal) or for reading
  --log-level LEVEL        trace, debug, info (default), warn, error, fatal or silent`;

export interface LogSettings {
  /** undefined: pretty on a terminal, JSON elsewhere. */
  readonly format: LogFormat | undefined;
  readonly level: CliLogLevel;
}

/** `--log-format` and `--log-level` from parsed flags; a UsageError names a bad value. */
export function parseLogFlags(values: Record<string, unknown>): LogSettings {
  const str = (k: string) => values[k] as string | undefined;
  return {
    format: choiceFlag('log-format', str('log-format'), LOG_FORMATS),
    level: choiceFlag('log-level', str('log-level'), LOG_LEVELS) ?? 'info',
  };
}

/** Keys whose values never reach a log line, wherever they sit in a record. */
export const REDACTED_LOG_PATHS = [
  'token',
  '*.token',
  'password',
  '*.password',
  'authorization',
  '*.authorization',
  'headers.authorization',
  '*.headers.authorization',
];

export interface CliLoggerOptions {
  /** The command (`worker`, `proxy`, `connect`), the `name` of every record. */
  readonly name: string;
  readonly settings: LogSettings;
  /** Secrets redacted from every line (the bot token, client tokens); undefined entries are skipped. */
  readonly secrets: readonly (string | undefined)[];
}

/** The format a command logs in: the flag's, else pretty on a terminal and JSON elsewhere. */
export function logFormat(settings: LogSettings, out: CliIo['stdout']): LogFormat {
  return settings.format ?? (out.isTTY ? 'pretty' : 'json');
}

/** A pino logger writing to `out` (the command's stdout, or stderr when stdout carries data). */
export function createCliLogger(out: CliIo['stdout'], options: CliLoggerOptions): Logger {
  const secrets = options.secrets.filter((s): s is string => typeof s === 'string' && s.length > 0);
  const clean = (text: string): string => {
    let out = text;
    for (const secret of secrets) out = redact(out, secret);
    return out;
  };
  const format = logFormat(options.settings, out);
  const prettify =
    format === 'pretty'
      ? prettyFactory({
          colorize: Boolean(out.isTTY),
          translateTime: 'SYS:HH:MM:ss.l',
          ignore: 'pid,hostname,name',
          singleLine: true,
        })
      : undefined;
  // The last gate: a token inside any field or error text is replaced before the line is written.
  const destination = {
    write(line: string): void {
      const safe = clean(line);
      out.write(prettify ? prettify(safe) : safe);
    },
  };
  return pino(
    {
      name: `shardline ${options.name}`,
      level: options.settings.level,
      timestamp: stdTimeFunctions.isoTime,
      redact: { paths: REDACTED_LOG_PATHS, censor: '[redacted]' },
      serializers: { err: stdSerializers.err },
      hooks: {
        logMethod(args, method) {
          // The message itself, redacted before pino formats it.
          for (let i = 0; i < args.length; i++) {
            const arg = args[i];
            if (typeof arg === 'string') args[i] = clean(arg);
          }
          return method.apply(this, args as Parameters<typeof method>);
        },
      },
    },
    destination,
  );
}

/** `{ shardId }` for a record about one shard, nothing for the process as a whole. */
export function shardField(shardId: number | null | undefined): { shardId?: number } {
  return shardId === null || shardId === undefined ? {} : { shardId };
}
