/**
 * Shared pieces of the fuzzers (`npm run fuzz`, test/unit/fuzz-*.test.ts): byte mutations, random
 * chunkings, per-target counters, the error classifier that turns anything but a typed `ShardlineError`
 * into a finding, and the case record that a worker keeps in shared memory so the watchdog in the main
 * thread can save the input of a case that hangs or kills the worker.
 */
import { ShardlineError } from '../../src/errors.js';
import { mutate, type Random, randomInt } from './fuzz-etf.js';

export { type Random, randomInt };

export const FUZZ_TARGETS = ['etf', 'zlib', 'zstd', 'json', 'simulator', 'shard'] as const;
/**
 * A target of `npm run fuzz`, or a self-test target of the harness itself (test/unit/fuzz-harness.test.ts:
 * it must report a hang, an untyped error and a dead worker).
 */
export type FuzzTarget =
  | (typeof FUZZ_TARGETS)[number]
  | 'selftest-hang'
  | 'selftest-throw'
  | 'selftest-crash';

export function pick<T>(rand: Random, items: readonly T[]): T {
  return items[randomInt(rand, 0, items.length - 1)]!;
}

export function randomBytes(rand: Random, length: number): Uint8Array {
  const out = new Uint8Array(length);
  for (let i = 0; i < length; i++) out[i] = (rand() * 256) | 0;
  return out;
}

