/**
 * An unmodified `@discordjs/core` bot (`new Client({ rest, gateway })`, `client.on(GatewayDispatchEvents.…)`)
 * on Shardline: over a `ShardManager` in the same process, and over the Redis event streams with the shards
 * in a `ShardWorker` — in process, and as a child process killed with SIGKILL mid-stream and restarted.
 */
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { Client, GatewayDispatchEvents } from '@discordjs/core';
import { REST } from '@discordjs/rest';
import {
  AdapterError,
  currentDelivery,
  type Delivery,
  ManagerGateway,
  RedisGateway,
} from '../../src/discordjs/index.js';
import type { ShardlineError } from '../../src/errors.js';
import { ShardManager } from '../../src/manager/manager.js';
import { parseEventFields } from '../../src/redis/consumer.js';
import { eventStreamKey } from '../../src/redis/streams.js';
import { REDIS_URL, redisFixture, waitFor } from '../support/redis.js';
import { collect, eventFlow, shardWorker, WORKER_SIM } from '../support/shard-worker.js';
import { simulator } from '../support/sim-helpers.js';

const WAIT = { timeoutMs: 60_000 };
/** GUILDS | GUILD_MEMBERS | GUILD_MESSAGES. */
const INTENTS = 1 | 2 | 512;

test('a @discordjs/core bot on a ShardManager: its handlers get every dispatch with its shard, its commands reach the shard', async (t) => {
  const sim = await simulator(t, { ...WORKER_SIM, shards: 2, membersPerGuild: 3 });
  const manager = new ShardManager({
    token: sim.tokens[0]!,
    intents: INTENTS,
    api: sim.restUrl,
    shardCount: 2,
    compression: 'none',
    identifyWindowMs: 600,
  });
  manager.on('error', () => {});
  t.after(() => manager.destroy({ resumable: false }));
  const gateway = new ManagerGateway(manager);
  assert.throws(() => gateway.getShardCount(), { code: 'MANAGER_NOT_CONNECTED' });
  const rest = new REST({ api: sim.restUrl }).setToken(sim.tokens[0]!);
  const client = new Client({ rest, gateway });
  const seen: string[] = [];
  let ready = 0;
  client.on(GatewayDispatchEvents.Ready, () => {
    ready++;
  });
  client.on(GatewayDispatchEvents.MessageCreate, async ({ data, shardId, api }) => {
    assert.equal(api, client.api);
    seen.push(`${shardId}:${data.id}`);
  });
  await manager.connect();
  assert.equal(ready, 2, 'READY of each shard reached the client');
  assert.equal(gateway.getShardCount(), 2);

  const expected: string[] = [];
  for (let i = 1; i <= 20; i++) {
    const shardId = i % 2;
    sim.emitEvent('MESSAGE_CREATE', { id: `m${i}`, content: 'hi' }, { shardId, intent: 0 });
    expected.push(`${shardId}:m${i}`);
  }
  await waitFor(() => seen.length >= expected.length, { what: 'every MESSAGE_CREATE', ...WAIT });
  assert.deepEqual(seen.sort(), expected.sort());

  // core's commands: op 8 through gateway.send on the guild's shard, its chunk back through the dispatches
  const guild = sim.world.guilds[1]!;
  const known = guild.members[0]!.user.id;
  const { members, notFound } = await client.requestGuildMembers({
    guild_id: guild.id,
    user_ids: [known, '42'],
  });
  assert.deepEqual(
    members.map((m) => m.user.id),
    [known],
  );
  assert.equal(notFound.length, 1);
  await client.updatePresence(0, { since: null, activities: [], status: 'idle' as never, afk: false });
  // REST goes to the simulator as usual
  assert.equal((await client.api.gateway.getBot()).shards, 2);
});

