import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { inspect } from 'node:util';
import type { GatewayDispatchPayload, GatewaySendPayload } from 'discord-api-types/v10';
import { ShardManager } from '../../src/manager/manager.js';
import { serveMetrics } from '../../src/manager/metrics.js';
import type { ShardManagerOptions } from '../../src/manager/options.js';
import { shardForGuild } from '../../src/manager/routing.js';
import { FileSessionStore } from '../../src/manager/session-store.js';
import { startupBoundMs } from '../../src/shard/identify-queue.js';
import { type Simulator, type SimulatorOptions, startSimulator } from '../../src/simulator/index.js';
import { parsePrometheus, sampleValue } from '../support/prometheus.js';
import { waitFor } from '../support/wait.js';

// GUILDS | GUILD_MEMBERS | GUILD_PRESENCES | GUILD_MESSAGES | DIRECT_MESSAGES
const INTENTS = 1 | 2 | 256 | 512 | 4096;
const WINDOW_MS = 150;
// Generous: the simulator timestamps an identify when its (shared, loaded) event loop gets to it.
const MARGIN_MS = 250;
const WAIT_MS = 30_000;

/** An op 3 presence update (status strings instead of discord-api-types' enum). */
function presence(status: string): GatewaySendPayload {
  return { op: 3, d: { since: null, activities: [], status, afk: false } } as unknown as GatewaySendPayload;
}

type After = { after(fn: () => Promise<void> | void): void };

interface Harness {
  readonly sim: Simulator;
  manager(options?: Partial<ShardManagerOptions>): ShardManager;
}

/** A simulator plus managers on it; cleanup destroys the managers first, then closes the simulator. */
async function harness(t: After, options: SimulatorOptions = {}): Promise<Harness> {
  const s = await startSimulator({ heartbeatIntervalMs: 2_000, identifyWindowMs: WINDOW_MS, ...options });
  const managers: ShardManager[] = [];
  t.after(async () => {
    for (const m of managers) await m.destroy({ resumable: false });
    await s.close();
  });
  return {
    sim: s,
    manager(extra = {}) {
      const m = new ShardManager({
        token: s.tokens[0]!,
        intents: INTENTS,
        api: s.restUrl,
        compression: 'none',
        identifyWindowMs: WINDOW_MS,
        identifyMarginMs: MARGIN_MS,
        dedupeWindowMs: 1_000,
        guildReadyTimeoutMs: 10_000,
        ...extra,
      });
      m.on('error', () => {});
      managers.push(m);
      return m;
    },
  };
}

test('16 shards with max_concurrency 4 start with no identify-concurrency violation', async (t) => {
  const h = await harness(t, { shards: 16, maxConcurrency: 4, guilds: 48 });
  const s = h.sim;
  const m = h.manager();
  const started = performance.now();
  await m.connect();
  const elapsed = performance.now() - started;
  const stats = s.stats();
  assert.equal(stats.violations['identify-concurrency'], 0);
  assert.equal(stats.identifies, 16);
  assert.equal(stats.invalidSessionsSent, 0);
  const status = m.snapshot();
  assert.equal(status.shardCount, 16);
  assert.deepEqual(
    status.shards.map((x) => [x.shardId, x.status]),
    Array.from({ length: 16 }, (_, i) => [i, 'ready']),
  );
  assert.equal(
    status.shards.reduce((n, x) => n + x.guilds, 0),
    48,
  );
  assert.equal(status.identifiesRemaining, 1000 - 16);
  const bound = startupBoundMs(16, 4, WINDOW_MS);
  // Informational only (no timed assertions): at a 150 ms window the fixed socket/READY overhead dominates;
  // bench/manager-startup.bench.ts measures the ratio at a 1 s window.
  t.diagnostic(`startup ${elapsed.toFixed(0)} ms; bound ${bound} ms; ratio ${(elapsed / bound).toFixed(3)}`);
});

test('a shardIds subset (etf, zlib-stream) runs only those shards and refuses sends to the others', async (t) => {
  const h = await harness(t, { guilds: 16, maxConcurrency: 2 });
  const s = h.sim;
  const m = h.manager({ shardCount: 4, shardIds: [3, 1], encoding: 'etf', compression: 'zlib-stream' });
  await m.connect();
  assert.deepEqual(
    m.snapshot().shards.map((x) => x.shardId),
    [1, 3],
  );
  assert.deepEqual(
    s
      .stats()
      .sessions.map((x) => [x.shardId, x.shardCount])
      .sort(),
    [
      [1, 4],
      [3, 4],
    ],
  );
  await assert.rejects(m.send(0, presence('idle')), {
    code: 'SHARD_NOT_MANAGED',
  });
  await m.send(1, presence('idle'));
});

