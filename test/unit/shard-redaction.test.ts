import assert from 'node:assert/strict';
import { test } from 'node:test';
import { inspect } from 'node:util';
import { ConfigError, GatewayCloseError, SendError, ShardError, TimeoutError } from '../../src/errors.js';
import { resolveShardOptions } from '../../src/shard/options.js';
import { Shard } from '../../src/shard/shard.js';

const TOKEN = 'MTA5ODc2NTQzMjEwOTg3NjU0.GhIjKl.redaction-test-token-value';

function renderings(value: unknown): string[] {
  const out = [inspect(value, { depth: 10, showHidden: true }), String(value)];
  try {
    out.push(JSON.stringify(value) ?? '');
  } catch {
    // Circular structures (the Shard) cannot be JSON-serialized; inspect covers them.
  }
  return out;
}

test('resolved options print the token as [redacted] in every rendering', () => {
  const options = resolveShardOptions({ token: TOKEN, intents: 1 });
  for (const text of renderings(options)) assert.ok(!text.includes(TOKEN), text);
  assert.ok(inspect(options).includes('[redacted]'));
  assert.equal(options.token.reveal(), TOKEN);
});

test('a Shard instance never shows its token when inspected or stringified', () => {
  const shard = new Shard({ token: TOKEN, intents: 1, gatewayUrl: 'ws://127.0.0.1:9' });
  for (const text of renderings(shard)) assert.ok(!text.includes(TOKEN));
  for (const text of renderings(shard.options)) assert.ok(!text.includes(TOKEN));
});

test('shard errors never carry the token', () => {
  const errors = [
    new GatewayCloseError(4004, 'fatal', 'authentication failed', 'Authentication failed.'),
    new SendError('PAYLOAD_TOO_LARGE_SEND', 'payload of op 3 is 5000 bytes'),
    new ShardError('SEQUENCE_GAP', 'gap'),
    new TimeoutError('READY_TIMEOUT', 'no READY', 1),
  ];
  for (const err of errors)
    for (const text of [...renderings(err), err.stack ?? '']) assert.ok(!text.includes(TOKEN));
});

test('invalid options fail with ConfigErrors that do not echo the token', () => {
  for (const bad of [
    { token: `Bot ${TOKEN}`, intents: 1 },
    { token: `${TOKEN} `, intents: 1 },
    { token: TOKEN, intents: -1 },
    { token: TOKEN, intents: 1, gatewayUrl: TOKEN },
  ]) {
    assert.throws(
      () => resolveShardOptions(bad),
      (err: unknown) => err instanceof ConfigError && !renderings(err).some((s) => s.includes(TOKEN)),
    );
  }
});

test('a destroyed, never-connected shard settles cleanly', async () => {
  const shard = new Shard({ token: TOKEN, intents: 1, gatewayUrl: 'ws://127.0.0.1:9' });
  await shard.destroy();
  assert.equal(shard.status, 'closed');
});
