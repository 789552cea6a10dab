/**
 * The codec targets of the fuzzer: the ETF decoder, the zlib-stream and the zstd-stream decompressors.
 * Each target builds its seed corpora deterministically (fixed seeds, so a saved case replays anywhere),
 * `generate`s a case from the fuzz random source (settings + input chunks) and `run`s it with the checks:
 * every input decodes or throws a typed `ShardlineError`; unmutated streams decode to the original bytes;
 * bombs are refused by the size limit without allocating; a failed stream context keeps failing with
 * `DECOMPRESSOR_FAILED`, and after `reset()` decodes a fresh stream again.
 */
import { isDeepStrictEqual } from 'node:util';
import zlib from 'node:zlib';
import { createCorpus, toEtfForm } from '../../bench/corpus.js';
import { decodeEtf, encodeEtf } from '../../src/codec/etf/index.js';
import { countJsonStructures, decodeJson } from '../../src/codec/json.js';
import {
  ZlibStreamDecoder,
  type ZlibStreamDecoderOptions,
  ZlibStreamEncoder,
} from '../../src/codec/zlib-stream.js';
import {
  nativeZstdAvailable,
  ZstdStreamDecoder,
  type ZstdStreamDecoderOptions,
  ZstdStreamEncoder,
} from '../../src/codec/zstd-stream.js';
import {
  CODEC_ERROR_CODES,
  CodecError,
  DECOMPRESS_ERROR_CODES,
  DecompressError,
  ShardError,
} from '../../src/errors.js';
import { FrameDecoder } from '../../src/transport/frame-decoder.js';
import { peekJsonEnvelope } from '../../src/transport/json-peek.js';
import { seededRandom } from '../../src/util/clock.js';
import {
  type CaseRecord,
  check,
  concatBytes,
  count,
  FuzzFinding,
  mutateRounds,
  pick,
  type Random,
  randomBytes,
  randomChunks,
  randomInt,
  type TargetStats,
  typedErrorCode,
} from './fuzz-core.js';
import { hostileEtfDocuments, randomJsonValue, seedDocuments } from './fuzz-etf.js';
import { syncFlushChunks } from './zlib-streams.js';
import { discordLikeMessages, readZstdFixture } from './zstd-corpus.js';

/** A generated case, before it gets its number and target. */
export interface GeneratedCase {
  settings: Record<string, unknown>;
  chunks: { bytes: Uint8Array; text?: boolean }[];
}

export interface FuzzRunner {
  generate(rand: Random): GeneratedCase;
  /** `note` re-records the case as it grows (the simulator records each frame before sending it). */
  run(record: CaseRecord, stats: TargetStats, note: (record: CaseRecord) => void): void | Promise<void>;
  /** Called once at the end (closes servers); may run final checks. */
  finish?(stats: TargetStats): Promise<void>;
}

/** Bytes of ArrayBuffers allocated by `fn` that are still reachable or not yet collected when it returns. */
function allocatedBy(fn: () => void): number {
  const before = process.memoryUsage().arrayBuffers;
  fn();
  return process.memoryUsage().arrayBuffers - before;
}

/** A bomb may cost a few output buffers of the limit, never the size it would inflate to. */
function checkBombMemory(allocated: number, limit: number, what: string): void {
  const allowed = 4 * limit + (16 << 20);
  check(allocated <= allowed, () => `${what}: allocated ${allocated} bytes for a limit of ${limit}`);
}

const utf8 = new TextEncoder();

/**
 * How a case hands its inputs over: as they are; as views at `offset` into a larger buffer of garbage
 * (a decoder must not read outside its view); or (`reuse`) every frame copied into ONE buffer that is
 * overwritten as soon as the call returns (the caller may reuse its buffer: a decoder must copy what it keeps).
 */
export interface Handover {
  readonly offset: number;
  readonly reuse: boolean;
}

export function randomHandover(rand: Random): Handover | undefined {
  if (rand() < 0.6) return undefined;
  return { offset: randomInt(rand, 0, 64), reuse: rand() < 0.5 };
}

/** Calls `fn` with `bytes` handed over as `h` says. */
export function handOver<T>(h: Handover | undefined, bytes: Uint8Array, fn: (view: Uint8Array) => T): T {
  if (h === undefined) return fn(bytes);
  const size = h.offset + bytes.length + 16;
  const buf = Buffer.alloc(size, 0xa5);
  buf.set(bytes, h.offset);
  const view = buf.subarray(h.offset, h.offset + bytes.length);
  try {
    return fn(view);
  } finally {
    if (h.reuse) buf.fill(0x5a);
  }
}

// ---- ETF -------------------------------------------------------------------------------------------

const ETF_KINDS = ['mutated', 'mutated', 'mutated', 'random', 'valid', 'bomb'] as const;

function etfCompressed(inner: Uint8Array, declared: number): Uint8Array {
  const z = zlib.deflateSync(inner);
  const out = new Uint8Array(6 + z.length);
  out.set([131, 80, declared >>> 24, (declared >>> 16) & 0xff, (declared >>> 8) & 0xff, declared & 0xff]);
  out.set(z, 6);
  return out;
}

function nested(open: readonly number[], close: readonly number[], n: number): Uint8Array {
  const out = new Uint8Array(1 + n * open.length + close.length);
  out[0] = 131;
  for (let i = 0; i < n; i++) out.set(open, 1 + i * open.length);
  out.set(close, 1 + n * open.length);
  return out;
}