test('refuses to start when the daily identify budget cannot cover the shards, saying when it resets', async (t) => {
  const h = await harness(t, { sessionStartTotal: 2, shards: 4 });
  const s = h.sim;
  const m = h.manager();
  await assert.rejects(m.connect(), (err: Error & { code?: string }) => {
    assert.equal(err.code, 'SESSION_LIMIT_EXHAUSTED');
    assert.match(err.message, /4 identifies needed but only 2 of 2 remain; the budget resets in \d+ s/);
    return true;
  });
  assert.equal(s.stats().identifies, 0);
});

test('a restarted process resumes every shard from the session file instead of identifying', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'shardline-manager-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const path = join(dir, 'sessions.json');
  const h = await harness(t, { shards: 4, maxConcurrency: 4, guilds: 8 });
  const s = h.sim;
  const store = new FileSessionStore({ path, flushIntervalMs: 1_000 });
  const first = h.manager({ sessionStore: store });
  let dispatches = 0;
  first.on('dispatch', () => dispatches++);
  await first.connect();
  for (let i = 0; i < 40; i++) s.emitRandomEvents(1);
  await waitFor(() => first.snapshot().shards.every((x) => (x.sequence ?? 0) > 0), {
    what: 'sequences',
    timeoutMs: WAIT_MS,
  });
  const sequences = first.snapshot().shards.map((x) => x.sequence);
  await first.destroy();
  assert.ok(store.writes < dispatches / 4, `${store.writes} file writes for ${dispatches} dispatches`);
  assert.deepEqual(
    store.entries().map((x) => x.sequence),
    sequences,
    'destroy() flushed the final sequence numbers',
  );
  const identifies = s.stats().identifies;
  assert.equal(identifies, 4);

  const second = h.manager({ sessionStore: new FileSessionStore({ path }), compression: 'zstd-stream' });
  const resumed = new Set<number>();
  second.on('resumed', (_info, id) => resumed.add(id));
  await second.connect();
  assert.equal(s.stats().identifies, identifies, 'no new identify');
  assert.equal(s.stats().resumes, 4);
  assert.deepEqual([...resumed].sort(), [0, 1, 2, 3]);
});

test('requestGuildMembers collects several chunks, reports not_found and rides out RATE_LIMITED', async (t) => {
  const h = await harness(t, {
    guilds: 2,
    membersPerGuild: 2_400,
    memberChunkSize: 1_000,
    memberRequestWindowMs: 1_000,
  });
  const s = h.sim;
  const m = h.manager({ memberRequestTimeoutMs: 10_000 });
  await m.connect();
  const guild = s.world.guilds[0]!;
  // The all-members limit is 1 per guild per window: of two requests sent together, the second is
  // RATE_LIMITED first, then sent again after retry_after.
  const [all, again] = await Promise.all([
    m.requestGuildMembers({ guildId: guild.id }),
    m.requestGuildMembers({ guildId: guild.id }),
  ]);
  assert.equal(all.chunkCount, 3);
  assert.equal(all.members.length, guild.members.length);
  assert.equal(all.rateLimitRetries, 0);
  assert.ok(again.rateLimitRetries >= 1);
  assert.equal(again.members.length, guild.members.length);
  assert.ok(h.sim.stats().violations['member-request-rate'] >= 1);
  const known = guild.members[5]!.user.id;
  const some = await m.requestGuildMembers({ guildId: guild.id, userIds: [known, '42'] });
  assert.equal(some.members.length, 1);
  assert.deepEqual(some.notFound, ['42']);
  const chunks: number[] = [];
  for await (const chunk of m.streamGuildMembers({ guildId: s.world.guilds[1]!.id }))
    chunks.push(chunk.chunkIndex);
  assert.deepEqual(chunks.sort(), [0, 1, 2]);
});