export function concatBytes(parts: readonly Uint8Array[]): Uint8Array {
  let n = 0;
  for (const p of parts) n += p.length;
  const out = new Uint8Array(n);
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

/**
 * One random mutation: the ETF fuzzer's (bit flip, interesting byte, truncation, length-field inflation,
 * byte insert, scattered bytes, self-splice) plus deleting a run of bytes and splicing in a slice of `donor`.
 */
export function mutateBytes(rand: Random, bytes: Uint8Array, donor?: Uint8Array): Uint8Array {
  const r = rand();
  if (r < 0.12 && bytes.length > 0) {
    const at = randomInt(rand, 0, bytes.length - 1);
    const n = randomInt(rand, 1, Math.min(16, bytes.length - at));
    return concatBytes([bytes.subarray(0, at), bytes.subarray(at + n)]);
  }
  if (r < 0.22 && donor !== undefined && donor.length > 0) {
    const from = randomInt(rand, 0, donor.length - 1);
    const piece = donor.subarray(from, from + randomInt(rand, 1, 64));
    const at = randomInt(rand, 0, bytes.length);
    const cut = rand() < 0.5 ? at : Math.min(bytes.length, at + piece.length);
    return concatBytes([bytes.subarray(0, at), piece, bytes.subarray(cut)]);
  }
  return mutate(rand, bytes);
}

/** 1–`max` rounds of `mutateBytes`. */
export function mutateRounds(rand: Random, bytes: Uint8Array, donor?: Uint8Array, max = 3): Uint8Array {
  const rounds = randomInt(rand, 1, max);
  for (let i = 0; i < rounds; i++) bytes = mutateBytes(rand, bytes, donor);
  return bytes;
}

/** Cuts `bytes` into frames of random sizes (1 byte up to the whole), as a peer may split its writes. */
export function randomChunks(rand: Random, bytes: Uint8Array): Uint8Array[] {
  const out: Uint8Array[] = [];
  let at = 0;
  const style = rand();
  while (at < bytes.length) {
    const n =
      style < 0.3
        ? randomInt(rand, 1, 8)
        : style < 0.7
          ? randomInt(rand, 1, 4096)
          : randomInt(rand, 1, Math.max(1, bytes.length));
    out.push(bytes.subarray(at, at + n));
    at += n;
  }
  return out;
}

// ---- counters ----------------------------------------------------------------------------------------

export interface TargetStats {
  target: FuzzTarget;
  seed: number;
  /** Inputs tried: documents (etf), streams (zlib, zstd), frames (simulator). */
  inputs: number;
  /** Inputs that decoded (or, for the simulator, that the connection survived). */
  ok: number;
  /** Typed errors by `code` (simulator: close codes by code). */
  errors: Record<string, number>;
  /** Target-specific counters (frames pushed, bombs refused, connections, …). */
  extra: Record<string, number>;
  seconds: number;
}

export function newStats(target: FuzzTarget, seed: number): TargetStats {
  return { target, seed, inputs: 0, ok: 0, errors: {}, extra: {}, seconds: 0 };
}

export function count(map: Record<string, number>, key: string, n = 1): void {
  map[key] = (map[key] ?? 0) + n;
}

// ---- findings ----------------------------------------------------------------------------------------

export type FindingKind = 'untyped-error' | 'wrapped-bug' | 'contract' | 'hang' | 'crash' | 'simulator';

/** A violated expectation. Thrown inside a case; the worker reports it with the case record. */
export class FuzzFinding extends Error {
  readonly kind: FindingKind;
  constructor(kind: FindingKind, message: string, options?: ErrorOptions) {
    super(message, options);
    this.kind = kind;
  }
}

const BUG_ERRORS = [TypeError, ReferenceError, SyntaxError, RangeError, EvalError, URIError];

/** A JS built-in error thrown by our own code (not a Node API error carrying an `ERR_*`/`Z_*` code). */
function isJsBug(err: unknown): boolean {
  if (!BUG_ERRORS.some((E) => err instanceof E)) return false;
  const code = (err as { code?: unknown }).code;
  return typeof code !== 'string';
}

/**
 * The `code` of a typed error; a FuzzFinding for anything else: a non-`ShardlineError`, or a
 * `ShardlineError` whose cause chain holds a TypeError/RangeError/… (a decoder bug wrapped as
 * `DECOMPRESSOR_FAILED` still is a bug).
 */
export function typedErrorCode(err: unknown, where: string): string {
  if (err instanceof FuzzFinding) throw err;
  if (!(err instanceof ShardlineError)) {
    throw new FuzzFinding('untyped-error', `${where}: threw a non-ShardlineError: ${describe(err)}`, {
      cause: err,
    });
  }
  if (typeof err.code !== 'string' || err.code === '')
    throw new FuzzFinding('contract', `${where}: ShardlineError without a code: ${describe(err)}`);
  for (let c: unknown = err.cause, depth = 0; c !== undefined && depth < 8; depth++) {
    if (isJsBug(c)) {
      throw new FuzzFinding('wrapped-bug', `${where}: ${err.code} wraps an internal error: ${describe(c)}`, {
        cause: c,
      });
    }
    c = c instanceof Error ? c.cause : undefined;
  }
  return err.code;
}

export function describe(err: unknown): string {
  if (err instanceof Error) return err.stack ?? `${err.name}: ${err.message}`;
  return String(err);
}

/** Throws a `contract` finding unless `ok`. */
export function check(ok: boolean, message: () => string): asserts ok {
  if (!ok) throw new FuzzFinding('contract', message());
}

// ---- the case record -------------------------------------------------------------------------------

/** What is needed to replay one case: target-specific settings and the input chunks in order. */
export interface CaseRecord {
  readonly target: FuzzTarget;
  readonly seed: number;
  readonly case: number;
  /** Decoder options, connection settings, the kind of case (JSON-safe). */
  readonly settings: Record<string, unknown>;
  /** The inputs in the order they are fed (one ETF document; a stream's frames; a connection's frames). */
  readonly chunks: readonly RecordedChunk[];
}

export interface RecordedChunk {
  readonly bytes: Uint8Array;
  /** Simulator frames: sent as a TEXT frame. */
  readonly text?: boolean;
}

/** A reproducer as saved to disk: the case record with chunks in hex. */
export interface Reproducer {
  readonly target: FuzzTarget;
  readonly seed: number;
  readonly case: number;
  readonly kind: FindingKind;
  readonly message: string;
  readonly settings: Record<string, unknown>;
  readonly chunks: readonly { hex: string; text?: boolean }[];
  /** The record did not fit the shared buffer: chunks are cut. */
  readonly truncated?: boolean;
}

export function toReproducer(
  record: CaseRecord,
  kind: FindingKind,
  message: string,
  truncated = false,
): Reproducer {
  return {
    target: record.target,
    seed: record.seed,
    case: record.case,
    kind,
    message,
    settings: record.settings,
    chunks: record.chunks.map((c) => ({
      hex: Buffer.from(c.bytes.buffer, c.bytes.byteOffset, c.bytes.length).toString('hex'),
      ...(c.text ? { text: true } : {}),
    })),
    ...(truncated ? { truncated: true } : {}),
  };
}

export function fromReproducer(r: Reproducer): CaseRecord {
  return {
    target: r.target,
    seed: r.seed,
    case: r.case,
    settings: r.settings,
    chunks: r.chunks.map((c) => ({
      bytes: Uint8Array.from(Buffer.from(c.hex, 'hex')),
      text: c.text === true,
    })),
  };
}

/**
 * Shared memory between a fuzz worker and its watchdog: `control` = [cases started, record bytes,
 * truncated flag, finished flag]; `data` = the current case record, written by `writeRecord` before the
 * case runs: u32 settings-JSON length, the JSON, u32 chunk count, then per chunk u32 (length << 1 | text)
 * and the bytes.
 */
export interface SharedCaseMemory {
  readonly control: SharedArrayBuffer;
  readonly data: SharedArrayBuffer;
}

export const CONTROL_CASES = 0;
export const CONTROL_RECORD_BYTES = 1;
export const CONTROL_TRUNCATED = 2;

export function newSharedCaseMemory(dataBytes = 8 << 20): SharedCaseMemory {
  return { control: new SharedArrayBuffer(16), data: new SharedArrayBuffer(dataBytes) };
}

const utf8 = new TextEncoder();

export function writeRecord(memory: SharedCaseMemory, record: CaseRecord): void {
  const control = new Int32Array(memory.control);
  const data = new Uint8Array(memory.data);
  const view = new DataView(memory.data);
  const head = utf8.encode(
    JSON.stringify({
      target: record.target,
      seed: record.seed,
      case: record.case,
      settings: record.settings,
    }),
  );
  let at = 0;
  let truncated = 0;
  view.setUint32(at, head.length);
  data.set(head, 4);
  at = 4 + head.length;
  const countAt = at;
  at += 4;
  let n = 0;
  for (const c of record.chunks) {
    const room = data.length - at - 4;
    if (room <= 0) {
      truncated = 1;
      break;
    }
    const len = Math.min(c.bytes.length, room);
    if (len < c.bytes.length) truncated = 1;
    view.setUint32(at, len * 2 + (c.text ? 1 : 0));
    data.set(c.bytes.subarray(0, len), at + 4);
    at += 4 + len;
    n++;
  }
  view.setUint32(countAt, n);
  Atomics.store(control, CONTROL_RECORD_BYTES, at);
  Atomics.store(control, CONTROL_TRUNCATED, truncated);
  Atomics.add(control, CONTROL_CASES, 1);
}

export function readRecord(memory: SharedCaseMemory): { record: CaseRecord; truncated: boolean } | null {
  const control = new Int32Array(memory.control);
  if (Atomics.load(control, CONTROL_CASES) === 0) return null;
  const data = new Uint8Array(memory.data);
  const view = new DataView(memory.data);
  const headLen = view.getUint32(0);
  const head = JSON.parse(Buffer.from(data.subarray(4, 4 + headLen)).toString('utf8')) as Omit<
    CaseRecord,
    'chunks'
  >;
  let at = 4 + headLen;
  const n = view.getUint32(at);
  at += 4;
  const chunks: RecordedChunk[] = [];
  for (let i = 0; i < n; i++) {
    const word = view.getUint32(at);
    const len = Math.floor(word / 2);
    chunks.push({ bytes: data.slice(at + 4, at + 4 + len), text: (word & 1) === 1 });
    at += 4 + len;
  }
  return { record: { ...head, chunks }, truncated: Atomics.load(control, CONTROL_TRUNCATED) === 1 };
}
