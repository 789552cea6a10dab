// docs/redis.md second example, verbatim (imports point at the sources); the build type-checks it.
import type { Redis } from 'ioredis';
import { ShardWorker } from '../../../src/redis/index.js';

declare const redis: Redis;
declare const token: string;
declare const intents: number;

const worker = new ShardWorker({ redis, token, intents, shards: 'auto', totalShards: 16 });
worker.on('log', (level, line) => console.log(level, line));
worker.on('fatal', () => worker.stop());   // a close no retry can fix (4004, 4014, …); the worker also stops itself
await worker.start();                       // GET /gateway/bot, then claims shards in the background
process.once('SIGTERM', () => worker.stop());
