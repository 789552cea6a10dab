/**
 * The simulator target of the fuzzer: a real simulator on port 0 and raw `ws` clients that send mutated and
 * random text and binary frames, in json and etf, before and after IDENTIFY. One case is one connection
 * (a handful of frames). After each frame the client sends a heartbeat as a probe and waits for its ACK or
 * for the close: the outcome must be what gateway.md and docs/simulator.md document for that frame (an
 * oracle below, written from the docs: 4002 undecodable or over 4096 bytes, 4001 unknown opcode or bad
 * payload, 4003 before IDENTIFY, 4005 a second IDENTIFY, `ws`'s own 1007 for invalid UTF-8). A control connection identified at the start must still get its heartbeat ACKed at the end, and
 * the simulator's stats must agree with what the clients did.
 */
import { isUtf8 } from 'node:buffer';
import WebSocket from 'ws';
import { decodeEtf, encodeEtf } from '../../src/codec/etf/index.js';
import { startSimulator } from '../../src/simulator/index.js';
import type { FuzzRunner, GeneratedCase } from './fuzz-codecs.js';
import {
  type CaseRecord,
  count,
  FuzzFinding,
  mutateRounds,
  pick,
  type Random,
  type RecordedChunk,
  randomBytes,
  randomInt,
  type TargetStats,
} from './fuzz-core.js';
import { randomJsonValue, randomString } from './fuzz-etf.js';
import { RawClient } from './raw-client.js';
import { waitFor } from './wait.js';

/** Opcodes a client may send (gateway.md §4); anything else closes with 4001. */
const CLIENT_OPS = new Set([1, 2, 3, 4, 6, 8, 31, 43]);
const MAX_PAYLOAD_BYTES = 4096;
/** Close codes an IDENTIFY or RESUME may end with (gateway.md §5: payload, token, seq, shard, intents). */
const AUTH_CLOSES = [4001, 4004, 4007, 4010, 4011, 4013, 4014];
const ANSWER_TIMEOUT_MS = 5000;
const FRAMES_PER_CONNECTION = 12;

type Outcome = number | 'ack';

interface Expectation {
  readonly allowed: readonly Outcome[];
  /** ACKs the frame and its probe earn when the connection stays open. */
  readonly acks: number;
  readonly why: string;
}

const only = (code: number, why: string): Expectation => ({ allowed: [code], acks: 0, why });

const isPlainObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

/** What the simulator must do with `frame` on a connection in the given state. */
export function expectedOutcome(frame: RecordedChunk, encoding: string, identified: boolean): Expectation {
  const b = frame.bytes;
  // Refused at the frame header, before the payload is read (so before its UTF-8 is checked).
  if (b.length > MAX_PAYLOAD_BYTES) return only(4002, 'over 4096 bytes');
  if (frame.text && !isUtf8(b)) return only(1007, 'text frame with invalid UTF-8');
  let value: unknown;
  try {
    if (encoding === 'etf') {
      if (frame.text) return only(4002, 'text frame on etf');
      value = decodeEtf(b, { maxBytes: 1 << 20, maxDepth: 32 });
    } else value = JSON.parse(Buffer.from(b.buffer, b.byteOffset, b.length).toString('utf8'));
  } catch {
    return only(4002, 'undecodable');
  }
  if (!isPlainObject(value)) return only(4002, 'not an object');
  const op = value.op;
  if (typeof op !== 'number' || !CLIENT_OPS.has(op)) return only(4001, `unknown op ${String(op)}`);
  const d = value.d;
  if (op === 1) {
    const ok = d === null || d === undefined || (typeof d === 'number' && Number.isInteger(d) && d >= 0);
    return ok ? { allowed: ['ack'], acks: 2, why: 'heartbeat' } : only(4001, 'bad heartbeat d');
  }
  if (op === 2 || op === 6) {
    if (identified) return only(4005, 'already authenticated');
    return { allowed: ['ack', ...AUTH_CLOSES], acks: 1, why: `op ${op} before auth` };
  }
  if (!identified) return only(4003, 'not authenticated');
  return { allowed: ['ack', 4001], acks: 1, why: `command op ${op}` };
}

interface World {
  token: string;
  guildIds: string[];
  memberIds: string[];
  channelIds: string[];
}

