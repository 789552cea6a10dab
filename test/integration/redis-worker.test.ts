import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { describe, test } from 'node:test';
import {
  CommandClient,
  closeClient,
  createRedisClient,
  eventStreamKey,
  ShardLeases,
} from '../../src/redis/index.js';
import type { Simulator, SimulatorOptions } from '../../src/simulator/index.js';
import {
  closedPort,
  REDIS_URL,
  RedisServerProcess,
  redisFixture,
  redisServerAvailable,
  waitFor,
} from '../support/redis.js';
import { assertStreamComplete, eventFlow, sessionsByShard, streamCaughtUp } from '../support/shard-worker.js';
import { sampleConnections, simulator } from '../support/sim-helpers.js';
import { CLI, startWorker, WorkerProcess } from '../support/worker-process.js';

// Time scales: the simulator's identify window is 250 ms; workers wait 600 ms per bucket (the margin
// absorbs scheduling delays between the grant in Redis and the simulator stamping the Identify on a
// loaded machine). Heartbeats every second.
const SIM: SimulatorOptions = {
  guilds: 24,
  membersPerGuild: 2,
  heartbeatIntervalMs: 1_000,
  heartbeatGraceMs: 3_000,
  identifyWindowMs: 250,
  sessionTimeoutMs: 60_000,
};
const WORKER_WINDOW = ['--identify-window', '600'];

function readyShards(workers: readonly WorkerProcess[]): number[] {
  return workers.flatMap((w) => w.shardsMatching(/^shard (\d+) ready/));
}

/** No output line of any worker holds the token. */
function assertNoToken(workers: readonly WorkerProcess[], sim: Simulator): void {
  for (const w of workers)
    assert.ok(!w.raw.some((l) => l.includes(sim.tokens[0]!)), `${w.name} printed the token`);
}

function dump(workers: readonly WorkerProcess[]): string {
  return workers.map((w) => w.dump()).join('\n');
}

