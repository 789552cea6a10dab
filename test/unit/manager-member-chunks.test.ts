import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  buildMemberRequest,
  MemberChunkCollector,
  type RequestGuildMembersPayload,
} from '../../src/manager/member-chunks.js';
import { ManualClock } from '../../src/util/clock.js';

const GUILD = '81384788765712384';
const flush = () => new Promise<void>((r) => setImmediate(r));

function setup(options: { timeoutMs?: number; maxRateLimitRetries?: number } = {}) {
  const clock = new ManualClock();
  const sent: { guildId: string; payload: RequestGuildMembersPayload }[] = [];
  const collector = new MemberChunkCollector({
    clock,
    send: (guildId, payload) => {
      sent.push({ guildId, payload });
    },
    ...options,
  });
  return { clock, sent, collector };
}

function chunk(nonce: string, index: number, count: number, ids: string[], extra: object = {}) {
  return {
    guild_id: GUILD,
    nonce,
    chunk_index: index,
    chunk_count: count,
    members: ids.map((id) => ({ user: { id } })),
    ...extra,
  };
}

test('collects every chunk of a request, in chunk order, whatever the arrival order', async () => {
  const { sent, collector } = setup();
  const result = collector.request({ guildId: GUILD });
  assert.equal(sent.length, 1);
  const { nonce } = sent[0]!.payload.d;
  assert.deepEqual(sent[0]!.payload, { op: 8, d: { guild_id: GUILD, nonce, query: '', limit: 0 } });
  assert.ok(Buffer.byteLength(nonce) <= 32);
  assert.equal(collector.handleDispatch('GUILD_MEMBERS_CHUNK', chunk(nonce, 2, 3, ['5'])), true);
  assert.equal(collector.handleDispatch('GUILD_MEMBERS_CHUNK', chunk(nonce, 0, 3, ['1', '2'])), true);
  assert.equal(collector.handleDispatch('GUILD_MEMBERS_CHUNK', chunk('other', 1, 3, ['9'])), false);
  assert.equal(collector.handleDispatch('GUILD_MEMBERS_CHUNK', chunk(nonce, 1, 3, ['3', '4'])), true);
  const r = await result;
  assert.deepEqual(
    r.members.map((m) => (m as { user: { id: string } }).user.id),
    ['1', '2', '3', '4', '5'],
  );
  assert.equal(r.chunkCount, 3);
  assert.equal(collector.pending, 0);
});

test('reports not_found ids as strings, numbers included', async () => {
  const { sent, collector } = setup();
  const result = collector.request({ guildId: GUILD, userIds: ['1', '2', '3'], presences: true });
  const d = sent[0]!.payload.d;
  assert.deepEqual(d.user_ids, ['1', '2', '3']);
  assert.equal(d.presences, true);
  assert.equal(d.query, undefined);
  collector.handleDispatch('GUILD_MEMBERS_CHUNK', chunk(d.nonce, 0, 1, ['1'], { not_found: [2, '3'] }));
  const r = await result;
  assert.deepEqual(r.notFound, ['2', '3']);
  assert.equal(r.members.length, 1);
});

test('a RATE_LIMITED dispatch delays and resends the request instead of failing it', async () => {
  const { clock, sent, collector } = setup({ timeoutMs: 1000 });
  const result = collector.request({ guildId: GUILD });
  const { nonce } = sent[0]!.payload.d;
  const handled = collector.handleDispatch('RATE_LIMITED', {
    opcode: 8,
    retry_after: 2.5,
    meta: { guild_id: GUILD, nonce },
  });
  assert.equal(handled, true);
  clock.advance(2499);
  assert.equal(sent.length, 1, 'the request timeout is paused while rate limited');
  clock.advance(1);
  assert.equal(sent.length, 2);
  assert.deepEqual(sent[1]!.payload, sent[0]!.payload);
  collector.handleDispatch('GUILD_MEMBERS_CHUNK', chunk(nonce, 0, 1, ['1']));
  const r = await result;
  assert.equal(r.rateLimitRetries, 1);
});

test('a RATE_LIMITED dispatch without a nonce applies to the oldest waiting request of that guild', async () => {
  const { clock, sent, collector } = setup();
  const first = collector.request({ guildId: GUILD });
  const second = collector.request({ guildId: GUILD, query: 'a', limit: 5 });
  assert.equal(
    collector.handleDispatch('RATE_LIMITED', { opcode: 8, retry_after: 1, meta: { guild_id: GUILD } }),
    true,
  );
  assert.equal(collector.handleDispatch('RATE_LIMITED', { opcode: 3, retry_after: 1, meta: {} }), false);
  clock.advance(1000);
  assert.equal(sent.length, 3);
  assert.equal(sent[2]!.payload.d.nonce, sent[0]!.payload.d.nonce);
  collector.destroy();
  await assert.rejects(first, { code: 'MEMBER_REQUEST_ABORTED' });
  await assert.rejects(second, { code: 'MEMBER_REQUEST_ABORTED' });
});