function templates(w: World, rand: Random): { op: number; d: unknown }[] {
  const g = pick(rand, w.guildIds);
  return [
    { op: 1, d: null },
    { op: 1, d: randomInt(rand, 0, 1000) },
    {
      op: 2,
      d: { token: w.token, intents: 513, properties: { os: 'linux', browser: 'fuzz', device: 'fuzz' } },
    },
    {
      op: 2,
      d: {
        token: w.token,
        intents: 3276799,
        shard: [0, 1],
        large_threshold: 250,
        compress: false,
        properties: { os: 'linux', browser: 'fuzz', device: 'fuzz' },
        presence: { since: null, activities: [{ name: 'fuzz', type: 0 }], status: 'online', afk: false },
      },
    },
    { op: 3, d: { since: null, activities: [], status: pick(rand, ['online', 'idle', 'dnd']), afk: false } },
    { op: 4, d: { guild_id: g, channel_id: null, self_mute: false, self_deaf: true } },
    { op: 4, d: { guild_id: g, channel_id: pick(rand, w.channelIds), self_mute: true, self_deaf: false } },
    // A session that does not exist: resuming the control session would move it off its connection.
    { op: 6, d: { token: w.token, session_id: 'f'.repeat(32), seq: randomInt(rand, 0, 5) } },
    { op: 8, d: { guild_id: g, query: '', limit: 0, presences: true, nonce: randomString(rand, 8) } },
    { op: 8, d: { guild_id: g, user_ids: [pick(rand, w.memberIds), '1'], presences: false } },
    { op: 8, d: { guild_id: g, query: randomString(rand, 2), limit: randomInt(rand, 0, 100) } },
    { op: 31, d: { guild_ids: [g, pick(rand, w.guildIds)] } },
    { op: 31, d: { guild_ids: new Array(randomInt(rand, 1, 180)).fill(g) } },
    // Abusive values in otherwise well-formed commands: wrong types, huge arrays, out-of-range numbers.
    { op: 2, d: { token: w.token, intents: pick(rand, [2 ** 31, 2 ** 53, -1, 1.5, 1e308]), properties: {} } },
    { op: 2, d: { token: w.token, intents: 1, shard: new Array(randomInt(rand, 3, 900)).fill(0) } },
    { op: 2, d: { token: w.token, intents: 1, large_threshold: pick(rand, [0, 49, 251, 1e9, 50.5, '50']) } },
    { op: 2, d: { token: w.token, intents: 1, properties: pick(rand, ['linux', 1, [], null]) } },
    {
      op: 2,
      d: { token: `Bot ${w.token}`, intents: 1, presence: pick(rand, [{ status: 'x' }, [], 'online']) },
    },
    { op: 8, d: { guild_id: g, user_ids: new Array(randomInt(rand, 100, 300)).fill('1') } },
    { op: 8, d: { guild_id: g, query: '', limit: pick(rand, [1e12, 2 ** 53, -1, 0.5]) } },
    {
      op: 3,
      d: { since: pick(rand, ['x', 1e308, null]), activities: pick(rand, [{}, [], 'x']), status: 'idle' },
    },
    { op: 4, d: { guild_id: g, channel_id: pick(rand, [1, {}, 'x'.repeat(3000)]), self_mute: 'no' } },
    { op: 43, d: { guild_id: g, fields: pick(rand, [['status', 'status', 'status'], ['x'], 'status']) } },
    { op: 43, d: { guild_id: g, fields: ['status', 'voice_start_time'] } },
  ];
}

const utf8 = new TextEncoder();

function encode(value: unknown, encoding: string, rand: Random): Uint8Array {
  return encoding === 'etf'
    ? encodeEtf(value, { atomKeys: rand() < 0.2 })
    : utf8.encode(JSON.stringify(value));
}

/** Replaces, adds or drops one field somewhere in `value` (a copy), or changes the op. */
function mutateFields(rand: Random, payload: { op: number; d: unknown }): unknown {
  const copy = structuredClone(payload) as Record<string, unknown>;
  const r = rand();
  if (r < 0.15) {
    copy.op = pick(rand, [0, 5, 7, 9, 10, 11, 44, -1, 1.5, 2 ** 31, '1', null]);
    return copy;
  }
  if (r < 0.25) return { op: copy.op, d: randomJsonValue(rand) };
  const d = copy.d;
  if (!isPlainObject(d)) return { ...copy, d: randomJsonValue(rand) };
  const keys = Object.keys(d);
  const key = rand() < 0.8 && keys.length > 0 ? pick(rand, keys) : randomString(rand, 10);
  if (rand() < 0.2) delete d[key];
  else d[key] = randomJsonValue(rand);
  return copy;
}