test('resharding 4 → 8 under a live event stream loses and duplicates nothing', async (t) => {
  const h = await harness(t, { shards: 4, maxConcurrency: 4, guilds: 40 });
  const s = h.sim;
  const m = h.manager({ shardCount: 4 });
  await m.connect();
  const received = new Map<string, number>();
  const emitted: string[] = [];
  const shardOk: string[] = [];
  let count = 4;
  let emittedAtSwitch = 0;
  m.on('reshard', (e) => {
    if (e.phase === 'switched') {
      count = e.to;
      emittedAtSwitch = emitted.length;
    }
  });
  m.on('dispatch', (p: GatewayDispatchPayload, shardId) => {
    if (p.t !== 'MESSAGE_CREATE') return;
    // Under ETF the simulator sends snowflakes as integers; these test ids are small, so they decode to numbers.
    const d = p.d as { id: string | number; guild_id?: string | number };
    const id = String(d.id);
    received.set(id, (received.get(id) ?? 0) + 1);
    if (d.guild_id !== undefined && shardForGuild(String(d.guild_id), count) !== shardId) shardOk.push(id);
  });
  const guilds = s.world.guilds;
  let n = 0;
  const emit = () => {
    for (let i = 0; i < 3; i++) {
      const id = String(1_000_000 + n++);
      const guild = guilds[n % guilds.length]!;
      const d: Record<string, unknown> = {
        id,
        channel_id: guild.channels[0]!.id,
        content: `event ${id}`,
        author: { id: '1', username: 'x' },
      };
      if (n % 17 !== 0) d.guild_id = guild.id;
      s.emitEvent('MESSAGE_CREATE', d);
      emitted.push(id);
    }
  };
  const timer = setInterval(emit, 5);
  t.after(() => clearInterval(timer));
  await new Promise((r) => setTimeout(r, 100));
  await m.reshard(8);
  await new Promise((r) => setTimeout(r, 100));
  clearInterval(timer);
  await waitFor(() => received.size >= emitted.length, { what: 'all events', timeoutMs: WAIT_MS });
  assert.equal(m.snapshot().shardCount, 8);
  assert.deepEqual(
    emitted.filter((id) => received.get(id) !== 1),
    [],
    'every event exactly once',
  );
  assert.equal(received.size, emitted.length);
  assert.deepEqual(shardOk, [], 'each event came from the shard its guild routes to');
  assert.ok(emittedAtSwitch > 0 && emitted.length > emittedAtSwitch, 'events flowed across the switch');
  assert.equal(s.stats().violations['identify-concurrency'], 0);
});

test('status and the metrics endpoint report state, latency, events, reconnects and the budget', async (t) => {
  const h = await harness(t, { shards: 2, maxConcurrency: 2, guilds: 4 });
  const m = h.manager();
  await m.connect();
  h.sim.emitRandomEvents(20);
  h.sim.inject({ kind: 'request-heartbeat' });
  h.sim.inject({ kind: 'close', shardId: 0, code: 4000 });
  const resumed = new Promise<number>((resolve) => m.once('resumed', (_info, id) => resolve(id)));
  assert.equal(await resumed, 0);
  await waitFor(() => m.snapshot().shards.every((x) => x.latencyMs !== null), {
    what: 'heartbeat ACKs',
    timeoutMs: WAIT_MS,
  });
  const status = m.snapshot();
  assert.equal(status.state, 'ready');
  assert.deepEqual(
    status.shards.map((x) => [x.shardId, x.status, x.reconnects]),
    [
      [0, 'ready', 1],
      [1, 'ready', 0],
    ],
  );
  assert.equal(
    status.shards.reduce((n, x) => n + x.guilds, 0),
    4,
  );
  for (const x of status.shards) {
    assert.ok((x.sequence ?? 0) > 0);
    assert.ok(x.eventsPerSecond > 0);
  }

  const server = await serveMetrics(m, { port: 0 });
  t.after(() => server.close());
  const res = await fetch(server.url);
  assert.equal(res.status, 200);
  const parsed = parsePrometheus(await res.text());
  assert.equal(sampleValue(parsed, 'shardline_shard_status', { shard: '0', status: 'ready' }), 1);
  assert.equal(sampleValue(parsed, 'shardline_shard_status', { shard: '0', status: 'backoff' }), 0);
  assert.equal(sampleValue(parsed, 'shardline_shard_status', { shard: '1', status: 'ready' }), 1);
  assert.equal(sampleValue(parsed, 'shardline_identifies_remaining'), 998);
  assert.equal(sampleValue(parsed, 'shardline_reconnects_total', { reason: '4000' }), 1);
  assert.ok((sampleValue(parsed, 'shardline_events_total', { type: 'GUILD_CREATE' }) ?? 0) >= 4);
  assert.ok((sampleValue(parsed, 'shardline_heartbeat_latency_seconds_count', { shard: '1' }) ?? 0) >= 1);
  assert.equal(parsed.types.get('shardline_heartbeat_latency_seconds'), 'histogram');
  assert.ok((sampleValue(parsed, 'shardline_event_loop_lag_seconds') ?? -1) >= 0);
});

