import type { Client, Gateway } from '@discordjs/core';
import type { GatewayDispatchPayload, GatewaySendPayload } from 'discord-api-types/v10';
import { AdapterError, ConfigError, RedisError, ShardlineError } from '../errors.js';
import { DEFAULT_KEY_PREFIX, type RedisBaseOptions, retryDelayMs, sleep } from '../redis/client.js';
import { CommandClient, readShardCount } from '../redis/commands.js';
import { consume, type StreamEvent } from '../redis/consumer.js';
import { commitWithAck, refreshPending } from '../redis/pending.js';
import { callAndSettle, PendingDelivery, runWithDelivery } from './delivery.js';
import type { DispatchListener } from './manager-gateway.js';

export interface RedisGatewayOptions extends RedisBaseOptions {
  /** Consumer group: every group sees every event once; the bot processes of one group share the work. */
  group: string;
  /** This process's name in the group. A restart under the same name finishes its own pending entries first. */
  consumer: string;
  /** Must match the workers' (default 1). */
  partitions?: number;
  /** Only these dispatch types are delivered; the others are acknowledged unread (default: every type). */
  types?: readonly string[];
  /** Entries whose handlers run at once; reading pauses at this many (default 100). */
  maxInFlight?: number;
  /**
   * An entry pending this long on a consumer that stopped refreshing it (a dead process) is reclaimed by
   * another (default 30 000 ms). Entries whose handlers still run are refreshed every third of it.
   */
  claimIdleMs?: number;
  /** After this many deliveries an entry goes to the dead-letter stream instead of the handlers (default 5). */
  maxDeliveries?: number;
  /** Where a new group starts: `'0'` (the whole stream, default) or `'$'` (new events only). */
  startId?: '0' | '$';
  /** Total shards, for `getShardCount()` (default: the count the workers published in Redis). */
  shardCount?: number;
  /** Time for a command (`client.updatePresence`, …) to reach its shard's worker (default 10 000 ms). */
  commandTimeoutMs?: number;
  /** How long `close()` waits for running handlers before it leaves their entries pending (default 10 000 ms). */
  closeTimeoutMs?: number;
  /**
   * Failures the gateway recovered from or reported: a handler that threw or rejected (`HANDLER_FAILED`, its
   * entry is acknowledged all the same), Redis unavailable (retried), an `onAck` step Redis refused
   * (`COMMIT_REFUSED`). Default: `process.emitWarning`.
   */
  onError?: (err: ShardlineError) => void;
}

/** `RedisGateway.stats()`: counts since `start()`. */
export interface RedisGatewayStats {
  /** Entries handed to the handlers. */
  readonly delivered: number;
  /** Of those, entries delivered before (their `deliveries` > 1). */
  readonly redelivered: number;
  /** Entries whose handlers settled and whose acknowledgement Redis confirmed. */
  readonly acknowledged: number;
  /** Entries with at least one failed handler (acknowledged all the same). */
  readonly failed: number;
  /** `onAck` steps that found the entry no longer this consumer's (another took it over): not run. */
  readonly superseded: number;
  /** Entries whose handlers are running or whose acknowledgement is on its way. */
  readonly inFlight: number;
}

/** The parts of `@discordjs/core`'s `Client` (an AsyncEventEmitter) the gateway uses. */
interface ClientLike {
  readonly api: unknown;
  readonly gateway: unknown;
  rawListeners(event: string): ((...args: never[]) => unknown)[];
  listenerCount(event: string): number;
  emit(event: string, ...args: unknown[]): boolean;
}

interface InFlight {
  readonly delivery: PendingDelivery;
  readonly event: StreamEvent;
  /** Copies of the same entry yielded again while it ran (reclaimed): acknowledged with it. */
  readonly copies: StreamEvent[];
  readonly done: Promise<void>;
}

/** What a gateway dispatch type looks like (`MESSAGE_CREATE`); anything else is refused, never emitted. */
const DISPATCH_TYPE = /^[A-Z][A-Z0-9_]{0,63}$/;

function asShardlineError(err: unknown): ShardlineError {
  return err instanceof ShardlineError
    ? err
    : new RedisError(
        'REDIS_UNAVAILABLE',
        err instanceof Error ? err.message : String(err),
        {},
        { cause: err },
      );
}

function int(option: string, value: number, min: number): number {
  if (!Number.isInteger(value) || value < min)
    throw new ConfigError(option, `must be an integer ≥ ${min}, got ${String(value)}`);
  return value;
}