export async function etfRunner(): Promise<FuzzRunner> {
  const setup = seededRandom(9001);
  const seeds = seedDocuments(setup);
  const corpus = createCorpus({ seed: 7, eventCount: 60, largeGuildMembers: 40 });
  const payloads = [
    corpus.ready,
    corpus.guildCreateSmall,
    corpus.guildCreateLarge,
    ...corpus.events,
    ...Object.values(corpus.client),
  ];
  for (const p of payloads) seeds.push(encodeEtf(toEtfForm(p), { atomKeys: setup() < 0.5 }));
  // Decompression bombs: 32 MiB of zeros in a BINARY, compressed (about 32 KiB).
  const bombInner = new Uint8Array(5 + (32 << 20));
  bombInner.set([109, 0x02, 0x00, 0x00, 0x00]);
  const bombZ = zlib.deflateSync(bombInner);
  const bomb = (declared: number) => {
    const out = new Uint8Array(6 + bombZ.length);
    out.set([131, 80, declared >>> 24, (declared >>> 16) & 0xff, (declared >>> 8) & 0xff, declared & 0xff]);
    out.set(bombZ, 6);
    return out;
  };
  const bombs: { bytes: Uint8Array; expect: string; maxBytes: number }[] = [
    { bytes: bomb(100), expect: 'ETF_TOO_LARGE', maxBytes: 1 << 20 },
    { bytes: bomb(bombInner.length), expect: 'ETF_TOO_LARGE', maxBytes: 1 << 20 },
    { bytes: bomb(0xffffffff), expect: 'ETF_TOO_LARGE', maxBytes: 64 << 20 },
    { bytes: bomb(1 << 20), expect: 'ETF_TOO_LARGE', maxBytes: 1 << 20 },
    { bytes: nested([108, 0, 0, 0, 1], [106, 106], 50_000), expect: 'ETF_DEPTH_EXCEEDED', maxBytes: 1 << 20 },
    { bytes: nested([104, 1], [106], 50_000), expect: 'ETF_DEPTH_EXCEEDED', maxBytes: 1 << 20 },
    {
      bytes: nested([116, 0, 0, 0, 1, 97, 0], [106], 20_000),
      expect: 'ETF_DEPTH_EXCEEDED',
      maxBytes: 1 << 20,
    },
    {
      bytes: Uint8Array.from([131, 108, 255, 255, 255, 255, 106]),
      expect: 'ETF_TRUNCATED',
      maxBytes: 1 << 20,
    },
    {
      // LARGE_BIG_EXT with 2000 digit bytes: over maxBigBytes (1024).
      bytes: Uint8Array.from([131, 111, 0, 0, 0x07, 0xd0, 0, ...new Array(2000).fill(1)]),
      expect: 'ETF_TOO_LARGE',
      maxBytes: 1 << 20,
    },
    {
      bytes: etfCompressed(Uint8Array.from([109, 0, 0, 0, 3, 1, 2, 3]), 8),
      expect: 'ok',
      maxBytes: 1 << 20,
    },
    ...hostileEtfDocuments(),
  ];

  return {
    generate(rand) {
      const kind = pick(rand, ETF_KINDS);
      const options = {
        maxBytes: rand() < 0.2 ? randomInt(rand, 1, 4096) : 1 << 20,
        maxDepth: rand() < 0.2 ? randomInt(rand, 1, 64) : 256,
        bigint: rand() < 0.5 ? 'string' : 'bigint',
      };
      let doc: Uint8Array;
      let expect: string | undefined;
      if (kind === 'random') {
        doc = randomBytes(rand, randomInt(rand, 0, 64));
        if (rand() < 0.8 && doc.length > 0) doc[0] = 131;
      } else if (kind === 'valid') {
        doc = encodeEtf(randomJsonValue(rand), { atomKeys: rand() < 0.3 });
        options.maxBytes = 1 << 20;
        options.maxDepth = 256;
        options.bigint = 'string';
      } else if (kind === 'bomb') {
        const b = pick(rand, bombs);
        doc = b.bytes;
        options.maxBytes = b.maxBytes;
        options.maxDepth = 256;
        expect = b.expect;
        if (rand() < 0.3) {
          doc = mutateRounds(rand, doc, undefined, 1);
          expect = undefined;
        }
      } else {
        const a = pick(rand, seeds);
        doc = mutateRounds(rand, a, pick(rand, seeds));
      }
      const handover = randomHandover(rand);
      return {
        settings: { kind, options, ...(expect ? { expect } : {}), ...(handover ? { handover } : {}) },
        chunks: [{ bytes: doc }],
      };
    },
    run(record, stats) {
      const doc = record.chunks[0]!.bytes;
      const { kind, options, expect, handover } = record.settings as {
        kind: string;
        options: { maxBytes: number; maxDepth: number; bigint: 'string' | 'bigint' };
        expect?: string;
        handover?: Handover;
      };
      stats.inputs++;
      let value: unknown;
      let code: string | undefined;
      const allocated = allocatedBy(() => {
        try {
          value = handOver(handover, doc, (view) => decodeEtf(view, options));
        } catch (err) {
          code = typedErrorCode(err, 'decodeEtf');
          check(err instanceof CodecError, () => `decodeEtf threw ${code} that is not a CodecError`);
          check((CODEC_ERROR_CODES as readonly string[]).includes(code), () => `unknown code ${code}`);
          check(err.offset >= 0, () => `decodeEtf threw ${code} without the offset of the bad byte`);
        }
      });
      if (code === undefined) {
        stats.ok++;
        try {
          encodeEtf(value);
        } catch (err) {
          count(stats.extra, `re-encode ${typedErrorCode(err, 're-encode')}`);
        }
      } else count(stats.errors, code);
      if (handover !== undefined) {
        // The same bytes as a fresh array of their own must give the same result.
        let plain: unknown;
        let plainCode: string | undefined;
        try {
          plain = decodeEtf(Uint8Array.from(doc), options);
        } catch (err) {
          plainCode = typedErrorCode(err, 'decodeEtf');
        }
        check(
          plainCode === code && (code !== undefined || isDeepStrictEqual(plain, value)),
          () =>
            `decodeEtf of a view into a larger buffer gave ${code ?? 'a value'}, of a copy ${plainCode ?? 'a value'}${code === plainCode ? ' (different values)' : ''}`,
        );
      }
      if (kind === 'valid') {
        check(code === undefined, () => `a valid document failed with ${code}`);
        check(isDeepStrictEqual(decodeEtf(encodeEtf(value)), value), () => 'decode∘encode is not stable');
      }
      if (kind === 'bomb') {
        count(stats.extra, 'bombs');
        checkBombMemory(allocated, options.maxBytes, 'ETF bomb');
        if (expect !== undefined)
          check((code ?? 'ok') === expect, () => `ETF bomb: expected ${expect}, got ${code ?? 'ok'}`);
      }
    },
  };
}

