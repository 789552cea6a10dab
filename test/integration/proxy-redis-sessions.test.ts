// Redis mode: client sessions shared by proxy replicas. A raw client identifies on replica a and RESUMEs on
// replica b while events keep flowing (exactly the missed events, in order, nothing doubled), a RESUME on
// b while a's connection is open takes the session over (a's connection closed), and a session that
// expired, was lost or is hostile in Redis gets op 9.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server, connect as tcpConnect } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { type TestContext, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import type { Redis } from 'ioredis';
import { GatewayProxy, type GatewayProxyOptions } from '../../src/proxy/index.js';
import { sessionRecordKey } from '../../src/proxy/session-record.js';
import type { Simulator } from '../../src/simulator/index.js';
import { shardOf } from '../../src/simulator/world.js';
import { killed, startNdjsonChild } from '../support/ndjson-child.js';
import { CLIENT_TOKEN, identifiedClient, proxyClient, UPSTREAM_INTENTS } from '../support/proxy-harness.js';
import type { Payload, RawClient } from '../support/raw-client.js';
import { redisFixture, waitFor } from '../support/redis.js';
import { collect, shardWorker, WORKER_SIM } from '../support/shard-worker.js';
import { simulator } from '../support/sim-helpers.js';

type Rec = Record<string, unknown>;
const SHARDS = 2;

async function replica(
  t: TestContext,
  redis: Redis,
  prefix: string,
  extra: Partial<GatewayProxyOptions> = {},
): Promise<GatewayProxy> {
  const proxy = new GatewayProxy({
    intents: UPSTREAM_INTENTS,
    clientTokens: [CLIENT_TOKEN],
    redis: { redis, prefix, snapshotIntervalMs: 0, blockMs: 100, shardCountPollMs: 500, sessionSyncMs: 100 },
    ...extra,
  });
  if (process.env.SHARDLINE_DEBUG) proxy.on('debug', (m) => process.stderr.write(`proxy: ${m}\n`));
  t.after(() => proxy.destroy());
  await proxy.start();
  return proxy;
}

async function fleet(t: TestContext, extra: Partial<GatewayProxyOptions> = {}, guildCount = 4) {
  const { redis, prefix } = await redisFixture(t);
  const sim = await simulator(t, { ...WORKER_SIM, shards: SHARDS, guilds: guildCount });
  const worker = shardWorker(t, sim, {
    redis,
    prefix,
    shardIds: [0, 1],
    shardCount: SHARDS,
    intents: UPSTREAM_INTENTS,
  });
  const ready = collect(worker, 'ready', SHARDS);
  await worker.connect();
  await ready;
  const a = await replica(t, redis, prefix, extra);
  const b = await replica(t, redis, prefix, extra);
  const guilds = (shard: number) =>
    sim.world.guilds.filter((g) => shardOf(g.id, SHARDS) === shard).map((g) => g.id);
  return { redis, prefix, sim, a, b, guild0: guilds(0)[0]!, guild1: guilds(1)[0]! };
}

/** Identifies on shard 0 and reads every GUILD_CREATE, so the client's seq is past the proxy's own events. */
async function identified(t: TestContext, proxy: GatewayProxy, sim: Simulator) {
  const c = await identifiedClient(t, proxy, [0, SHARDS], {}, { heartbeatMs: 5_000 });
  const count = sim.world.guilds.filter((g) => shardOf(g.id, SHARDS) === 0).length;
  for (let i = 0; i < count; i++) await c.client.nextOp(0, 'GUILD_CREATE');
  return c;
}

/** Emits `MESSAGE_CREATE`s `m0`, `m1`… on `guildId` every few ms (and noise on another shard) until stopped. */
function emitter(sim: Simulator, guildId: string, otherGuild: string) {
  const sent: string[] = [];
  let n = 0;
  const timer = setInterval(() => {
    for (let i = 0; i < 3; i++) {
      const content = `m${n++}`;
      sim.emitEvent('MESSAGE_CREATE', {
        id: String(10_000 + n),
        guild_id: guildId,
        channel_id: '1',
        content,
      });
      sent.push(content);
    }
    sim.emitEvent('MESSAGE_CREATE', {
      id: String(90_000 + n),
      guild_id: otherGuild,
      channel_id: '1',
      content: 'x',
    });
  }, 5);
  return {
    sent,
    stop: () => clearInterval(timer),
  };
}

