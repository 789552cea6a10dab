// docs/shard.md example, verbatim (imports point at the sources); the build type-checks it.
import { expectTypeOf } from 'expect-type';

import { ManualClock, Shard, type GatewayConnectionFactory } from '../../../src/index.js';

declare const inMemory: GatewayConnectionFactory;
const clock = new ManualClock();
const shard = new Shard({ token: 'token', intents: 513, encoding: 'json', compression: 'none', clock, transport: inMemory });

expectTypeOf(shard.options.transport).toEqualTypeOf<GatewayConnectionFactory>();
// @ts-expect-error a transport is a factory function, not a connection
new Shard({ token: 'token', intents: 1, transport: { send: () => true } });