/**
 * `@discordjs/core`'s `Gateway` for a bot process that runs no shards: dispatches come from the Redis event
 * streams that `shardline worker` processes fill, read as a member of a consumer group; `send` goes to the
 * shard's worker through its command stream.
 *
 *     const gateway = new RedisGateway({ redis, group: 'bot', consumer: 'bot-1' });
 *     const client = new Client({ rest, gateway });
 *     client.on(GatewayDispatchEvents.MessageCreate, async ({ data, api }) => { … });
 *     await gateway.start(client);
 *
 * An entry is handled when every listener of its type on the client returned and every promise a listener
 * returned settled (fulfilled or rejected); only then is it acknowledged. Entries are handed to the handlers
 * in stream order, up to `maxInFlight` at once. A listener that starts work without returning its promise is
 * not waited for. See docs/discordjs.md for the delivery guarantee.
 */
export class RedisGateway implements Gateway {
  readonly #options: RedisGatewayOptions;
  readonly #prefix: string;
  readonly #maxInFlight: number;
  readonly #claimIdleMs: number;
  readonly #closeTimeoutMs: number;
  readonly #onError: (err: ShardlineError) => void;
  /** Listeners registered before `start()`: the client's own (it emits synchronously, so it is bypassed). */
  readonly #early: DispatchListener[] = [];
  /** Listeners registered after `start()`: called and waited for with the client's handlers. */
  readonly #extra: DispatchListener[] = [];
  readonly #inFlight = new Map<string, InFlight>();
  readonly #abort = new AbortController();
  #client: ClientLike | undefined;
  #commands: CommandClient | undefined;
  #loop: Promise<void> | undefined;
  #refreshTimer: NodeJS.Timeout | undefined;
  #closed = false;
  #stats = { delivered: 0, redelivered: 0, acknowledged: 0, failed: 0, superseded: 0 };

  constructor(options: RedisGatewayOptions) {
    if (typeof options?.redis?.duplicate !== 'function')
      throw new ConfigError('redis', 'must be an ioredis client');
    if (typeof options.group !== 'string' || options.group === '')
      throw new ConfigError('group', 'must be a non-empty string');
    if (typeof options.consumer !== 'string' || options.consumer === '')
      throw new ConfigError('consumer', 'must be a non-empty string');
    this.#maxInFlight = int('maxInFlight', options.maxInFlight ?? 100, 1);
    this.#claimIdleMs = int('claimIdleMs', options.claimIdleMs ?? 30_000, 3);
    this.#closeTimeoutMs = int('closeTimeoutMs', options.closeTimeoutMs ?? 10_000, 0);
    if (options.shardCount !== undefined) int('shardCount', options.shardCount, 1);
    if (options.commandTimeoutMs !== undefined) int('commandTimeoutMs', options.commandTimeoutMs, 1);
    if (options.maxDeliveries !== undefined) int('maxDeliveries', options.maxDeliveries, 1);
    if (options.partitions !== undefined) int('partitions', options.partitions, 1);
    this.#options = options;
    this.#prefix = options.prefix ?? DEFAULT_KEY_PREFIX;
    this.#onError = options.onError ?? ((err) => process.emitWarning(err));
  }