function frameFor(rand: Random, w: World, encoding: string): RecordedChunk {
  const text = encoding === 'json' ? rand() < 0.8 : rand() < 0.05;
  const base = pick(rand, templates(w, rand));
  const r = rand();
  if (r < 0.25) return { bytes: encode(base, encoding, rand), text };
  if (r < 0.5) return { bytes: encode(mutateFields(rand, base), encoding, rand), text };
  if (r < 0.8) {
    const donor = encode(pick(rand, templates(w, rand)), encoding, rand);
    return { bytes: mutateRounds(rand, encode(base, encoding, rand), donor), text };
  }
  if (r < 0.88) return { bytes: randomBytes(rand, randomInt(rand, 0, 200)), text };
  if (r < 0.91) {
    // The other encoding's bytes.
    return { bytes: encode(base, encoding === 'etf' ? 'json' : 'etf', rand), text: encoding === 'etf' };
  }
  if (r < 0.94) return { bytes: Uint8Array.from([0x7b, 0xff, 0xfe, 0xc3, 0x28, 0x7d]), text: true };
  if (r < 0.998) {
    const pad = 'x'.repeat(randomInt(rand, MAX_PAYLOAD_BYTES - 64, 2 * MAX_PAYLOAD_BYTES));
    return { bytes: encode({ op: 1, d: null, pad }, encoding, rand), text };
  }
  return { bytes: new Uint8Array((1 << 20) + randomInt(rand, 1, 100)).fill(0x20), text };
}

const REST_MAX_BODY_BYTES = 64 * 1024;
const QUERY_VALUES: Record<string, readonly string[]> = {
  v: ['10', '9', '8', '', '010', '10.0', '1e1', '-10', '999999999999', '%00', '10&v=9'],
  encoding: ['json', 'etf', 'JSON', '', 'xml', 'json%00', 'etf,json'],
  compress: ['zlib-stream', 'zstd-stream', 'none', '', 'true', 'zlib', 'ZLIB-STREAM', 'zstd-stream%20'],
};

/** A query string with each of v / encoding / compress absent, repeated, or a plausible-to-odd value. */
function randomQuery(rand: Random): string {
  const parts: string[] = [];
  for (const [key, values] of Object.entries(QUERY_VALUES)) {
    const n = pick(rand, [0, 1, 1, 1, 2]);
    for (let i = 0; i < n; i++)
      parts.push(`${key}=${rand() < 0.9 ? pick(rand, values) : randomString(rand, 6)}`);
  }
  if (rand() < 0.2) parts.push(`${randomString(rand, 5)}=${randomString(rand, 5)}`);
  return parts.map((p) => p.replace(/[^A-Za-z0-9=%&._,-]/g, '_')).join('&');
}

/** The first value of each parameter decides (URLSearchParams.get), as for any query parser. */
export function expectedQueryOutcome(query: string): Outcome {
  const q = new URLSearchParams(query);
  const v = q.get('v');
  if (v !== '10' && v !== '9') return 4012;
  if (!['json', 'etf'].includes(q.get('encoding') ?? 'json')) return 4002;
  if (!['none', 'zlib-stream', 'zstd-stream'].includes(q.get('compress') ?? 'none')) return 4002;
  return 'ack';
}

