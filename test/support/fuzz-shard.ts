/**
 * The `shard` fuzz target: random runs of hostile gateway inputs (payloads with any `op`/`s`/`t`/`d`, HELLO
 * intervals of every kind, READY with odd session ids and resume URLs, closes with any code and a reason
 * holding the token, stale connections, timers, sends, destroys) through the pure `transition()`.
 * Oracle, on every step: no exception; every timer within [0, 2^31−1] ms; every heartbeat/RESUME carries a
 * sequence and session id the ETF encoder writes (and the server would accept); every URL opened is
 * ws:/wss:; the state's sequence stays a safe integer; and no piece of the token is in any event once the
 * shard's own redaction (as `Shard` applies it) has run — a value cut before redaction would leave one.
 *
 * A case is its seed (settings.caseSeed): the inputs hold values JSON cannot carry, so replay regenerates them.
 */
import { inspect } from 'node:util';
import { encodeEtf } from '../../src/codec/etf/index.js';
import { ShardlineError } from '../../src/errors.js';
import {
  gatewayUrlProblem,
  isValidSequence,
  MAX_TIMER_MS,
  sessionIdProblem,
} from '../../src/shard/gateway-values.js';
import {
  type Effect,
  type Input,
  initialState,
  type MachineConfig,
  type ShardState,
  type TimerName,
  transition,
} from '../../src/shard/machine.js';
import { FrameDecoder } from '../../src/transport/frame-decoder.js';
import { seededRandom } from '../../src/util/clock.js';
import { redact, redactError, Secret } from '../../src/util/redact.js';
import type { FuzzRunner } from './fuzz-codecs.js';
import { type CaseRecord, check, count, FuzzFinding, pick, type Random, randomInt } from './fuzz-core.js';
import { etfTerm } from './hostile-gateway.js';
import { testConfig } from './machine-driver.js';

const TOKEN = 'MTA5ODc2NTQzMjEwOTg3NjU0.GfUzZ1.fuzz-shard-token-value-0123456789';
const SECRET = new Secret(TOKEN);
const PIECES = Array.from({ length: TOKEN.length - 7 }, (_, i) => TOKEN.slice(i, i + 8));

// The machine-driver's test configuration, with the jitter and queue bound a real shard runs with.
const CONFIG: MachineConfig = testConfig({
  gatewayUrl: 'wss://gateway.fuzz',
  backoff: { baseMs: 1_000, maxMs: 60_000, factor: 2, jitter: 0.2 },
  maxQueuedSends: 20,
});

const TIMERS: readonly TimerName[] = ['open', 'hello', 'ready', 'heartbeat', 'reconnect', 'drain'];

function hostileNumbers(seq: number): unknown[] {
  return [
    Number.POSITIVE_INFINITY,
    Number.NEGATIVE_INFINITY,
    Number.NaN,
    -1,
    1.5,
    2 ** 53,
    2 ** 53 + 2,
    Number.MAX_VALUE,
    '5',
    '1e999',
    null,
    undefined,
    {},
    [],
    true,
    0,
    seq,
    seq + 1,
    seq + 1,
    seq + 1,
    seq + 2,
  ];
}

const INTERVALS: readonly unknown[] = [
  2 ** 31,
  2 ** 31 - 1,
  2 ** 40,
  1e-9,
  0,
  -1,
  1,
  999,
  1_000,
  41_250,
  41_250,
  600_000,
  600_001,
  Number.NaN,
  Number.POSITIVE_INFINITY,
  '41250',
  null,
  undefined,
];

const SESSION_IDS: readonly unknown[] = [
  '0123456789abcdef0123456789abcdef',
  '0123456789abcdef0123456789abcdef',
  '',
  TOKEN,
  `xx${TOKEN}`,
  'x'.repeat(300),
  'a b',
  '\u0000',
  5,
  null,
];

const RESUME_URLS: readonly unknown[] = [
  'wss://resume.fuzz',
  'wss://resume.fuzz',
  'ws+unix:///tmp/x.sock:/',
  'http://resume.fuzz/',
  'file:///etc/passwd',
  `wss://${TOKEN}@resume.fuzz/`,
  `wss://resume.fuzz/?t=${TOKEN}`,
  `wss://${'a'.repeat(3000)}/`,
  'not a url',
  5,
  null,
];

const CLOSE_CODES: readonly number[] = [
  // Resumable closes most of the time, so runs go on past a fatal one.
  ...Array.from({ length: 20 }, (_, i) => [4000, 1006, 1001, 4008][i % 4]!),
  1000,
  1001,
  1006,
  1009,
  1011,
  3000,
  4000,
  4001,
  4002,
  4003,
  4004,
  4005,
  4007,
  4008,
  4009,
  4010,
  4011,
  4012,
  4013,
  4014,
  4999,
  0,
  -1,
  65_536,
  Number.NaN,
];

const REASONS: readonly string[] = ['', 'bye', `Authentication failed: ${TOKEN}`, `x ${TOKEN.slice(3, 40)}`];

