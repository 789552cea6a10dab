import type { ShardEventMap, ShardEventName } from '../../src/shard/events.js';
import {
  type Effect,
  type Envelope,
  type Input,
  initialState,
  type MachineConfig,
  type ShardState,
  type TimerName,
  transition,
} from '../../src/shard/machine.js';
import { DEFAULT_SEND_LIMIT } from '../../src/shard/send-limiter.js';
import { ManualClock, type TimerHandle } from '../../src/util/clock.js';

export const GATEWAY = 'wss://gateway.test';
export const RESUME = 'wss://resume.test';

export function testConfig(overrides: Partial<MachineConfig> = {}): MachineConfig {
  return {
    gatewayUrl: GATEWAY,
    shardId: 0,
    shardCount: 1,
    openTimeoutMs: 10_000,
    helloTimeoutMs: 10_000,
    readyTimeoutMs: 10_000,
    backoff: { baseMs: 1_000, maxMs: 30_000, factor: 2, jitter: 0 },
    invalidSessionDelayMs: [1_000, 5_000],
    maxQueuedSends: 50,
    sendLimit: DEFAULT_SEND_LIMIT,
    dispatchFilter: null,
    minHeartbeatIntervalMs: 1_000,
    maxHeartbeatIntervalMs: 600_000,
    stableConnectionMs: null,
    ...overrides,
  };
}

/**
 * Drives the pure transition function on a ManualClock: timer effects become clock timers that feed
 * `timer` inputs back. No sockets; the test plays the server by feeding socket inputs.
 */
export class MachineDriver {
  readonly clock = new ManualClock(0);
  state: ShardState;
  readonly log: Effect[] = [];
  /** Fixed random value for every input (default 0.5). */
  random = 0.5;
  readonly #timers = new Map<TimerName, TimerHandle>();

  constructor(config: MachineConfig = testConfig()) {
    this.state = initialState(config);
  }

  get status(): string {
    return this.state.phase.status;
  }

  get conn(): number {
    return this.state.ctx.conn;
  }

  feed(input: Input): Effect[] {
    const { state, effects } = transition(this.state, {
      ...input,
      now: this.clock.now(),
      random: this.random,
    });
    this.state = state;
    for (const e of effects) {
      this.log.push(e);
      if (e.type === 'start-timer') {
        this.clock.clearTimeout(this.#timers.get(e.name));
        this.#timers.set(
          e.name,
          this.clock.setTimeout(() => {
            this.#timers.delete(e.name);
            this.feed({ type: 'timer', name: e.name });
          }, e.ms),
        );
      } else if (e.type === 'cancel-timer') {
        this.clock.clearTimeout(this.#timers.get(e.name));
        this.#timers.delete(e.name);
      }
    }
    return [...effects];
  }

  /** Effects produced while advancing the clock. */
  advance(ms: number): Effect[] {
    const start = this.log.length;
    this.clock.advance(ms);
    return this.log.slice(start);
  }

  timerPending(name: TimerName): boolean {
    return this.#timers.has(name);
  }

  payload(payload: Partial<Envelope> & { op: number }): Effect[] {
    return this.feed({
      type: 'socket-payload',
      conn: this.conn,
      payload: { d: null, s: null, t: null, ...payload },
    });
  }

  dispatch(t: string, s: number, d: unknown = {}): Effect[] {
    return this.payload({ op: 0, t, s, d });
  }

  /** start → open → Hello(interval) → slot → READY(s=1). */
  connectReady(interval = 40_000): Effect[] {
    const start = this.log.length;
    this.feed({ type: 'start', session: null });
    this.connectReadyFromStarted(interval);
    return this.log.slice(start);
  }

  /** From `connecting`: open → Hello(interval) → slot → READY(s=1). */
  connectReadyFromStarted(interval = 40_000): Effect[] {
    const start = this.log.length;
    this.feed({ type: 'socket-open', conn: this.conn });
    this.payload({ op: 10, d: { heartbeat_interval: interval } });
    this.feed({ type: 'identify-slot', conn: this.conn });
    this.dispatch('READY', 1, { session_id: 'sess-1', resume_gateway_url: RESUME, v: 10 });
    return this.log.slice(start);
  }
}

export function events<K extends ShardEventName>(effects: readonly Effect[], name: K): ShardEventMap[K][] {
  const out: ShardEventMap[K][] = [];
  for (const e of effects) {
    if (e.type === 'emit' && e.event.name === name) out.push(e.event.args as ShardEventMap[K]);
  }
  return out;
}

export function ofType<T extends Effect['type']>(
  effects: readonly Effect[],
  type: T,
): Extract<Effect, { type: T }>[] {
  return effects.filter((e): e is Extract<Effect, { type: T }> => e.type === type);
}

/** The delay of the current backoff phase (throws when not in backoff). */
export function backoffDelayOf(m: MachineDriver): number {
  const phase = m.state.phase;
  if (phase.status !== 'backoff') throw new Error(`expected backoff, got ${phase.status}`);
  return phase.delayMs;
}