describe('shardline worker (child processes, real Redis, the simulator)', () => {
  test('3 workers × 12 shards with max_concurrency 2: no identify-concurrency violation, every shard READY once', async (t) => {
    const { redis, prefix } = await redisFixture(t);
    const sim = await simulator(t, { ...SIM, shards: 12, maxConcurrency: 2 });
    const ranges = ['0-3', '4-7', '8-11'];
    const workers = ranges.map((r, i) =>
      startWorker(t, {
        redisUrl: REDIS_URL,
        prefix,
        sim,
        name: `w${i}`,
        args: [
          '--shard-ids',
          r,
          '--shard-count',
          '12',
          '--lease-ttl',
          '3000',
          '--metrics-port',
          '0',
          ...WORKER_WINDOW,
        ],
      }),
    );
    await waitFor(() => readyShards(workers).length >= 12, {
      what: 'every shard READY',
      timeoutMs: 45_000,
      everyMs: 50,
    }).catch((err) => {
      throw new Error(`${(err as Error).message}\n${dump(workers)}`);
    });
    const stats = sim.stats();
    assert.equal(stats.violations['identify-concurrency'], 0, dump(workers));
    assert.equal(stats.identifies, 12);
    assert.deepEqual(
      readyShards(workers).sort((a, b) => a - b),
      Array.from({ length: 12 }, (_, i) => i),
      'each shard READY exactly once',
    );
    const owners = await new ShardLeases({ redis, prefix }).owners(12);
    for (let shard = 0; shard < 12; shard++) assert.equal(owners.get(shard), `w${Math.floor(shard / 4)}`);
    assert.deepEqual(
      [...sessionsByShard(sim).values()].map((s) => s.length),
      Array(12).fill(1),
      'one session per shard',
    );
    // each worker serves Prometheus metrics
    const url = workers[0]!.stdout.map((l) => /^metrics on (\S+)/.exec(l)?.[1]).find(Boolean);
    assert.ok(url, dump(workers));
    const text = await (await fetch(url)).text();
    assert.match(text, /^shardline_worker_shards_owned 4$/m);
    assert.match(text, /^shardline_worker_redis_up 1$/m);
    assert.match(text, /^shardline_shard_status\{shard="0",status="ready"\} 1$/m);
    const codes = await Promise.all(workers.map((w) => w.kill('SIGTERM')));
    assert.deepEqual(codes, [0, 0, 0], dump(workers));
    assert.ok(workers.every((w) => w.has(/stopped: events flushed, leases released/)));
    assertNoToken(workers, sim);
    assert.equal((await new ShardLeases({ redis, prefix }).owners(12)).size, 0, 'leases released on SIGTERM');
  });

  test('kill -9 of a worker under a live event stream: its shards RESUME elsewhere and the stream holds every dispatch once, in order', async (t) => {
    const { redis, prefix } = await redisFixture(t);
    const SHARDS = 12;
    const sim = await simulator(t, { ...SIM, shards: SHARDS, maxConcurrency: 2 });
    const args = [
      '--shard-ids',
      'auto',
      '--shard-count',
      String(SHARDS),
      '--lease-ttl',
      '2000',
      ...WORKER_WINDOW,
    ];
    const workers = ['a', 'b', 'c'].map((name) =>
      startWorker(t, { redisUrl: REDIS_URL, prefix, sim, name, args }),
    );
    const leases = new ShardLeases({ redis, prefix });
    const balanced = async (names: readonly string[], per: number): Promise<boolean> => {
      const owners = await leases.owners(SHARDS);
      if (owners.size !== SHARDS) return false;
      const counts = names.map((n) => [...owners.values()].filter((o) => o === n).length);
      if (!counts.every((c) => c === per)) return false;
      const sessions = sessionsByShard(sim);
      return sessions.size === SHARDS && [...sessions.values()].every((s) => s.some((x) => x.connected));
    };
    await waitFor(() => balanced(['a', 'b', 'c'], 4), {
      what: '12 shards spread 4/4/4 and connected',
      timeoutMs: 45_000,
      everyMs: 100,
    }).catch((err) => {
      throw new Error(`${(err as Error).message}\n${dump(workers)}`);
    });
    const events = eventFlow(t, sim, SHARDS, 50);
    t.after(() => events.stop());
    const owners = await leases.owners(SHARDS);
    const victimShards = [...owners].filter(([, o]) => o === 'a').map(([id]) => id);
    const resumesBefore = sim.stats().resumes;
    // let events flow through every worker, then kill one without warning
    const seqNow = (id: number) => sessionsByShard(sim).get(id)?.[0]?.lastSeq ?? 0;
    const start = seqNow(victimShards[0]!);
    await waitFor(() => seqNow(victimShards[0]!) >= start + 10, { what: 'events on the victim' });
    await workers[0]!.kill('SIGKILL');
    await waitFor(() => balanced(['b', 'c'], 6), {
      what: 'b and c to take over the 12 shards',
      timeoutMs: 30_000,
      everyMs: 100,
    }).catch((err) => {
      throw new Error(`${(err as Error).message}\n${dump(workers)}`);
    });
    // more events after the takeover, then let the stream catch up
    const after = seqNow(victimShards[0]!);
    await waitFor(() => seqNow(victimShards[0]!) >= after + 10, { what: 'events after the takeover' });
    events.stop();
    await waitFor(() => streamCaughtUp(redis, prefix, sim, SHARDS), {
      what: 'the stream to hold every dispatch',
      timeoutMs: 30_000,
      everyMs: 100,
    });

    const stats = sim.stats();
    assert.equal(stats.identifies, SHARDS, `no new identify for a taken-over shard\n${dump(workers)}`);
    assert.ok(stats.resumes - resumesBefore >= victimShards.length, 'the victim shards were resumed');
    const resumedElsewhere = workers.slice(1).flatMap((w) => w.shardsMatching(/^shard (\d+) resumed/));
    for (const id of victimShards) assert.ok(resumedElsewhere.includes(id), `shard ${id} resumed by b or c`);
    assert.equal(stats.violations['identify-concurrency'], 0);
    await assertStreamComplete(redis, prefix, sim, SHARDS);
    assert.deepEqual(await Promise.all(workers.slice(1).map((w) => w.kill('SIGTERM'))), [0, 0]);
  });

  test('two workers racing for one shard: the simulator never sees two connections for it, and a handover resumes', async (t) => {
    const { redis, prefix } = await redisFixture(t);
    const sim = await simulator(t, { ...SIM, shards: 1, guilds: 2 });
    const peak = sampleConnections(t, sim, 5);
    const args = ['--shard-ids', '0', '--shard-count', '1', '--lease-ttl', '1500', ...WORKER_WINDOW];
    const workers = ['x', 'y'].map((name) =>
      startWorker(t, { redisUrl: REDIS_URL, prefix, sim, name, args }),
    );
    await waitFor(
      () => readyShards(workers).length === 1 && workers.some((w) => w.has(/leased by another worker/)),
      { what: 'one worker READY, the other waiting', timeoutMs: 30_000, everyMs: 50 },
    ).catch((err) => {
      throw new Error(`${(err as Error).message}\n${dump(workers)}`);
    });
    const winner = workers.find((w) => w.shardsMatching(/^shard (\d+) ready/).length === 1)!;
    const loser = workers.find((w) => w !== winner)!;
    assert.equal(sim.stats().connectionsTotal, 1, 'only the winner ever connected');
    // a command reaches the owner and goes out through the shard's send limiter
    const commands = new CommandClient({ redis, prefix, timeoutMs: 15_000 });
    t.after(() => commands.close());
    const presence = { op: 3, d: { since: null, activities: [], status: 'idle', afk: false } };
    const payloadsBefore = sim.stats().clientPayloads;
    assert.deepEqual(await commands.send({ shardId: 0 }, presence), { sent: true });
    await waitFor(() => sim.stats().clientPayloads > payloadsBefore, {
      what: 'the presence update at the simulator',
    });
    // the winner leaves gracefully: the loser takes the shard over and RESUMEs
    assert.equal(await winner.kill('SIGTERM'), 0, winner.dump());
    await waitFor(() => loser.has(/^shard 0 resumed/), {
      what: 'the other worker to resume the shard',
      timeoutMs: 30_000,
      everyMs: 50,
    }).catch((err) => {
      throw new Error(`${(err as Error).message}\n${dump(workers)}`);
    });
    assert.deepEqual(
      await commands.send({ shardId: 0 }, presence),
      { sent: true },
      'the new owner serves commands',
    );
    peak.stop();
    const stats = sim.stats();
    assert.equal(peak.maxOpen, 1, 'never two open connections');
    assert.equal(peak.maxConnected, 1, 'never two live sessions for the shard');
    assert.equal(stats.identifies, 1);
    assert.equal(stats.resumes, 1);
    assert.equal(stats.connectionsTotal, 2);
    assert.equal(await loser.kill('SIGTERM'), 0);
  });

  test('Redis stopped for a few seconds and restarted: the worker says so, pauses reading when its buffer is full, and loses nothing', async (t) => {
    if (!redisServerAvailable()) {
      t.skip('redis-server is not installed');
      return;
    }
    const server = await RedisServerProcess.create(t);
    const redis = createRedisClient(server.url);
    t.after(() => closeClient(redis));
    const prefix = 'shardline-test:outage:';
    const SHARDS = 2;
    const sim = await simulator(t, { ...SIM, shards: SHARDS, guilds: 4 });
    const worker = startWorker(t, {
      redisUrl: server.url,
      prefix,
      sim,
      name: 'solo',
      // the lease outlives the outage, so the gateway connections stay up through it
      args: [
        '--shard-ids',
        '0-1',
        '--shard-count',
        '2',
        '--lease-ttl',
        '15000',
        '--high-water-mark',
        '20',
        ...WORKER_WINDOW,
      ],
    });
    await waitFor(() => readyShards([worker]).length === SHARDS, {
      what: 'both shards READY',
      timeoutMs: 30_000,
      everyMs: 50,
    }).catch((err) => {
      throw new Error(`${(err as Error).message}\n${worker.dump()}`);
    });
    const events = eventFlow(t, sim, SHARDS, 20);
    t.after(() => events.stop());
    await waitFor(async () => (await redis.xlen(eventStreamKey(prefix, 0))) > 10, {
      what: 'events in the stream',
    });
    await server.stop();
    await waitFor(() => worker.has(/Redis unavailable/), {
      what: 'the worker to report the outage',
      timeoutMs: 20_000,
      everyMs: 50,
    });
    await waitFor(() => worker.has(/paused reading the gateway/), {
      what: 'the buffer to fill and reads to pause',
      timeoutMs: 20_000,
      everyMs: 50,
    });
    await server.start();
    await waitFor(() => worker.has(/Redis available again/), {
      what: 'the worker to report the recovery',
      timeoutMs: 30_000,
      everyMs: 50,
    });
    await waitFor(() => worker.has(/reading the gateway again/), {
      what: 'reads to resume',
      timeoutMs: 30_000,
      everyMs: 50,
    });
    events.stop();
    await waitFor(() => streamCaughtUp(redis, prefix, sim, SHARDS), {
      what: 'the stream to hold every dispatch',
      timeoutMs: 30_000,
      everyMs: 100,
    }).catch((err) => {
      throw new Error(`${(err as Error).message}\n${worker.dump()}`);
    });
    assert.equal(sim.stats().identifies, SHARDS, worker.dump());
    assert.equal(sim.stats().connectionsTotal, SHARDS, `the gateway connections stayed up\n${worker.dump()}`);
    assert.ok(worker.has(/keeping gateway connections, buffering events/), worker.dump());
    await assertStreamComplete(redis, prefix, sim, SHARDS);
    assert.equal(await worker.kill('SIGTERM'), 0, worker.dump());
    assertNoToken([worker], sim);
  });
});