const TYPES: readonly unknown[] = [
  'MESSAGE_CREATE',
  'MESSAGE_CREATE',
  'READY',
  'RESUMED',
  null,
  '',
  'x'.repeat(300),
  5,
  TOKEN,
];

/**
 * A random hostile payload, written as an ETF term (any value: ±Infinity, NaN, strings, maps) and read back
 * through the shard's own frame decoder, so the machine sees what a socket would hand it — or the typed
 * error the transport would report.
 */
function frame(rand: Random, seq: number, conn: number): Input {
  const raw = payload(rand, seq);
  const decoder = new FrameDecoder({ encoding: 'etf', compression: 'none', maxPayloadBytes: 1 << 20 });
  try {
    const envelope = decoder.decode(etfTerm(raw), true);
    if (envelope) return { type: 'socket-payload', conn, payload: envelope };
  } catch (err) {
    if (err instanceof ShardlineError) return { type: 'socket-error', conn, error: err };
    throw new FuzzFinding('untyped-error', `the frame decoder threw ${String(err)}`, { cause: err });
  }
  return { type: 'timer', name: 'drain' };
}

/** A random hostile payload; `seq` is the machine's current sequence (so valid next ones happen too). */
function payload(rand: Random, seq: number): Record<string, unknown> {
  const op = pick(rand, [0, 0, 0, 0, 1, 7, 9, 10, 10, 11, 11, -1, 1.5, 2 ** 53, 99] as const);
  let d: unknown = null;
  let t: unknown = null;
  let s: unknown = null;
  if (op === 0) {
    t = pick(rand, TYPES);
    s = pick(rand, hostileNumbers(seq));
    if (t === 'READY') {
      d =
        rand() < 0.2
          ? pick(rand, [null, 5, 'x', []])
          : {
              v: 10,
              session_id: pick(rand, SESSION_IDS),
              resume_gateway_url: pick(rand, RESUME_URLS),
            };
    } else d = rand() < 0.1 ? TOKEN : { id: '1' };
  } else if (op === 10) {
    d = rand() < 0.1 ? pick(rand, [null, 5, []]) : { heartbeat_interval: pick(rand, INTERVALS) };
  } else if (op === 9) {
    d = pick(rand, [true, false, 'x', null]);
  } else if (op === 1) {
    d = pick(rand, hostileNumbers(seq));
  }
  return { op, d, s, t };
}

/** The input a faithful gateway would send next, so that runs reach READY, resumes and dispatches. */
function progress(state: ShardState, conn: number, openConn: number): Input {
  const status = state.phase.status;
  const at = (payload: { op: number; d: unknown; s: number | null; t: string | null }): Input => ({
    type: 'socket-payload',
    conn: openConn,
    payload,
  });
  switch (status) {
    case 'connecting':
      return { type: 'socket-open', conn: openConn };
    case 'awaiting-hello':
      return at({ op: 10, d: { heartbeat_interval: 41_250 }, s: null, t: null });
    case 'waiting-identify-slot':
      return { type: 'identify-slot', conn: openConn };
    case 'identifying':
      return at({
        op: 0,
        t: 'READY',
        s: 1,
        d: { v: 10, session_id: '0123456789abcdef0123456789abcdef', resume_gateway_url: 'wss://resume.fuzz' },
      });
    case 'resuming':
      return at({ op: 0, t: 'RESUMED', s: null, d: {} });
    case 'ready':
      return at({ op: 0, t: 'MESSAGE_CREATE', s: state.ctx.seq + 1, d: { id: '1' } });
    case 'backoff':
      return { type: 'timer', name: 'reconnect' };
    default:
      return { type: 'socket-close', conn, code: 4000, reason: '' };
  }
}

/** Whether `text` holds a piece of the token. */
function leaks(text: string): string | undefined {
  return PIECES.find((p) => text.includes(p));
}

