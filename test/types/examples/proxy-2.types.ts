// docs/proxy.md example, verbatim (imports point at the sources); the build type-checks it.
import { expectTypeOf } from 'expect-type';

import { GatewayProxy } from '../../../src/proxy/index.js';
import { createRedisClient } from '../../../src/redis/index.js';
const redis = createRedisClient('redis://127.0.0.1:6379');
const proxy = new GatewayProxy({
  intents: 1 | 512,
  clientTokens: [process.env.SHARDLINE_PROXY_TOKEN!],
  redis: { redis, prefix: 'bot:' }, // the fleet's Redis and key prefix; no bot token here
});
await proxy.start(); // the cache from the snapshot and the stream after it, then live

expectTypeOf(proxy.redisStats()?.rebuiltFrom).toEqualTypeOf<'snapshot' | 'stream' | undefined>();
