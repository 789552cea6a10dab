import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { GatewayProxy } from '../../src/proxy/index.js';
import type { Simulator } from '../../src/simulator/index.js';
import { shardOf } from '../../src/simulator/world.js';
import {
  CLIENT_TOKEN,
  identifiedClient,
  proxyClient,
  proxyRig,
  UPSTREAM_INTENTS,
} from '../support/proxy-harness.js';
import type { Payload } from '../support/raw-client.js';

type Rec = Record<string, unknown>;

// One upstream (simulator, 2 shards) and one proxy for the rules that need no special options.
let rig: { sim: Simulator; proxy: GatewayProxy };
const closers: (() => unknown)[] = [];
before(async () => {
  rig = await proxyRig({ after: (fn) => void closers.push(fn) });
});
after(async () => {
  for (const fn of closers.reverse()) await fn();
});

function guildOn(sim: Simulator, shard: number): string {
  const g = sim.world.guilds.find((x) => shardOf(x.id, 2) === shard);
  assert.ok(g, `no guild on shard ${shard}`);
  return g.id;
}

async function getJson(url: string): Promise<{ status: number; body: Rec }> {
  const res = await fetch(url);
  return { status: res.status, body: (await res.json()) as Rec };
}

test('GET /gateway/bot answers the proxy URL, the upstream shard count and an open session-start limit', async () => {
  const { proxy } = rig;
  for (const prefix of ['/api/v10', '/api/v9', '/api']) {
    const { status, body } = await getJson(`${proxy.httpUrl}${prefix}/gateway/bot`);
    assert.equal(status, 200);
    assert.equal(body.url, proxy.gatewayUrl);
    assert.equal(body.shards, 2);
    const limit = body.session_start_limit as Rec;
    assert.equal(limit.max_concurrency, 2);
    assert.ok((limit.remaining as number) >= 1000);
    const plain = await getJson(`${proxy.httpUrl}${prefix}/gateway`);
    assert.deepEqual(plain.body, { url: proxy.gatewayUrl });
  }
  assert.equal(proxy.restUrl, `${proxy.httpUrl}/api`);
});

test('other REST routes are a JSON 404 saying the proxy serves only the gateway routes', async () => {
  const { status, body } = await getJson(`${rig.proxy.httpUrl}/api/v10/users/@me`);
  assert.equal(status, 404);
  assert.match(body.message as string, /only .*gateway/);
});

test('HELLO, then every heartbeat is acknowledged', async (t) => {
  const { client, hello } = await proxyClient(t, rig.proxy);
  assert.equal(typeof (hello.d as Rec).heartbeat_interval, 'number');
  client.send({ op: 1, d: null });
  await client.nextOp(11);
  client.send({ op: 1, d: 5 });
  await client.nextOp(11);
});

const closes: [string, (c: import('../support/raw-client.js').RawClient) => void, number][] = [
  ['a wrong token', (c) => c.identify('nope', { shard: [0, 2] }), 4004],
  ['a shard count other than the upstream one', (c) => c.identify(CLIENT_TOKEN, { shard: [0, 3] }), 4010],
  ['a shard id out of range', (c) => c.identify(CLIENT_TOKEN, { shard: [2, 2] }), 4010],
  ['no shard while the upstream has two', (c) => c.identify(CLIENT_TOKEN, { intents: 1 }), 4011],
  ['intents the upstream lacks', (c) => c.identify(CLIENT_TOKEN, { shard: [0, 2], intents: 1 | 4 }), 4014],
  ['an undocumented intent bit', (c) => c.identify(CLIENT_TOKEN, { shard: [0, 2], intents: 1 << 17 }), 4013],
  ['intents that are not a number', (c) => c.identify(CLIENT_TOKEN, { shard: [0, 2], intents: '513' }), 4002],
  ['a shard that is not a pair of integers', (c) => c.identify(CLIENT_TOKEN, { shard: ['0', 2] }), 4002],
  [
    'a command before IDENTIFY',
    (c) => c.send({ op: 3, d: { status: 'online', activities: [], since: null, afk: false } }),
    4003,
  ],
  ['an unknown opcode', (c) => c.send({ op: 99, d: null }), 4001],
  ['a payload that is not JSON', (c) => c.sendRaw('{"op":1,'), 4002],
  ['a payload that is not an object', (c) => c.sendRaw('[1,2]'), 4002],
  [
    'a payload over 4096 bytes',
    (c) => c.sendRaw(JSON.stringify({ op: 1, d: null, x: 'a'.repeat(5000) })),
    4002,
  ],
  ['a heartbeat whose d is a string', (c) => c.send({ op: 1, d: 'x' }), 4002],
  ['RESUME with a wrong token', (c) => c.resume('nope', 'abc', 1), 4004],
];

