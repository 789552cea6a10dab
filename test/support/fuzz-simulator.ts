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

  return {
    generate(rand): GeneratedCase {
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
            await waitFor(
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
        await waitFor(() => sim.stats().connectionsOpen === 1, 'fuzz connections to close');
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

async function waitFor(ok: () => boolean, what: string): Promise<void> {
  const stop = Date.now() + ANSWER_TIMEOUT_MS;
  while (!ok()) {
    if (Date.now() > stop) throw new FuzzFinding('simulator', `timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}
