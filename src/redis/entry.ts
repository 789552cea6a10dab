import { RedisError } from '../errors.js';

/**
 * The event entry layout (see docs/redis.md, "Stream layout"), pure: no I/O. An entry written by
 * `RedisEventPublisher` has ONE field, `e`, whose value is a header line and the JSON payload:
 *
 *     e = "<shard> <seq> <session> <type>\n<d as JSON>"
 *
 * One field instead of five halves what Redis stores and sends per entry and what the client decodes
 * (the RESP decoding of the reply is paid per bulk string). Entries of the earlier layout (fields `shard`,
 * `seq`, `session`, `t`, `d`) are still read, so a stream written across an upgrade stays readable.
 */
export const EVENT_FIELD = 'e';

/**
 * Optional second field of an entry: the W3C traceparent of the span that published it (only when the
 * publisher traces). Readers that do not trace, and earlier versions, ignore it.
 */
export const TRACE_FIELD = 'tp';

/** A field name or value as read: consumers read Buffers (no UTF-8 decoding of names), others strings. */
export type RawValue = string | Buffer;
export type RawEntry = [id: string, fields: RawValue[]];
/** An entry as read by XREADGROUP: fields null when the entry was trimmed by MAXLEN while pending. */
export type ReadEntry = [id: string, fields: RawValue[] | null];
export type RawStreams = [stream: string, entries: ReadEntry[]][] | null;

/** An event entry's contents. */
export interface ParsedEvent {
  shardId: number;
  seq: number;
  sessionId: string;
  type: string;
  data: unknown;
}

/** The header of an event entry and its still-encoded payload (`d`), so filtering by type skips JSON.parse. */
export interface EventHeader {
  shardId: number;
  seq: number;
  sessionId: string;
  type: string;
  /** The JSON text of `d` (a Buffer slice or a string); undefined when the entry has none. */
  payload: RawValue | undefined;
  /** Where the JSON starts in `payload` (a compact entry's value holds the header first). */
  payloadStart: number;
}

/** The value of the `e` field for one event (`type` must not contain a line break). */
export function encodeEventValue(
  shardId: number,
  seq: number,
  sessionId: string,
  type: string,
  json: string,
): string {
  return `${shardId} ${seq} ${sessionId} ${type}\n${json}`;
}

const SPACE = 0x20;
const NEWLINE = 0x0a;
const ZERO = 0x30;
const NINE = 0x39;
/** Digits of a decimal integer we read (`Number.MAX_SAFE_INTEGER` has 16); the value is checked after. */
const MAX_DIGITS = 16;

/** Parses `<shard> <seq> <session> <type>\n` at the start of a Buffer; undefined when malformed. */
function headerOfBuffer(v: Buffer): EventHeader | undefined {
  const end = v.length;
  let i = 0;
  let shardId = 0;
  for (; i < end && i < MAX_DIGITS; i++) {
    const c = v[i]!;
    if (c === SPACE) break;
    if (c < ZERO || c > NINE) return undefined;
    shardId = shardId * 10 + (c - ZERO);
  }
  if (i === 0 || v[i] !== SPACE) return undefined;
  const seqStart = ++i;
  let seq = 0;
  for (; i < end && i - seqStart < MAX_DIGITS; i++) {
    const c = v[i]!;
    if (c === SPACE) break;
    if (c < ZERO || c > NINE) return undefined;
    seq = seq * 10 + (c - ZERO);
  }
  if (i === seqStart || v[i] !== SPACE) return undefined;
  if (!Number.isSafeInteger(shardId) || !Number.isSafeInteger(seq)) return undefined;
  const sessionStart = ++i;
  const sessionEnd = v.indexOf(SPACE, sessionStart);
  if (sessionEnd <= sessionStart) return undefined;
  const typeStart = sessionEnd + 1;
  const newline = v.indexOf(NEWLINE, typeStart);
  if (newline < typeStart) return undefined;
  return {
    shardId,
    seq,
    sessionId: v.toString('utf8', sessionStart, sessionEnd),
    type: v.toString('utf8', typeStart, newline),
    payload: v,
    payloadStart: newline + 1,
  };
}

const HEADER = /^(\d{1,16}) (\d{1,16}) ([^ \n]+) ([^\n]*)\n/;

/** The same for a value read as a string (`tailEvents`). */
function headerOfString(v: string): EventHeader | undefined {
  const m = HEADER.exec(v);
  if (!m) return undefined;
  const shardId = Number(m[1]);
  const seq = Number(m[2]);
  if (!Number.isSafeInteger(shardId) || !Number.isSafeInteger(seq)) return undefined;
  return {
    shardId,
    seq,
    sessionId: m[3]!,
    type: m[4]!,
    payload: v,
    payloadStart: m[0].length,
  };
}

const text = (v: RawValue): string => (typeof v === 'string' ? v : v.toString());

/** Which field a name is, without decoding Buffers: e · shard · seq · session · t · d, else ''. */
function fieldName(k: RawValue): string {
  if (typeof k === 'string') return k;
  switch (k.length) {
    case 1:
      return k[0] === 0x65 ? 'e' : k[0] === 0x64 ? 'd' : k[0] === 0x74 ? 't' : '';
    case 3:
      return k[0] === 0x73 && k[1] === 0x65 && k[2] === 0x71 ? 'seq' : '';
    case 5:
      return k[0] === 0x73 && k[1] === 0x68 && k[4] === 0x64 ? 'shard' : '';
    case 7:
      return k[0] === 0x73 && k[1] === 0x65 && k[6] === 0x6e ? 'session' : '';
    default:
      return '';
  }
}