for (const [what, act, code] of closes) {
  test(`${what} is closed with ${code}`, async (t) => {
    const { client } = await proxyClient(t, rig.proxy);
    act(client);
    assert.equal((await client.closed).code, code);
  });
}

test('the token is accepted with its Bot prefix; a second IDENTIFY is 4005', async (t) => {
  const { client } = await proxyClient(t, rig.proxy);
  client.identify(`Bot ${CLIENT_TOKEN}`, { shard: [0, 2], intents: 1 });
  await client.nextOp(0, 'READY');
  client.identify(CLIENT_TOKEN, { shard: [0, 2], intents: 1 });
  assert.equal((await client.closed).code, 4005);
});

test('events are filtered by the intents the client identified with', async (t) => {
  const { sim, proxy } = rig;
  const guildId = guildOn(sim, 0);
  const all = await identifiedClient(t, proxy, [0, 2], { intents: 1 | 512 | 32768 });
  const guildsOnly = await identifiedClient(t, proxy, [0, 2], { intents: 1 });
  sim.emitEvent('MESSAGE_CREATE', { id: '1', guild_id: guildId, channel_id: '2', content: 'hi' });
  sim.emitEvent('GUILD_ROLE_DELETE', { guild_id: guildId, role_id: '3' });
  const m = await all.client.nextOp(0, 'MESSAGE_CREATE');
  assert.equal((m.d as Rec).content, 'hi');
  await all.client.nextOp(0, 'GUILD_ROLE_DELETE');
  await guildsOnly.client.nextOp(0, 'GUILD_ROLE_DELETE');
  assert.equal(guildsOnly.client.received.filter((p) => p.t === 'MESSAGE_CREATE').length, 0);
});

test('a client without MESSAGE_CONTENT gets guild messages without content, unless they mention the bot', async (t) => {
  const { sim, proxy } = rig;
  const guildId = guildOn(sim, 0);
  const withContent = await identifiedClient(t, proxy, [0, 2], { intents: 1 | 512 | 32768 });
  const without = await identifiedClient(t, proxy, [0, 2], { intents: 1 | 512 });
  sim.emitEvent('MESSAGE_CREATE', {
    id: '11',
    guild_id: guildId,
    channel_id: '2',
    content: 'secret',
    embeds: [{ title: 'x' }],
    mentions: [],
  });
  sim.emitEvent('MESSAGE_CREATE', {
    id: '12',
    guild_id: guildId,
    channel_id: '2',
    content: 'hey bot',
    mentions: [{ id: sim.world.bot.id }],
  });
  const a = [
    await withContent.client.nextOp(0, 'MESSAGE_CREATE'),
    await withContent.client.nextOp(0, 'MESSAGE_CREATE'),
  ];
  const b = [
    await without.client.nextOp(0, 'MESSAGE_CREATE'),
    await without.client.nextOp(0, 'MESSAGE_CREATE'),
  ];
  assert.deepEqual(
    a.map((p) => (p.d as Rec).content),
    ['secret', 'hey bot'],
  );
  assert.deepEqual(
    b.map((p) => (p.d as Rec).content),
    ['', 'hey bot'],
  );
  assert.deepEqual((b[0]!.d as Rec).embeds, []);
});

