// docs/discordjs.md first example (ManagerGateway), verbatim (imports point at the sources); the build type-checks it.
import { expectTypeOf } from 'expect-type';

import { Client, GatewayDispatchEvents } from '@discordjs/core';
import { REST } from '@discordjs/rest';
import { ShardManager } from '../../../src/index.js';
import { ManagerGateway } from '../../../src/discordjs/index.js';

const rest = new REST().setToken(process.env.DISCORD_TOKEN!);
const manager = new ShardManager({ token: process.env.DISCORD_TOKEN!, intents: 1 | 512, shardCount: 'auto' });
const client = new Client({ rest, gateway: new ManagerGateway(manager) });
client.on(GatewayDispatchEvents.MessageCreate, async ({ data, api }) => {
  if (data.content === '!ping') await api.channels.createMessage(data.channel_id, { content: 'pong' });
});
await manager.connect();

expectTypeOf(manager.shardCount).toEqualTypeOf<number>();
expectTypeOf(client.gateway).toHaveProperty("getShardCount");
