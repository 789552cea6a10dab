import assert from 'node:assert/strict';
import { get } from 'node:http';
import { Writable } from 'node:stream';
import { test } from 'node:test';
import { runDashboard } from '../../src/cli/commands/dashboard.js';
import type { DashboardHello, DashboardState } from '../../src/dashboard/state.js';
import { readFleetStatus } from '../../src/redis/fleet.js';
import { eventStreamKey } from '../../src/redis/index.js';
import { artifactPath, launchChromium } from '../support/browser.js';
import { closedPort, REDIS_URL, redisFixture, waitFor } from '../support/redis.js';
import { simulator } from '../support/sim-helpers.js';
import { startWorker } from '../support/worker-process.js';

/** Reads a dashboard's event stream; keeps the hello and every state. */
function subscribe(t: import('node:test').TestContext, url: string) {
  const states: DashboardState[] = [];
  let hello: DashboardHello | undefined;
  let raw = '';
  const req = get(`${url}events`, (res) => {
    let buffer = '';
    res.on('data', (chunk) => {
      buffer += String(chunk);
      raw += String(chunk);
      for (let end = buffer.indexOf('\n\n'); end >= 0; end = buffer.indexOf('\n\n')) {
        const frame = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        const event = /^event: (\w+)$/m.exec(frame)?.[1];
        const data = /^data: (.*)$/m.exec(frame)?.[1];
        if (data === undefined) continue;
        if (event === 'hello') hello = JSON.parse(data) as DashboardHello;
        if (event === 'state') states.push(JSON.parse(data) as DashboardState);
      }
    });
  });
  req.on('error', () => {});
  t.after(() => req.destroy());
  return { states, hello: () => hello, raw: () => raw };
}

test('shardline dashboard --redis shows a live fleet: workers, leases, published sequences, stream length, group lag, budget', async (t) => {
  const { redis, prefix } = await redisFixture(t);
  // A consumer group that reads nothing: everything the worker publishes is its lag.
  await redis.xgroup('CREATE', eventStreamKey(prefix, 0), 'bots', '0', 'MKSTREAM');
  const sim = await simulator(t, {
    guilds: 8,
    shards: 2,
    heartbeatIntervalMs: 1_000,
    identifyWindowMs: 250,
    eventsPerSecond: 40,
  });
  const worker = startWorker(t, {
    redisUrl: REDIS_URL,
    prefix,
    sim,
    name: 'dash-w1',
    args: ['--shard-ids', '0-1', '--shard-count', '2', '--identify-window', '600', '--dashboard-port', '0'],
  });

  let out = '';
  const stop = new AbortController();
  const run = runDashboard(['--redis', REDIS_URL, '--prefix', prefix, '--port', '0'], {
    stdout: new Writable({
      write(chunk, _enc, done) {
        out += String(chunk);
        done();
      },
    }),
    stderr: new Writable({ write: (_c, _e, done) => done() }),
    env: {},
    signal: stop.signal,
  });
  t.after(async () => {
    stop.abort();
    await run;
  });
  await waitFor(() => /on http:/.test(out), { what: 'the dashboard URL', timeoutMs: 15_000, everyMs: 20 });
  const url = /on (http:\S+)/.exec(out)![1]!;
  const stream = subscribe(t, url);
  const latest = () => stream.states.at(-1);
  await waitFor(
    () => {
      const s = latest();
      const shard = (id: number) => s?.shards.find((x) => x.id === id);
      return (
        s !== undefined &&
        [0, 1].every((id) => shard(id)?.owner === 'dash-w1' && (shard(id)?.seq ?? 0) > 0) &&
        (s.fleet?.streams[0]?.groups[0]?.lag ?? 0) > 0
      );
    },
    {
      what: () =>
        `both shards leased and published, lag in group bots: ${JSON.stringify(latest())}\n${worker.dump()}`,
      timeoutMs: 60_000,
      everyMs: 50,
    },
  );
  const first = latest()!;
  assert.equal(
    stream.hello()?.title,
    `shardline fleet · redis ${new URL(REDIS_URL).host} (prefix ${prefix})`,
  );
  assert.deepEqual(stream.hello()?.faults, [], 'a fleet dashboard injects no faults');
  assert.equal(first.fleet?.shardCount, 2);
  assert.equal(first.fleet?.error, null);
  assert.deepEqual(
    first.fleet?.workers.map((w) => [w.id, w.shardIds]),
    [['dash-w1', [0, 1]]],
  );
  const group = first.fleet!.streams[0]!.groups[0]!;
  assert.equal(group.name, 'bots');
  assert.ok(first.fleet!.streams[0]!.length > 0);
  assert.ok(
    first.budget !== null && first.budget.remaining !== null && first.budget.total !== null,
    JSON.stringify(first.budget),
  );
  // Numbers move: the published sequence of shard 0 grows, and so does its rate and the lag.
  const seq0 = first.shards[0]!.seq!;
  await waitFor(
    () => {
      const s = latest()!;
      return (s.shards[0]!.seq ?? 0) > seq0 && s.shards[0]!.eventsPerSecond > 0;
    },
    {
      what: () => `shard 0 moving past seq ${seq0}: ${JSON.stringify(latest())}`,
      timeoutMs: 30_000,
      everyMs: 50,
    },
  );
  assert.ok(!stream.raw().includes(sim.tokens[0]!), 'the bot token is not on the page');

  // The worker's own dashboard: its shards as it runs them (state, heartbeat latency), and the fleet.
  const workerUrl = worker.stdout.map((l) => /dashboard on (http:\S+)/.exec(l)?.[1]).find((u) => u);
  assert.ok(workerUrl, worker.dump());
  let own: DashboardState | undefined;
  await waitFor(
    async () => {
      own = (await (await fetch(`${workerUrl}api/state`)).json()) as DashboardState;
      return own.shards.length === 2 && own.shards.every((s) => s.state === 'ready' && s.latencyMs !== null);
    },
    {
      what: () => `the worker's shards ready with a latency: ${JSON.stringify(own)}`,
      timeoutMs: 30_000,
      everyMs: 200,
    },
  );
  assert.deepEqual(
    own?.fleet?.workers.map((w) => w.id),
    ['dash-w1'],
  );
  const page = await (await fetch(workerUrl!)).text();
  assert.ok(!page.includes(sim.tokens[0]!));

  // The page renders the fleet in a real browser where there is one (the demo's test covers the page itself).
  const browser = await launchChromium(t);
  if ('skip' in browser) t.diagnostic(`fleet page not rendered: ${browser.skip}`);
  else {
    const tab = await browser.newPage();
    await tab.goto(url);
    await tab.waitForSelector('#workers tr[data-worker="dash-w1"]', { timeout: 30_000 });
    await tab.waitForSelector('#shards tr[data-shard="1"] td.owner', { timeout: 30_000 });
    assert.equal(await tab.textContent('#streams td.group'), 'bots');
    assert.match((await tab.textContent('#streams td.lag')) ?? '', /^\d+$/);
    const shot = artifactPath('dashboard-fleet.png');
    await tab.screenshot({ path: shot, fullPage: true });
    t.diagnostic(`screenshot: ${shot}`);
  }

  // The worker stops: its leases are released and the dashboard shows the shards free.
  await worker.kill('SIGTERM');
  await waitFor(() => latest()!.shards.every((s) => s.state === 'free' && s.owner === null), {
    what: () => `shards free after the worker stopped: ${JSON.stringify(latest())}`,
    timeoutMs: 30_000,
    everyMs: 50,
  });
});