/** The effects' oracle (see the file comment); throws a contract finding. */
function checkEffects(
  effects: readonly Effect[],
  state: ShardState,
  stats: { extra: Record<string, number>; errors: Record<string, number> },
): void {
  check(
    isValidSequence(state.ctx.seq),
    () => `state sequence ${String(state.ctx.seq)} is not a safe integer ≥ 0`,
  );
  for (const e of effects) {
    switch (e.type) {
      case 'start-timer':
        check(
          typeof e.ms === 'number' && Number.isFinite(e.ms) && e.ms >= 0 && e.ms <= MAX_TIMER_MS,
          () => `timer ${e.name} for ${String(e.ms)} ms`,
        );
        break;
      case 'heartbeat':
        check(e.seq === null || isValidSequence(e.seq), () => `heartbeat with seq ${String(e.seq)}`);
        encodeEtf({ op: 1, d: e.seq });
        count(stats.extra, 'heartbeats');
        break;
      case 'resume':
        check(isValidSequence(e.seq), () => `RESUME with seq ${String(e.seq)}`);
        check(sessionIdProblem(e.sessionId) === null, () => `RESUME with session id ${inspect(e.sessionId)}`);
        encodeEtf({ op: 6, d: { token: 'x', session_id: e.sessionId, seq: e.seq } });
        count(stats.extra, 'resumes');
        break;
      case 'open':
        check(gatewayUrlProblem(e.url) === null, () => `opens ${inspect(e.url)}`);
        count(stats.extra, 'opens');
        break;
      case 'persist-session':
        if (e.session !== null) {
          check(
            isValidSequence(e.session.sequence),
            () => `persists sequence ${String(e.session?.sequence)}`,
          );
        }
        break;
      case 'stopped':
        if (e.error) count(stats.errors, `stopped:${e.error.code}`);
        break;
      case 'emit': {
        const { name, args } = e.event as { name: string; args: readonly unknown[] };
        if (name === 'error') {
          const err = args[0];
          check(
            err instanceof ShardlineError,
            () => `error event with a non-ShardlineError: ${inspect(err)}`,
          );
          count(stats.errors, (err as ShardlineError).code);
          const shown = redactError(err as ShardlineError, SECRET);
          const text = `${(shown as Error).message}\n${inspect(shown, { depth: 6 })}`;
          const piece = leaks(text);
          check(
            piece === undefined,
            () => `error event leaks ${piece} after redaction: ${text.slice(0, 400)}`,
          );
        } else if (name === 'debug') {
          const text = redact(String(args[0]), SECRET);
          const piece = leaks(text);
          check(
            piece === undefined,
            () => `debug line leaks ${piece} after redaction: ${text.slice(0, 400)}`,
          );
        } else if (name === 'close') {
          const text = inspect(args[0]);
          const piece = leaks(text);
          check(piece === undefined, () => `close event leaks ${piece}: ${text.slice(0, 400)}`);
        } else if (name === 'dispatch') {
          const p = args[0] as { s: unknown; t: unknown };
          // A dispatch without `s` passes unsequenced (RESUMED has none); anything else must be valid.
          check(isValidSequence(p.s) || p.s === null, () => `${String(p.t)} delivered with s ${String(p.s)}`);
          count(stats.extra, 'dispatches');
        }
        break;
      }
      default:
        break;
    }
  }
}

function runCase(
  record: CaseRecord,
  stats: { inputs: number; ok: number; errors: Record<string, number>; extra: Record<string, number> },
): void {
  stats.inputs++;
  const rand = seededRandom(Number(record.settings.caseSeed));
  let state = initialState(CONFIG);
  let now = randomInt(rand, 0, 1_000_000);
  let openConn = 0;
  const steps = randomInt(rand, 10, 200);
  const feed = (input: Input) => {
    let result: ReturnType<typeof transition>;
    try {
      result = transition(state, { ...input, now, random: rand() });
    } catch (err) {
      throw new FuzzFinding(
        err instanceof ShardlineError ? 'contract' : 'untyped-error',
        `transition threw on ${input.type}: ${err instanceof Error ? err.message : String(err)}`,
        { cause: err },
      );
    }
    state = result.state;
    count(stats.extra, 'transitions');
    for (const e of result.effects) if (e.type === 'open') openConn = e.conn;
    checkEffects(result.effects, state, stats);
  };
  feed({ type: 'start', session: null });
  for (let i = 0; i < steps; i++) {
    now += pick(rand, [0, 0, 1, 10, 500, 5_000, 60_000]);
    const conn = rand() < 0.9 ? openConn : openConn - 1;
    const r = rand();
    if (r < 0.08) feed({ type: 'socket-open', conn });
    else if (r < 0.4) feed(frame(rand, state.ctx.seq, conn));
    else if (r < 0.6) feed(progress(state, conn, openConn));
    else if (r < 0.68) {
      const reason = pick(rand, REASONS);
      // Shard redacts a close reason where it enters, before the machine sees it.
      feed({ type: 'socket-close', conn, code: pick(rand, CLOSE_CODES), reason: redact(reason, SECRET) });
    } else if (r < 0.82) feed({ type: 'timer', name: pick(rand, TIMERS) });
    else if (r < 0.88) feed({ type: 'identify-slot', conn });
    else if (r < 0.94) feed({ type: 'send', id: i, data: `{"op":3,"d":${i}}` });
    else if (r < 0.955) feed({ type: 'reading', paused: rand() < 0.5 });
    else if (r < 0.957) feed({ type: 'destroy', code: 1000, reason: '' });
    else if (r < 0.96) feed({ type: 'start', session: null });
    else if (r < 0.98) feed(progress(state, conn, openConn));
    else feed({ type: 'send-failed', id: i, data: 'x' });
  }
  count(stats.extra, `final:${state.phase.status}`);
  stats.ok++;
}

export function shardRunner(): FuzzRunner {
  return {
    generate: (rand) => ({ settings: { caseSeed: Math.floor(rand() * 2 ** 31) }, chunks: [] }),
    run: (record, stats) => runCase(record, stats),
  };
}
