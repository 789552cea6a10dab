import assert from 'node:assert/strict';
import { test } from 'node:test';
import { inflateSync } from 'node:zlib';
import { ZstdStreamDecoder } from '../../src/codec/zstd-stream.js';
import { ConfigError } from '../../src/errors.js';
import { deflateSegment, storedSegment, zstdRawBlocks } from '../../src/simulator/compression.js';
import { Dispatch, FULL, STRIPPED } from '../../src/simulator/dispatch.js';
import { snowflakesToBigInt } from '../../src/simulator/etf-wire.js';
import { INTENTS } from '../../src/simulator/intents.js';
import { resolveSimulatorOptions } from '../../src/simulator/options.js';
import {
  IdentifyBuckets,
  isPresenceUpdate,
  isRuleFailure,
  MemberRequestLimiter,
  SendWindow,
  SessionStartBudget,
  validateIdentify,
} from '../../src/simulator/rules.js';
import { Session } from '../../src/simulator/session.js';
import { shardOf, World } from '../../src/simulator/world.js';
import { ALL_INTENTS, PRIVILEGED_INTENTS, parseIntents } from '../../src/util/intents.js';

test('intent masks match the documented values', () => {
  assert.equal(ALL_INTENTS, 53608447);
  assert.equal(PRIVILEGED_INTENTS, 33026);
  assert.equal(parseIntents('GUILD_MEMBERS, guild_presences'), 258);
  assert.equal(parseIntents('none'), 0);
  assert.equal(parseIntents('NOPE'), undefined);
});

test('the send window admits the limit and refuses one more until the window slides', () => {
  const w = new SendWindow(3, 1000);
  assert.deepEqual([w.admit(0), w.admit(10), w.admit(20), w.admit(30)], [true, true, true, false]);
  assert.equal(w.admit(999), false);
  assert.equal(w.admit(1000), true);
});

test('identify buckets allow one identify per bucket per window', () => {
  const b = new IdentifyBuckets(2, 5000);
  assert.deepEqual([b.take(0, 0), b.take(1, 0), b.take(2, 100), b.take(3, 100)], [true, true, false, false]);
  assert.equal(b.take(2, 5000), true);
});

test('the session-start budget counts down and refills after the reset time', () => {
  const b = new SessionStartBudget(2, 1000);
  assert.deepEqual([b.take(0), b.take(10), b.take(20)], [true, true, false]);
  assert.equal(b.remaining(500), 0);
  assert.equal(b.resetAfter(500), 500);
  assert.equal(b.remaining(1000), 2);
});

test('the all-members limiter reports the wait left', () => {
  const l = new MemberRequestLimiter(30_000);
  assert.equal(l.take('1', 0), 0);
  assert.equal(l.take('1', 10_000), 20_000);
  assert.equal(l.take('2', 10_000), 0);
  assert.equal(l.take('1', 30_000), 0);
});

test('validateIdentify checks token, intents, privileged intents, shard and guild count in order', () => {
  const ctx = { tokens: ['t'], privilegedIntents: 0, maxGuildsPerShard: 10, guildsOnShard: () => 11 };
  const base = { token: 't', intents: 1, properties: {} };
  const close = (d: unknown, c = ctx) => {
    const r = validateIdentify(d, c);
    return isRuleFailure(r) ? r.close : 'ok';
  };
  assert.equal(close(null), 4001);
  assert.equal(close({ ...base, token: 'x' }), 4004);
  assert.equal(close({ ...base, intents: 1.5 }), 4013);
  assert.equal(close({ ...base, intents: INTENTS.MESSAGE_CONTENT }), 4014);
  assert.equal(close({ ...base, shard: [1, 1] }), 4010);
  assert.equal(close(base), 4011);
  assert.equal(close({ ...base, shard: [0, 2] }, { ...ctx, guildsOnShard: () => 10 }), 'ok');
});

test('a session replays what followed a seq and reports evicted history', () => {
  const s = new Session({
    id: 'x',
    token: 't',
    shard: [0, 1],
    shardGiven: false,
    intents: 0,
    largeThreshold: 50,
    presence: null,
    capacity: 3,
  });
  const ds = [1, 2, 3, 4, 5].map((i) => new Dispatch(`E${i}`, {}, undefined));
  for (const d of ds) s.push(d);
  assert.equal(s.oldestSeq, 3);
  assert.deepEqual(
    s.since(2)!.map((e) => [e.seq, e.dispatch.t]),
    [
      [3, 'E3'],
      [4, 'E4'],
      [5, 'E5'],
    ],
  );
  assert.deepEqual(s.since(5), []);
  assert.equal(s.since(1), undefined);
});