test('a worker with a rejected token exits 1 with an actionable message that does not print the token', async (t) => {
  const sim = await simulator(t, { ...SIM, shards: 1, guilds: 1 });
  const wrong = 'WRONG.token.value-that-must-not-be-printed';
  const child = spawn(
    process.execPath,
    [CLI, 'worker', '--redis', REDIS_URL, '--api', sim.restUrl, '--shard-ids', 'auto'],
    {
      env: { ...process.env, DISCORD_TOKEN: wrong },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  const worker = new WorkerProcess(child, 'wrong-token');
  t.after(() => worker.kill('SIGKILL'));
  assert.equal(await worker.exited, 1, worker.dump());
  assert.ok(worker.has(/token was rejected/), worker.dump());
  assert.ok(!worker.raw.some((l) => l.includes(wrong)));
});

test('a worker whose Redis never answers says it waits on every attempt, then --redis-wait makes it exit 1 with a clear message', async (t) => {
  const sim = await simulator(t, { ...SIM, shards: 1, guilds: 1 });
  const port = await closedPort();
  const child = spawn(
    process.execPath,
    [
      CLI,
      'worker',
      '--redis',
      `redis://127.0.0.1:${port}`,
      '--api',
      sim.restUrl,
      '--shard-ids',
      '0',
      '--shard-count',
      '1',
      '--redis-wait',
      '1',
    ],
    { env: { ...process.env, DISCORD_TOKEN: sim.tokens[0]! }, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  const worker = new WorkerProcess(child, 'no-redis');
  t.after(() => worker.kill('SIGKILL'));
  assert.equal(await worker.exited, 1, worker.dump());
  const at = `redis://127\\.0\\.0\\.1:${port}`;
  assert.ok(
    worker.has(new RegExp(`waiting for Redis at ${at} \\(attempt 1\\): .*ECONNREFUSED`)),
    worker.dump(),
  );
  assert.ok(
    worker.has(new RegExp(`Redis at ${at} did not answer within 1 s \\(\\d+ attempts\\)`)),
    worker.dump(),
  );
  assertNoToken([worker], sim);
});

test('SIGTERM while a worker waits for Redis at startup stops it at once with exit 0', async (t) => {
  const sim = await simulator(t, { ...SIM, shards: 1, guilds: 1 });
  const port = await closedPort();
  const child = spawn(
    process.execPath,
    [CLI, 'worker', '--redis', `redis://127.0.0.1:${port}`, '--api', sim.restUrl, '--shard-ids', 'auto'],
    { env: { ...process.env, DISCORD_TOKEN: sim.tokens[0]! }, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  const worker = new WorkerProcess(child, 'waiting');
  t.after(() => worker.kill('SIGKILL'));
  await waitFor(() => worker.has(/waiting for Redis at/), { what: 'the worker to wait for Redis' });
  assert.equal(await worker.kill('SIGTERM'), 0, worker.dump());
  assert.ok(!worker.has(/did not answer within/), worker.dump());
});
