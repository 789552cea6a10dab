// docs/redis.md first example, verbatim (imports point at the sources); the build type-checks it.
import { expectTypeOf } from 'expect-type';

declare const log: { warn(...args: unknown[]): void };

import {
  createRedisClient,
  RedisIdentifyQueue,
  RedisSessionStore,
  ShardLeases,
  RedisEventPublisher,
  consume,
  CommandClient,
  serveCommands,
} from '../../../src/redis/index.js';

const redis = createRedisClient('redis://127.0.0.1:6379', { onError: (e) => log.warn(e.code, e.message) });

expectTypeOf(redis.quit).toBeFunction();
void [RedisIdentifyQueue, RedisSessionStore, ShardLeases, RedisEventPublisher, consume, CommandClient, serveCommands];