/** A hostile control-route body: deep, huge, wrong-typed, mutated; never one that would act on a session. */
function restCase(rand: Random): GeneratedCase {
  const utf8b = (text: string) => new TextEncoder().encode(text);
  const r = rand();
  let body: Uint8Array;
  const path = rand() < 0.75 ? '/_simulator/events' : '/_simulator/faults';
  const safe = { sessionId: 'f'.repeat(32) }; // routes to no session: events are built, encoded, not sent
  if (r < 0.15) {
    const n = pick(rand, [100, 255, 257, 300, 1100, 20_000]);
    body = utf8b(`{"t":"FUZZ","sessionId":"${safe.sessionId}","d":${'['.repeat(n)}${']'.repeat(n)}}`);
  } else if (r < 0.25) {
    body = utf8b(
      `{"t":"FUZZ","sessionId":"${safe.sessionId}","d":"${'x'.repeat(randomInt(rand, 60_000, 70_000))}"}`,
    );
  } else if (r < 0.4) {
    const v = pick(rand, [
      '1e999',
      '-1e999',
      '{"__proto__":{"x":1}}',
      '{"constructor":{"prototype":1}}',
      '"\ud800"',
    ]);
    body = utf8b(`{"t":"FUZZ","sessionId":"${safe.sessionId}","d":{"a":${v}}}`);
  } else if (r < 0.6) {
    const fields = {
      t: pick(rand, ['FUZZ', 'fuzz', '', 5, null, 'A'.repeat(65)]),
      d: randomJsonValue(rand),
      ...safe,
      shardId: pick(rand, [undefined, '0', -1, 1.5, 2 ** 40]),
      intent: pick(rand, [undefined, 'all', -1, 2 ** 53]),
      guildId: pick(rand, [undefined, 5, '', 'x', '1'.repeat(21)]),
      count: pick(rand, [undefined, undefined, undefined, -1, 1.5, '3']),
    };
    body = utf8b(JSON.stringify(fields));
  } else {
    const base = utf8b(JSON.stringify({ t: 'FUZZ', d: randomJsonValue(rand), ...safe }));
    body = mutateRounds(rand, base);
  }
  if (path === '/_simulator/faults')
    body = utf8b(JSON.stringify({ kind: 'bogus', d: randomJsonValue(rand) }));
  // Byte mutation must not turn the body into a request that acts on live sessions.
  let parsed: unknown;
  try {
    parsed = JSON.parse(new TextDecoder().decode(body));
  } catch {
    parsed = undefined;
  }
  if (
    path === '/_simulator/events' &&
    typeof parsed === 'object' &&
    parsed !== null &&
    !Array.isArray(parsed) &&
    ((parsed as Record<string, unknown>).sessionId !== safe.sessionId ||
      (Number.isInteger((parsed as Record<string, unknown>).count) &&
        ((parsed as Record<string, number>).count ?? -1) >= 0))
  ) {
    body = utf8b('{"t":');
  }
  return { settings: { rest: path }, chunks: [{ bytes: body, text: true }] };
}

/** Counts the simulator's stats must match at the end. */
interface Ledger {
  connections: number;
  payloads: number;
  heartbeats: number;
  serverCloses: Record<string, number>;
}