// ---- streams (zlib, zstd) --------------------------------------------------------------------------

/** A valid stream: one chunk per message, and the messages it decodes to. */
interface SeedStream {
  readonly name: string;
  readonly chunks: readonly Uint8Array[];
  readonly messages: readonly Uint8Array[];
}

interface StreamDecoder {
  push(frame: Uint8Array): Uint8Array | null;
  reset(): void;
  close(): void;
  end?(): void;
}

const STREAM_KINDS = [
  'valid',
  'mutated',
  'mutated',
  'mutated',
  'spliced',
  'random',
  'bomb',
  'endless',
] as const;

/** What refuses a message that never ends: the frame count or the pending-bytes limit. */
const ENDLESS_EXPECT = ['TOO_MANY_FRAGMENTS', 'PAYLOAD_TOO_LARGE'] as const;

interface StreamSettings {
  kind: (typeof STREAM_KINDS)[number];
  /** Seed stream and how many of its messages the case starts from. */
  stream: number;
  messages: number;
  options: Record<string, unknown>;
  /** Call end() after the last chunk (zlib). */
  end?: boolean;
  expect?: readonly string[];
  handover?: Handover;
}

interface StreamTarget {
  readonly what: string;
  readonly seeds: readonly SeedStream[];
  /**
   * Bomb inputs and the codes that refuse them: at the start of a stream, or (`afterMessages`) after some
   * valid messages of a seed stream.
   */
  readonly bombs: readonly { chunk: Uint8Array; expect: readonly string[]; afterMessages?: boolean }[];
  /** Whether a bomb cut into frames decodes as several messages, each under the limit (zstd). */
  readonly splitBombIsMessages: boolean;
  randomOptions(rand: Random): Record<string, unknown>;
  open(options: Record<string, unknown>): StreamDecoder;
  /** Random bytes that look a bit like this format (a header, the end marker). */
  randomInput(rand: Random): Uint8Array;
  /** Whether a frame boundary after `prefix` (of one message's chunk) is safe for exact decoding. */
  safeSplit(prefix: Uint8Array): boolean;
  /**
   * The start of a message that never ends (`afterMessages`: inside a running stream), to be followed by
   * endless tiny frames of `filler` bytes that never complete it.
   */
  endlessStart(rand: Random, afterMessages: boolean): Uint8Array;
  /** Whether an endless message may follow valid messages (not for zstd: a seed's frame may have ended). */
  readonly endlessAfterMessages: boolean;
  endlessFiller(rand: Random): number;
  readonly maxMessageBytes: (options: Record<string, unknown>) => number;
}