test('a @discordjs/core bot on the Redis streams: each entry acknowledged once its handlers settled, commands through the command streams', async (t) => {
  const { redis, prefix } = await redisFixture(t);
  const sim = await simulator(t, { ...WORKER_SIM, shards: 2, membersPerGuild: 3 });
  const worker = shardWorker(t, sim, { redis, prefix, shardIds: [0, 1], shardCount: 2, intents: INTENTS });
  const ready = collect(worker, 'ready', 2);
  await worker.connect();
  await ready;

  const errors: ShardlineError[] = [];
  const gateway = new RedisGateway({
    redis,
    prefix,
    group: 'bot',
    consumer: 'bot-1',
    onError: (e) => errors.push(e),
  });
  t.after(() => gateway.close());
  const client = new Client({ rest: new REST(), gateway });
  let release: () => void = () => {};
  const gate = new Promise<void>((resolve) => {
    release = resolve;
  });
  const handled: string[] = [];
  let kept: Delivery | undefined;
  client.on(GatewayDispatchEvents.MessageCreate, async ({ data, shardId }) => {
    const delivery = currentDelivery();
    assert.ok(delivery, 'the delivery is known inside the handler');
    assert.equal(delivery.shardId, shardId);
    assert.equal(delivery.deliveries, 1);
    kept = delivery;
    if (data.content === 'slow') await gate;
    if (data.content === 'fail') throw new Error('handler bug');
    delivery.onAck(['SADD', `${prefix}done`, data.id]);
    handled.push(data.id);
  });
  await assert.rejects(gateway.start({ gateway: {} } as never), { code: 'CONFIG_INVALID' });
  await gateway.start(client);
  await assert.rejects(gateway.start(client), { code: 'CONFIG_INVALID' });
  assert.equal(await gateway.getShardCount(), 2, 'the count the workers published');

  sim.emitEvent('MESSAGE_CREATE', { id: 'slow-1', content: 'slow' }, { shardId: 0, intent: 0 });
  for (let i = 1; i <= 10; i++)
    sim.emitEvent('MESSAGE_CREATE', { id: `m${i}`, content: 'hi' }, { shardId: i % 2, intent: 0 });
  sim.emitEvent('MESSAGE_CREATE', { id: 'fail-1', content: 'fail' }, { shardId: 1, intent: 0 });
  await waitFor(() => handled.length === 10 && gateway.stats().failed === 1, {
    what: 'the fast handlers',
    ...WAIT,
  });
  const pending = async (): Promise<number> =>
    ((await redis.xpending(eventStreamKey(prefix, 0), 'bot')) as [number])[0];
  await waitFor(async () => (await pending()) === 1, {
    what: 'all but the slow entry acknowledged',
    ...WAIT,
  });
  assert.equal(await redis.sismember(`${prefix}done`, 'slow-1'), 0, 'its onAck step waits for it');
  await waitFor(() => gateway.stats().inFlight === 1, {
    what: () => JSON.stringify(gateway.stats()),
    timeoutMs: 5_000,
  });
  release();
  await waitFor(async () => (await pending()) === 0, { what: 'the slow entry acknowledged', ...WAIT });
  assert.equal(await redis.scard(`${prefix}done`), 11);
  const failed = errors.find((e) => e.code === 'HANDLER_FAILED');
  assert.ok(failed instanceof AdapterError && failed.streamId, String(errors));
  assert.match(String((failed.cause as Error).message), /handler bug/);
  // an entry whose type is no dispatch name is refused, reported and acknowledged, never emitted
  await redis.xadd(eventStreamKey(prefix, 0), '*', 'e', `0 999999 forged error\n{}`);
  await waitFor(() => errors.some((e) => e.code === 'ENTRY_REFUSED'), {
    what: 'the forged entry refused',
    ...WAIT,
  });
  await waitFor(async () => (await pending()) === 0, { what: 'the forged entry acknowledged', ...WAIT });
  // onAck after the handlers settled, or with a malformed command, is a typed refusal
  assert.equal(currentDelivery(), undefined);
  assert.throws(() => kept!.onAck(['SADD', 'x', 'y']), { code: 'DELIVERY_SETTLED' });
  const stats = gateway.stats();
  assert.equal(stats.redelivered, 0);
  assert.equal(stats.superseded, 0);
  assert.ok(stats.acknowledged >= 12, JSON.stringify(stats));

  // core's commands go to the worker that owns the shard, and the chunks come back through the stream
  const guild = sim.world.guilds[0]!;
  const known = guild.members[1]!.user.id;
  const result = await client.requestGuildMembers({ guild_id: guild.id, user_ids: [known] });
  assert.deepEqual(
    result.members.map((m) => m.user.id),
    [known],
  );
  await client.updatePresence(1, { since: null, activities: [], status: 'dnd' as never, afk: false });
  await assert.rejects(gateway.send(-1, { op: 3 } as never), { code: 'CONFIG_INVALID' });
  await gateway.close();
  await assert.rejects(gateway.send(0, { op: 3 } as never), { code: 'ADAPTER_CLOSED' });
});

const CHILD = join(dirname(fileURLToPath(import.meta.url)), '..', 'support', 'djs-redis-bot-child.js');

interface Bot {
  readonly child: ChildProcess;
  readonly started: Promise<void>;
  readonly stderr: string[];
}

