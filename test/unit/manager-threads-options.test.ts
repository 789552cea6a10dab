import assert from 'node:assert/strict';
import { availableParallelism } from 'node:os';
import { test } from 'node:test';
import { pathToFileURL } from 'node:url';
import { ConfigError, GatewayCloseError, ManagerError, SendError } from '../../src/errors.js';
import { resolveShardManagerOptions, type ShardManagerOptions } from '../../src/manager/options.js';
import { resolveThreadsOptions } from '../../src/manager/threads/options.js';
import { reviveError, serializeError } from '../../src/manager/threads/protocol.js';
import { ManualClock } from '../../src/util/clock.js';

const base: ShardManagerOptions = { token: 'a.b.c', intents: 1 };

function rejects(options: Partial<ShardManagerOptions>, option: string): void {
  assert.throws(
    () => resolveShardManagerOptions({ ...base, ...options } as ShardManagerOptions),
    (err: unknown) => err instanceof ConfigError && err.option === option,
    option,
  );
}

test('threads is off by default and takes a count, auto or an object', () => {
  assert.equal(resolveShardManagerOptions(base).threads, null);
  assert.equal(resolveShardManagerOptions({ ...base, threads: 3 }).threads?.count, 3);
  assert.equal(resolveThreadsOptions('auto')?.count, availableParallelism());
  const o = resolveThreadsOptions({ count: 2, delivery: 'clone', highWaterMark: 10 });
  assert.deepEqual(
    { ...o },
    { count: 2, handler: null, handlerData: undefined, delivery: 'clone', highWaterMark: 10 },
  );
  assert.ok(Object.isFrozen(o));
});

test('dispatches cross as JSON text with the JSON encoding and as a structured clone with ETF, by default', () => {
  assert.equal(
    resolveShardManagerOptions({ ...base, threads: 2, encoding: 'json' }).threads?.delivery,
    'json',
  );
  assert.equal(
    resolveShardManagerOptions({ ...base, threads: 2, encoding: 'etf' }).threads?.delivery,
    'clone',
  );
  assert.equal(resolveShardManagerOptions({ ...base, threads: 2 }).threads?.delivery, 'clone');
  const explicit = { ...base, threads: { count: 2, delivery: 'json' }, encoding: 'etf' } as const;
  assert.equal(resolveShardManagerOptions(explicit).threads?.delivery, 'json');
});

test('a handler path becomes a file: URL', () => {
  const o = resolveThreadsOptions({ count: 1, handler: 'handlers/bot.js' });
  assert.equal(o?.handler, pathToFileURL(`${process.cwd()}/handlers/bot.js`).href);
  const url = new URL('file:///srv/bot/handler.js');
  assert.equal(resolveThreadsOptions({ count: 1, handler: url })?.handler, url.href);
});

test('bad threads values are refused with the option named', () => {
  rejects({ threads: 0 }, 'threads.count');
  rejects({ threads: 1.5 }, 'threads.count');
  rejects({ threads: 10_000 }, 'threads.count');
  rejects({ threads: { count: 2, delivery: 'bson' as 'json' } }, 'threads.delivery');
  rejects({ threads: { count: 2, highWaterMark: 0 } }, 'threads.highWaterMark');
  rejects({ threads: { count: 2, handler: new URL('https://example.com/h.js') } }, 'threads.handler');
  rejects({ threads: { count: 2, handler: '' } }, 'threads.handler');
  rejects({ threads: { count: 2, handlerData: 1 } }, 'threads.handlerData');
  rejects({ threads: 'many' as 'auto' }, 'threads');
});

test('what cannot cross into a thread is refused up front', () => {
  rejects({ threads: 2, clock: new ManualClock() }, 'clock');
  rejects({ threads: 2, shardOptions: { transport: () => ({}) as never } }, 'shardOptions.transport');
  rejects({ threads: { count: 2, handler: 'h.js' }, autoReshard: {} }, 'autoReshard');
});

test('errors cross threads with their class, code and fields', () => {
  const close = new GatewayCloseError(4004, 'fatal', 'Authentication failed');
  const back = reviveError(serializeError(close));
  assert.ok(back instanceof GatewayCloseError);
  assert.equal((back as GatewayCloseError).closeCode, 4004);
  assert.equal((back as GatewayCloseError).code, 'GATEWAY_CLOSED');
  assert.equal(back.message, close.message);
  assert.equal(back.name, 'GatewayCloseError');
  const send = reviveError(
    serializeError(new SendError('SEND_QUEUE_FULL', 'full', { cause: new Error('x') })),
  );
  assert.ok(send instanceof SendError);
  assert.equal((send.cause as Error).message, 'x');
  const plain = reviveError(serializeError('not an error'));
  assert.equal(plain.message, 'not an error');
  assert.ok(!(plain instanceof ManagerError));
});
