// docs/discordjs.md third example (onAck), verbatim (imports point at the sources); the build type-checks it.
import { Client, GatewayDispatchEvents } from '@discordjs/core';
import { currentDelivery } from '../../../src/discordjs/index.js';

declare const client: Client;
client.on(GatewayDispatchEvents.MessageCreate, async ({ data }) => {
  // … the handler's work …
  currentDelivery()?.onAck(['HINCRBY', 'messages-per-channel', data.channel_id, 1]);
});
