/**
 * The proxy's view of the shards it serves. Everything the proxy needs from them goes through this small
 * interface, so another upstream (the Redis event streams) or a change in the manager's events touches only
 * an adapter.
 */
import type { GatewayDispatchPayload, GatewaySendPayload } from 'discord-api-types/v10';

export interface ProxyUpstreamEvents {
  /**
   * A dispatch received by upstream shard `shardId`, in the shard's order; `position` is its stream entry id
   * when it was read from a Redis event stream.
   */
  dispatch(payload: GatewayDispatchPayload, shardId: number, position?: string): void;
  /** Shard `shardId` reached READY (or RESUMED): the cache holds its guilds and clients may identify. */
  ready(shardId: number): void;
}

export interface ProxyUpstream {
  /** Total shard count of the upstream (0 until known). */
  readonly shardCount: number;
  /** Intents the upstream shards identified with. */
  readonly intents: number;
  /** Whether shard `shardId` is served here and has reached READY at least once. */
  isReady(shardId: number): boolean;
  /** Sends a command on the upstream shard, through that shard's own send limiter. */
  send(shardId: number, payload: GatewaySendPayload): Promise<void>;
  /** Registers the proxy's handlers; called once. */
  listen(events: ProxyUpstreamEvents): void;
  start(): Promise<void>;
  stop(): Promise<void>;
}
