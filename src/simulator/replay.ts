/**
 * Serves a gateway recording (`shardline record`) to any client: each new session gets the recorded READY
 * and GUILD_CREATEs of its shard, then the recorded events follow in order with their recorded pacing.
 * The file is streamed twice — once to check every line and keep what new sessions need, once (per loop)
 * to play the events — so memory stays bounded whatever its length.
 */
import { SimulatorError } from '../errors.js';
import type { Clock } from '../util/clock.js';
import type { RecordedPayload } from './recording/format.js';
import { openRecording } from './recording/reader.js';
import { EntryClassifier, guildIdOf, type LoadedRecording } from './replay-load.js';
import type { ResolvedReplayOptions } from './replay-options.js';
import type { SessionOpening, SimulatorCore } from './simulator.js';
import { shardOf } from './world.js';

export { loadRecording } from './replay-load.js';
export type { ReplayOptions, ResolvedReplayOptions } from './replay-options.js';
export { DEFAULT_REPLAY_OPTIONS, resolveReplayOptions } from './replay-options.js';

export const REPLAY_STATES = ['waiting', 'playing', 'finished', 'failed'] as const;
export type ReplayState = (typeof REPLAY_STATES)[number];

export interface ReplayStats {
  readonly path: string;
  readonly state: ReplayState;
  /** Shard count of the recording. */
  readonly shardCount: number;
  readonly anonymized: boolean;
  /** Live events in the recording (READY, the first GUILD_CREATEs, RESUMED and replays after RESUME excluded). */
  readonly events: number;
  /** Recorded time from the first to the last event, ms. */
  readonly durationMs: number;
  /** Events sent in the current loop. */
  readonly emitted: number;
  /** Events sent in all loops. */
  readonly emittedTotal: number;
  /** Session deliveries of those events. */
  readonly deliveries: number;
  /** Events the simulator refused (data it cannot encode). */
  readonly refused: number;
  /** Completed passes over the recording. */
  readonly loops: number;
  /** Why the replay stopped, when `state` is `failed`. */
  readonly error?: string;
}

/** As fast as possible, the replay waits while a client has more than this unread. */
const AFAP_MAX_UNREAD_BYTES = 4 * 1024 * 1024;

/** Plays a loaded recording into a simulator core. */
export class Replay implements SessionOpening {
  readonly #core: SimulatorCore;
  readonly #options: ResolvedReplayOptions;
  readonly #recording: LoadedRecording;
  readonly #clock: Clock;
  #state: ReplayState = 'waiting';
  #error: string | undefined;
  #emitted = 0;
  #emittedTotal = 0;
  #deliveries = 0;
  #refused = 0;
  #loops = 0;
  /** Shard count of the first session, and which of its shard ids have started. */
  #firstCount: number | undefined;
  readonly #started = new Set<number>();
  #startTimer: ReturnType<Clock['setTimeout']> | undefined;
  #sleep: { timer: ReturnType<Clock['setTimeout']>; resolve: () => void } | undefined;
  #stopped = false;
  #playing: Promise<void> | undefined;

  constructor(core: SimulatorCore, options: ResolvedReplayOptions, recording: LoadedRecording) {
    this.#core = core;
    this.#options = options;
    this.#recording = recording;
    this.#clock = core.options.clock;
  }

  // ── SessionOpening ──────────────────────────────────────────────────────────────────────────────

  ready(shard: readonly [number, number]): Record<string, unknown> {
    const [id, count] = shard;
    const openings = this.#recording.openings;
    const same = count === this.#recording.header.shardCount;
    const own = same ? openings.get(id) : undefined;
    const base = own ?? openings.values().next().value;
    if (!base) return {};
    const ready = JSON.parse(base.ready) as Record<string, unknown>;
    if (!own) {
      const guilds: unknown[] = [];
      if (!same)
        for (const o of openings.values())
          for (const g of o.readyGuilds) if (shardOf(g.id, count) === id) guilds.push(g.entry);
      ready.guilds = guilds;
    }
    return ready;
  }

  *guildCreates(shard: readonly [number, number]): Iterable<{ d: unknown; guildId: string }> {
    const [id, count] = shard;
    const openings = this.#recording.openings;
    if (count === this.#recording.header.shardCount) {
      for (const g of openings.get(id)?.guilds ?? []) yield { d: JSON.parse(g.json), guildId: g.guildId };
      return;
    }
    for (const o of openings.values())
      for (const g of o.guilds)
        if (shardOf(g.guildId, count) === id) yield { d: JSON.parse(g.json), guildId: g.guildId };
  }

