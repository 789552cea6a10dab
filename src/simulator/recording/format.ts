/**
 * The gateway recording format: NDJSON (gzip when the file starts with the gzip magic), one header line, then
 * one line per payload received from the gateway and one per closed connection, in the order they arrived.
 *
 *     {"format":"shardline-recording","version":1,"shardCount":2,"encoding":"etf","compression":"zlib-stream","startedAt":"…","intents":513,"anonymized":false}
 *     {"at":12,"shard":0,"op":10,"s":null,"t":null,"d":{"heartbeat_interval":41250}}
 *     {"at":140,"shard":0,"op":0,"s":1,"t":"READY","d":{…}}
 *     {"at":9051,"shard":1,"close":1006}
 *
 * `at` is milliseconds since the recording started; `shard` the shard id (null when the connection closed
 * before its shard was known). Payloads are stored as JSON whatever the wire encoding was.
 */
import { RecordingError } from '../../errors.js';

export const RECORDING_FORMAT = 'shardline-recording';
export const RECORDING_VERSION = 1;

export interface RecordingHeader {
  readonly format: typeof RECORDING_FORMAT;
  readonly version: typeof RECORDING_VERSION;
  /** Shard count of the recorded bot. */
  readonly shardCount: number;
  /** Wire encoding and compression used while recording (informational). */
  readonly encoding: string;
  readonly compression: string;
  /** ISO time the recording started. */
  readonly startedAt: string;
  /** Identify intents of the recorded shards. */
  readonly intents: number;
  /** Ids, names and texts were rewritten (`record --anonymize`). */
  readonly anonymized: boolean;
}

/** One payload received from the gateway. */
export interface RecordedPayload {
  readonly kind: 'payload';
  readonly at: number;
  readonly shard: number | null;
  readonly op: number;
  readonly s: number | null;
  readonly t: string | null;
  readonly d: unknown;
}

/** A gateway connection of `shard` closed with `close` (1006: dropped). */
export interface RecordedClose {
  readonly kind: 'close';
  readonly at: number;
  readonly shard: number | null;
  readonly close: number;
}

export type RecordingEntry = RecordedPayload | RecordedClose;

/** Largest shard count a header may declare (Discord's largest bots run a few thousand). */
export const MAX_RECORDED_SHARDS = 1_000_000;
const EVENT_NAME = /^[A-Z0-9_]{1,64}$/;

const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

function parseJson(text: string, line: number): unknown {
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new RecordingError('RECORDING_MALFORMED_LINE', `not JSON: ${(err as Error).message}`, line, {
      cause: err,
    });
  }
}

/** Parses and checks the header line. Throws `RecordingError` (`RECORDING_BAD_HEADER`/`_BAD_VERSION`). */
export function parseHeader(text: string, line = 1): RecordingHeader {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new RecordingError('RECORDING_BAD_HEADER', 'the first line is not a JSON recording header', line);
  }
  if (!isObject(value) || value.format !== RECORDING_FORMAT) {
    throw new RecordingError(
      'RECORDING_BAD_HEADER',
      `the first line must be a header with format '${RECORDING_FORMAT}'`,
      line,
    );
  }
  if (value.version !== RECORDING_VERSION) {
    throw new RecordingError(
      'RECORDING_BAD_VERSION',
      `recording format version ${JSON.stringify(value.version)} is not supported (this version reads ${RECORDING_VERSION})`,
      line,
    );
  }
  const count = value.shardCount;
  if (typeof count !== 'number' || !Number.isInteger(count) || count < 1 || count > MAX_RECORDED_SHARDS) {
    throw new RecordingError(
      'RECORDING_BAD_HEADER',
      `shardCount must be an integer in [1, ${MAX_RECORDED_SHARDS}], got ${JSON.stringify(count)}`,
      line,
    );
  }
  const intents = value.intents;
  return {
    format: RECORDING_FORMAT,
    version: RECORDING_VERSION,
    shardCount: count,
    encoding: typeof value.encoding === 'string' ? value.encoding : 'json',
    compression: typeof value.compression === 'string' ? value.compression : 'none',
    startedAt: typeof value.startedAt === 'string' ? value.startedAt : '',
    intents: typeof intents === 'number' && Number.isInteger(intents) && intents >= 0 ? intents : 0,
    anonymized: value.anonymized === true,
  };
}

function malformed(message: string, line: number): never {
  throw new RecordingError('RECORDING_MALFORMED_LINE', message, line);
}

/** Parses and checks one entry line (after the header). Throws `RecordingError` naming the line. */
export function parseEntry(text: string, line: number, shardCount: number): RecordingEntry {
  const v = parseJson(text, line);
  if (!isObject(v)) malformed('an entry must be a JSON object', line);
  const at = v.at;
  if (typeof at !== 'number' || !Number.isFinite(at) || at < 0)
    malformed(`'at' must be a number of ms ≥ 0, got ${JSON.stringify(at)}`, line);
  const shard = v.shard ?? null;
  if (
    shard !== null &&
    !(typeof shard === 'number' && Number.isInteger(shard) && shard >= 0 && shard < shardCount)
  )
    malformed(
      `'shard' must be null or an integer in [0, ${shardCount - 1}], got ${JSON.stringify(shard)}`,
      line,
    );
  if (v.close !== undefined) {
    const code = v.close;
    if (typeof code !== 'number' || !Number.isInteger(code) || code < 0 || code > 65535)
      malformed(`'close' must be a close code, got ${JSON.stringify(code)}`, line);
    return { kind: 'close', at, shard, close: code };
  }
  const op = v.op;
  if (typeof op !== 'number' || !Number.isInteger(op) || op < 0 || op > 255)
    malformed(`'op' must be an opcode, got ${JSON.stringify(op)}`, line);
  const s = v.s ?? null;
  if (s !== null && !(typeof s === 'number' && Number.isSafeInteger(s) && s >= 0))
    malformed(`'s' must be null or an integer ≥ 0, got ${JSON.stringify(s)}`, line);
  const t = v.t ?? null;
  if (t !== null && !(typeof t === 'string' && EVENT_NAME.test(t)))
    malformed(`'t' must be null or an event name ([A-Z0-9_]{1,64}), got ${JSON.stringify(t)}`, line);
  if (op === 0 && t === null) malformed(`a dispatch (op 0) needs 't'`, line);
  return { kind: 'payload', at, shard, op, s, t, d: v.d ?? null };
}

/** The header line (without newline). */
export function formatHeader(header: Omit<RecordingHeader, 'format' | 'version'>): string {
  return JSON.stringify({ format: RECORDING_FORMAT, version: RECORDING_VERSION, ...header });
}

/** One entry line (without newline); `d` must already be plain JSON data. */
export function formatEntry(entry: RecordingEntry): string {
  if (entry.kind === 'close') return JSON.stringify({ at: entry.at, shard: entry.shard, close: entry.close });
  const { at, shard, op, s, t, d } = entry;
  return JSON.stringify({ at, shard, op, s, t, d });
}