function startBot(env: Record<string, string>): Bot {
  const child = spawn(process.execPath, [CHILD], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const stderr: string[] = [];
  child.stderr!.on('data', (c: Buffer) => stderr.push(c.toString()));
  const started = new Promise<void>((resolve, reject) => {
    child.stdout!.on('data', (c: Buffer) => {
      if (c.toString().includes('started')) resolve();
    });
    child.once('exit', (code) => reject(new Error(`bot exited with ${code}: ${stderr.join('')}`)));
  });
  started.catch(() => undefined);
  return { child, started, stderr };
}

test('a @discordjs/core bot process killed with SIGKILL mid-stream and restarted: every event handled, its onAck record written exactly once', async (t) => {
  const { redis, prefix } = await redisFixture(t);
  const dir = mkdtempSync(join(tmpdir(), 'shardline-djs-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const sim = await simulator(t, { ...WORKER_SIM, shards: 2 });
  const worker = shardWorker(t, sim, { redis, prefix, shardIds: [0, 1], shardCount: 2 });
  const ready = collect(worker, 'ready', 2);
  await worker.connect();
  await ready;
  const files = { OUT_FILE: join(dir, 'handled.txt'), REDELIVERED_FILE: join(dir, 'redelivered.txt') };
  const env = { REDIS_URL, PREFIX: prefix, CLAIM_IDLE_MS: '1500', HANDLER_MS: '20', ...files };
  const bots: Bot[] = [];
  t.after(() => {
    for (const b of bots) b.child.kill('SIGKILL');
  });
  const handledKey = `${prefix}handled`;

  const a = startBot({ ...env, CONSUMER: 'bot-a' });
  bots.push(a);
  await a.started;
  const flow = eventFlow(t, sim, 2, 10);
  await waitFor(async () => (await redis.hlen(handledKey)) >= 60, { what: 'bot a handling events', ...WAIT });
  a.child.kill('SIGKILL');
  await new Promise((resolve) => a.child.once('exit', resolve));
  const pendingAtKill = ((await redis.xpending(eventStreamKey(prefix, 0), 'bot')) as [number])[0];

  // a new process under another name: bot-a's pending entries come to it through XAUTOCLAIM
  const b = startBot({ ...env, CONSUMER: 'bot-b' });
  bots.push(b);
  await b.started;
  await waitFor(async () => (await redis.hlen(handledKey)) >= 120, {
    what: 'bot b handling events',
    ...WAIT,
  });
  flow.stop();

  const messageIds = async (): Promise<string[]> => {
    const entries = (await redis.xrange(eventStreamKey(prefix, 0), '-', '+')) as [string, string[]][];
    return entries
      .map(([, raw]) => parseEventFields(raw))
      .filter((e) => e?.type === 'MESSAGE_CREATE')
      .map((e) => (e!.data as { id: string }).id);
  };
  await waitFor(
    async () => {
      const [count] = (await redis.xpending(eventStreamKey(prefix, 0), 'bot')) as [number];
      return count === 0 && (await redis.hlen(handledKey)) === (await messageIds()).length;
    },
    { what: () => `every entry handled and acknowledged\n${b.stderr.join('')}`, ...WAIT },
  );
  const ids = await messageIds();
  assert.equal(new Set(ids).size, ids.length, 'the stream holds each message once');
  const counts = (await redis.hgetall(handledKey)) as Record<string, string>;
  assert.deepEqual(
    ids.filter((id) => counts[id] !== '1'),
    [],
    'every message id counted exactly once by the onAck step, across both processes',
  );
  // The plain effect (a file append in the handler) is at least once: a handler that finished in bot a but
  // whose acknowledgement did not reach Redis before the kill ran again in bot b — and only those.
  const lines = readFileSync(files.OUT_FILE, 'utf8').trim().split('\n');
  const appended = new Map<string, number>();
  for (const id of lines) appended.set(id, (appended.get(id) ?? 0) + 1);
  assert.deepEqual(
    ids.filter((id) => !appended.has(id)),
    [],
    'every message appended at least once',
  );
  const redelivered = new Set(
    existsSync(files.REDELIVERED_FILE) ? readFileSync(files.REDELIVERED_FILE, 'utf8').trim().split('\n') : [],
  );
  const twice = [...appended].filter(([, n]) => n > 1).map(([id]) => id);
  assert.deepEqual(
    twice.filter((id) => !redelivered.has(id) || (appended.get(id) ?? 0) > 2),
    [],
    'a second run only on a redelivery',
  );
  t.diagnostic(
    `${ids.length} messages; ${pendingAtKill} pending at the kill, ${redelivered.size} handled again, ${twice.length} appended twice`,
  );
  assert.ok(pendingAtKill > 0, 'bot a died with entries in flight');
  assert.ok(
    redelivered.size > 0 && redelivered.size <= pendingAtKill,
    `${redelivered.size} of ${pendingAtKill}`,
  );
  b.child.kill('SIGTERM');
  assert.equal(await new Promise((resolve) => b.child.once('exit', resolve)), 0);
});
