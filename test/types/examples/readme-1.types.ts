// README.md "Library" example, verbatim (imports point at the sources); the build type-checks it.
import { expectTypeOf } from 'expect-type';
import { ShardManager, FileSessionStore } from '../../../src/index.js';
import { serveMetrics } from '../../../src/metrics/index.js';

const manager = new ShardManager({
  token: process.env.DISCORD_TOKEN!, // kept in a Secret: never printed, logged or thrown
  intents: 1 | 512,                  // GUILDS | GUILD_MESSAGES
  shardCount: 'auto',                // from GET /gateway/bot; or a number, and `shardIds` for a subset
  encoding: 'etf',
  compression: 'zlib-stream',
  sessionStore: new FileSessionStore({ path: 'sessions.json' }), // a restart RESUMEs instead of IDENTIFYing
});
manager.on('dispatch', (payload, shardId) => console.log(shardId, payload.t));
await manager.connect();             // every shard READY, identifies paced per max_concurrency bucket
await serveMetrics(manager, { port: 9100 }); // Prometheus text on /metrics

expectTypeOf(manager.shardIds).toEqualTypeOf<readonly number[]>();
expectTypeOf(manager.shardCount).toEqualTypeOf<number>();