/** The five-field layout of earlier versions. */
function legacyHeader(raw: readonly RawValue[]): EventHeader | undefined {
  let shard: RawValue | undefined;
  let seqValue: RawValue | undefined;
  let session: RawValue | undefined;
  let type: RawValue | undefined;
  let d: RawValue | undefined;
  for (let i = 0; i + 1 < raw.length; i += 2) {
    const v = raw[i + 1]!;
    switch (fieldName(raw[i]!)) {
      case 'shard':
        shard = v;
        break;
      case 'seq':
        seqValue = v;
        break;
      case 'session':
        session = v;
        break;
      case 't':
        type = v;
        break;
      case 'd':
        d = v;
        break;
    }
  }
  if (shard === undefined || seqValue === undefined || session === undefined || type === undefined)
    return undefined;
  const shardId = Number(text(shard));
  const seq = Number(text(seqValue));
  if (!Number.isInteger(shardId) || !Number.isInteger(seq)) return undefined;
  return { shardId, seq, sessionId: text(session), type: text(type), payload: d, payloadStart: 0 };
}

/** The `tp` field of an entry, as text; undefined when it has none. Checked by the tracing, not here. */
export function traceFieldOf(raw: readonly RawValue[]): string | undefined {
  for (let i = 0; i + 1 < raw.length; i += 2) {
    const k = raw[i]!;
    const isTrace =
      typeof k === 'string' ? k === TRACE_FIELD : k.length === 2 && k[0] === 0x74 && k[1] === 0x70;
    if (!isTrace) continue;
    const v = raw[i + 1]!;
    // a traceparent is 55 characters; anything much longer is not one and is not decoded
    if (v.length > 64) return undefined;
    return typeof v === 'string' ? v : v.toString('latin1');
  }
  return undefined;
}

/** Parses an entry's fields up to (not including) the JSON payload; undefined when it is not an event. */
export function parseEventHeader(raw: readonly RawValue[]): EventHeader | undefined {
  // fast path: an entry of the publisher is exactly [e, value]; a dead letter adds its dl:* fields
  for (let i = 0; i + 1 < raw.length; i += 2) {
    if (fieldName(raw[i]!) !== 'e') continue;
    const value = raw[i + 1]!;
    return typeof value === 'string' ? headerOfString(value) : headerOfBuffer(value);
  }
  return legacyHeader(raw);
}

/**
 * Parses an event's JSON payload. Throws a `RedisError` `REDIS_BAD_ENTRY` when it is not JSON (the
 * consumer dead-letters such entries).
 */
export function parsePayload(h: EventHeader): unknown {
  const p = h.payload;
  if (p === undefined) return null;
  try {
    return JSON.parse(typeof p === 'string' ? p.slice(h.payloadStart) : p.toString('utf8', h.payloadStart));
  } catch (err) {
    throw new RedisError(
      'REDIS_BAD_ENTRY',
      `event payload is not JSON (shard ${h.shardId}, seq ${h.seq})`,
      {
        shardId: h.shardId,
      },
      { cause: err },
    );
  }
}

/** Parses an entry's fields, JSON included; undefined when it is not a Shardline event. */
export function parseEventFields(raw: readonly RawValue[]): ParsedEvent | undefined {
  const h = parseEventHeader(raw);
  if (!h) return undefined;
  let data: unknown;
  try {
    data = parsePayload(h);
  } catch {
    return undefined;
  }
  return { shardId: h.shardId, seq: h.seq, sessionId: h.sessionId, type: h.type, data };
}

function badReply(what: string): RedisError {
  return new RedisError('REDIS_BAD_ENTRY', `unexpected stream read reply: ${what}`);
}

/**
 * Checks the shape of a Buffer reply of XREADGROUP / XREAD (`[[stream, [[id, [field, value, …]], …]], …]`
 * or null) and converts stream names and ids to strings; fields stay Buffers. An entry whose fields are
 * null (deleted by MAXLEN while pending) is kept as such. Anything else is a `RedisError`
 * `REDIS_BAD_ENTRY`, never a TypeError.
 */
export function parseStreamsReply(reply: unknown): RawStreams {
  if (reply === null || reply === undefined) return null;
  if (!Array.isArray(reply)) throw badReply(`expected an array or null, got ${typeof reply}`);
  const out: [string, ReadEntry[]][] = new Array(reply.length);
  for (let s = 0; s < reply.length; s++) {
    const item: unknown = reply[s];
    if (!Array.isArray(item) || item.length !== 2)
      throw badReply(`stream #${s} is not a [name, entries] pair`);
    const [name, entries] = item as [unknown, unknown];
    if (!Buffer.isBuffer(name) && typeof name !== 'string') throw badReply(`stream #${s} has no name`);
    if (!Array.isArray(entries)) throw badReply(`stream #${s} has no entry list`);
    const parsed: ReadEntry[] = new Array(entries.length);
    for (let e = 0; e < entries.length; e++) {
      const entry: unknown = entries[e];
      if (!Array.isArray(entry) || entry.length !== 2)
        throw badReply(`entry #${e} is not an [id, fields] pair`);
      const id: unknown = entry[0];
      const fields: unknown = entry[1];
      if (!Buffer.isBuffer(id) && typeof id !== 'string') throw badReply(`entry #${e} has no id`);
      if (fields !== null) {
        if (!Array.isArray(fields)) throw badReply(`entry #${e} has fields of type ${typeof fields}`);
        for (const f of fields as unknown[]) {
          if (!Buffer.isBuffer(f) && typeof f !== 'string')
            throw badReply(`entry #${e} has a field of type ${typeof f}`);
        }
      }
      parsed[e] = [typeof id === 'string' ? id : id.toString('latin1'), fields as RawValue[] | null];
    }
    out[s] = [typeof name === 'string' ? name : name.toString(), parsed];
  }
  return out;
}