const contents = (payloads: readonly Payload[]) =>
  payloads.filter((p) => p.t === 'MESSAGE_CREATE').map((p) => (p.d as Rec).content as string);

const messagesUpTo = (client: RawClient, s: number) => client.received.filter((p) => p.op === 0 && p.s! <= s);

function assertDense(payloads: readonly Payload[], from: number): void {
  const seqs = payloads.filter((p) => p.op === 0).map((p) => p.s);
  assert.deepEqual(
    seqs,
    seqs.map((_, i) => from + i),
    'sequence numbers continue without a gap or a repeat',
  );
}

test('a session identified on replica a RESUMEs on replica b while events flow: exactly the missed events, then a takeover back closes b', async (t) => {
  const { redis, prefix, sim, a, b, guild0, guild1 } = await fleet(t);
  const first = await identified(t, a, sim);
  // a member request answered by a: the chunk is an event no stream holds; the record says so (opaque)
  // until the anchor has moved past it
  first.client.send({ op: 8, d: { guild_id: guild0, query: '', limit: 0, nonce: 'n1' } });
  assert.equal(((await first.client.nextOp(0, 'GUILD_MEMBERS_CHUNK')).d as Rec).nonce, 'n1');
  const key = sessionRecordKey(prefix, first.sessionId);
  await waitFor(
    async () => {
      const [chain, rec] = await redis.hmget(key, 'chain', 'rec');
      const r = JSON.parse(rec ?? '{}') as { opaque?: boolean; seq?: number };
      return Number(chain) >= 2 && r.opaque === false && r.seq === first.client.lastSeq;
    },
    { what: 'the record anchored after the chunk' },
  );
  const flow = emitter(sim, guild0, guild1);
  t.after(flow.stop);
  await waitFor(() => contents(first.client.received).length >= 30, { what: '30 live events on a' });
  await first.client.terminate(); // the bot dies: no close frame, the session stays resumable
  const lastSeq = first.client.lastSeq!;
  const before = messagesUpTo(first.client, lastSeq);
  await waitFor(() => flow.sent.length >= contents(before).length + 60, { what: 'events missed while away' });

  const { client: second } = await proxyClient(t, b, { heartbeatMs: 5_000 });
  second.resume(CLIENT_TOKEN, first.sessionId, lastSeq);
  await second.nextOp(0, 'RESUMED');
  assert.equal(b.status().sessions, 1, 'the session lives on b now');
  await waitFor(() => a.status().sessions === 0, { what: 'a forgot the session b took over' });
  const replayed = contents(second.received).length;
  assert.ok(replayed >= 60, `the missed events replayed (${replayed})`);
  await waitFor(() => contents(second.received).length >= replayed + 30, {
    what: 'live events on b after RESUMED',
  });

  // Takeover: the session resumed on a again while b's connection is still open → b's connection closed.
  const bSeq = second.lastSeq!;
  const { client: third } = await proxyClient(t, a, { heartbeatMs: 5_000 });
  third.resume(CLIENT_TOKEN, first.sessionId, bSeq);
  const closed = await second.closed;
  assert.equal(closed.code, 4009, `b's connection is closed when a takes the session over: ${closed.reason}`);
  await third.nextOp(0, 'RESUMED');
  // Six more hops while the events flow, alternating replicas, every other one a takeover of a connection
  // that is still open, the others after the client vanished (no close frame).
  const segments: Payload[][] = [before, second.received.filter((p) => p.op === 0 && p.s! <= bSeq)];
  let current = third;
  let from = bSeq;
  const froms = [lastSeq, bSeq];
  for (let hop = 0; hop < 6; hop++) {
    const seen = contents(current.received).length;
    await waitFor(() => contents(current.received).length >= seen + 10, {
      what: `live events after hop ${hop}`,
    });
    const open = hop % 2 === 0;
    if (!open) await current.terminate();
    const seq = current.lastSeq!;
    const { client: next } = await proxyClient(t, hop % 2 === 0 ? b : a, { heartbeatMs: 5_000 });
    next.resume(CLIENT_TOKEN, first.sessionId, seq);
    if (open) assert.equal((await current.closed).code, 4009, `hop ${hop}: the old connection closed`);
    segments.push(current.received.filter((p) => p.op === 0 && p.s! > from && p.s! <= seq));
    froms.push(seq);
    from = seq;
    current = next;
    await current.nextOp(0, 'RESUMED');
  }
  flow.stop();
  const last = flow.sent.at(-1)!;
  await waitFor(() => contents(current.received).includes(last), { what: `the last event (${last})` });
  segments.push(current.received.filter((p) => p.op === 0));

  const got = segments.flatMap((seg) => contents(seg));
  assert.deepEqual(got, flow.sent, 'everything received equals what was emitted, in order, once each');
  assertDense(segments[0]!, 1);
  for (let i = 1; i < segments.length; i++) assertDense(segments[i]!, froms[i - 1]! + 1);
  assert.ok(!got.includes('x'), 'no event of another shard');
});