test('automatic resharding follows the recommended shard count on its interval', async (t) => {
  const h = await harness(t, { shards: 4, maxConcurrency: 4, guilds: 8 });
  const m = h.manager({ shardCount: 2, autoReshard: { intervalMs: 100 } });
  const phases: string[] = [];
  const completed = new Promise<void>((resolve) => {
    m.on('reshard', (e) => {
      phases.push(`${e.phase} ${e.from}→${e.to}`);
      if (e.phase === 'completed') resolve();
    });
  });
  await m.connect();
  assert.equal(m.shardCount, 2);
  await completed;
  assert.deepEqual(phases, ['started 2→4', 'switched 2→4', 'completed 2→4']);
  assert.equal(m.shardCount, 4);
  assert.deepEqual(
    m.snapshot().shards.map((x) => [x.shardId, x.shardCount, x.role, x.status]),
    [0, 1, 2, 3].map((id) => [id, 4, 'active', 'ready']),
  );
});

test('routes by guild, broadcasts to every shard, and never reveals the token', async (t) => {
  const h = await harness(t, { shards: 3, maxConcurrency: 3, guilds: 9 });
  const m = h.manager();
  await m.connect();
  for (const guild of h.sim.world.guilds) {
    assert.equal(m.shardForGuild(guild.id), shardForGuild(guild.id, 3));
  }
  const before = h.sim.stats().clientPayloads;
  await m.broadcast(presence('dnd'));
  await waitFor(() => h.sim.stats().clientPayloads >= before + 3, {
    what: 'three presence updates',
    timeoutMs: WAIT_MS,
  });
  const token = h.sim.tokens[0]!;
  const status = m.snapshot();
  for (const x of status.shards) {
    const routed = h.sim.world.guilds.filter((g) => shardForGuild(g.id, 3) === x.shardId).length;
    assert.equal(x.guilds, routed);
  }
  assert.ok(!JSON.stringify(status).includes(token));
  assert.ok(!inspect(m, { depth: 5 }).includes(token));
  const err = await m.send(7, presence('online')).catch((e: unknown) => e as Error);
  assert.ok(!inspect(err).includes(token));
  assert.ok(!(await m.collectMetrics()).includes(token));
});

test('close 4011 at startup fails connect(), or with autoReshard starts again with more shards', async (t) => {
  const h = await harness(t, { shards: 4, maxConcurrency: 4, guilds: 16, maxGuildsPerShard: 8 });
  const plain = h.manager({ shardCount: 1 });
  await assert.rejects(plain.connect(), { code: 'GATEWAY_CLOSED', closeCode: 4011 });
  assert.equal(plain.snapshot().state, 'idle');
  const auto = h.manager({ shardCount: 1, autoReshard: {} });
  await auto.connect();
  assert.equal(auto.shardCount, 4);
  assert.equal(
    auto.snapshot().shards.reduce((n, x) => n + x.guilds, 0),
    16,
  );
});

/** Every shard of `m` with count `count` has received READY and every guild of its READY (seq = 1 + guilds). */
function guildsDelivered(h: Harness, m: ShardManager, count: number): [number, number | null, number][] {
  return m
    .snapshot()
    .shards.filter((x) => x.shardCount === count)
    .map((x) => [x.shardId, x.sequence, 1 + h.sim.world.guildsForShard(x.shardId, count).length]);
}

test('connect() resolves only after every guild of READY arrived, however late the GUILD_CREATEs come', async (t) => {
  // One shard: its own `status: ready` comes before its READY dispatch lists the guilds to wait for.
  const h = await harness(t, { shards: 1, guilds: 6, guildCreateDelayMs: 700 });
  const m = h.manager();
  const creates: string[] = [];
  m.on('dispatch', (p) => {
    if (p.t === 'GUILD_CREATE') creates.push(p.d.id);
  });
  await m.connect();
  assert.equal(creates.length, 6, 'every GUILD_CREATE reached the application before connect() resolved');
  for (const [id, seq, expected] of guildsDelivered(h, m, 1)) assert.equal(seq, expected, `shard ${id}`);
});

test('a reshard switches only after the new set received its guilds, and never re-emits them', async (t) => {
  const h = await harness(t, { shards: 2, maxConcurrency: 4, guilds: 8, guildCreateDelayMs: 700 });
  const m = h.manager({ shardCount: 2 });
  await m.connect();
  const creates: string[] = [];
  m.on('dispatch', (p) => {
    if (p.t === 'GUILD_CREATE') creates.push(p.d.id);
  });
  let atSwitch: [number, number | null, number][] = [];
  m.on('reshard', (e) => {
    if (e.phase === 'switched') atSwitch = guildsDelivered(h, m, 4);
  });
  await m.reshard(4);
  assert.equal(atSwitch.length, 4);
  for (const [id, seq, expected] of atSwitch) assert.equal(seq, expected, `new shard ${id} at the switch`);
  assert.deepEqual(creates, [], 'the new set’s initial guilds are bookkeeping, not news');
});
