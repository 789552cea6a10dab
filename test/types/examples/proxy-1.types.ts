// docs/proxy.md example, verbatim (imports point at the sources); the build type-checks it.
import { expectTypeOf } from 'expect-type';

import { GatewayProxy } from '../../../src/proxy/index.js';
const proxy = new GatewayProxy({
  token: process.env.DISCORD_TOKEN!, // the upstream shards identify with it
  intents: 1 | 512 | 32768, // upstream intents; a client may identify with any subset
  clientTokens: [process.env.SHARDLINE_PROXY_TOKEN!], // what clients identify with (`Bot ` prefix accepted)
  port: 7878,
});
await proxy.start(); // listen, then connect every upstream shard
// proxy.restUrl → http://127.0.0.1:7878/api    proxy.gatewayUrl → ws://127.0.0.1:7878

expectTypeOf(proxy.restUrl).toEqualTypeOf<string>();
expectTypeOf(proxy.gatewayUrl).toEqualTypeOf<string>();
