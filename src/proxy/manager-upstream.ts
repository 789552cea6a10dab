/** `ProxyUpstream` over a `ShardManager` running in this process: the only file that knows its events. */
import type { GatewaySendPayload } from 'discord-api-types/v10';
import type { ShardManager } from '../manager/manager.js';
import type { ProxyUpstream, ProxyUpstreamEvents } from './upstream.js';

export class ManagerUpstream implements ProxyUpstream {
  readonly #manager: ShardManager;
  readonly #intents: number;
  readonly #ready = new Set<number>();
  #events: ProxyUpstreamEvents | undefined;
  /** Until connect() resolved, a shard's READY may precede its guilds; ready is announced after them. */
  #connected = false;

  constructor(manager: ShardManager, intents: number) {
    this.#manager = manager;
    this.#intents = intents;
  }

  get shardCount(): number {
    return this.#manager.shardCount;
  }

  get intents(): number {
    return this.#intents;
  }

  isReady(shardId: number): boolean {
    return this.#ready.has(shardId);
  }

  send(shardId: number, payload: GatewaySendPayload): Promise<void> {
    return this.#manager.send(shardId, payload);
  }

  listen(events: ProxyUpstreamEvents): void {
    this.#events = events;
    this.#manager.on('dispatch', (payload, shardId) => events.dispatch(payload, shardId));
    const onReady = (_info: unknown, shardId: number) => {
      if (!this.#connected) return;
      this.#ready.add(shardId);
      events.ready(shardId);
    };
    this.#manager.on('ready', onReady);
    this.#manager.on('resumed', onReady);
    this.#manager.on('reshard', (event) => {
      // A new shard count serves now (its shards reached READY and their guilds before the switch): every
      // shard is ready under it, and the proxy ends the sessions of the old count.
      if (event.phase !== 'switched') return;
      this.#ready.clear();
      this.#announceAll();
    });
  }

  async start(): Promise<void> {
    await this.#manager.connect();
    this.#connected = true;
    this.#announceAll();
  }

  #announceAll(): void {
    for (const shardId of this.#manager.shardIds) {
      this.#ready.add(shardId);
      this.#events?.ready(shardId);
    }
  }

  stop(): Promise<void> {
    return this.#manager.destroy();
  }
}
