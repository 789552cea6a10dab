// README.md "A @discordjs/core bot on Shardline" example, verbatim (imports point at the sources); the build type-checks it.
import { expectTypeOf } from 'expect-type';

import { Client } from '@discordjs/core';
import { REST } from '@discordjs/rest';
import { ShardManager } from '../../../src/index.js';
import { ManagerGateway } from '../../../src/discordjs/index.js'; // 1

const rest = new REST().setToken(process.env.DISCORD_TOKEN!);
const manager = new ShardManager({ token: process.env.DISCORD_TOKEN!, intents: 1 | 512, shardCount: 'auto' }); // 2
const client = new Client({ rest, gateway: new ManagerGateway(manager) }); // 3 (then manager.connect())
await manager.connect();

expectTypeOf(client.gateway).toHaveProperty('send');