function streamRunner(t: StreamTarget): FuzzRunner {
  return {
    generate(rand) {
      const kind = pick(rand, STREAM_KINDS);
      const stream = randomInt(rand, 0, t.seeds.length - 1);
      const seed = t.seeds[stream]!;
      const messages = randomInt(rand, 1, Math.min(seed.chunks.length, rand() < 0.8 ? 6 : 40));
      const options = t.randomOptions(rand);
      const settings: StreamSettings = { kind, stream, messages, options };
      if (rand() < 0.3) settings.end = true;
      const handover = randomHandover(rand);
      if (handover) settings.handover = handover;
      let frames: Uint8Array[] = [];
      const valid = seed.chunks.slice(0, messages);
      if (kind === 'valid') {
        // Exact decoding expected: split messages only where the split cannot look like a message end.
        delete options.maxMessageBytes;
        delete options.maxWindowBytes;
        delete options.maxPendingBytes;
        // A message cut at every few bytes may take more frames than the default limit allows.
        options.maxPendingFrames = 1 << 20;
        frames = resplit(valid, rand, t);
      } else if (kind === 'endless') {
        // Tiny frames of one message that never ends: refused by the frame count or the pending bytes,
        // having cost about their own bytes, not a fixed overhead per frame.
        settings.expect = ENDLESS_EXPECT;
        const maxFrames = randomInt(rand, 8, 512);
        options.maxPendingFrames = maxFrames;
        delete options.maxPendingBytes;
        delete options.maxWindowBytes;
        if (rand() < 0.3) options.maxPendingBytes = randomInt(rand, 64, 4096);
        const before =
          t.endlessAfterMessages && rand() < 0.5 ? valid.slice(0, randomInt(rand, 1, messages)) : [];
        frames = [...before, t.endlessStart(rand, before.length > 0)];
        const size = rand() < 0.7 ? 1 : randomInt(rand, 0, 16);
        for (let i = 0; i <= maxFrames + 8; i++) {
          const frame = new Uint8Array(size);
          for (let b = 0; b < size; b++) frame[b] = t.endlessFiller(rand);
          frames.push(frame);
        }
      } else if (kind === 'random') {
        frames = randomChunks(rand, t.randomInput(rand));
        if (rand() < 0.5) frames = [...valid.slice(0, 1), ...frames];
      } else if (kind === 'bomb') {
        const b = pick(rand, t.bombs);
        settings.expect = b.expect;
        // A bomb cut into tiny frames must meet the size limit, not the frame count.
        delete options.maxPendingBytes;
        options.maxPendingFrames = 1 << 20;
        const before = b.afterMessages ? valid.slice(0, randomInt(rand, 1, messages)) : [];
        const whole = rand() < 0.5;
        let bomb = b.chunk;
        if (!whole && t.splitBombIsMessages) {
          // zstd returns what a frame's complete blocks hold: a bomb cut into frames is many messages, each
          // under the limit; 2 KiB of it (up to 64 MiB of output) is enough.
          bomb = bomb.subarray(0, 2048);
          delete settings.expect;
        }
        frames = [...before, ...(whole ? [bomb] : randomChunks(rand, bomb))];
        if (rand() < 0.2) {
          const i = randomInt(rand, 0, frames.length - 1);
          frames[i] = mutateRounds(rand, frames[i]!, undefined, 1);
          delete settings.expect;
        }
      } else {
        let chunks = valid.slice();
        if (kind === 'spliced') {
          const other = pick(rand, t.seeds);
          const j = randomInt(rand, 0, other.chunks.length - 1);
          chunks.splice(randomInt(rand, 0, chunks.length), rand() < 0.5 ? 0 : 1, other.chunks[j]!);
        }
        if (rand() < 0.5) {
          // Mutate a few messages, keep message boundaries (frames may still be split).
          const n = randomInt(rand, 1, Math.min(3, chunks.length));
          for (let k = 0; k < n; k++) {
            const i = randomInt(rand, 0, chunks.length - 1);
            chunks[i] = mutateRounds(rand, chunks[i]!, pick(rand, chunks));
          }
          frames = rand() < 0.5 ? chunks : chunks.flatMap((c) => randomChunks(rand, c));
        } else {
          // Mutate the whole stream, then chunk it anywhere (messages may share or straddle frames).
          chunks = [mutateRounds(rand, concatBytes(chunks), pick(rand, valid))];
          frames = randomChunks(rand, chunks[0]!);
        }
      }
      return {
        settings: settings as unknown as Record<string, unknown>,
        chunks: frames.map((bytes) => ({ bytes })),
      };
    },
    run(record, stats) {
      const s = record.settings as unknown as StreamSettings;
      const seed = t.seeds[s.stream]!;
      const max = t.maxMessageBytes(s.options);
      stats.inputs++;
      const decoder = t.open(s.options);
      const outputs: Uint8Array[] = [];
      let code: string | undefined;
      const frames = record.chunks.map((c) => c.bytes);
      const allocated = allocatedBy(() => {
        for (let i = 0; i < frames.length && code === undefined; i++) {
          count(stats.extra, 'frames');
          try {
            const out = handOver(s.handover, frames[i]!, (view) => {
              const result = decoder.push(view);
              // Copy before the buffer is reused (a zlib result may be a view of a shared slab, not the input).
              return result === null ? null : Uint8Array.prototype.slice.call(result);
            });
            if (out !== null) {
              count(stats.extra, 'messages out');
              check(
                out.length <= max,
                () => `${t.what}: a ${out.length}-byte message is over the ${max} limit`,
              );
              if (s.kind === 'valid') outputs.push(out);
            }
          } catch (err) {
            code = failed(t, err, 'push');
            expectStillFailed(t, decoder, frames[i + 1] ?? seed.chunks[0]!);
          }
        }
        if (code === undefined && s.end === true && decoder.end) {
          try {
            decoder.end();
          } catch (err) {
            code = failed(t, err, 'end');
            expectStillFailed(t, decoder, seed.chunks[0]!);
          }
        }
      });
      if (code === undefined) stats.ok++;
      else count(stats.errors, code);
      if (s.kind === 'valid') {
        check(code === undefined, () => `${t.what}: a valid stream failed with ${code}`);
        const got = concatBytes(outputs);
        const want = concatBytes(seed.messages.slice(0, s.messages));
        check(Buffer.from(got).equals(want), () => `${t.what}: a valid stream decoded to different bytes`);
      }
      if (s.kind === 'endless') {
        count(stats.extra, 'endless messages');
        checkBombMemory(allocated, max, `${t.what} endless message`);
        // Node's native zstd may judge the unfinished raw block corrupt before the fragment bound is reached
        // (seen on Node 24 with a message limit below the block's declared size): a typed refusal too, and
        // the memory check above still holds it to the bound.
        const nativeCorrupt =
          code === 'ZSTD_CORRUPT' && (s.options as { implementation?: string }).implementation === 'native';
        check(
          code !== undefined && ((s.expect ?? []).includes(code) || nativeCorrupt),
          () => `${t.what} endless message: expected ${s.expect}, got ${code ?? 'no error'}`,
        );
      }
      if (s.kind === 'bomb') {
        count(stats.extra, 'bombs');
        // A bomb that must be refused may cost a few buffers of the limit, not what it would inflate to.
        if (s.expect !== undefined) checkBombMemory(allocated, max, `${t.what} bomb`);
        if (s.expect !== undefined)
          check(
            code !== undefined && s.expect.includes(code),
            () => `${t.what} bomb: expected ${s.expect}, got ${code ?? 'no error'}`,
          );
      }
      // The context is reusable after reset(): it treats a fresh stream exactly as a new context does.
      decoder.reset();
      const again = firstMessage(t, decoder, seed);
      const fresh = firstMessage(t, t.open(s.options), seed);
      check(
        again === fresh,
        () =>
          `${t.what}: after reset() the first message of a fresh stream gave ${again}, a new context ${fresh}`,
      );
      check(
        fresh === (seed.messages[0]!.length <= max ? 'ok' : 'PAYLOAD_TOO_LARGE') ||
          fresh === 'ZSTD_UNSUPPORTED',
        () => `${t.what}: a new context gave ${fresh} for the first message of seed ${seed.name}`,
      );
      decoder.close();
      try {
        decoder.push(seed.chunks[0]!);
        throw new FuzzFinding('contract', `${t.what}: push() after close() did not throw`);
      } catch (err) {
        check(
          failed(t, err, 'push after close') === 'DECOMPRESSOR_FAILED',
          () => `${t.what}: push() after close() threw ${String(err)}`,
        );
      }
    },
  };
}

