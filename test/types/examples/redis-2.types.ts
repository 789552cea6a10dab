// docs/redis.md second example, verbatim (imports point at the sources); the build type-checks it.
import type { Redis } from 'ioredis';
import { ShardWorker } from '../../../src/redis/index.js';

declare const redis: Redis;
declare const token: string;
declare const intents: number;

const worker = new ShardWorker({ redis, token, intents, shardIds: 'auto', shardCount: 16 });
worker.on('log', (level, line) => console.log(level, line));
worker.on('fatal', () => worker.destroy()); // a close no retry can fix (4004, 4014, …); the worker also stops itself
await worker.connect();                      // GET /gateway/bot, then claims shards in the background
process.once('SIGTERM', () => worker.destroy());

import type { GatewayReadyDispatchData } from 'discord-api-types/v10';
import { expectTypeOf } from 'expect-type';
import type { ResumedInfo } from '../../../src/index.js';

// Worker events: the Shard event's arguments, then shardId.
worker.on('ready', (data, shardId) => {
  expectTypeOf(data).toEqualTypeOf<GatewayReadyDispatchData>();
  expectTypeOf(shardId).toEqualTypeOf<number>();
});
worker.on('resumed', (info, shardId) => {
  expectTypeOf(info).toEqualTypeOf<ResumedInfo>();
  expectTypeOf(shardId).toEqualTypeOf<number>();
});
worker.on('acquired', (fence, shardId) => expectTypeOf([fence, shardId]).toEqualTypeOf<number[]>());
worker.on('released', (reason, shardId) => {
  expectTypeOf(reason).toEqualTypeOf<string>();
  expectTypeOf(shardId).toEqualTypeOf<number>();
});
expectTypeOf(worker.shardCount).toEqualTypeOf<number>();
// @ts-expect-error a worker is told which shards to run: a list or 'auto'
new ShardWorker({ redis, token, intents });
