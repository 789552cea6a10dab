/**
 * The resharding steps a `ShardManager` runs: start the new set beside the serving one, switch at one
 * instant of the event order, drain the old set for one dedupe window, close it; and the periodic
 * auto-reshard. The pure planning and the switchover dedupe live in reshard.ts; the manager's state stays
 * in the manager, reached through a `ReshardHost`.
 */
import type { GatewayDispatchPayload } from 'discord-api-types/v10';
import { ManagerError, type ShardlineError } from '../errors.js';
import type { Clock, TimerHandle } from '../util/clock.js';
import type { LifecycleState, ReshardEvent, ReshardPhase, ShardRole } from './events.js';
import type { ManagerMetrics } from './metrics.js';
import type { ResolvedShardManagerOptions } from './options.js';
import { planReshard, SwitchoverDeduper } from './reshard.js';
import type { GatewayBotInfo } from './rest.js';
import type { ShardSet } from './shard-set.js';

/** A reshard under way: the joining set and the dedupe across the switch. */
export interface Reshard {
  readonly from: number;
  readonly to: number;
  phase: ReshardPhase;
  readonly deduper: SwitchoverDeduper<{
    t: string;
    d: unknown;
    payload: GatewayDispatchPayload;
    shardId: number;
  }>;
  readonly next: ShardSet;
}

/** What the resharding steps read and change of their manager. */
export interface ReshardHost {
  readonly options: ResolvedShardManagerOptions;
  readonly clock: Clock;
  readonly metrics: ManagerMetrics;
  readonly state: LifecycleState;
  active: ShardSet | undefined;
  retiring: ShardSet | undefined;
  reshard: Reshard | undefined;
  reshardStarting: boolean;
  /** The drain after a switch (old set still open); cut short by destroy(). */
  drain: { timer: TimerHandle; resolve(): void } | undefined;
  autoTimer: TimerHandle | undefined;
  fetchInfo(): Promise<GatewayBotInfo>;
  checkBudget(needed: number): void;
  setupQueue(info: GatewayBotInfo): void;
  createSet(count: number, ids: readonly number[], role: ShardRole): ShardSet;
  startSet(set: ShardSet): void;
  destroySet(set: ShardSet, code: number, reason?: string): Promise<void>;
  emitDispatch(payload: GatewayDispatchPayload, shardId: number): void;
  emitReshard(event: ReshardEvent): void;
  emitAllReady(): void;
  reshardNow(newCount: number): Promise<void>;
  debug(message: string, shardId: number | null): void;
  error(error: ShardlineError, shardId: number | null): void;
}

/**
 * Starts `newCount` shards beside the serving ones, switches once all are READY with their guilds, then
 * closes the old set. Resolves when the old set is closed. See reshard.ts for the no-loss/no-dup guarantee.
 */