  sessionStarted(shard: readonly [number, number]): void {
    if (this.#state !== 'waiting') return;
    if (this.#firstCount === undefined) {
      this.#firstCount = shard[1];
      this.#startTimer = this.#clock.setTimeout(() => this.#start(), this.#options.startWaitMs);
    }
    if (shard[1] === this.#firstCount) this.#started.add(shard[0]);
    // After the current identify has finished sending its guilds.
    if (this.#started.size >= this.#firstCount) setImmediate(() => this.#start());
  }

  stats(): ReplayStats {
    const r = this.#recording;
    return {
      path: this.#options.path,
      state: this.#state,
      shardCount: r.header.shardCount,
      anonymized: r.header.anonymized,
      events: r.events,
      durationMs: r.durationMs,
      emitted: this.#emitted,
      emittedTotal: this.#emittedTotal,
      deliveries: this.#deliveries,
      refused: this.#refused,
      loops: this.#loops,
      ...(this.#error !== undefined ? { error: this.#error } : {}),
    };
  }

  // ── timeline ────────────────────────────────────────────────────────────────────────────────────

  #start(): void {
    this.#clock.clearTimeout(this.#startTimer);
    this.#startTimer = undefined;
    if (this.#state !== 'waiting' || this.#stopped) return;
    this.#state = 'playing';
    this.#playing = this.#play().then(
      () => {
        if (this.#state === 'playing') this.#state = 'finished';
      },
      (err: unknown) => {
        this.#state = 'failed';
        this.#error = err instanceof Error ? err.message : String(err);
      },
    );
  }

  async #play(): Promise<void> {
    do {
      this.#emitted = 0;
      await this.#pass();
      if (this.#stopped) return;
      this.#loops++;
    } while (this.#options.loop && this.#recording.events > 0);
  }

  async #pass(): Promise<void> {
    const o = this.#options;
    const { header, entries } = await openRecording(o.path, { maxLineBytes: o.maxLineBytes });
    const classifier = new EntryClassifier();
    let base: number | undefined;
    let startedAt = 0;
    let sinceYield = 0;
    for await (const { entry } of entries) {
      if (this.#stopped) break;
      if (classifier.classify(entry) !== 'event' || entry.kind !== 'payload') continue;
      if (base === undefined) {
        base = entry.at;
        startedAt = this.#clock.now();
      }
      if (!o.asFastAsPossible) {
        const wait = startedAt + (entry.at - base) / o.speed - this.#clock.now();
        if (wait >= 1) {
          await this.#wait(wait);
          sinceYield = 0;
        }
      }
      if (++sinceYield >= 256) {
        sinceYield = 0;
        await this.#yield(o.asFastAsPossible);
      }
      if (this.#stopped) break;
      this.#emit(entry, header.shardCount);
    }
  }

  #emit(entry: RecordedPayload, shardCount: number): void {
    try {
      this.#deliveries += this.#core.emitRecorded(
        entry.t!,
        entry.d,
        guildIdOf(entry),
        entry.shard === null ? undefined : [entry.shard, shardCount],
      );
      this.#emitted++;
      this.#emittedTotal++;
    } catch (err) {
      if (err instanceof SimulatorError && err.code === 'SIMULATOR_CLOSED' && this.#stopped) return;
      if (!(err instanceof SimulatorError) || err.code === 'SIMULATOR_CLOSED') throw err;
      this.#refused++;
    }
  }

  #wait(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = this.#clock.setTimeout(() => {
        this.#sleep = undefined;
        resolve();
      }, ms);
      this.#sleep = { timer, resolve };
    });
  }

  /**
   * Yields to the event loop. As fast as possible, it also waits while some client has more than
   * `AFAP_MAX_UNREAD_BYTES` unread; at the recorded pace a slow reader is dropped as Discord would
   * (`maxBufferedBytes`) and the others go on.
   */
  async #yield(backpressure: boolean): Promise<void> {
    await new Promise((resolve) => setImmediate(resolve));
    if (!backpressure) return;
    const unread = (): boolean =>
      [...this.#core.connections].some((c) => c.open && c.ws.bufferedAmount > AFAP_MAX_UNREAD_BYTES);
    while (!this.#stopped && unread()) await new Promise((resolve) => setTimeout(resolve, 5));
  }

  /** Stops the timeline and waits until the file is closed. */
  async stop(): Promise<void> {
    this.#stopped = true;
    this.#clock.clearTimeout(this.#startTimer);
    if (this.#sleep) {
      this.#clock.clearTimeout(this.#sleep.timer);
      this.#sleep.resolve();
      this.#sleep = undefined;
    }
    await this.#playing;
  }
}