test('readFleetStatus checks what it reads: odd lease values are shown cut down, malformed sequences ignored, expired workers dropped', async (t) => {
  const { redis, prefix } = await redisFixture(t);
  const now = Date.now();
  await redis
    .multi()
    .set(`${prefix}shard-count`, '3')
    .set(`${prefix}lease:0`, 'w1#0f8fad5b-d9cb-469f-a165-70867728950e:7')
    .set(`${prefix}lease:1`, `<img src=x onerror=alert(1)>${'x'.repeat(500)}`)
    .hset(`${prefix}events:0:last`, '0', 'sess-a 12', '1', 'no sequence here', '0:fence', '7')
    .zadd(`${prefix}workers`, now + 60_000, 'w2', now - 60_000, 'dead-worker')
    .exec();
  const status = await readFleetStatus({ redis, prefix });
  assert.equal(status.shardCount, 3);
  assert.deepEqual(status.shards[0], {
    shardId: 0,
    holder: { owner: 'w1', token: 7 },
    sessionId: 'sess-a',
    seq: 12,
  });
  assert.equal(status.shards[1]!.holder!.token, null);
  assert.equal(
    status.shards[1]!.holder!.owner.length,
    200,
    'an odd owner is kept as text, cut to 200 characters',
  );
  assert.equal(status.shards[1]!.seq, null);
  assert.equal(status.shards[2]!.holder, null);
  assert.deepEqual(
    status.workers.map((w) => w.id).sort(),
    ['w1', 'w2', status.shards[1]!.holder!.owner].sort(),
    'the expired registry entry is not listed',
  );
  assert.equal(status.budget, null);
  assert.deepEqual(status.streams, [{ partition: 0, key: `${prefix}events:0`, length: 0, groups: [] }]);

  // A shard count that is not what workers write is a typed error, not a crash.
  await redis.set(`${prefix}shard-count`, 'lots');
  await assert.rejects(readFleetStatus({ redis, prefix }), { code: 'REDIS_BAD_REPLY' });
});

test('shardline dashboard with Redis down keeps serving the page and shows why there is no fleet', async (t) => {
  const port = await closedPort();
  let out = '';
  let err = '';
  const sinkTo = (append: (s: string) => void) =>
    new Writable({
      write(chunk, _enc, done) {
        append(String(chunk));
        done();
      },
    });
  const stop = new AbortController();
  const run = runDashboard(['--redis', `redis://:hunter2@127.0.0.1:${port}`, '--port', '0'], {
    stdout: sinkTo((s) => {
      out += s;
    }),
    stderr: sinkTo((s) => {
      err += s;
    }),
    env: {},
    signal: stop.signal,
  });
  t.after(async () => {
    stop.abort();
    await run;
  });
  await waitFor(() => /on http:/.test(out), { what: 'the dashboard URL', timeoutMs: 15_000, everyMs: 20 });
  const url = /on (http:\S+)/.exec(out)![1]!;
  let state: DashboardState | undefined;
  await waitFor(
    async () => {
      const res = await fetch(`${url}api/state`);
      state = res.ok ? ((await res.json()) as DashboardState) : undefined;
      return typeof state?.fleet?.error === 'string';
    },
    { what: () => `the Redis error on the page: ${JSON.stringify(state)}`, timeoutMs: 30_000, everyMs: 100 },
  );
  assert.match(state!.fleet!.error!, /unavailable|ECONNREFUSED|connect/i);
  assert.equal((await fetch(url)).status, 200);
  for (const text of [out, err, JSON.stringify(state), await (await fetch(url)).text()])
    assert.doesNotMatch(text, /hunter2/);
});