/** Pushes the first chunk of a seed stream: 'ok' when it decodes to the seed message, else the error code. */
function firstMessage(t: StreamTarget, decoder: StreamDecoder, seed: SeedStream): string {
  let out: Uint8Array | null;
  try {
    out = decoder.push(seed.chunks[0]!);
  } catch (err) {
    return failed(t, err, 'push of a fresh stream');
  } finally {
    decoder.reset();
  }
  if (out === null) return 'no message';
  return Buffer.from(out).equals(seed.messages[0]!) ? 'ok' : 'different bytes';
}

/** Splits each message's chunk at random safe points (never so that a prefix ends like a message). */
function resplit(chunks: readonly Uint8Array[], rand: Random, t: StreamTarget): Uint8Array[] {
  const frames: Uint8Array[] = [];
  for (const chunk of chunks) {
    if (rand() < 0.5) {
      frames.push(chunk);
      continue;
    }
    let start = 0;
    let at = 0;
    for (const part of randomChunks(rand, chunk)) {
      at += part.length;
      if (at < chunk.length && !t.safeSplit(chunk.subarray(0, at))) continue;
      frames.push(chunk.subarray(start, at));
      start = at;
    }
    if (start < chunk.length) frames.push(chunk.subarray(start));
  }
  return frames;
}

function failed(t: StreamTarget, err: unknown, where: string): string {
  const code = typedErrorCode(err, `${t.what} ${where}`);
  check(err instanceof DecompressError, () => `${t.what} ${where} threw ${code}, not a DecompressError`);
  check((DECOMPRESS_ERROR_CODES as readonly string[]).includes(code), () => `unknown code ${code}`);
  return code;
}

/** After an error, the next push fails too, with DECOMPRESSOR_FAILED, and nothing else. */
function expectStillFailed(t: StreamTarget, decoder: StreamDecoder, next: Uint8Array): void {
  let code: string | undefined;
  try {
    decoder.push(next);
  } catch (err) {
    code = failed(t, err, 'push after an error');
  }
  check(code === 'DECOMPRESSOR_FAILED', () => `${t.what}: push after an error gave ${code ?? 'a result'}`);
}

// ---- zlib-stream -------------------------------------------------------------------------------------

function endsLikeMessage(bytes: Uint8Array): boolean {
  const n = bytes.length;
  return n >= 4 && bytes[n - 4] === 0 && bytes[n - 3] === 0 && bytes[n - 2] === 0xff && bytes[n - 1] === 0xff;
}

function etfMessages(count: number): Uint8Array[] {
  const c = createCorpus({ seed: 11, eventCount: count, largeGuildMembers: 30 });
  return [c.ready, c.guildCreateLarge, ...c.events].map((p) => encodeEtf(toEtfForm(p), { atomKeys: true }));
}

function jsonMessages(count: number): Uint8Array[] {
  const c = createCorpus({ seed: 12, eventCount: count, largeGuildMembers: 30 });
  return [c.ready, c.guildCreateSmall, ...c.events].map((p) => utf8.encode(JSON.stringify(p)));
}

function encodeAll(encode: (m: Uint8Array) => Uint8Array, messages: readonly Uint8Array[]): Uint8Array[] {
  return messages.map((m) => Uint8Array.from(encode(m)));
}

