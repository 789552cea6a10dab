// docs/manager.md example, verbatim (imports point at the sources); the build type-checks it.
import type { GatewayReadyDispatchData } from 'discord-api-types/v10';
import { expectTypeOf } from 'expect-type';
import type { CloseInfo, ManagerSnapshot, ResumedInfo, ShardStatus } from '../../../src/index.js';

import { FileSessionStore, ShardManager } from '../../../src/index.js';
import { serveMetrics } from '../../../src/metrics/index.js';

const manager = new ShardManager({
  token: process.env.DISCORD_TOKEN!,
  intents: 1 | 512,
  shardCount: 'auto', // or a number; `shardIds: [..]` runs a subset in this process
  sessionStore: new FileSessionStore({ path: 'sessions.json' }), // restarts RESUME instead of IDENTIFY
});
manager.on('dispatch', (payload, shardId) => {
  /* … */
});
await manager.connect(); // resolves when every shard is READY (or RESUMED)
manager.snapshot(); // per shard: status, latency, events/s, sequence, guilds, reconnects
const metrics = await serveMetrics(manager, { port: 9100 }); // GET /metrics, Prometheus text
await manager.destroy(); // with a session store: resumable close (4000) + final session flush

// Manager events: the Shard event's arguments, then shardId.
manager.on('ready', (data, shardId) => {
  expectTypeOf(data).toEqualTypeOf<GatewayReadyDispatchData>();
  expectTypeOf(shardId).toEqualTypeOf<number>();
});
manager.on('resumed', (info, shardId) => {
  expectTypeOf(info).toEqualTypeOf<ResumedInfo>();
  expectTypeOf(shardId).toEqualTypeOf<number>();
});
manager.on('status', (status, previous, shardId) => {
  expectTypeOf(status).toEqualTypeOf<ShardStatus>();
  expectTypeOf(previous).toEqualTypeOf<ShardStatus>();
  expectTypeOf(shardId).toEqualTypeOf<number>();
});
manager.on('close', (info, shardId) => {
  expectTypeOf(info).toEqualTypeOf<CloseInfo>();
  expectTypeOf(shardId).toEqualTypeOf<number>();
});
manager.on('heartbeat', (info, shardId) => {
  expectTypeOf(info.latencyMs).toEqualTypeOf<number>();
  expectTypeOf(shardId).toEqualTypeOf<number>();
});
expectTypeOf(manager.snapshot()).toEqualTypeOf<ManagerSnapshot>();
expectTypeOf(manager.snapshot().shards[0]!.shardId).toEqualTypeOf<number>();
expectTypeOf(metrics.close).toBeFunction();
// @ts-expect-error shardCount takes a number or 'auto'
new ShardManager({ token: 't', intents: 1, shardCount: 'all' });
// @ts-expect-error the Shard's [id, count] pair is not a manager option
new ShardManager({ token: 't', intents: 1, shard: [0, 1] });
// @ts-expect-error destroy() closes 1000 or 4000 through `resumable`; an exact code is for a single Shard
await manager.destroy({ code: 4000 });
