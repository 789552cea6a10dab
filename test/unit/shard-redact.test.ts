/**
 * Redaction of text from the network (whole token and any 8+-character piece of it, redacted before it is
 * cut) and the option bounds that keep hostile or mistaken numbers out of timers.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { inspect } from 'node:util';
import { ConfigError, GatewayCloseError, ShardError } from '../../src/errors.js';
import { resolveShardOptions } from '../../src/shard/options.js';
import { redact, redactError, redactedExcerpt, Secret } from '../../src/util/redact.js';

const TOKEN = 'MTA5ODc2NTQzMjEwOTg3NjU0.GhIjKl.piece-redaction-token';
const PIECES = Array.from({ length: TOKEN.length - 7 }, (_, i) => TOKEN.slice(i, i + 8));

function leaks(text: string): string | undefined {
  return PIECES.find((p) => text.includes(p));
}

test('redact removes the whole token, Bot-prefixed or not, and leaves other text alone', () => {
  assert.equal(redact(`a ${TOKEN} b Bot ${TOKEN}`, TOKEN), 'a [redacted] b Bot [redacted]');
  assert.equal(redact('nothing secret here', new Secret(TOKEN)), 'nothing secret here');
});

test('redact removes every piece of 8 or more characters of the token, wherever it was cut', () => {
  for (let start = 0; start < TOKEN.length - 8; start += 3) {
    for (const end of [start + 8, start + 13, TOKEN.length]) {
      const text = `reason: ${TOKEN.slice(start, end)}!`;
      const out = redact(text, TOKEN);
      assert.equal(leaks(out), undefined, `${start}-${end}: ${out}`);
      assert.ok(out.startsWith('reason: ') && out.endsWith('[redacted]!'), out);
    }
  }
  // Seven characters are not a recognisable piece; they stay.
  assert.equal(redact(`x ${TOKEN.slice(0, 7)} y`, TOKEN), `x ${TOKEN.slice(0, 7)} y`);
});

test('redactedExcerpt redacts first, then cuts: a token across the cut leaves no piece behind', () => {
  for (let pad = 180; pad <= 205; pad++) {
    const text = `${'x'.repeat(pad)}${TOKEN}${'y'.repeat(50)}`;
    const out = redactedExcerpt(text, TOKEN, 200);
    assert.equal(leaks(out), undefined, `pad ${pad}: ${out}`);
    assert.ok(out.length <= 201);
  }
  assert.equal(redactedExcerpt('short', TOKEN, 200), 'short');
});

test('redactError cleans message, stack, own fields and the cause chain, keeping message non-enumerable', () => {
  const inner = new SyntaxError(`Unexpected token in "${TOKEN.slice(5, 30)}"`);
  const close = new GatewayCloseError(4004, 'fatal', 'authentication failed', `bad ${TOKEN}`, {
    cause: new AggregateError([inner], `all failed: ${TOKEN}`),
  });
  const wrapped = new ShardError('SOCKET_ERROR', `socket: ${TOKEN.slice(10)}`, { cause: close });
  void wrapped.stack;
  redactError(wrapped, new Secret(TOKEN));
  for (const text of [
    inspect(wrapped, { depth: 10, showHidden: true }),
    JSON.stringify(wrapped),
    wrapped.message,
    wrapped.stack ?? '',
    close.reason,
    close.stack ?? '',
    inner.message,
    inner.stack ?? '',
  ]) {
    assert.equal(leaks(text), undefined, text);
  }
  assert.equal(close.reason, 'bad [redacted]');
  assert.equal(Object.keys(wrapped).includes('message'), false);
  // A cycle does not hang it.
  const a = new Error(TOKEN);
  const b = new Error('b', { cause: a });
  (a as { cause?: unknown }).cause = b;
  redactError(b, TOKEN);
  assert.equal(a.message, '[redacted]');
});

test('the Hello interval floor defaults to half the send budget and scales with sendLimit', () => {
  const base = { token: 'abc', intents: 1 };
  assert.equal(resolveShardOptions(base).minHeartbeatIntervalMs, 1_000);
  assert.equal(resolveShardOptions(base).maxHeartbeatIntervalMs, 600_000);
  assert.equal(resolveShardOptions(base).stableConnectionMs, undefined);
  const scaled = resolveShardOptions({
    ...base,
    sendLimit: { perWindow: 120, windowMs: 300, marginMs: 100 },
  });
  assert.equal(scaled.minHeartbeatIntervalMs, 5);
  assert.equal(resolveShardOptions({ ...base, minHeartbeatIntervalMs: 20 }).minHeartbeatIntervalMs, 20);
});

test('timer-feeding options above 2^31 − 1 ms and inconsistent heartbeat bounds are ConfigErrors', () => {
  const base = { token: 'abc', intents: 1 };
  for (const [option, extra] of [
    ['openTimeoutMs', { openTimeoutMs: 2 ** 31 }],
    ['readyTimeoutMs', { readyTimeoutMs: 2 ** 40 }],
    ['reconnectBackoff.maxMs', { reconnectBackoff: { maxMs: 2 ** 31 } }],
    ['invalidSessionDelayMs[1]', { invalidSessionDelayMs: [1, 2 ** 31] }],
    ['maxHeartbeatIntervalMs', { maxHeartbeatIntervalMs: 2 ** 31 }],
    ['minHeartbeatIntervalMs', { minHeartbeatIntervalMs: 0 }],
    ['minHeartbeatIntervalMs', { minHeartbeatIntervalMs: 50_000, maxHeartbeatIntervalMs: 40_000 }],
    ['stableConnectionMs', { stableConnectionMs: -1 }],
  ] as const) {
    assert.throws(
      () => resolveShardOptions({ ...base, ...extra } as never),
      (e: unknown) => e instanceof ConfigError && e.option === option,
      option,
    );
  }
});

test('a presence that cannot be encoded is refused at construction, not inside an Identify timer', () => {
  const cyclic: Record<string, unknown> = { status: 'online', since: null, afk: false, activities: [] };
  cyclic.self = cyclic;
  for (const encoding of ['json', 'etf'] as const) {
    assert.throws(
      () => resolveShardOptions({ token: 'abc', intents: 1, encoding, presence: cyclic as never }),
      (e: unknown) => e instanceof ConfigError && e.option === 'presence',
    );
  }
});