export async function zlibRunner(): Promise<FuzzRunner> {
  const discord = discordLikeMessages(3, 20);
  const seeds: SeedStream[] = [
    { name: 'node-zlib', messages: discord, chunks: await syncFlushChunks(discord) },
    {
      name: 'node-zlib-small-window',
      messages: jsonMessages(30),
      chunks: await syncFlushChunks(jsonMessages(30), { windowBits: 9, level: 1, memLevel: 1 }),
    },
  ];
  for (const engine of ['handle', 'portable'] as const) {
    const e = new ZlibStreamEncoder({ engine, level: engine === 'handle' ? 6 : 9 });
    const messages = engine === 'handle' ? etfMessages(30) : jsonMessages(30);
    seeds.push({ name: `encoder-${engine}`, messages, chunks: encodeAll((m) => e.encode(m), messages) });
  }
  const zeros = zlib.deflateSync(Buffer.alloc(32 << 20), { finishFlush: zlib.constants.Z_SYNC_FLUSH });
  // The same bomb inside a running stream: raw deflate (no header) continuing after message 1.
  const tail = zlib.deflateRawSync(Buffer.alloc(32 << 20), { finishFlush: zlib.constants.Z_SYNC_FLUSH });
  return streamRunner({
    what: 'zlib-stream',
    seeds,
    splitBombIsMessages: false,
    bombs: [
      { chunk: zeros, expect: ['PAYLOAD_TOO_LARGE'] },
      { chunk: tail, expect: ['PAYLOAD_TOO_LARGE'], afterMessages: true },
    ],
    randomOptions: (rand) => ({
      engine: rand() < 0.5 ? 'handle' : 'portable',
      maxMessageBytes: rand() < 0.3 ? randomInt(rand, 1, 64 * 1024) : 4 << 20,
      ...(rand() < 0.2 ? { maxPendingFrames: randomInt(rand, 1, 64) } : {}),
      ...(rand() < 0.1 ? { maxPendingBytes: randomInt(rand, 1, 64 * 1024) } : {}),
    }),
    open: (options) => new ZlibStreamDecoder(options as ZlibStreamDecoderOptions),
    // zlib inflates nothing before the end marker: any bytes that never form it (no 0x00, no 0xff).
    endlessStart: (rand, afterMessages) =>
      afterMessages ? Uint8Array.of(randomInt(rand, 1, 254)) : Uint8Array.of(0x78, 0x9c),
    endlessFiller: (rand) => randomInt(rand, 1, 254),
    endlessAfterMessages: true,
    randomInput(rand) {
      const body = randomBytes(rand, randomInt(rand, 0, 300));
      const head = rand() < 0.5 ? [0x78, pick(rand, [0x01, 0x5e, 0x9c, 0xda])] : [];
      const end = rand() < 0.7 ? [0, 0, 0xff, 0xff] : [];
      return Uint8Array.from([...head, ...body, ...end]);
    },
    safeSplit: (prefix) => !endsLikeMessage(prefix),
    maxMessageBytes: (o) => (o.maxMessageBytes as number | undefined) ?? 16 << 20,
  });
}

// ---- zstd-stream -------------------------------------------------------------------------------------

function zstdHeader(windowDescriptor: number): number[] {
  return [0x28, 0xb5, 0x2f, 0xfd, 0x00, windowDescriptor];
}

/** A frame of `blocks` RLE blocks of 128 KiB each: a few bytes that claim `blocks` × 128 KiB of output. */
function rleBomb(blocks: number): Uint8Array {
  const out = new Uint8Array(6 + blocks * 4);
  out.set(zstdHeader(7 << 3)); // window 2^(10 + 7) = 128 KiB
  const h = (128 * 1024) << 3;
  for (let i = 0; i < blocks; i++) {
    const at = 6 + i * 4;
    const word = h | (1 << 1); // RLE, not last
    out[at] = word & 0xff;
    out[at + 1] = (word >>> 8) & 0xff;
    out[at + 2] = (word >>> 16) & 0xff;
    out[at + 3] = 0;
  }
  return out;
}

