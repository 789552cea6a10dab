// docs/shard.md example, verbatim (imports point at the sources); the build type-checks it.
import { expectTypeOf } from 'expect-type';
import type { ShardStatus } from '../../../src/index.js';

declare const token: string;

import { PresenceUpdateStatus } from 'discord-api-types/v10';
import { Shard, MemoryIdentifyQueue, MemorySessionStore } from '../../../src/index.js';

const shard = new Shard({ token, intents: 513, shardId: 0, shardCount: 1, gatewayUrl: 'wss://gateway.discord.gg' });
shard.on('dispatch', (p) => console.log(p.t, p.s));
shard.on('error', (e) => console.error(e.code, e.message)); // without a listener errors go to 'debug'
await shard.connect(); // resolves at READY or RESUMED; rejects on a fatal close
await shard.send({ op: 3, d: { since: null, activities: [], status: PresenceUpdateStatus.Online, afk: false } });
await shard.destroy({ resumable: false }); // close 1000 ends the session; resumable: true (4000) keeps it

expectTypeOf(shard.status).toEqualTypeOf<ShardStatus>();
expectTypeOf(shard.options.shardId).toEqualTypeOf<number>();
new Shard({ token, intents: 1, identifyQueue: new MemoryIdentifyQueue(), sessionStore: new MemorySessionStore() });
// @ts-expect-error the [id, count] pair is gone: shardId and shardCount
new Shard({ token, intents: 1, shard: [0, 1] });