export async function simulatorRunner(): Promise<FuzzRunner> {
  const sim = await startSimulator({
    seed: 5,
    guilds: 3,
    membersPerGuild: 8,
    heartbeatIntervalMs: 600_000,
    identifyWindowMs: 0,
    sessionStartTotal: 1_000_000_000,
    sessionTimeoutMs: 2000,
  });
  const world: World = {
    token: sim.tokens[0]!,
    guildIds: sim.world.guilds.map((g) => g.id),
    memberIds: sim.world.guilds.flatMap((g) => g.members.map((m) => m.user.id)),
    channelIds: sim.world.guilds.flatMap((g) => g.channels.map((c) => c.id)),
  };
  const ledger: Ledger = { connections: 1, payloads: 1, heartbeats: 0, serverCloses: {} };
  const control = await RawClient.connect(sim.gatewayUrl);
  await control.nextOp(10);
  control.identify(world.token);
  await control.nextOp(0, 'READY');

  const finding = (message: string) => new FuzzFinding('simulator', message);
  const open = async (encoding: string, compress: string): Promise<RawClient> => {
    const client = await RawClient.connect(sim.gatewayUrl, { encoding, compress });
    ledger.connections++;
    await client.nextOp(10, undefined, ANSWER_TIMEOUT_MS);
    return client;
  };

  /** A WebSocket with a random query string: HELLO when it is valid, else 4012 (version) or 4002. */
  const runQueryCase = async (query: string, stats: TargetStats): Promise<void> => {
    const expected = expectedQueryOutcome(query);
    stats.inputs++;
    const ws = new WebSocket(`${sim.gatewayUrl}/?${query}`);
    const outcome = await new Promise<Outcome | 'timeout'>((resolve) => {
      const timer = setTimeout(() => resolve('timeout'), ANSWER_TIMEOUT_MS);
      ws.on('error', () => {});
      ws.on('message', () => {
        clearTimeout(timer);
        resolve('ack');
      });
      ws.on('close', (code) => {
        clearTimeout(timer);
        resolve(code);
      });
    });
    if (outcome !== expected) {
      throw finding(`query ${JSON.stringify(query)}: expected ${expected}, got ${String(outcome)}`);
    }
    if (outcome === 'ack') {
      // Only a connection that got past the query checks is a simulator connection (and counted).
      ledger.connections++;
      stats.ok++;
      ws.close(1000);
    } else {
      count(stats.errors, `query ${outcome}`);
      count(ledger.serverCloses, String(outcome));
    }
    await new Promise<void>((resolve) => {
      if (ws.readyState === WebSocket.CLOSED) resolve();
      else ws.once('close', () => resolve());
    });
  };

  /** A control request with a hostile body: 200, 400 or 413, never 500 nor a dropped connection. */
  const runRestCase = async (path: string, body: Uint8Array, stats: TargetStats): Promise<void> => {
    stats.inputs++;
    let status: number;
    try {
      const res = await fetch(`${sim.httpUrl}${path}`, { method: 'POST', body });
      status = res.status;
      const text = await res.text();
      JSON.parse(text);
    } catch (err) {
      throw finding(`POST ${path} (${body.length} bytes): no JSON answer: ${String(err)}`);
    }
    const allowed = body.length > REST_MAX_BODY_BYTES ? [413] : [200, 400];
    if (!allowed.includes(status))
      throw finding(`POST ${path} (${body.length} bytes): expected ${allowed.join(' or ')}, got ${status}`);
    if (status === 200) stats.ok++;
    else count(stats.errors, `http ${status}`);
  };

  return {
    generate(rand): GeneratedCase {
      const kind = rand();
      if (kind < 0.08) return { settings: { query: randomQuery(rand) }, chunks: [] };
      if (kind < 0.16) return restCase(rand);
      const encoding = rand() < 0.5 ? 'json' : 'etf';
      const compress = rand() < 0.8 ? 'none' : pick(rand, ['zlib-stream', 'zstd-stream']);
      const r = rand();
      // Mid-session: identified (45 %), or resumed on a second connection after a drop (15 %).
      const identify = r < 0.6;
      const resume = r < 0.15;
      const n = randomInt(rand, 1, FRAMES_PER_CONNECTION);
      const chunks = Array.from({ length: n }, () => frameFor(rand, world, encoding));
      return { settings: { encoding, compress, identify, resume }, chunks };
    },

    async run(record: CaseRecord, stats: TargetStats, note) {
      note(record);
      if (typeof record.settings.query === 'string') {
        await runQueryCase(record.settings.query, stats);
        return;
      }
      if (typeof record.settings.rest === 'string') {
        await runRestCase(record.settings.rest, record.chunks[0]!.bytes, stats);
        return;
      }
      const { encoding, compress, identify, resume } = record.settings as {
        encoding: string;
        compress: string;
        identify: boolean;
        resume?: boolean;
      };
      let client: RawClient;
      try {
        client = await open(encoding, compress);
        if (identify) {
          client.identify(world.token);
          ledger.payloads++;
          const ready = await client.nextOp(0, 'READY', ANSWER_TIMEOUT_MS);
          count(stats.extra, 'identified connections');
          if (resume === true) {
            // Drop the connection (the session stays resumable) and resume it on a new one.
            const sessionId = (ready.d as { session_id: string }).session_id;
            const seq = client.lastSeq;
            await client.terminate();
            await answered(
              () => !sim.stats().sessions.some((x) => x.sessionId === sessionId && x.connected),
              'drop',
            );
            client = await open(encoding, compress);
            client.resume(world.token, sessionId, seq);
            ledger.payloads++;
            await client.nextOp(0, 'RESUMED', ANSWER_TIMEOUT_MS);
            count(stats.extra, 'resumed connections');
          }
        }
      } catch (err) {
        throw finding(`connection setup failed: ${String(err)}`);
      }
      const closedWith = client.closed.then((c) => c.code);
      for (let i = 0; i < record.chunks.length; i++) {
        const frame = record.chunks[i]!;
        note({ ...record, chunks: record.chunks.slice(0, i + 1) });
        const identified = client.received.some((p) => p.op === 0 && (p.t === 'READY' || p.t === 'RESUMED'));
        const expected = expectedOutcome(frame, encoding, identified);
        stats.inputs++;
        client.ws.send(frame.bytes, { binary: frame.text !== true });
        client.send({ op: 1, d: null });
        // Wait for an ACK even when a close is expected: an ACK instead is a finding, not a timeout.
        const outcome = await answer(client, Math.max(1, expected.acks), closedWith);
        if (outcome === 'timeout')
          throw finding(`frame ${i} (${expected.why}): no ACK and no close within ${ANSWER_TIMEOUT_MS} ms`);
        if (!expected.allowed.includes(outcome)) {
          throw finding(
            `frame ${i} (${expected.why}): expected ${expected.allowed.join(' or ')}, got ${outcome === 'ack' ? 'ACK' : `close ${outcome}`}`,
          );
        }
        if (outcome === 'ack') {
          stats.ok++;
          ledger.payloads += 2;
          ledger.heartbeats += expected.acks;
          continue;
        }
        count(stats.errors, String(outcome));
        if (outcome >= 4000) {
          ledger.payloads++;
          count(ledger.serverCloses, String(outcome));
        }
        break;
      }
      await client.close(1000);
    },

    async finish(stats) {
      try {
        await answered(() => sim.stats().connectionsOpen === 1, 'fuzz connections to close');
        control.send({ op: 1, d: null });
        ledger.payloads++;
        ledger.heartbeats++;
        try {
          await control.nextOp(11, undefined, ANSWER_TIMEOUT_MS);
        } catch (err) {
          throw finding(`the control connection got no heartbeat ACK at the end: ${String(err)}`);
        }
        const s = sim.stats();
        const problems: string[] = [];
        const expect = (what: string, got: number, want: number) => {
          if (got !== want) problems.push(`${what}: stats say ${got}, clients saw ${want}`);
        };
        expect('connectionsTotal', s.connectionsTotal, ledger.connections);
        expect('connectionsOpen', s.connectionsOpen, 1);
        expect('internalErrors', s.internalErrors, 0);
        expect('clientPayloads', s.clientPayloads, ledger.payloads);
        expect('heartbeats', s.heartbeats, ledger.heartbeats);
        expect('heartbeatAcks', s.heartbeatAcks, ledger.heartbeats);
        for (const [code, n] of Object.entries(ledger.serverCloses))
          expect(`serverClosesByCode[${code}]`, s.serverClosesByCode[code] ?? 0, n);
        const serverTotal = Object.values(s.serverClosesByCode).reduce((a, b) => a + b, 0);
        const ledgerTotal = Object.values(ledger.serverCloses).reduce((a, b) => a + b, 0);
        expect('server closes', serverTotal, ledgerTotal);
        const closes = Object.values(s.closesByCode).reduce((a, b) => a + b, 0);
        expect('closes', closes, ledger.connections - 1);
        expect(
          'decode + payload-size violations',
          s.violations.decode + s.violations['payload-size'],
          ledger.serverCloses['4002'] ?? 0,
        );
        count(stats.extra, 'connections', ledger.connections - 1);
        count(stats.extra, 'sessions at end', s.sessions.length);
        if (problems.length > 0) throw finding(`inconsistent stats: ${problems.join('; ')}`);
      } finally {
        await control.close(1000);
        await sim.close();
      }
    },
  };
}

/** Waits for `acks` heartbeat ACKs, or the close (its code), or gives up. */
async function answer(
  client: RawClient,
  acks: number,
  closed: Promise<number>,
): Promise<Outcome | 'timeout'> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<'timeout'>((resolve) => {
    timer = setTimeout(() => resolve('timeout'), ANSWER_TIMEOUT_MS);
  });
  const acked = (async (): Promise<Outcome> => {
    for (let i = 0; i < acks; i++) await client.nextOp(11, undefined, ANSWER_TIMEOUT_MS + 1000);
    return 'ack';
  })().catch(() => closed);
  try {
    return await Promise.race([acked, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

async function answered(ok: () => boolean, what: string): Promise<void> {
  await waitFor(ok, { what, timeoutMs: ANSWER_TIMEOUT_MS, everyMs: 10 }).catch((err: Error) => {
    throw new FuzzFinding('simulator', err.message);
  });
}
