/**
 * Differential fuzzing of the WebSocket frame reader (src/transport/ws-reader.ts) against ws' own
 * Receiver: random frame sequences (valid frames, fragments, control frames, close frames, and frames with
 * flipped bits, bad opcodes, wrong masking, bad lengths, invalid UTF-8), cut into random socket reads, fed
 * to both; what each reports (messages, pings, pongs, the close, the first error with its ws code and close
 * code) must be the same, event for event.
 */
import { Buffer } from 'node:buffer';
import * as wsModule from 'ws';
import { type FrameError, WsFrameReader } from '../../src/transport/ws-reader.js';
import { pick, type Random, randomBytes, randomInt } from './fuzz-core.js';

/** ws' Receiver (exported by ws, not declared in its types). */
interface WsReceiver {
  on(event: string, listener: (...args: never[]) => void): void;
  write(chunk: Buffer): boolean;
}
type WsReceiverClass = new (options: {
  isServer: boolean;
  maxPayload: number;
  allowSynchronousEvents: boolean;
}) => WsReceiver;
const Receiver = (wsModule as unknown as { Receiver: WsReceiverClass }).Receiver;

/** A deterministic generator (mulberry32). */
export function seededRandom(seed: number): Random {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export interface FrameSpec {
  fin: boolean;
  rsv: number;
  opcode: number;
  payload: Uint8Array;
  mask?: Uint8Array | undefined;
  /** Write the length in this form even when a shorter one would do (0: shortest). */
  lengthForm?: 0 | 126 | 127;
  /** Replaces the high 32 bits of a 64-bit length (to reach past 2^53). */
  highWord?: number;
}

/** The bytes of one frame, as RFC 6455 §5.2 lays it out (the payload masked when a mask is given). */
export function frameBytes(f: FrameSpec): Buffer {
  const len = f.payload.length;
  const form = f.lengthForm ?? 0;
  const use = form === 127 || len > 0xffff ? 127 : form === 126 || len > 125 ? 126 : 0;
  const head = 2 + (use === 126 ? 2 : use === 127 ? 8 : 0) + (f.mask ? 4 : 0);
  const out = Buffer.alloc(head + len);
  out[0] = (f.fin ? 0x80 : 0) | ((f.rsv & 7) << 4) | (f.opcode & 0x0f);
  out[1] = (f.mask ? 0x80 : 0) | (use === 0 ? len : use);
  let o = 2;
  if (use === 126) {
    out.writeUInt16BE(len, 2);
    o = 4;
  } else if (use === 127) {
    out.writeUInt32BE(f.highWord ?? 0, 2);
    out.writeUInt32BE(len, 6);
    o = 10;
  }
  if (f.mask) {
    out.set(f.mask, o);
    o += 4;
    for (let i = 0; i < len; i++) out[o + i] = f.payload[i]! ^ f.mask[i & 3]!;
  } else out.set(f.payload, o);
  return out;
}

/** What a receiver reported, one line per event, in order. */
export type ReceiverLog = string[];

const hex = (b: Uint8Array): string => Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('hex');

/** Feeds `chunks` to ws' Receiver; stops at the first error or the close. */
export async function runWs(
  chunks: readonly Buffer[],
  server: boolean,
  maxPayload: number,
): Promise<ReceiverLog> {
  const log: ReceiverLog = [];
  let done = false;
  const r = new Receiver({ isServer: server, maxPayload, allowSynchronousEvents: true });
  r.on('message', ((data: Buffer, isBinary: boolean) => {
    log.push(`message ${isBinary ? 'binary' : 'text'} ${hex(data)}`);
  }) as never);
  r.on('ping', ((data: Buffer) => log.push(`ping ${hex(data)}`)) as never);
  r.on('pong', ((data: Buffer) => log.push(`pong ${hex(data)}`)) as never);
  r.on('conclude', ((code: number, reason: Buffer) => {
    log.push(`close ${code} ${hex(reason)}`);
    done = true;
  }) as never);
  r.on('error', ((err: Error & { code: string }) => {
    if (done) return;
    const status = (err as unknown as Record<symbol, number>)[
      Object.getOwnPropertySymbols(err).find((s) => s.description === 'status-code')!
    ];
    log.push(`error ${err.code} ${status}`);
    done = true;
  }) as never);
  for (const c of chunks) {
    if (done) break;
    // ws' Receiver may keep (and unmask) views of what it is given: hand it its own copy.
    r.write(Buffer.from(c));
  }
  // ws reports an error through the stream machinery, on the next tick.
  await new Promise((resolve) => setImmediate(resolve));
  return log;
}

/** Feeds `chunks` to `WsFrameReader`, with `pauseEvery` > 0 pausing and resuming after that many events. */
export function runReader(
  chunks: readonly Buffer[],
  server: boolean,
  maxPayload: number,
  pauseEvery = 0,
): ReceiverLog {
  const log: ReceiverLog = [];
  let events = 0;
  let pauses = 0;
  const reader: WsFrameReader = new WsFrameReader(
    // Strict order: a close frame seen while paused waits for resume(), as every event does with ws.
    { maxMessageBytes: maxPayload, server, closeWhilePaused: false },
    {
      message: (data, isBinary) => {
        log.push(`message ${isBinary ? 'binary' : 'text'} ${hex(data)}`);
        if (pauseEvery > 0 && ++events % pauseEvery === 0) {
          reader.pause();
          pauses++;
        }
      },
      control: (opcode, payload) => {
        if (opcode === 9) log.push(`ping ${hex(payload)}`);
        else if (opcode === 10) log.push(`pong ${hex(payload)}`);
        else {
          const code = payload.length >= 2 ? payload.readUInt16BE(0) : 1005;
          log.push(`close ${code} ${hex(payload.subarray(2))}`);
        }
      },
      error: (err: FrameError) => log.push(`error ${err.reason} ${err.closeCode}`),
    },
  );
  for (const c of chunks) {
    // The reader keeps views of a read while paused: hand it its own copy, as a socket would.
    reader.push(Buffer.from(c));
    while (reader.isPaused && pauses > 0) {
      pauses--;
      reader.resume();
    }
  }
  while (reader.isPaused) reader.resume();
  return log;
}

const TEXTS = ['', 'hello', '{"op":0,"t":"X"}', 'é日本😀', 'A'.repeat(300)];

function randomPayload(rand: Random, max: number, text = false): Uint8Array {
  const r = rand();
  if (r < (text ? 0.9 : 0.4)) return Buffer.from(pick(rand, TEXTS));
  if (r < 0.5) return Buffer.from([0xce, 0xba, 0xe1, 0xbd]); // invalid UTF-8 (cut sequence)
  return randomBytes(rand, randomInt(rand, 0, max));
}

/** One random frame sequence: mostly a valid stream, with a mutation now and then. */
export function randomFrames(rand: Random, server: boolean): Buffer[] {
  const frames: Buffer[] = [];
  const n = randomInt(rand, 1, 12);
  let fragmented = false;
  let textMessage = false;
  const big = rand() < 0.1;
  for (let i = 0; i < n; i++) {
    const mask = server ? randomBytes(rand, 4) : undefined;
    const r = rand();
    let spec: FrameSpec;
    if (r < 0.15) {
      const opcode = pick(rand, [9, 10, 8, 8]);
      let payload = randomPayload(rand, 125);
      if (opcode === 8 && payload.length > 0) {
        const code = pick(rand, [1000, 1001, 1005, 1006, 999, 3000, 4999, 5000, 1004, 1014, 1015]);
        const reason = rand() < 0.8 ? Buffer.from(pick(rand, TEXTS).slice(0, 100)) : Buffer.from([0xff]);
        payload = Buffer.concat([Buffer.from([code >> 8, code & 0xff]), reason]);
        if (payload.length > 125) payload = payload.subarray(0, 125);
      }
      spec = { fin: true, rsv: 0, opcode, payload, mask };
    } else {
      const fin = rand() < 0.7;
      const opcode = fragmented ? 0 : pick(rand, [1, 2, 2]);
      if (opcode !== 0) textMessage = opcode === 1;
      const payload =
        big && rand() < 0.3
          ? randomBytes(rand, randomInt(rand, 126, 70_000))
          : randomPayload(rand, 200, textMessage);
      spec = { fin, rsv: 0, opcode, payload, mask };
      fragmented = !fin;
    }
    // Mutations.
    const m = rand();
    if (m < 0.03) spec.rsv = randomInt(rand, 1, 7);
    else if (m < 0.06) spec.opcode = randomInt(rand, 0, 15);
    else if (m < 0.08) spec.fin = !spec.fin;
    else if (m < 0.1) spec.mask = spec.mask ? undefined : randomBytes(rand, 4);
    else if (m < 0.12) spec.lengthForm = pick(rand, [126, 127] as const);
    else if (m < 0.13) {
      spec.lengthForm = 127;
      spec.highWord = pick(rand, [1, 2 ** 21 - 1, 2 ** 21, 0xffffffff]);
    } else if (m < 0.15 && spec.opcode >= 8) spec.payload = randomBytes(rand, pick(rand, [1, 126, 200]));
    frames.push(frameBytes(spec));
  }
  return frames;
}

/** Cuts the concatenated frames into random reads (single bytes sometimes, whole frames sometimes). */
export function randomChunks(rand: Random, frames: readonly Buffer[]): Buffer[] {
  const all = Buffer.concat(frames);
  const chunks: Buffer[] = [];
  const mode = rand();
  let at = 0;
  while (at < all.length) {
    const n =
      mode < 0.2
        ? all.length
        : mode < 0.35
          ? 1
          : randomInt(rand, 1, Math.max(1, Math.min(all.length - at, rand() < 0.5 ? 16 : 4096)));
    chunks.push(all.subarray(at, at + n));
    at += n;
  }
  return chunks;
}

export interface DifferentialResult {
  readonly cases: number;
  readonly errors: number;
  readonly closes: number;
  readonly messages: number;
  /** The first disagreement: the case's reads (hex) and both logs. */
  readonly mismatch?: {
    chunks: string[];
    server: boolean;
    maxPayload: number;
    ws: ReceiverLog;
    reader: ReceiverLog;
  };
}

/** Runs `cases` random cases from `seed`, both sides and a paused reader; stops at the first disagreement. */
export async function fuzzWsFrames(seed: number, cases: number): Promise<DifferentialResult> {
  const rand = seededRandom(seed);
  let errors = 0;
  let closes = 0;
  let messages = 0;
  for (let i = 0; i < cases; i++) {
    const server = rand() < 0.3;
    const maxPayload = pick(rand, [100, 1000, 64 * 1024, 16 * 1024 * 1024]);
    const chunks = randomChunks(rand, randomFrames(rand, server));
    const expected = await runWs(chunks, server, maxPayload);
    const pauseEvery = rand() < 0.3 ? randomInt(rand, 1, 3) : 0;
    const actual = runReader(chunks, server, maxPayload, pauseEvery);
    if (expected.join('\n') !== actual.join('\n')) {
      return {
        cases: i + 1,
        errors,
        closes,
        messages,
        mismatch: {
          chunks: chunks.map((c) => c.toString('hex')),
          server,
          maxPayload,
          ws: expected,
          reader: actual,
        },
      };
    }
    for (const line of expected) {
      if (line.startsWith('error')) errors++;
      else if (line.startsWith('close')) closes++;
      else if (line.startsWith('message')) messages++;
    }
  }
  return { cases, errors, closes, messages };
}
