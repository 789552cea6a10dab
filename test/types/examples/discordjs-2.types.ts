// docs/discordjs.md second example (RedisGateway), verbatim (imports point at the sources); the build type-checks it.
import { expectTypeOf } from 'expect-type';

import { Client, GatewayDispatchEvents } from '@discordjs/core';
import { REST } from '@discordjs/rest';
import { createRedisClient } from '../../../src/redis/index.js';
import { RedisGateway } from '../../../src/discordjs/index.js';

const rest = new REST().setToken(process.env.DISCORD_TOKEN!);
const redis = createRedisClient('redis://127.0.0.1:6379');
const gateway = new RedisGateway({ redis, group: 'bot', consumer: process.env.HOSTNAME ?? 'bot-1' });
const client = new Client({ rest, gateway });
client.on(GatewayDispatchEvents.MessageCreate, async ({ data, api }) => {
  if (data.content === '!ping') await api.channels.createMessage(data.channel_id, { content: 'pong' });
});
await gateway.start(client);
process.once('SIGTERM', () => void gateway.close());

expectTypeOf(gateway.stats().redelivered).toEqualTypeOf<number>();
