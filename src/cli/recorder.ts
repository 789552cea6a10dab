/**
 * The recording side of `shardline record`: a gateway connection factory that wraps the WebSocket transport
 * and writes every payload it receives (all opcodes, before the shard's own checks) to a recording file,
 * with its time offset and shard id. The token never reaches the file: secret fields are blanked, and any
 * line that still carries a piece of the token is redacted before it is written.
 */
import { decodeEtf } from '../codec/index.js';
import { Anonymizer, stripSecretFields } from '../simulator/recording/anonymize.js';
import type { RecordingHeader } from '../simulator/recording/format.js';
import { formatEntry, formatHeader, type RecordingEntry } from '../simulator/recording/format.js';
import type { RecordingWriter } from '../simulator/recording/writer.js';
import type { GatewayConnection, GatewayConnectionFactory } from '../transport/connection.js';
import { wsGatewayConnection } from '../transport/connection.js';
import type { GatewayEnvelope } from '../transport/envelope.js';
import { MIN_SECRET_PIECE_CHARS, redact } from '../util/redact.js';

/** Above this many buffered bytes the gateway connections stop being read until the file catches up. */
const PAUSE_ABOVE_BYTES = 16 * 1024 * 1024;
const RESUME_BELOW_BYTES = 4 * 1024 * 1024;
/** Payloads of a connection kept while its shard id is not known yet (HELLO comes before IDENTIFY). */
const MAX_UNATTRIBUTED = 64;
/** Session ids remembered to attribute a RESUME to its shard. */
const MAX_SESSIONS = 10_000;
const WINDOW = 4;

export interface GatewayRecorderOptions {
  readonly writer: RecordingWriter;
  readonly token: string;
  readonly anonymize: boolean;
  readonly encoding: string;
  readonly compression: string;
  readonly intents: number;
  /** The bot's shard count, read when the first line is written (after GET /gateway/bot). */
  readonly shardCount: () => number;
  /** Wraps this factory; default the WebSocket transport. */
  readonly transport?: GatewayConnectionFactory;
  /** Monotonic ms. Default `performance.now`. */
  readonly now?: () => number;
}

/**
 * Finds pieces of a secret quickly: every run of `MIN_SECRET_PIECE_CHARS` (8) characters contains a
 * 4-character window starting at a multiple of 4, so only those windows are looked up; a hit is confirmed
 * by the full `redact`.
 */
class SecretScanner {
  readonly #windows = new Set<number>();
  readonly #secret: string;
  constructor(secret: string) {
    this.#secret = secret;
    for (let i = 0; i + WINDOW <= secret.length; i++) {
      const w = SecretScanner.#code(secret, i);
      if (w >= 0) this.#windows.add(w);
    }
  }
  static #code(text: string, at: number): number {
    let v = 0;
    for (let j = 0; j < WINDOW; j++) {
      const c = text.charCodeAt(at + j);
      if (c > 0xff) return -1;
      v = v * 256 + c;
    }
    return v;
  }
  /** Whether `text` contains a piece of the secret that `redact` would replace. */
  found(text: string): boolean {
    if (this.#secret.length < MIN_SECRET_PIECE_CHARS) return text.includes(this.#secret);
    for (let i = 0; i + WINDOW <= text.length; i += WINDOW) {
      if (this.#windows.has(SecretScanner.#code(text, i))) return redact(text, this.#secret) !== text;
    }
    return false;
  }
}

function redactDeep(value: unknown, secret: string, depth = 0): unknown {
  if (typeof value === 'string') return redact(value, secret);
  if (typeof value !== 'object' || value === null || depth > 256) return value;
  if (Array.isArray(value)) return value.map((v) => redactDeep(v, secret, depth + 1));
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) out[redact(k, secret)] = redactDeep(v, secret, depth + 1);
  return out;
}

/** Decodes a payload the client sends (JSON or ETF), for its op and shard; undefined when it cannot. */
function decodeSent(data: string | Uint8Array): { op?: unknown; d?: unknown } | undefined {
  try {
    if (typeof data === 'string') return JSON.parse(data) as { op?: unknown; d?: unknown };
    if (data[0] === 131) return decodeEtf(data) as { op?: unknown; d?: unknown };
    return JSON.parse(Buffer.from(data).toString('utf8')) as { op?: unknown; d?: unknown };
  } catch {
    return undefined;
  }
}

class Tap {
  shard: number | null = null;
  held: RecordingEntry[] = [];
  userPaused = false;
  connection: GatewayConnection | undefined;
}

export class GatewayRecorder {
  readonly transport: GatewayConnectionFactory;
  /** Payloads received and written. */
  payloads = 0;
  dispatches = 0;
  /** Lines whose data was withheld because it carried a piece of the token. */
  redacted = 0;
  /** Payloads that could not be recorded (not serializable as JSON); the shard still got them. */
  failures = 0;
  readonly #o: GatewayRecorderOptions;
  readonly #scanner: SecretScanner;
  readonly #now: () => number;
  readonly #t0: number;
  readonly #startedAt = new Date();
  readonly #sessions = new Map<string, number>();
  readonly #taps = new Set<Tap>();
  #anonymizer: Anonymizer | undefined;
  #headerWritten = false;
  #paused = false;
  #closed = false;