test('dispatch variants follow intents and MESSAGE_CONTENT', () => {
  const guild = '175928847299117063';
  const msg = new Dispatch('MESSAGE_CREATE', { content: 'hi', embeds: [1], guild_id: guild }, guild);
  assert.equal(msg.variantFor(0), undefined);
  assert.equal(msg.variantFor(INTENTS.GUILD_MESSAGES), STRIPPED);
  assert.equal(msg.variantFor(INTENTS.GUILD_MESSAGES | INTENTS.MESSAGE_CONTENT), FULL);
  assert.deepEqual(msg.data(STRIPPED), { content: '', embeds: [], guild_id: guild });
  const dm = new Dispatch('MESSAGE_CREATE', { content: 'hi' }, undefined);
  assert.equal(dm.variantFor(INTENTS.DIRECT_MESSAGES), FULL, 'DMs keep their content');
  assert.equal(new Dispatch('CUSTOM_EVENT', {}, guild).variantFor(0), FULL);
  assert.throws(() => new Dispatch('bad name', {}, undefined), TypeError);
});

test('snowflake fields become BigInt for ETF output, other strings stay', () => {
  assert.deepEqual(
    snowflakesToBigInt({
      id: '175928847299117063',
      name: '123',
      roles: ['41771983423143936'],
      x: { channel_id: '5' },
    }),
    {
      id: 175928847299117063n,
      name: '123',
      roles: [41771983423143936n],
      x: { channel_id: 5n },
    },
  );
});

test('zlib-stream segments (stored prefix + shared deflated body) inflate to the payload', () => {
  const body = Buffer.from(`${JSON.stringify({ a: 'x'.repeat(500) })}}`);
  const prefix = Buffer.from('{"t":"A","s":1,"op":0,"d":');
  const stream = Buffer.concat([Buffer.of(0x78, 0x9c), storedSegment(prefix), deflateSegment(body)]);
  assert.deepEqual(stream.subarray(-4), Buffer.of(0, 0, 0xff, 0xff));
  const out = inflateSync(stream, { finishFlush: 2 }).toString();
  assert.equal(out, `${prefix}${body}`);
  assert.equal(storedSegment(Buffer.alloc(70_000)).length, 70_000 + 10, 'two stored blocks');
});

test('zstd raw blocks form a stream the shared decoder reads message by message', () => {
  const dec = new ZstdStreamDecoder();
  const header = Buffer.of(0x28, 0xb5, 0x2f, 0xfd, 0x00, 0x40);
  const a = Buffer.from('{"op":10}');
  const b = Buffer.alloc(200_000, 0x61);
  assert.deepEqual(Buffer.from(dec.push(Buffer.concat([header, zstdRawBlocks(a)]))!), a);
  assert.deepEqual(Buffer.from(dec.push(zstdRawBlocks(b))!), b);
});

test('the same seed builds the same world, and routing uses (id >> 22) % shards', () => {
  const a = new World({ seed: 9, guilds: 20, membersPerGuild: 3 });
  const b = new World({ seed: 9, guilds: 20, membersPerGuild: 3 });
  assert.deepEqual(
    a.guilds.map((g) => g.id),
    b.guilds.map((g) => g.id),
  );
  for (const g of a.guilds) assert.equal(shardOf(g.id, 4), Number((BigInt(g.id) >> 22n) % 4n));
  const total = [0, 1, 2, 3].reduce((n, s) => n + a.guildsForShard(s, 4).length, 0);
  assert.equal(total, 20);
  assert.equal(shardOf('175928847299117063', 2), 0);
});

test('simulator options are validated with the option name', () => {
  assert.throws(
    () => resolveSimulatorOptions({ heartbeatIntervalMs: 0 }),
    (e: unknown) => e instanceof ConfigError && e.option === 'heartbeatIntervalMs',
  );
  assert.throws(() => resolveSimulatorOptions({ tokens: [] }), ConfigError);
  assert.throws(() => resolveSimulatorOptions({ privilegedIntents: 1 }), ConfigError);
  assert.throws(() => resolveSimulatorOptions({ resumePath: '/' }), ConfigError);
  const o = resolveSimulatorOptions({ guilds: 2501 });
  assert.equal(o.shards, 3);
  assert.ok(Object.isFrozen(o));
});

test('a presence with activities: null is accepted (Eris sends it in IDENTIFY), a non-array is not', () => {
  assert.equal(isPresenceUpdate({ status: 'online', activities: null, afk: false, since: null }), true);
  assert.equal(isPresenceUpdate({ status: 'online', activities: 'playing' }), false);
});