test('op 9 on another replica: a session that expired, was lost from Redis, or is hostile in Redis; never wrong events', async (t) => {
  const { redis, prefix, sim, a, b } = await fleet(t, { replayMs: 1_500 });
  const resumeOnB = async (sessionId: string, seq: number) => {
    const { client } = await proxyClient(t, b);
    client.resume(CLIENT_TOKEN, sessionId, seq);
    const op9 = await client.nextOp(9);
    assert.equal(op9.d, false);
    assert.equal(client.received.filter((p) => p.op === 0).length, 0, 'no event before op 9');
    await client.terminate();
  };

  // expired: nobody resumed within replayMs, so a ends it and its record goes
  const gone = await identified(t, a, sim);
  await gone.client.terminate();
  await waitFor(async () => (await redis.exists(sessionRecordKey(prefix, gone.sessionId))) === 0, {
    what: 'the record of the expired session deleted',
  });
  await resumeOnB(gone.sessionId, gone.client.lastSeq!);

  // lost (Redis restarted empty): the live connection on a carries on, RESUME anywhere is op 9
  const lost = await identified(t, a, sim);
  await redis.del(sessionRecordKey(prefix, lost.sessionId));
  await resumeOnB(lost.sessionId, lost.client.lastSeq!);

  // hostile or oversized records (of a session id nobody holds): refused with a reason, op 9, nothing sent
  const fake = 'ab'.repeat(16);
  const key = sessionRecordKey(prefix, fake);
  const pos = (await redis.xrange(`${prefix}events:0`, '-', '+', 'COUNT', 1))[0]![0];
  const good = { v: 1, shard: [0, SHARDS], intents: 1, seq: 1, pos, opaque: false };
  for (const fields of [
    { epoch: '1', chain: '0', owner: 'f'.repeat(16), rec: JSON.stringify({ ...good, seq: -5 }) },
    { epoch: '1', chain: '0', owner: 'f'.repeat(16), rec: JSON.stringify({ ...good, shard: [5, SHARDS] }) },
    { epoch: '1', chain: '0', owner: 'f'.repeat(16), rec: JSON.stringify({ ...good, pos: '../x' }) },
    { epoch: 'one', chain: '0', owner: 'f'.repeat(16), rec: JSON.stringify(good) },
    { epoch: '1', chain: '0', owner: 'f'.repeat(16), rec: 'x'.repeat(10_000) },
    { epoch: '1', chain: '0', owner: 'f'.repeat(16), rec: JSON.stringify({ ...good, opaque: true }) },
  ]) {
    await redis.del(key);
    await redis.hset(key, fields);
    await resumeOnB(fake, 1);
  }
  await redis.del(key);
  await redis.set(key, 'not a hash');
  await resumeOnB(fake, 1);
  await resumeOnB('0'.repeat(32), 1);
  await resumeOnB('not-a-session-id', 1);
  // the stored anchor is ahead of the client (it missed a proxy-made event): op 9, not a wrong replay
  const behind = await identified(t, a, sim);
  await behind.client.terminate();
  await resumeOnB(behind.sessionId, 1);
});