  constructor(options: GatewayRecorderOptions) {
    this.#o = options;
    this.#scanner = new SecretScanner(options.token);
    this.#now = options.now ?? (() => performance.now());
    this.#t0 = this.#now();
    const inner = options.transport ?? wsGatewayConnection;
    this.transport = (transportOptions, handlers) => {
      const tap = new Tap();
      this.#taps.add(tap);
      const connection = inner(transportOptions, {
        onOpen: () => handlers.onOpen(),
        onPayload: (payload) => {
          this.#guard(() => this.#received(tap, payload));
          handlers.onPayload(payload);
        },
        onClose: (code, reason) => {
          this.#taps.delete(tap);
          this.#guard(() => this.#closedConnection(tap, code));
          handlers.onClose(code, reason);
        },
        onError: (error) => handlers.onError(error),
      });
      tap.connection = connection;
      if (this.#paused) connection.pause();
      return {
        get isOpen() {
          return connection.isOpen;
        },
        get isPaused() {
          return tap.userPaused;
        },
        closed: connection.closed,
        send: (data) => {
          this.#guard(() => this.#sent(tap, data));
          return connection.send(data);
        },
        pause: () => {
          tap.userPaused = true;
          connection.pause();
        },
        resume: () => {
          tap.userPaused = false;
          if (!this.#paused) connection.resume();
        },
        close: (code, reason) => connection.close(code, reason),
      };
    };
  }

  /** Recording never breaks the shard it taps: a failure here is counted, and the payload still goes on. */
  #guard(fn: () => void): void {
    try {
      fn();
    } catch {
      this.failures++;
    }
  }

  #at(): number {
    return Math.max(0, Math.round(this.#now() - this.#t0));
  }

  #sent(tap: Tap, data: string | Uint8Array): void {
    if (tap.shard !== null) return;
    const payload = decodeSent(data);
    if (!payload || typeof payload.d !== 'object' || payload.d === null) return;
    const d = payload.d as Record<string, unknown>;
    if (payload.op === 2 && Array.isArray(d.shard) && Number.isInteger(d.shard[0])) {
      this.#attribute(tap, d.shard[0] as number);
    } else if (payload.op === 6 && typeof d.session_id === 'string') {
      const shard = this.#sessions.get(d.session_id);
      if (shard !== undefined) this.#attribute(tap, shard);
    }
  }

  #attribute(tap: Tap, shard: number): void {
    tap.shard = shard;
    const held = tap.held;
    tap.held = [];
    for (const e of held) this.#write({ ...e, shard });
  }

  #received(tap: Tap, p: GatewayEnvelope): void {
    if (this.#closed) return;
    const entry: RecordingEntry = {
      kind: 'payload',
      at: this.#at(),
      shard: tap.shard,
      op: p.op,
      s: p.s,
      t: p.t,
      d: p.d,
    };
    if (p.op === 0 && p.t === 'READY' && typeof p.d === 'object' && p.d !== null) {
      const d = p.d as Record<string, unknown>;
      if (tap.shard === null && Array.isArray(d.shard) && Number.isInteger(d.shard[0]))
        this.#attribute(tap, d.shard[0] as number);
      if (tap.shard !== null && typeof d.session_id === 'string') {
        if (this.#sessions.size >= MAX_SESSIONS) this.#sessions.clear();
        this.#sessions.set(d.session_id, tap.shard);
      }
    }
    this.payloads++;
    if (p.op === 0) this.dispatches++;
    if (tap.shard !== null) this.#write({ ...entry, shard: tap.shard });
    else if (tap.held.length < MAX_UNATTRIBUTED) tap.held.push(entry);
    else this.#write(entry);
  }

  #closedConnection(tap: Tap, code: number): void {
    if (this.#closed) return;
    for (const e of tap.held) this.#write(e);
    tap.held = [];
    this.#write({ kind: 'close', at: this.#at(), shard: tap.shard, close: code });
  }

  #header(): void {
    if (this.#headerWritten) return;
    this.#headerWritten = true;
    const o = this.#o;
    const shardCount = Math.max(1, o.shardCount());
    if (o.anonymize)
      this.#anonymizer = new Anonymizer({ shardCount, startedAtMs: this.#startedAt.getTime() });
    const header: Omit<RecordingHeader, 'format' | 'version'> = {
      shardCount,
      encoding: o.encoding,
      compression: o.compression,
      startedAt: this.#startedAt.toISOString(),
      intents: o.intents,
      anonymized: o.anonymize,
    };
    o.writer.writeLine(formatHeader(header));
  }

  #write(entry: RecordingEntry): void {
    this.#header();
    let line: string;
    if (entry.kind === 'payload') {
      let d = stripSecretFields(entry.d);
      if (this.#anonymizer) d = this.#anonymizer.payload(d);
      line = formatEntry({ ...entry, d });
      if (this.#scanner.found(line)) {
        this.redacted++;
        line = formatEntry({ ...entry, d: redactDeep(d, this.#o.token) });
        if (this.#scanner.found(line)) line = formatEntry({ ...entry, d: '[redacted]' });
      }
    } else line = formatEntry(entry);
    const writer = this.#o.writer;
    writer.writeLine(line);
    if (!this.#paused && writer.bufferedBytes > PAUSE_ABOVE_BYTES) this.#pauseUntilDrained();
  }

  /** The file cannot keep up: stop reading the gateway (the sockets' windows fill) until it does. */
  #pauseUntilDrained(): void {
    this.#paused = true;
    for (const tap of this.#taps) tap.connection?.pause();
    void this.#o.writer.drainedBelow(RESUME_BELOW_BYTES).then(() => {
      this.#paused = false;
      for (const tap of this.#taps) if (!tap.userPaused) tap.connection?.resume();
    });
  }

  /** Writes what is held and the header (when nothing was recorded), then ends the file. */
  async close(): Promise<void> {
    if (!this.#closed) {
      for (const tap of this.#taps) {
        for (const e of tap.held) this.#write(e);
        tap.held = [];
      }
      this.#header();
      this.#closed = true;
    }
    await this.#o.writer.close();
  }
}
