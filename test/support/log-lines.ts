/**
 * The CLI logs JSON lines when its stdout is a pipe (src/cli/log.ts): these read them back as the message
 * an operator reads, so tests match `shard 3 ready` whatever the format.
 */

/** One parsed log record; undefined when the line is not one. */
export interface LogRecord {
  readonly level: number;
  readonly time: string;
  readonly msg: string;
  readonly shardId?: number;
  readonly [field: string]: unknown;
}

export function logRecord(line: string): LogRecord | undefined {
  if (!line.startsWith('{')) return undefined;
  try {
    const value = JSON.parse(line) as unknown;
    if (typeof value === 'object' && value !== null && typeof (value as LogRecord).msg === 'string')
      return value as LogRecord;
  } catch {
    // not a record
  }
  return undefined;
}

/** The message of a JSON log line, or the line itself. */
export function logMessage(line: string): string {
  return logRecord(line)?.msg ?? line;
}

/** Every line of `text` as its message (see `logMessage`). */
export function logMessages(text: string): string {
  return text
    .split('\n')
    .map((l) => logMessage(l))
    .join('\n');
}