/** One address in front of the replicas (a TCP forwarder whose target can be switched, like a balancer). */
async function balancer(t: TestContext): Promise<{ port: number; target: { port: number } }> {
  const target = { port: 0 };
  const sockets = new Set<import('node:net').Socket>();
  const server: Server = createServer((inbound) => {
    const outbound = tcpConnect(target.port, '127.0.0.1');
    for (const s of [inbound, outbound]) {
      sockets.add(s);
      s.on('error', () => {
        inbound.destroy();
        outbound.destroy();
      });
      s.on('close', () => {
        sockets.delete(s);
        inbound.destroy();
        outbound.destroy();
      });
    }
    inbound.pipe(outbound);
    outbound.pipe(inbound);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  t.after(() => {
    for (const s of sockets) s.destroy();
    server.close();
  });
  return { port: (server.address() as import('node:net').AddressInfo).port, target };
}

interface DjsLine {
  kind: string;
  shardId: number;
  t?: string;
  s?: number;
  content?: string;
}

const DJS_CHILD = join(dirname(fileURLToPath(import.meta.url)), '..', 'support', 'proxy-djs-child.js');

test('an unmodified @discordjs/ws bot behind one address: SIGKILLed on replica a, restarted, it resumes on replica b and misses nothing', async (t) => {
  const lb = await balancer(t);
  const publicUrl = `ws://127.0.0.1:${lb.port}`;
  const { sim, a, b } = await fleet(t, { publicUrl }, 6);
  lb.target.port = Number(new URL(a.httpUrl).port);
  const dir = mkdtempSync(join(tmpdir(), 'proxy-redis-djs-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const env = {
    PROXY_REST: `http://127.0.0.1:${lb.port}/api`,
    PROXY_TOKEN: CLIENT_TOKEN,
    SESSION_FILE: join(dir, 'sessions.json'),
    COMPRESSION: 'zlib-stream',
  };
  const guildOf = [0, 1].map((s) => sim.world.guilds.find((g) => shardOf(g.id, SHARDS) === s)!.id);
  const emitted: string[][] = [[], []];
  let n = 0;
  const emit = (count: number) => {
    for (let i = 0; i < count; i++)
      for (const shard of [0, 1]) {
        const content = `e${n++}`;
        sim.emitEvent('MESSAGE_CREATE', {
          id: `${9000 + n}`,
          guild_id: guildOf[shard]!,
          channel_id: '1',
          content,
        });
        emitted[shard]!.push(content);
      }
  };
  const messages = (lines: DjsLine[], shard: number) =>
    lines
      .filter((l) => l.kind === 'dispatch' && l.t === 'MESSAGE_CREATE' && l.shardId === shard)
      .map((l) => l.content!);

  const first = startNdjsonChild<DjsLine>(DJS_CHILD, env);
  t.after(() => killed(first.child));
  await waitFor(() => first.lines.some((l) => l.kind === 'connected'), {
    what: `first run connected (${first.stderr()})`,
    timeoutMs: 20_000,
  });
  emit(5);
  await waitFor(() => [0, 1].every((s) => messages(first.lines, s).length === emitted[s]!.length), {
    what: 'live events, first run',
    timeoutMs: 10_000,
  });
  assert.equal(a.status().sessions, 2);
  await killed(first.child);
  emit(5); // while the bot is down
  lb.target.port = Number(new URL(b.httpUrl).port); // the balancer sends the restarted bot to b
  const second = startNdjsonChild<DjsLine>(DJS_CHILD, env);
  t.after(() => killed(second.child));
  await waitFor(
    () => [0, 1].every((s) => second.lines.some((l) => l.kind === 'resumed' && l.shardId === s)),
    {
      what: `resumed on b (${second.stderr()})`,
      timeoutMs: 20_000,
    },
  );
  assert.equal(second.lines.filter((l) => l.kind === 'ready').length, 0, 'no new session: it resumed');
  assert.equal(b.status().sessions, 2, 'both sessions now live on b');
  emit(5);
  await waitFor(
    () =>
      [0, 1].every(
        (s) => messages(first.lines, s).length + messages(second.lines, s).length >= emitted[s]!.length,
      ),
    { what: 'live events, second run', timeoutMs: 10_000 },
  );
  await waitFor(() => a.status().sessions === 0, { what: 'a forgot the sessions b took over' });
  for (const shard of [0, 1]) {
    assert.deepEqual(
      [...messages(first.lines, shard), ...messages(second.lines, shard)],
      emitted[shard],
      `shard ${shard}: nothing missing or doubled`,
    );
    const seqs = [...first.lines, ...second.lines]
      .filter((l) => l.kind === 'dispatch' && l.shardId === shard)
      .map((l) => l.s!);
    assert.deepEqual(
      seqs,
      seqs.map((_, i) => seqs[0]! + i),
      `shard ${shard}: sequence numbers continue`,
    );
  }
});
