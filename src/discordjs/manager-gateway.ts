import type { Gateway } from '@discordjs/core';
import type { GatewayDispatchPayload, GatewaySendPayload } from 'discord-api-types/v10';
import { AdapterError, ConfigError, ManagerError, type ShardlineError } from '../errors.js';
import type { ShardManager } from '../manager/manager.js';
import { callAndSettle } from './delivery.js';

/** A `dispatch` listener of `@discordjs/core`'s `Gateway` interface (the `Client` registers one). */
export type DispatchListener = (payload: GatewayDispatchPayload, shardId: number) => unknown;

export interface ManagerGatewayOptions {
  /**
   * Where a dispatch listener's failure goes (it threw, or its promise rejected), as an `AdapterError`
   * `HANDLER_FAILED` with the failure as `cause`. Default: `process.emitWarning`.
   */
  onError?: (err: ShardlineError) => void;
}

/**
 * `@discordjs/core`'s `Gateway` over a `ShardManager` in the same process:
 * `new Client({ rest, gateway: new ManagerGateway(manager) })`. Dispatches are the manager's `dispatch`
 * events; `send` goes to the manager's shard; the shard count is the manager's serving set (so it follows a
 * reshard). Nothing is acknowledged: a dispatch is handled as the manager emits it, as with `@discordjs/ws`.
 */
export class ManagerGateway implements Gateway {
  readonly manager: ShardManager;
  readonly #onError: (err: ShardlineError) => void;
  readonly #listeners = new Map<
    DispatchListener,
    (payload: GatewayDispatchPayload, shardId: number) => void
  >();

  constructor(manager: ShardManager, options: ManagerGatewayOptions = {}) {
    if (typeof manager?.on !== 'function' || typeof manager.send !== 'function')
      throw new ConfigError('manager', 'must be a ShardManager');
    this.manager = manager;
    this.#onError = options.onError ?? ((err) => process.emitWarning(err));
  }

  /** The manager's shard count; `MANAGER_NOT_CONNECTED` before its `connect()` knows it. */
  getShardCount(): number {
    const count = this.manager.shardCount;
    if (count === 0)
      throw new ManagerError('MANAGER_NOT_CONNECTED', 'no shard count yet; call manager.connect() first');
    return count;
  }

  send(shardId: number, payload: GatewaySendPayload): Promise<void> {
    return this.manager.send(shardId, payload);
  }

  on(event: 'dispatch', listener: DispatchListener): this {
    if (event !== 'dispatch')
      throw new ConfigError('event', `only 'dispatch' is served, got ${String(event)}`);
    if (typeof listener !== 'function') throw new ConfigError('listener', 'must be a function');
    if (this.#listeners.has(listener)) return this;
    const forward = (payload: GatewayDispatchPayload, shardId: number): void => {
      void callAndSettle(undefined, [listener], [payload, shardId]).then((errors) => {
        for (const cause of errors) {
          this.#onError(
            new AdapterError(
              'HANDLER_FAILED',
              `a dispatch listener failed on ${payload.t} (shard ${shardId})`,
              { shardId },
              { cause },
            ),
          );
        }
      });
    };
    this.#listeners.set(listener, forward);
    this.manager.on('dispatch', forward);
    return this;
  }

  off(event: 'dispatch', listener: DispatchListener): this {
    const forward = event === 'dispatch' ? this.#listeners.get(listener) : undefined;
    if (forward) {
      this.manager.off('dispatch', forward);
      this.#listeners.delete(listener);
    }
    return this;
  }
}
