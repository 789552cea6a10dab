import assert from 'node:assert/strict';
import { test } from 'node:test';
import { inspect } from 'node:util';
import { ConfigError } from '../../src/errors.js';
import { resolveGatewayProxyOptions } from '../../src/proxy/index.js';
import { OutboundEvent } from '../../src/proxy/server/outbound-event.js';
import { ReplayBuffer } from '../../src/proxy/server/replay-buffer.js';

const TOKEN = 'bot-token-secret-123';
const CLIENT = 'client-token-secret-456';

test('resolved proxy options never show the bot or the client tokens', () => {
  const o = resolveGatewayProxyOptions({ token: `Bot ${TOKEN}`, intents: 513, clientTokens: [CLIENT] });
  for (const text of [JSON.stringify(o), inspect(o, { depth: 5 }), String(o.token), `${o.clientTokens[0]}`]) {
    assert.ok(!text.includes(TOKEN) && !text.includes(CLIENT), text);
  }
  assert.equal(o.token?.reveal(), TOKEN, 'the Bot prefix is dropped');
  assert.ok(Object.isFrozen(o));
});

test('bad proxy options are ConfigErrors naming the option', () => {
  const base = { token: TOKEN, intents: 513, clientTokens: [CLIENT] };
  for (const [bad, option] of [
    [{ clientTokens: [] }, 'clientTokens'],
    [{ clientTokens: [''] }, 'clientTokens[0]'],
    [{ token: '' }, 'token'],
    [{ port: 70_000 }, 'port'],
    [{ replayEvents: -1 }, 'replayEvents'],
    [{ replayMs: 1.5 }, 'replayMs'],
    [{ publicUrl: 'http://x' }, 'publicUrl'],
    [{ intents: '513' }, 'intents'],
  ] as const) {
    assert.throws(
      () => resolveGatewayProxyOptions({ ...base, ...(bad as object) } as never),
      (err: unknown) => err instanceof ConfigError && err.message.includes(option),
      option,
    );
  }
});

test('the replay buffer keeps at most its count and its age, and says when a resume point was evicted', () => {
  const e = new OutboundEvent('X', {});
  const byCount = new ReplayBuffer(3, 1_000_000);
  for (let s = 1; s <= 5; s++) byCount.push(s, e, 0);
  assert.equal(byCount.size, 3);
  assert.deepEqual(
    byCount.after(2, 0)?.map((x) => x.s),
    [3, 4, 5],
  );
  assert.equal(byCount.after(1, 0), undefined, 'event 2 was evicted');
  const byAge = new ReplayBuffer(100, 1_000);
  byAge.push(1, e, 0);
  byAge.push(2, e, 900);
  assert.deepEqual(
    byAge.after(0, 950)?.map((x) => x.s),
    [1, 2],
  );
  assert.equal(byAge.after(0, 1_500), undefined, 'event 1 is older than the age limit');
  assert.deepEqual(
    byAge.after(1, 1_500)?.map((x) => x.s),
    [2],
  );
});