export async function zstdRunner(): Promise<FuzzRunner> {
  const seeds: SeedStream[] = [];
  const reference = new ZstdStreamDecoder({ implementation: 'typescript' });
  for (const name of ['napi-stream-level3.bin', 'napi-stream-level19.bin', 'napi-stream-level-5.bin']) {
    const chunks = readZstdFixture(name)
      .slice(0, 40)
      .map((c) => c.frame);
    reference.reset();
    const messages = chunks.map((c) => reference.push(c)!);
    seeds.push({ name, chunks, messages });
  }
  const [cli] = readZstdFixture('cli-frame.bin');
  reference.reset();
  seeds.push({ name: 'cli-frame', chunks: [cli!.frame], messages: [reference.push(cli!.frame)!] });
  const encoder = new ZstdStreamEncoder({ windowLog: 17 });
  const etf = etfMessages(30);
  seeds.push({ name: 'encoder-etf', messages: etf, chunks: encodeAll((m) => encoder.encode(m), etf) });
  reference.close();
  const zeros = new ZstdStreamEncoder({ windowLog: 20 }).encode(new Uint8Array(8 << 20));
  const implementations = nativeZstdAvailable ? ['typescript', 'native'] : ['typescript'];
  return streamRunner({
    what: 'zstd-stream',
    seeds,
    splitBombIsMessages: true,
    bombs: [
      { chunk: rleBomb(8192), expect: ['PAYLOAD_TOO_LARGE', 'ZSTD_UNSUPPORTED'] }, // 1 GiB from 32 KiB
      { chunk: zeros, expect: ['PAYLOAD_TOO_LARGE', 'ZSTD_UNSUPPORTED'] },
      // Window descriptor exponent 31 - 10 = 21 → a 2 GiB window, over maxWindowBytes.
      { chunk: Uint8Array.from([...zstdHeader(21 << 3), 0x01, 0x00, 0x00]), expect: ['ZSTD_UNSUPPORTED'] },
      // Single segment with a content size of 2^32: the window is the content size.
      {
        chunk: Uint8Array.from([0x28, 0xb5, 0x2f, 0xfd, 0xa0, 0xff, 0xff, 0xff, 0xff, 0x01, 0x00, 0x00]),
        expect: ['ZSTD_UNSUPPORTED', 'PAYLOAD_TOO_LARGE'],
      },
    ],
    randomOptions: (rand) => ({
      implementation: pick(rand, implementations),
      maxMessageBytes: rand() < 0.3 ? randomInt(rand, 1, 64 * 1024) : 4 << 20,
      maxWindowBytes: rand() < 0.2 ? pick(rand, [1024, 64 * 1024, 1 << 20]) : 8 << 20,
      ...(rand() < 0.2 ? { maxPendingFrames: randomInt(rand, 1, 64) } : {}),
    }),
    open: (options) => new ZstdStreamDecoder(options as ZstdStreamDecoderOptions),
    endlessStart(rand) {
      // A raw block too long to finish in the frames that follow, or a skippable frame declaring 1 GiB:
      // input that ends no block.
      const raw = (size: number) => [(size << 3) & 0xff, (size >>> 5) & 0xff, (size >>> 13) & 0xff];
      if (rand() < 0.5) return Uint8Array.from([0x50, 0x2a, 0x4d, 0x18, 0, 0, 0, 0x40]);
      return Uint8Array.from([...zstdHeader(7 << 3), ...raw(100_000)]);
    },
    endlessFiller: (rand) => randomInt(rand, 0, 255),
    endlessAfterMessages: false,
    randomInput(rand) {
      const body = randomBytes(rand, randomInt(rand, 0, 300));
      if (rand() < 0.6)
        return Uint8Array.from([...zstdHeader(pick(rand, [0x40, 0x38, 0x00, 0x88])), ...body]);
      return body;
    },
    safeSplit: () => true,
    maxMessageBytes: (o) => (o.maxMessageBytes as number | undefined) ?? 16 << 20,
  });
}

// ---- JSON envelope: the dispatch-filter peek against the full decoder ----------------------------------

const PEEK_KEYS = [
  'd',
  'd',
  'd',
  'd',
  'x',
  'y',
  'op',
  's',
  't',
  '\\u0074',
  'o\\u0070',
  '\\u0073',
  '__proto__',
];
/** Per key: values as Discord writes them, then odd forms the peek must not misread. */
const PEEK_VALUES: Record<string, readonly [good: readonly string[], odd: readonly string[]]> = {
  op: [
    ['0', '1', '11'],
    ['"0"', '00', '1e0', '-0', '0.0', '9'.repeat(20), 'null'],
  ],
  s: [
    ['5', '123456', 'null'],
    ['"5"', '1.5', '01', '1e999', '9'.repeat(400), '-1'],
  ],
  t: [
    ['"MESSAGE_CREATE"', '"TYPING_START"', '"AB"', '"ABC"', 'null'],
    ['""', '"A\\u0042"', '5', '"A\u0001"'],
  ],
};
const peekValue = (rand: Random, key: string): string => {
  const [good, odd] = PEEK_VALUES[key]!;
  return pick(rand, rand() < 0.85 ? good : odd);
};
const PEEK_SPACE = ['', '', '', ' ', '\n', '\t', '\r\n '];
const PEEK_MUTATION_CHARS = '{}[],:"\\ 0a-.eE+tfnul\u00a0\ufeff';

/**
 * A JSON gateway envelope built to catch a peek that disagrees with `JSON.parse`: duplicated and escaped
 * top-level keys, keys that also appear nested in `d` or inside its strings, odd number forms and
 * whitespace, and now and then a byte-level mutation that makes it invalid.
 */
export function jsonPeekCase(rand: Random): string {
  const ws = () => pick(rand, PEEK_SPACE);
  const members: string[] = [];
  const n = randomInt(rand, 0, 3);
  // Most cases start with Discord's order, so that the peek is often exercised past its head.
  if (rand() < 0.7)
    members.push(
      `"t"${ws()}:${ws()}${peekValue(rand, 't')}`,
      `"s":${peekValue(rand, 's')}`,
      `"op":${peekValue(rand, 'op')}`,
    );
  for (let i = 0; i < n; i++) {
    const key = pick(rand, PEEK_KEYS);
    const plain = key
      .replace(/\\u0074/, 't')
      .replace(/o\\u0070/, 'op')
      .replace(/\\u0073/, 's');
    let value: string;
    if (Object.hasOwn(PEEK_VALUES, plain) && rand() < 0.8) value = peekValue(rand, plain);
    else {
      const nested = randomJsonValue(rand, 3);
      value = JSON.stringify(rand() < 0.3 ? { t: 'NESTED', s: 1, op: 0, v: nested, k: '"t":"X"}' } : nested);
      value ??= 'null';
    }
    members.push(`"${key}"${ws()}:${ws()}${value}`);
  }
  if (rand() < 0.5) {
    // Shuffle: op, s and t anywhere, before or after d.
    for (let i = members.length - 1; i > 0; i--) {
      const j = randomInt(rand, 0, i);
      [members[i], members[j]] = [members[j]!, members[i]!];
    }
  }
  let text = `${ws()}{${ws()}${members.join(`${ws()},${ws()}`)}${ws()}}${ws()}`;
  if (rand() < 0.15) {
    const at = randomInt(rand, 0, text.length);
    const op = randomInt(rand, 0, 2);
    const c = PEEK_MUTATION_CHARS[randomInt(rand, 0, PEEK_MUTATION_CHARS.length - 1)]!;
    text =
      op === 0
        ? text.slice(0, at) + text.slice(at + 1)
        : op === 1
          ? text.slice(0, at) + c + text.slice(at)
          : text.slice(0, at);
  }
  return text;
}