test('fails with MEMBER_REQUEST_TIMEOUT after a silence of timeoutMs', async () => {
  const { clock, sent, collector } = setup({ timeoutMs: 500 });
  const result = collector.request({ guildId: GUILD });
  const { nonce } = sent[0]!.payload.d;
  clock.advance(400);
  collector.handleDispatch('GUILD_MEMBERS_CHUNK', chunk(nonce, 0, 2, ['1']));
  clock.advance(400);
  await flush();
  clock.advance(100);
  await assert.rejects(result, (err: Error & { code?: string }) => {
    assert.equal(err.code, 'MEMBER_REQUEST_TIMEOUT');
    assert.match(err.message, /1 of 2 chunks/);
    return true;
  });
  assert.equal(clock.pending, 0);
});

test('gives up with MEMBER_REQUEST_TIMEOUT after too many rate limits', async () => {
  const { clock, sent, collector } = setup({ maxRateLimitRetries: 1 });
  const result = collector.request({ guildId: GUILD });
  const { nonce } = sent[0]!.payload.d;
  collector.handleDispatch('RATE_LIMITED', { opcode: 8, retry_after: 0.1, meta: { guild_id: GUILD, nonce } });
  clock.advance(100);
  collector.handleDispatch('RATE_LIMITED', { opcode: 8, retry_after: 0.1, meta: { guild_id: GUILD, nonce } });
  await assert.rejects(result, { code: 'MEMBER_REQUEST_TIMEOUT' });
});

test('the async iterator yields chunks as they arrive and ends after the last', async () => {
  const { sent, collector } = setup();
  const iterator = collector.stream({ guildId: GUILD, query: 'ab', limit: 10 });
  const seen: number[] = [];
  const done = (async () => {
    for await (const c of iterator) seen.push(c.chunkIndex);
  })();
  await flush();
  const { nonce } = sent[0]!.payload.d;
  collector.handleDispatch('GUILD_MEMBERS_CHUNK', chunk(nonce, 1, 2, ['2']));
  await flush();
  assert.deepEqual(seen, [1]);
  collector.handleDispatch('GUILD_MEMBERS_CHUNK', chunk(nonce, 0, 2, ['1']));
  await done;
  assert.deepEqual(seen, [1, 0]);
});

test('returning from the iterator early forgets the request', async () => {
  const { sent, collector } = setup();
  const iterator = collector.stream({ guildId: GUILD });
  const first = iterator.next();
  const { nonce } = sent[0]!.payload.d;
  collector.handleDispatch('GUILD_MEMBERS_CHUNK', chunk(nonce, 0, 2, ['1']));
  assert.equal((await first).value?.chunkIndex, 0);
  await iterator.return?.();
  assert.equal(collector.pending, 0);
  assert.equal(collector.handleDispatch('GUILD_MEMBERS_CHUNK', chunk(nonce, 1, 2, ['2'])), false);
});

test('abort and destroy fail requests with MEMBER_REQUEST_ABORTED', async () => {
  const { collector } = setup();
  const controller = new AbortController();
  const aborted = collector.request({ guildId: GUILD, signal: controller.signal });
  controller.abort();
  await assert.rejects(aborted, { code: 'MEMBER_REQUEST_ABORTED' });
  const pending = collector.request({ guildId: GUILD });
  collector.destroy();
  await assert.rejects(pending, { code: 'MEMBER_REQUEST_ABORTED' });
  await assert.rejects(collector.request({ guildId: GUILD }), { code: 'MEMBER_REQUEST_ABORTED' });
});

test('a failing send rejects the request with the send error', async () => {
  const collector = new MemberChunkCollector({
    clock: new ManualClock(),
    send: async () => {
      throw new Error('shard 3 is not connected');
    },
  });
  await assert.rejects(collector.request({ guildId: GUILD }), /shard 3 is not connected/);
  assert.equal(collector.pending, 0);
});

test('bad requests are ConfigErrors naming the option', () => {
  const bad: [object, string][] = [
    [{ guildId: 'abc' }, 'guildId'],
    [{ guildId: GUILD, query: 'a' }, 'limit'],
    [{ guildId: GUILD, limit: -1 }, 'limit'],
    [{ guildId: GUILD, userIds: [] }, 'userIds'],
    [{ guildId: GUILD, userIds: Array.from({ length: 101 }, (_, i) => String(i + 1)) }, 'userIds'],
    [{ guildId: GUILD, userIds: ['1'], query: '' }, 'query'],
    [{ guildId: GUILD, presences: 'yes' }, 'presences'],
  ];
  for (const [options, option] of bad) {
    assert.throws(() => buildMemberRequest(options as never, 'n'), { code: 'CONFIG_INVALID', option });
  }
  assert.throws(() => buildMemberRequest({ guildId: GUILD }, 'x'.repeat(33)), { option: 'nonce' });
});
