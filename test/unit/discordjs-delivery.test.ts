import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  callAndSettle,
  currentDelivery,
  PendingDelivery,
  runWithDelivery,
} from '../../src/discordjs/delivery.js';
import { checkRedisCommand, MAX_ACK_COMMANDS } from '../../src/redis/pending.js';

const entry = { id: '1-0', stream: 's', shardId: 0, seq: 1, type: 'MESSAGE_CREATE', deliveries: 1 };

test('callAndSettle waits for every returned promise and collects what threw or rejected', async () => {
  const order: string[] = [];
  let release: () => void = () => {};
  const slow = new Promise<void>((resolve) => {
    release = resolve;
  });
  const settled = callAndSettle(
    'self',
    [
      function (this: unknown, x: number) {
        order.push(`sync ${String(this)} ${x}`);
      },
      async () => {
        await slow;
        order.push('slow');
      },
      () => {
        throw new Error('sync throw');
      },
      () => Promise.reject(new Error('async reject')),
    ],
    [7],
  );
  let done = false;
  void settled.then(() => {
    done = true;
  });
  await new Promise((resolve) => setImmediate(resolve));
  assert.equal(done, false, 'not settled while a listener runs');
  release();
  const errors = (await settled) as Error[];
  assert.deepEqual(order, ['sync self 7', 'slow']);
  assert.deepEqual(
    errors.map((e) => e.message),
    ['sync throw', 'async reject'],
  );
  assert.deepEqual(await callAndSettle(undefined, [], []), []);
});

test('currentDelivery follows the handler through its awaits, and is gone outside', async () => {
  const d = new PendingDelivery(entry);
  const seen = await runWithDelivery(d, async () => {
    await new Promise((resolve) => setTimeout(resolve, 1));
    return currentDelivery();
  });
  assert.equal(seen, d);
  assert.equal(currentDelivery(), undefined);
});

test('onAck queues well-formed commands and refuses the rest with a typed error', () => {
  const d = new PendingDelivery(entry);
  d.onAck(['HINCRBY', 'k', 'f', 1], ['SADD', 'k2', 'x']);
  assert.equal(d.commands.length, 2);
  for (const bad of [
    [],
    ['EVAL', 'return 1', 0],
    ['1NOPE'],
    ['SET', 'k', Number.NaN],
    ['SET', 'k', {}],
    'SET k v',
  ]) {
    assert.throws(
      () => d.onAck(bad as never),
      { name: 'AdapterError', code: 'COMMIT_REFUSED' },
      JSON.stringify(bad),
    );
  }
  assert.equal(d.commands.length, 2, 'a refused call queues nothing');
  assert.throws(() => d.onAck(...Array.from({ length: MAX_ACK_COMMANDS }, () => ['INCR', 'k'] as const)), {
    code: 'COMMIT_REFUSED',
  });
  d.settled = true;
  assert.throws(() => d.onAck(['INCR', 'k']), { code: 'DELIVERY_SETTLED' });
  assert.equal(checkRedisCommand(['XADD', 's', '*', 'f', 'v']), undefined);
  assert.match(checkRedisCommand(Array.from({ length: 70 }, () => 'x')) ?? '', /more than 64 arguments/);
});
