/** Helpers for integration tests that run a real `Shard` against the simulator on scaled time. */
import type { TestContext } from 'node:test';
import type { GatewayDispatchPayload } from 'discord-api-types/v10';
import type { ShardlineError } from '../../src/errors.js';
import { MemoryIdentifyQueue } from '../../src/shard/identify-queue.js';
import type { ShardOptions } from '../../src/shard/options.js';
import { Shard } from '../../src/shard/shard.js';
import type { Simulator, SimulatorOptions } from '../../src/simulator/index.js';
import { startSimulator } from '../../src/simulator/index.js';

/** Gateway time scaled down 200×: 41.25 s heartbeats become ~206 ms, the 60 s send window 300 ms. */
export const SCALE = 200;
export const HEARTBEAT_MS = Math.round(41_250 / SCALE);
export const SEND_WINDOW_MS = Math.round(60_000 / SCALE);
export const IDENTIFY_WINDOW_MS = 50;
/**
 * The simulator stamps a payload when it processes it, in the same event loop as the client, so a burst
 * is spread over tens of ms on a loaded machine: the scaled window needs a proportionally larger margin
 * than the 1 s of 60 s used against Discord.
 */
export const SEND_MARGIN_MS = 100;

export function simOptions(extra: SimulatorOptions = {}): SimulatorOptions {
  return {
    guilds: 6,
    membersPerGuild: 3,
    heartbeatIntervalMs: HEARTBEAT_MS,
    heartbeatGraceMs: 2_000,
    identifyWindowMs: IDENTIFY_WINDOW_MS,
    sendWindowMs: SEND_WINDOW_MS,
    sessionTimeoutMs: 30_000,
    ...extra,
  };
}

export async function startSim(t: TestContext, extra: SimulatorOptions = {}): Promise<Simulator> {
  const sim = await startSimulator(simOptions(extra));
  t.after(() => sim.close());
  return sim;
}

export function shardOptions(sim: Simulator, extra: Partial<ShardOptions> = {}): ShardOptions {
  return {
    token: sim.tokens[0]!,
    intents: 513,
    gatewayUrl: sim.gatewayUrl,
    compression: 'none',
    // Same reasoning as SEND_MARGIN_MS: the simulator stamps an Identify when it processes it.
    identifyQueue: new MemoryIdentifyQueue({ windowMs: IDENTIFY_WINDOW_MS + 200 }),
    sendLimit: { perWindow: 120, windowMs: SEND_WINDOW_MS, marginMs: SEND_MARGIN_MS },
    reconnectBackoff: { baseMs: 20, maxMs: 200 },
    invalidSessionDelayMs: [10, 50],
    openTimeoutMs: 5_000,
    helloTimeoutMs: 5_000,
    readyTimeoutMs: 5_000,
    ...extra,
  };
}

/** A shard plus everything it emitted. */
export class Recorder {
  readonly shard: Shard;
  readonly dispatches: GatewayDispatchPayload[] = [];
  readonly errors: ShardlineError[] = [];
  readonly statuses: string[] = [];
  readonly closes: { code: number; action: string; byClient: boolean }[] = [];
  readonly debug: string[] = [];
  resumed = 0;
  ready = 0;
  constructor(shard: Shard) {
    this.shard = shard;
    shard.on('dispatch', (p) => this.dispatches.push(p));
    shard.on('error', (e) => this.errors.push(e));
    shard.on('status', (s) => this.statuses.push(s));
    shard.on('close', (c) => this.closes.push({ code: c.code, action: c.action, byClient: c.byClient }));
    shard.on('debug', (m) => this.debug.push(m));
    shard.on('resumed', () => this.resumed++);
    shard.on('ready', () => this.ready++);
  }

  /** Resolves when `event` is emitted next (rejects after `timeoutMs`). */
  next(event: 'ready' | 'resumed' | 'close', timeoutMs = 15_000): Promise<void> {
    return new Promise((resolve, reject) => {
      const on = (): void => {
        clearTimeout(timer);
        this.shard.off(event, on);
        resolve();
      };
      const timer = setTimeout(() => {
        this.shard.off(event, on);
        reject(new Error(`timed out waiting for '${event}' (status ${this.shard.status})`));
      }, timeoutMs);
      this.shard.on(event, on);
    });
  }

  /** Sequence numbers delivered, in order. */
  get seqs(): number[] {
    return this.dispatches.map((d) => d.s);
  }
}

/** A shard destroyed after the test. */
export function createShard(t: TestContext, sim: Simulator, extra: Partial<ShardOptions> = {}): Recorder {
  const shard = new Shard(shardOptions(sim, extra));
  t.after(() => shard.destroy());
  return new Recorder(shard);
}

export { waitFor } from './wait.js';

/** True when `seqs` is exactly 1, 2, 3, …: every dispatch of one session once, in order. */
export function consecutive(seqs: readonly number[]): boolean {
  for (let i = 0; i < seqs.length; i++) if (seqs[i] !== i + 1) return false;
  return true;
}

/** The simulator's last sequence for shard `id` (all sessions). */
export function simLastSeq(sim: Simulator, id = 0): number {
  return sim.stats().shards.find((s) => s.shardId === id)?.sequence ?? 0;
}

/** Violations other than the listed kinds. */
export function violations(sim: Simulator, ignore: readonly string[] = []): [string, number][] {
  return Object.entries(sim.stats().violations).filter(([k, n]) => n > 0 && !ignore.includes(k));
}