type JsonOutcome = { op: number; s: number | null; t: string | null; skipped: boolean } | { error: string };

function frameDecode(text: string, want?: (t: string) => boolean): JsonOutcome {
  const decoder = new FrameDecoder({
    encoding: 'json',
    compression: 'none',
    maxPayloadBytes: 1 << 26,
    wantDispatch: want,
  });
  try {
    const e = decoder.decode(utf8.encode(text), false)!;
    return { op: e.op, s: e.s, t: e.t, skipped: e.skipped === true };
  } catch (err) {
    // JSON_INVALID carries JSON.parse's SyntaxError as its cause by design: only the type is checked.
    if (err instanceof CodecError || err instanceof ShardError) return { error: err.code };
    throw new FuzzFinding('untyped-error', `json frame decode threw ${String(err)}`, { cause: err });
  }
}

const JSON_KINDS = ['envelope', 'envelope', 'envelope', 'structures'] as const;

/**
 * The `json` target: the dispatch filter's peek must agree with the full decoder on every envelope, and
 * documents over the structure limit are refused before `JSON.parse` builds them, by either path.
 */
export async function jsonRunner(): Promise<FuzzRunner> {
  return {
    generate(rand) {
      const kind = pick(rand, JSON_KINDS);
      if (kind === 'envelope')
        return { settings: { kind }, chunks: [{ bytes: utf8.encode(jsonPeekCase(rand)) }] };
      // Structure-heavy: empty arrays, objects, nesting, keys or numbers, just over or under a small limit.
      const limit = randomInt(rand, 1, 2000);
      const n = limit + randomInt(rand, -3, 3);
      const shape = randomInt(rand, 0, 4);
      const body =
        shape === 0
          ? `[${'[],'.repeat(Math.max(0, n - 1))}[]]`
          : shape === 1
            ? `[${'{},'.repeat(Math.max(0, n - 1))}{}]`
            : shape === 2
              ? `${'['.repeat(n)}${']'.repeat(n)}`
              : shape === 3
                ? `{${Array.from({ length: n }, (_, i) => `"k${i}":0`).join(',')}}`
                : `[${'0,'.repeat(Math.max(0, n - 1))}0]`;
      return {
        settings: { kind, limit },
        chunks: [{ bytes: utf8.encode(`{"t":"A","s":1,"op":0,"d":${body}}`) }],
      };
    },
    run(record, stats) {
      stats.inputs++;
      const text = new TextDecoder().decode(record.chunks[0]!.bytes);
      const settings = record.settings as { kind: string; limit?: number };
      if (settings.kind === 'structures') {
        const limit = settings.limit!;
        const structures = countJsonStructures(text);
        let code: string | undefined;
        try {
          decodeJson(text, { maxStructures: limit });
        } catch (err) {
          if (!(err instanceof CodecError))
            throw new FuzzFinding('untyped-error', `json decode threw ${String(err)}`);
          code = err.code;
        }
        check(
          (code === 'JSON_TOO_COMPLEX') === structures > limit,
          () => `json: ${structures} structures under a limit of ${limit} gave ${code ?? 'a value'}`,
        );
        if (code === undefined) stats.ok++;
        else count(stats.errors, code);
        return;
      }
      const full = frameDecode(text);
      const peek = peekJsonEnvelope(text);
      if ('error' in full) count(stats.errors, full.error);
      else stats.ok++;
      if (peek !== undefined) {
        count(stats.extra, 'peeked');
        check(
          !('error' in full) && full.op === peek.op && full.s === peek.s && full.t === peek.t,
          () => `json: peek ${JSON.stringify(peek)} but the decoder gives ${JSON.stringify(full)}`,
        );
      }
      for (const want of [() => false, (t: string) => t.length % 2 === 0]) {
        const filtered = frameDecode(text, want);
        if ('skipped' in filtered && filtered.skipped) count(stats.extra, 'skipped');
        const same =
          'error' in full
            ? 'error' in filtered && filtered.error === full.error
            : !('error' in filtered) &&
              filtered.op === full.op &&
              // A non-numeric s is passed on as it came (an array or object: compare by value).
              JSON.stringify(filtered.s) === JSON.stringify(full.s) &&
              filtered.t === full.t &&
              (!filtered.skipped || (full.op === 0 && full.t !== null && !want(full.t)));
        check(same, () => `json: with a filter ${JSON.stringify(filtered)}, without ${JSON.stringify(full)}`);
      }
    },
  };
}
