// Type tests: compiled by the build (tsconfig includes test/), never run. A wrong type fails the build.
import type { GatewayMessageCreateDispatchData, GatewayReadyDispatchData } from 'discord-api-types/v10';
import { GatewayDispatchEvents } from 'discord-api-types/v10';
import { expectTypeOf } from 'expect-type';
import {
  type CloseInfo,
  type ConfigError,
  type Shard,
  type ShardlineError,
  ShardManager,
} from '../../src/index.js';

declare const manager: ShardManager;
declare const shard: Shard;

manager.on('dispatch', (payload, shardId) => {
  expectTypeOf(shardId).toEqualTypeOf<number>();
  if (payload.t === GatewayDispatchEvents.MessageCreate) {
    expectTypeOf(payload.d).toEqualTypeOf<GatewayMessageCreateDispatchData>();
    expectTypeOf(payload.d.content).toEqualTypeOf<string>();
  }
  if (payload.t === 'MESSAGE_CREATE') {
    expectTypeOf(payload.d).toEqualTypeOf<GatewayMessageCreateDispatchData>();
  }
});
shard.on('ready', (data) => expectTypeOf(data).toEqualTypeOf<GatewayReadyDispatchData>());
shard.on('close', (info) => expectTypeOf(info).toEqualTypeOf<CloseInfo>());
manager.on('error', (error, shardId) => {
  expectTypeOf(error).toExtend<ShardlineError>();
  expectTypeOf(shardId).toEqualTypeOf<number | null>();
});
expectTypeOf<ConfigError['code']>().toEqualTypeOf<'CONFIG_INVALID'>();
// @ts-expect-error an unknown event name is refused
manager.on('no-such-event', () => {});
// @ts-expect-error shardCount takes 'auto' or a number
new ShardManager({ token: 't', intents: 1, shardCount: 'all' });
