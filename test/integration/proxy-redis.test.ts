import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { dirname, join, resolve } from 'node:path';
import { type TestContext, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import type { Redis } from 'ioredis';
import { GatewayProxy, type GatewayProxyOptions } from '../../src/proxy/index.js';
import { proxySnapshotKey } from '../../src/redis/event-cursor.js';
import { eventStreamKey } from '../../src/redis/streams.js';
import type { Simulator } from '../../src/simulator/index.js';
import { shardOf } from '../../src/simulator/world.js';
import { logMessages } from '../support/log-lines.js';
import { CLIENT_TOKEN, identifiedClient, proxyClient, UPSTREAM_INTENTS } from '../support/proxy-harness.js';
import { RawClient } from '../support/raw-client.js';
import { REDIS_URL, redisFixture, waitFor } from '../support/redis.js';
import { collect, shardWorker, WORKER_SIM } from '../support/shard-worker.js';
import { simulator } from '../support/sim-helpers.js';

type Rec = Record<string, unknown>;
const SHARDS = 2;

/** A proxy on the worker fleet's streams; destroyed after the test. */
async function redisProxy(
  t: TestContext,
  redis: Redis,
  prefix: string,
  extra: Partial<GatewayProxyOptions> = {},
): Promise<GatewayProxy> {
  const proxy = new GatewayProxy({
    intents: UPSTREAM_INTENTS,
    clientTokens: [CLIENT_TOKEN],
    redis: { redis, prefix, snapshotIntervalMs: 100, blockMs: 100, shardCountPollMs: 500 },
    ...extra,
  });
  if (process.env.SHARDLINE_DEBUG) proxy.on('debug', (m) => process.stderr.write(`proxy: ${m}\n`));
  t.after(() => proxy.destroy());
  await proxy.start();
  return proxy;
}

function guildsOf(sim: Simulator, shard: number): string[] {
  return sim.world.guilds
    .filter((g) => shardOf(g.id, SHARDS) === shard)
    .map((g) => g.id)
    .sort();
}

/** Identifies on `shard` and collects READY's guild ids and every GUILD_CREATE of them. */
async function identifyAll(t: TestContext, proxy: GatewayProxy, sim: Simulator, shard: number) {
  const { client, ready, sessionId } = await identifiedClient(t, proxy, [shard, SHARDS]);
  const expected = guildsOf(sim, shard);
  const readyGuilds = ((ready.d as Rec).guilds as { id: string }[]).map((g) => g.id).sort();
  assert.deepEqual(readyGuilds, expected, `READY on shard ${shard} lists the shard's guilds`);
  const creates = new Map<string, Rec>();
  while (creates.size < expected.length) {
    const p = await client.nextOp(0, 'GUILD_CREATE');
    const d = p.d as Rec;
    creates.set(d.id as string, d);
  }
  assert.deepEqual([...creates.keys()].sort(), expected);
  assert.equal(
    (ready.d as Rec & { user: { id: string } }).user.id,
    sim.world.bot.id,
    'the bot user of the upstream READY',
  );
  return { client, ready, sessionId, creates };
}

function messageTo(client: RawClient, content: string) {
  return client.next((p) => p.t === 'MESSAGE_CREATE' && (p.d as Rec).content === content);
}

test('two proxy replicas on a worker fleet: READY with guilds, live events, commands, a restart from the snapshot', async (t) => {
  const { redis, prefix } = await redisFixture(t);
  const sim = await simulator(t, { ...WORKER_SIM, shards: SHARDS, guilds: 6 });
  const worker = shardWorker(t, sim, {
    redis,
    prefix,
    shardIds: [0, 1],
    shardCount: SHARDS,
    intents: UPSTREAM_INTENTS,
    ownerId: 'w',
  });
  const ready = collect(worker, 'ready', SHARDS);
  await worker.connect();
  assert.deepEqual(await ready, [0, 1], worker.lines.join('\n'));

  const a = await redisProxy(t, redis, prefix);
  // b stores no periodic snapshot (the replicas share one key; the newest wins), so a's restart below
  // starts from a's own snapshot and must read the events after it from the stream
  const b = await redisProxy(t, redis, prefix, {
    redis: { redis, prefix, snapshotIntervalMs: 0, blockMs: 100, shardCountPollMs: 500 },
  });
  assert.equal(a.manager, undefined, 'the proxy runs no shards');
  assert.equal(a.status().shardCount, SHARDS, 'shard count from Redis');
  const body = (await (await fetch(`${b.restUrl}/v10/gateway/bot`)).json()) as { shards: number };
  assert.equal(body.shards, SHARDS);

  const clients: Awaited<ReturnType<typeof identifyAll>>[] = [];
  for (const proxy of [a, b])
    for (let shard = 0; shard < SHARDS; shard++) clients.push(await identifyAll(t, proxy, sim, shard));

  // Live events reach every client of their shard on both replicas.
  const guild0 = guildsOf(sim, 0)[0]!;
  const guild1 = guildsOf(sim, 1)[0]!;
  const waits = [0, 2].map((i) => messageTo(clients[i]!.client, 'hello 0'));
  waits.push(...[1, 3].map((i) => messageTo(clients[i]!.client, 'hello 1')));
  sim.emitEvent('MESSAGE_CREATE', { id: '901', guild_id: guild0, channel_id: '1', content: 'hello 0' });
  sim.emitEvent('MESSAGE_CREATE', { id: '902', guild_id: guild1, channel_id: '1', content: 'hello 1' });
  await Promise.all(waits);

  // A command from a client on replica b reaches the shard's owner: the simulator answers op 4 with a
  // VOICE_STATE_UPDATE, which comes back through the stream to both replicas.
  const voice = clients[3]!.client.next((p) => p.t === 'VOICE_STATE_UPDATE');
  const voiceOnA = clients[1]!.client.next((p) => p.t === 'VOICE_STATE_UPDATE');
  clients[3]!.client.send({
    op: 4,
    d: { guild_id: guild1, channel_id: null, self_mute: false, self_deaf: false },
  });
  assert.equal(((await voice).d as Rec).guild_id, guild1);
  await voiceOnA;

  // Restart replica a: it stores its snapshot on stop; events published while it is down are read after it.
  await waitFor(() => (a.redisStats()?.snapshotsWritten ?? 0) > 0, { what: 'a snapshot stored' });
  const before = clients[0]!;
  await a.destroy();
  await before.client.closed;
  sim.emitEvent(
    'GUILD_UPDATE',
    { ...(before.creates.get(guild0) as Rec), name: 'renamed while the proxy was down' },
    {
      guildId: guild0,
    },
  );
  const seen = clients[2]!.client.next((p) => p.t === 'GUILD_UPDATE');
  await seen;
  // entries that are not events (hostile or foreign) are skipped, and the position moves past them
  await redis.xadd(eventStreamKey(prefix, 0), '*', 'e', 'not an event');
  await redis.xadd(eventStreamKey(prefix, 0), '*', 'e', `0 99999 s GUILD_UPDATE\n{not json`);
  await redis.xadd(eventStreamKey(prefix, 0), '*', 'x', 'y');
  const streamLength = await redis.xlen(eventStreamKey(prefix, 0));

  const a2 = await redisProxy(t, redis, prefix);
  const stats = a2.redisStats()!;
  assert.equal(stats.rebuiltFrom, 'snapshot', JSON.stringify(stats));
  assert.equal(stats.skippedEntries, 3);
  assert.equal(stats.trimmedBeforeRead, false);
  assert.ok(
    stats.replayedEvents >= 1 && stats.replayedEvents < streamLength,
    JSON.stringify({ stats, streamLength }),
  );
  // The session of the stopped process is stored in Redis: the new process resumes it from the stream
  // (the GUILD_UPDATE it missed, then RESUMED); a seq before its GUILD_CREATEs (events the proxy made, which
  // no stream holds) gets op 9. An IDENTIFY gets everything.
  const { client: resumer } = await proxyClient(t, a2);
  resumer.resume(CLIENT_TOKEN, before.sessionId, before.client.lastSeq);
  const missed = await resumer.nextOp(0);
  assert.equal(missed.t, 'GUILD_UPDATE');
  assert.equal(missed.s, before.client.lastSeq! + 1);
  assert.equal((missed.d as Rec).name, 'renamed while the proxy was down');
  await resumer.nextOp(0, 'RESUMED');
  await resumer.terminate();
  const { client: behind } = await proxyClient(t, a2);
  behind.resume(CLIENT_TOKEN, before.sessionId, before.ready.s);
  assert.equal((await behind.nextOp(9)).d, false);
  await behind.terminate();
  const again = await identifyAll(t, a2, sim, 0);
  assert.equal(again.creates.get(guild0)?.name, 'renamed while the proxy was down');
  const live = messageTo(again.client, 'after restart');
  sim.emitEvent('MESSAGE_CREATE', { id: '903', guild_id: guild0, channel_id: '1', content: 'after restart' });
  await live;

  // A stored snapshot that is not ours (hostile or corrupt): the whole stream is replayed instead.
  await a2.destroy();
  await redis.set(
    proxySnapshotKey(prefix),
    '{"version":1,"positions":["9-9"],"shardCount":2,"ready":[7],"cache":{}}',
  );
  const c = await redisProxy(t, redis, prefix);
  assert.equal(c.redisStats()?.rebuiltFrom, 'stream');
  assert.match(c.redisStats()?.snapshotRejected ?? '', /ready/);
  const full = await identifyAll(t, c, sim, 0);
  assert.equal(full.creates.get(guild0)?.name, 'renamed while the proxy was down');
  await c.destroy(); // a live replica would store its own snapshot over the one planted next
  await redis.set(proxySnapshotKey(prefix), 'x'.repeat(2_000));
  const d = await redisProxy(t, redis, prefix, {});
  assert.equal(d.redisStats()?.rebuiltFrom, 'stream');
  assert.equal(d.redisStats()?.trimmedBeforeRead, false, 'nothing trimmed yet');
  // A stream trimmed before the proxy read it (no snapshot, READYs gone): said, not hidden.
  await d.destroy();
  await redis.xtrim(eventStreamKey(prefix, 0), 'MAXLEN', 3);
  await redis.del(proxySnapshotKey(prefix));
  const e = await redisProxy(t, redis, prefix, {});
  assert.equal(e.redisStats()?.trimmedBeforeRead, true);
});

const MAIN = join(
  resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', '..'),
  'dist',
  'src',
  'cli',
  'main.js',
);

function cli(args: string[], env: NodeJS.ProcessEnv = {}) {
  const child = spawn(process.execPath, [MAIN, 'proxy', ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { PATH: process.env.PATH, SHARDLINE_PROXY_TOKEN: CLIENT_TOKEN, ...env },
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (c: Buffer) => {
    stdout += c.toString();
  });
  child.stderr.on('data', (c: Buffer) => {
    stderr += c.toString();
  });
  const exited = new Promise<number | null>((r) => child.on('close', (code) => r(code)));
  return { child, exited, out: () => stdout, err: () => stderr };
}

test('shardline proxy --redis serves the fleet without a bot token; own-shard flags are refused with a clear error', async (t) => {
  const { redis, prefix } = await redisFixture(t);
  const sim = await simulator(t, { ...WORKER_SIM, shards: SHARDS, guilds: 4 });
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

  const p = cli([
    '--redis',
    REDIS_URL,
    '--prefix',
    prefix,
    '--port',
    '0',
    '--intents',
    String(UPSTREAM_INTENTS),
  ]);
  t.after(() => p.child.kill('SIGKILL'));
  await waitFor(() => /upstream ready: 2 shards of the worker fleet/.test(p.out()), {
    what: `ready line: ${p.out()} ${p.err()}`,
  });
  const base = /^proxy listening on (http:\/\/127\.0\.0\.1:\d+)\n/.exec(logMessages(p.out()))?.[1];
  assert.ok(base, p.out());
  const body = (await (await fetch(`${base}/api/v10/gateway/bot`)).json()) as { url: string; shards: number };
  assert.equal(body.shards, SHARDS);
  const client = await RawClient.connect(body.url);
  t.after(() => client.terminate());
  await client.nextOp(10);
  client.identify(CLIENT_TOKEN, { shard: [1, SHARDS], intents: UPSTREAM_INTENTS });
  const readyPayload = await client.nextOp(0, 'READY');
  assert.deepEqual(
    ((readyPayload.d as Rec).guilds as { id: string }[]).map((g) => g.id).sort(),
    guildsOf(sim, 1),
  );
  p.child.kill('SIGTERM');
  assert.equal(await p.exited, 0, p.err());

  for (const [args, message] of [
    [
      ['--redis', REDIS_URL, '--api', sim.restUrl],
      /--redis serves the shards of a worker fleet.*remove --api/,
    ],
    [
      ['--redis', REDIS_URL, '--shard-count', '2', '--session-file', 'x'],
      /remove --shard-count, --session-file/,
    ],
    [['--redis', 'http://127.0.0.1:6379'], /--redis must be a redis:\/\/ or rediss:\/\/ URL/],
    [['--prefix', 'p:'], /--prefix needs --redis URL/],
  ] as const) {
    const bad = cli([...args, '--port', '0'], { DISCORD_TOKEN: 'secret-bot-token' });
    assert.equal(await bad.exited, 2, bad.err());
    assert.match(bad.err(), message);
  }
});

test('op 8 forwarded by one replica: the chunks reach only its requester, never the clients of another replica', async (t) => {
  const { redis, prefix } = await redisFixture(t);
  const sim = await simulator(t, { ...WORKER_SIM, shards: SHARDS, guilds: 8 });
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
  // without cached members every op 8 is forwarded to the worker's shard
  const a = await redisProxy(t, redis, prefix, { cache: { members: false } });
  const b = await redisProxy(t, redis, prefix, { cache: { members: false } });
  const onA = await identifiedClient(t, a, [1, SHARDS]);
  const onB = await identifiedClient(t, b, [1, SHARDS]);
  // one guild each: the simulator answers a second op 8 for a guild within 30 s with RATE_LIMITED
  const [guildId, otherGuild] = guildsOf(sim, 1);
  assert.ok(guildId && otherGuild, 'two guilds on shard 1');
  // b forwards a request first, so both replicas have a request of their own on the way
  onB.client.send({ op: 8, d: { guild_id: guildId, query: '', limit: 0, nonce: 'from-b' } });
  const chunkB = await onB.client.nextOp(0, 'GUILD_MEMBERS_CHUNK');
  assert.equal((chunkB.d as Rec).nonce, 'from-b');
  onA.client.send({ op: 8, d: { guild_id: otherGuild, query: '', limit: 0, nonce: 'from-a' } });
  const chunkA = await onA.client.nextOp(0, 'GUILD_MEMBERS_CHUNK');
  assert.equal((chunkA.d as Rec).nonce, 'from-a');
  // a live event after both answers: anything misrouted has arrived by then
  const marks = [onA, onB].map((c) => messageTo(c.client, 'mark'));
  sim.emitEvent('MESSAGE_CREATE', { id: '904', guild_id: guildId, channel_id: '1', content: 'mark' });
  await Promise.all(marks);
  const chunks = (c: RawClient) =>
    c.received.filter((p) => p.t === 'GUILD_MEMBERS_CHUNK').map((p) => (p.d as Rec).nonce);
  assert.deepEqual(chunks(onA.client), ['from-a']);
  assert.deepEqual(chunks(onB.client), ['from-b']);
});