export async function runReshard(host: ReshardHost, newCount: number): Promise<void> {
  if (host.state !== 'ready' || !host.active) {
    throw new ManagerError('MANAGER_NOT_CONNECTED', 'reshard() needs a connected manager');
  }
  if (host.reshard) throw new ManagerError('RESHARD_IN_PROGRESS', `already resharding to ${host.reshard.to}`);
  if (host.options.shardIds) {
    throw new ManagerError(
      'RESHARD_FAILED',
      'a manager running a subset of shards (shardIds) cannot reshard alone',
    );
  }
  if (host.reshardStarting) throw new ManagerError('RESHARD_IN_PROGRESS', 'a reshard is starting');
  const from = host.active.count;
  const plan = planReshard(from, newCount);
  host.reshardStarting = true;
  try {
    const info = await host.fetchInfo();
    host.checkBudget(plan.shardIds.length);
    host.setupQueue(info);
  } finally {
    host.reshardStarting = false;
  }
  if (host.state !== 'ready') throw new ManagerError('MANAGER_DESTROYED', 'destroyed during reshard');
  const next = host.createSet(plan.to, plan.shardIds, 'joining');
  const reshard: Reshard = {
    from,
    to: plan.to,
    phase: 'started',
    deduper: new SwitchoverDeduper({ windowMs: host.options.dedupeWindowMs, clock: host.clock }),
    next,
  };
  host.reshard = reshard;
  host.emitReshard({ phase: 'started', from, to: plan.to });
  host.debug(`reshard ${from} → ${plan.to}: starting the new set beside the old one`, null);
  let timer: TimerHandle | undefined;
  try {
    host.startSet(next);
    await Promise.race([
      next.ready,
      new Promise<never>((_, reject) => {
        timer = host.clock.setTimeout(
          () =>
            reject(
              new ManagerError(
                'RESHARD_FAILED',
                `the new set was not ready in ${host.options.reshardTimeoutMs} ms`,
              ),
            ),
          host.options.reshardTimeoutMs,
        );
      }),
    ]);
  } catch (err) {
    host.clock.clearTimeout(timer);
    reshard.phase = 'failed';
    host.reshard = undefined;
    await host.destroySet(next, 1000);
    const error =
      err instanceof ManagerError && err.code === 'RESHARD_FAILED'
        ? err
        : new ManagerError(
            'RESHARD_FAILED',
            `reshard ${from} → ${plan.to} failed: ${(err as Error).message}`,
            {},
            {
              cause: err,
            },
          );
    host.emitReshard({ phase: 'failed', from, to: plan.to, error });
    throw error;
  }
  host.clock.clearTimeout(timer);
  if (host.state !== 'ready') throw new ManagerError('MANAGER_DESTROYED', 'destroyed during reshard');
  // The switch: one instant in the event order. Old dispatches stop, buffered new ones are flushed.
  const old = host.active;
  old.role = 'retiring';
  next.role = 'active';
  host.retiring = old;
  host.active = next;
  reshard.phase = 'switched';
  for (const m of next.shards.values()) host.metrics.setShardStatus(m.id, m.state);
  // Listeners learn of the switch before the first new-set dispatch reaches them.
  host.emitReshard({ phase: 'switched', from, to: plan.to });
  for (const item of reshard.deduper.switch()) host.emitDispatch(item.payload, item.shardId);
  host.emitAllReady();
  // Drain: the old set keeps running one dedupe window so late copies are matched, then closes.
  await new Promise<void>((resolve) => {
    const timer = host.clock.setTimeout(() => {
      host.drain = undefined;
      resolve();
    }, host.options.dedupeWindowMs);
    host.drain = { timer, resolve };
  });
  if (host.state !== 'ready') return;
  await host.destroySet(old, 1000);
  for (const id of old.shards.keys()) if (!next.shards.has(id)) host.metrics.removeShard(id);
  host.retiring = undefined;
  host.reshard = undefined;
  reshard.phase = 'completed';
  host.emitReshard({ phase: 'completed', from, to: plan.to });
}

/** Checks `/gateway/bot` every `autoReshard.intervalMs` and reshards when it recommends more shards. */
export function startAutoReshard(host: ReshardHost): void {
  const auto = host.options.autoReshard;
  const interval = auto === false ? 0 : auto.intervalMs;
  if (interval <= 0) return;
  const tick = () => {
    host.autoTimer = undefined;
    void autoReshardNow(host, false).finally(() => {
      if (host.state === 'ready') host.autoTimer = host.clock.setTimeout(tick, interval);
    });
  };
  host.autoTimer = host.clock.setTimeout(tick, interval);
}

/** Reshards to the recommended count (or, `forced`, to twice the current one when it recommends no more). */
export async function autoReshardNow(host: ReshardHost, forced: boolean): Promise<void> {
  if (host.state !== 'ready' || host.reshard || !host.active) return;
  try {
    const info = await host.fetchInfo();
    const current = host.active.count;
    const target = info.shards > current ? info.shards : forced ? current * 2 : current;
    if (target === current) return;
    host.debug(`auto reshard: ${current} → ${target} (recommended ${info.shards})`, null);
    await host.reshardNow(target);
  } catch (err) {
    host.error(
      err instanceof ManagerError
        ? err
        : new ManagerError(
            'RESHARD_FAILED',
            `auto reshard failed: ${(err as Error).message}`,
            {},
            { cause: err },
          ),
      null,
    );
  }
}