test('two clients on one shard each get every event, with their own sequence numbers', async (t) => {
  const { sim, proxy } = rig;
  const guildId = guildOn(sim, 1);
  const a = await identifiedClient(t, proxy, [1, 2]);
  const b = await identifiedClient(t, proxy, [1, 2]);
  assert.notEqual(a.sessionId, b.sessionId);
  for (let i = 0; i < 5; i++)
    sim.emitEvent('MESSAGE_CREATE', {
      id: `${100 + i}`,
      guild_id: guildId,
      channel_id: '2',
      content: `m${i}`,
    });
  for (const c of [a.client, b.client]) {
    const got: string[] = [];
    let last = 0;
    for (let i = 0; i < 5; i++) {
      const p = await c.nextOp(0, 'MESSAGE_CREATE');
      assert.ok((p.s as number) > last);
      last = p.s as number;
      got.push((p.d as Rec).content as string);
    }
    assert.deepEqual(got, ['m0', 'm1', 'm2', 'm3', 'm4']);
  }
});

test('RESUME after a drop replays exactly the missed events in order, then RESUMED; the upstream never notices', async (t) => {
  const { sim, proxy } = rig;
  const before = sim.stats();
  const guildId = guildOn(sim, 0);
  const first = await identifiedClient(t, proxy, [0, 2]);
  const watcher = await identifiedClient(t, proxy, [0, 2]);
  sim.emitEvent('MESSAGE_CREATE', { id: '200', guild_id: guildId, channel_id: '2', content: 'seen' });
  const seen = await first.client.nextOp(0, 'MESSAGE_CREATE');
  await first.client.terminate();
  for (let i = 0; i < 3; i++)
    sim.emitEvent('MESSAGE_CREATE', {
      id: `${201 + i}`,
      guild_id: guildId,
      channel_id: '2',
      content: `missed${i}`,
    });
  // Once a client that stayed connected has them, the proxy has put them in the dropped session's buffer too.
  await watcher.client.next((p) => p.t === 'MESSAGE_CREATE' && (p.d as Rec).content === 'missed2');
  const { client } = await proxyClient(t, proxy);
  client.resume(CLIENT_TOKEN, first.sessionId, seen.s);
  const replayed: Payload[] = [];
  for (;;) {
    const p = await client.nextOp(0);
    if (p.t === 'RESUMED') break;
    replayed.push(p);
  }
  assert.deepEqual(
    replayed.map((p) => [p.s, (p.d as Rec).content]),
    [0, 1, 2].map((i) => [(seen.s as number) + 1 + i, `missed${i}`]),
  );
  const after = sim.stats();
  assert.equal(after.identifies, before.identifies);
  assert.equal(after.connectionsTotal, before.connectionsTotal);
});

test('RESUME of an unknown session gets op 9 false; IDENTIFY on the same connection then gets a fresh READY', async (t) => {
  const { client } = await proxyClient(t, rig.proxy);
  client.resume(CLIENT_TOKEN, 'f'.repeat(32), 3);
  const nine = await client.nextOp(9);
  assert.equal(nine.d, false);
  client.identify(CLIENT_TOKEN, { shard: [1, 2], intents: UPSTREAM_INTENTS });
  const ready = await client.nextOp(0, 'READY');
  assert.equal(ready.s, 1);
});

test('RESUME with a sequence the session never reached is closed with 4007', async (t) => {
  const first = await identifiedClient(t, rig.proxy, [1, 2]);
  await first.client.terminate();
  const { client } = await proxyClient(t, rig.proxy);
  client.resume(CLIENT_TOKEN, first.sessionId, 10_000);
  assert.equal((await client.closed).code, 4007);
});

test('op 8 answered from the cache reaches only the requester, with its nonce', async (t) => {
  const { sim, proxy } = rig;
  const guildId = guildOn(sim, 0);
  const a = await identifiedClient(t, proxy, [0, 2]);
  const b = await identifiedClient(t, proxy, [0, 2]);
  a.client.send({ op: 8, d: { guild_id: guildId, query: '', limit: 0, nonce: 'mine' } });
  const chunk = await a.client.nextOp(0, 'GUILD_MEMBERS_CHUNK');
  const d = chunk.d as Rec;
  assert.equal(d.nonce, 'mine');
  assert.equal(d.guild_id, guildId);
  assert.ok((d.members as unknown[]).length > 0);
  b.client.heartbeat();
  await b.client.nextOp(11);
  assert.equal(b.client.received.filter((p) => p.t === 'GUILD_MEMBERS_CHUNK').length, 0);
});
