import { AsyncLocalStorage } from 'node:async_hooks';
import { AdapterError } from '../errors.js';
import { checkRedisCommand, MAX_ACK_COMMANDS, type RedisCommand } from '../redis/pending.js';

/**
 * The stream entry whose handlers are running, as `currentDelivery()` returns it inside a handler that
 * `RedisGateway` called (and in everything that handler awaits).
 */
export interface Delivery {
  /** Stream entry id. */
  readonly id: string;
  /** Stream key it was read from. */
  readonly stream: string;
  readonly shardId: number;
  readonly seq: number;
  /** Dispatch type (`MESSAGE_CREATE`, …). */
  readonly type: string;
  /** 1 on a first delivery; higher when the entry was delivered before (a consumer died or was slow). */
  readonly deliveries: number;
  /**
   * Queues Redis commands that run in one atomic step with this entry's acknowledgement, and only if the
   * entry is still this consumer's then: either the commands and the ack both happen, or neither does and
   * the entry is delivered again. A handler that records its outcome this way has that record written
   * exactly once, however often the process dies. Throws `AdapterError` `DELIVERY_SETTLED` once the
   * handlers settled, and `CONFIG_INVALID` for a malformed command.
   */
  onAck(...commands: readonly RedisCommand[]): void;
}

const storage = new AsyncLocalStorage<Delivery>();

/** The delivery whose handlers are running (undefined outside a `RedisGateway` handler). */
export function currentDelivery(): Delivery | undefined {
  return storage.getStore();
}

/** The `Delivery` a gateway hands its handlers; `commands` and `settled` are the gateway's side. */
export class PendingDelivery implements Delivery {
  readonly id: string;
  readonly stream: string;
  readonly shardId: number;
  readonly seq: number;
  readonly type: string;
  readonly deliveries: number;
  readonly commands: RedisCommand[] = [];
  settled = false;
  constructor(e: Omit<Delivery, 'onAck'>) {
    this.id = e.id;
    this.stream = e.stream;
    this.shardId = e.shardId;
    this.seq = e.seq;
    this.type = e.type;
    this.deliveries = e.deliveries;
  }
  onAck(...commands: readonly RedisCommand[]): void {
    if (this.settled) {
      throw new AdapterError(
        'DELIVERY_SETTLED',
        `entry ${this.id} is already acknowledged: onAck() belongs inside its handlers, before they settle`,
        { streamId: this.id, shardId: this.shardId },
      );
    }
    for (const c of commands) {
      const bad = checkRedisCommand(c);
      if (bad) throw new AdapterError('COMMIT_REFUSED', `onAck: ${bad}`, { streamId: this.id });
    }
    if (this.commands.length + commands.length > MAX_ACK_COMMANDS) {
      throw new AdapterError(
        'COMMIT_REFUSED',
        `onAck: more than ${MAX_ACK_COMMANDS} commands for one entry`,
        {
          streamId: this.id,
        },
      );
    }
    this.commands.push(...commands);
  }
}

/** Runs `fn` with `delivery` as `currentDelivery()` for it and everything it starts. */
export function runWithDelivery<T>(delivery: Delivery, fn: () => T): T {
  return storage.run(delivery, fn);
}

/**
 * Calls each listener with `args` the way an EventEmitter's `emit` does (in order, `this` = `target`), and
 * returns a promise that settles when every listener returned and every promise a listener returned
 * settled, with the errors thrown or rejected.
 */
export function callAndSettle(
  target: unknown,
  listeners: readonly ((...args: never[]) => unknown)[],
  args: readonly unknown[],
): Promise<unknown[]> {
  const errors: unknown[] = [];
  const waits: PromiseLike<unknown>[] = [];
  for (const listener of listeners) {
    try {
      const r = (listener as (...a: unknown[]) => unknown).apply(target, args as unknown[]);
      if (r !== null && typeof r === 'object' && typeof (r as PromiseLike<unknown>).then === 'function')
        waits.push(r as PromiseLike<unknown>);
    } catch (err) {
      errors.push(err);
    }
  }
  if (waits.length === 0) return Promise.resolve(errors);
  return Promise.allSettled(waits).then((results) => {
    for (const r of results) if (r.status === 'rejected') errors.push(r.reason);
    return errors;
  });
}