  /** The shard count given in the options, else the one the workers published in Redis. */
  async getShardCount(): Promise<number> {
    if (this.#options.shardCount !== undefined) return this.#options.shardCount;
    const count = await readShardCount({ redis: this.#options.redis, prefix: this.#prefix });
    if (count === undefined)
      throw new ConfigError('shardCount', 'unknown: pass it, or start a worker (it publishes the count)');
    return count;
  }

  /**
   * Sends `payload` on the shard through its command stream. Resolves once the command is in the stream,
   * as `@discordjs/ws` resolves once a payload is queued on its socket: `@discordjs/core` listens for the
   * answer (GUILD_MEMBERS_CHUNK, …) only after this resolves, and the answer may travel the event stream
   * faster than the worker's reply. The worker's outcome goes to `onError` when it is a failure:
   * `COMMAND_TIMEOUT` (no worker took it within `commandTimeoutMs`) or `COMMAND_FAILED`.
   */
  async send(shardId: number, payload: GatewaySendPayload): Promise<void> {
    if (this.#closed) throw new AdapterError('ADAPTER_CLOSED', 'the gateway is closed');
    if (!Number.isInteger(shardId) || shardId < 0)
      throw new ConfigError('shardId', `must be a non-negative integer, got ${String(shardId)}`);
    const op = (payload as { op?: unknown } | null)?.op;
    if (typeof payload !== 'object' || payload === null || !Number.isInteger(op))
      throw new ConfigError('payload', 'must be a gateway payload with an integer op');
    this.#commands ??= new CommandClient({
      redis: this.#options.redis,
      prefix: this.#prefix,
      ...(this.#options.shardCount !== undefined ? { shardCount: this.#options.shardCount } : {}),
      ...(this.#options.commandTimeoutMs !== undefined ? { timeoutMs: this.#options.commandTimeoutMs } : {}),
    });
    const { result } = await this.#commands.enqueue({ shardId }, payload);
    result.catch((err: unknown) => {
      if (!(err instanceof RedisError && err.code === 'REDIS_CLOSED')) this.#onError(asShardlineError(err));
    });
  }

  on(event: 'dispatch', listener: DispatchListener): this {
    if (event !== 'dispatch')
      throw new ConfigError('event', `only 'dispatch' is served, got ${String(event)}`);
    if (typeof listener !== 'function') throw new ConfigError('listener', 'must be a function');
    (this.#client ? this.#extra : this.#early).push(listener);
    return this;
  }

  off(event: 'dispatch', listener: DispatchListener): this {
    const i = event === 'dispatch' ? this.#extra.indexOf(listener) : -1;
    if (i >= 0) this.#extra.splice(i, 1);
    return this;
  }

  /**
   * Starts reading for `client`, the `@discordjs/core` `Client` built on this gateway. Its handlers are
   * called by the gateway itself (as `client.emit` would call them) so that it knows when they settled.
   */
  start(client: Client): Promise<void> {
    if (this.#closed) return Promise.reject(new AdapterError('ADAPTER_CLOSED', 'the gateway is closed'));
    const c = client as unknown as ClientLike;
    if (this.#client) return Promise.reject(new ConfigError('client', 'start() was already called'));
    if (c?.gateway !== this || typeof c.rawListeners !== 'function')
      return Promise.reject(
        new ConfigError('client', 'must be the Client built on this gateway: new Client({ rest, gateway })'),
      );
    if (this.#early.length !== 1)
      return Promise.reject(
        new ConfigError(
          'client',
          `expected exactly the client's own dispatch listener before start(), found ${this.#early.length}; add other gateway listeners after start()`,
        ),
      );
    this.#client = c;
    this.#loop = this.#run();
    const every = Math.max(1, Math.floor(this.#claimIdleMs / 3));
    this.#refreshTimer = setInterval(() => void this.#refresh(), every);
    this.#refreshTimer.unref();
    return Promise.resolve();
  }

  stats(): RedisGatewayStats {
    return { ...this.#stats, inFlight: this.#inFlight.size };
  }

  /**
   * Stops reading, waits up to `closeTimeoutMs` for running handlers and their acknowledgements (entries
   * still running then stay pending: another consumer, or this one restarted, gets them), and closes the
   * command client. The Redis client passed in is left open.
   */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#abort.abort();
    clearInterval(this.#refreshTimer);
    await this.#loop;
    const running = [...this.#inFlight.values()].map((f) => f.done);
    if (running.length > 0) {
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([
        Promise.allSettled(running),
        new Promise((resolve) => {
          timer = setTimeout(resolve, this.#closeTimeoutMs);
        }),
      ]);
      clearTimeout(timer);
    }
    await this.#commands?.close();
  }

  async #run(): Promise<void> {
    const o = this.#options;
    try {
      for await (const event of consume({
        redis: o.redis,
        prefix: this.#prefix,
        group: o.group,
        consumer: o.consumer,
        maxUnacked: this.#maxInFlight,
        count: Math.min(100, this.#maxInFlight),
        claimIdleMs: this.#claimIdleMs,
        signal: this.#abort.signal,
        onError: this.#onError,
        ...(o.partitions !== undefined ? { partitions: o.partitions } : {}),
        ...(o.types !== undefined ? { types: o.types } : {}),
        ...(o.maxDeliveries !== undefined ? { maxDeliveries: o.maxDeliveries } : {}),
        ...(o.startId !== undefined ? { startId: o.startId } : {}),
      })) {
        if (this.#closed) break; // left unacknowledged: pending for the next reader
        this.#deliver(event);
      }
    } catch (err) {
      if (!this.#closed) this.#onError(asShardlineError(err));
    }
  }

  #deliver(event: StreamEvent): void {
    const running = this.#inFlight.get(event.id);
    if (running) {
      // reclaimed while its handlers still run here (the refresh came too late): never run twice at once
      running.copies.push(event);
      return;
    }
    const client = this.#client!;
    if (!DISPATCH_TYPE.test(event.type)) {
      // not a gateway dispatch name (`error`, `__proto__`, …): never an emitter event of the client
      this.#onError(
        new AdapterError(
          'ENTRY_REFUSED',
          `entry ${event.id} has the dispatch type ${JSON.stringify(event.type.slice(0, 64))}; acknowledged unhandled`,
          {
            streamId: event.id,
            shardId: event.shardId,
          },
        ),
      );
      void event.ack().catch((err: unknown) => this.#onError(asShardlineError(err)));
      return;
    }
    const delivery = new PendingDelivery(event);
    this.#stats.delivered++;
    if (event.deliveries > 1) this.#stats.redelivered++;
    const payload = { op: 0, t: event.type, s: event.seq, d: event.data } as GatewayDispatchPayload;
    // what the Client's own listener would emit: `toEventProps(d, shardId)`
    const props = { api: client.api, shardId: event.shardId, data: event.data };
    const settled = runWithDelivery(delivery, () =>
      Promise.all([
        callAndSettle(client, client.rawListeners(event.type), [props]),
        callAndSettle(undefined, [...this.#extra], [payload, event.shardId]),
      ]),
    );
    const copies: StreamEvent[] = [];
    const done = settled.then(([a, b]) => this.#finish(delivery, event, copies, [...a, ...b]));
    this.#inFlight.set(event.id, { delivery, event, copies, done });
  }

  async #finish(
    delivery: PendingDelivery,
    event: StreamEvent,
    copies: StreamEvent[],
    errors: unknown[],
  ): Promise<void> {
    delivery.settled = true;
    if (errors.length > 0) {
      this.#stats.failed++;
      for (const cause of errors) {
        const err = new AdapterError(
          'HANDLER_FAILED',
          `a handler failed on ${event.type} (shard ${event.shardId}, entry ${event.id}); the entry counts as handled`,
          { streamId: event.id, shardId: event.shardId },
          { cause },
        );
        this.#onError(err);
        if (this.#client!.listenerCount('error') > 0) this.#client!.emit('error', cause);
      }
    }
    try {
      // Taken over by another consumer meanwhile: its run commits; acknowledging here would make it
      // find the entry gone and skip its step. The entry's slot in this reader stays taken (rare: only
      // when this process stalled for longer than claimIdleMs).
      if (delivery.commands.length > 0 && !(await this.#commit(delivery))) return;
      await event.ack();
      for (const copy of copies) await copy.ack();
      this.#stats.acknowledged++;
    } catch (err) {
      // Redis unreachable at the ack: the entry stays pending and is delivered again
      this.#onError(asShardlineError(err));
    } finally {
      this.#inFlight.delete(event.id);
    }
  }

  /**
   * The `onAck` commands and the XACK in one script; retried while Redis is unreachable. False when the
   * entry was no longer this consumer's (nothing ran).
   */
  async #commit(d: PendingDelivery): Promise<boolean> {
    const o = this.#options;
    for (let attempt = 0; ; attempt++) {
      try {
        const ran = await commitWithAck(o.redis, d.stream, o.group, o.consumer, d.id, d.commands);
        if (!ran) this.#stats.superseded++;
        return ran;
      } catch (err) {
        if (err instanceof RedisError && err.code === 'REDIS_UNAVAILABLE' && !this.#closed) {
          this.#onError(err);
          await sleep(retryDelayMs(attempt));
          continue;
        }
        if (err instanceof RedisError && err.code === 'REDIS_UNAVAILABLE') throw err;
        // Redis refused a command: reported, and the entry acknowledged like one whose handler failed
        this.#onError(
          new AdapterError(
            'COMMIT_REFUSED',
            `the onAck step of entry ${d.id} failed (commands before the failing one are applied): ${err instanceof Error ? err.message : String(err)}`,
            { streamId: d.id, shardId: d.shardId },
            { cause: err },
          ),
        );
        return true;
      }
    }
  }

  /** Resets the idle time of entries whose handlers still run, so no consumer reclaims them meanwhile. */
  async #refresh(): Promise<void> {
    const byStream = new Map<string, string[]>();
    for (const { delivery } of this.#inFlight.values()) {
      if (delivery.settled) continue;
      const ids = byStream.get(delivery.stream) ?? [];
      ids.push(delivery.id);
      byStream.set(delivery.stream, ids);
    }
    for (const [stream, ids] of byStream) {
      try {
        await refreshPending(this.#options.redis, stream, this.#options.group, this.#options.consumer, ids);
      } catch (err) {
        if (err instanceof RedisError) this.#onError(err);
      }
    }
  }
}
