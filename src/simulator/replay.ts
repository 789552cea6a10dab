/**
 * Serves a gateway recording (`shardline record`) to any client: each new session gets the recorded READY
 * and GUILD_CREATEs of its shard, then the recorded events follow in order with their recorded pacing.
 * The file is streamed twice — once to check every line and keep what new sessions need, once (per loop)
 * to play the events — so memory stays bounded whatever its length.
 */
import { ConfigError, RecordingError, SimulatorError } from '../errors.js';
import type { Clock } from '../util/clock.js';
import type { RecordedPayload, RecordingEntry, RecordingHeader } from './recording/format.js';
import { openRecording } from './recording/reader.js';
import type { SessionOpening, SimulatorCore } from './simulator.js';

export interface ReplayOptions {
  /** The recording (NDJSON, gzip detected from the content). */
  readonly path: string;
  /** Pacing factor: 2 plays twice as fast as recorded. Default 1. */
  readonly speed?: number;
  /** Ignore the recorded pacing: send every event as soon as the clients read them. Default false. */
  readonly asFastAsPossible?: boolean;
  /** Start over from the first event after the last one. Default false. */
  readonly loop?: boolean;
  /** Longest line read, in bytes. Default 64 MiB. */
  readonly maxLineBytes?: number;
  /** Most bytes of READY and first GUILD_CREATE JSON kept to serve new sessions. Default 256 MiB. */
  readonly maxOpeningBytes?: number;
  /**
   * Events start once every shard of the first client's shard count has identified, or this long after
   * the first IDENTIFY, whichever comes first. Default 10 000 ms.
   */
  readonly startWaitMs?: number;
}

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

export interface ResolvedReplayOptions {
  readonly path: string;
  readonly speed: number;
  readonly asFastAsPossible: boolean;
  readonly loop: boolean;
  readonly maxLineBytes: number;
  readonly maxOpeningBytes: number;
  readonly startWaitMs: number;
}

export const DEFAULT_REPLAY_OPTIONS = {
  speed: 1,
  asFastAsPossible: false,
  loop: false,
  maxLineBytes: 64 * 1024 * 1024,
  maxOpeningBytes: 256 * 1024 * 1024,
  startWaitMs: 10_000,
} as const satisfies Omit<ResolvedReplayOptions, 'path'>;

/** Validates replay options with actionable messages. Throws `ConfigError`. */
export function resolveReplayOptions(options: ReplayOptions): ResolvedReplayOptions {
  const d = DEFAULT_REPLAY_OPTIONS;
  if (typeof options !== 'object' || options === null) throw new ConfigError('replay', 'expected an object');
  if (typeof options.path !== 'string' || options.path === '')
    throw new ConfigError('replay.path', 'expected the path of a recording');
  const speed = options.speed ?? d.speed;
  if (typeof speed !== 'number' || !Number.isFinite(speed) || speed <= 0 || speed > 1_000_000)
    throw new ConfigError('replay.speed', `expected a number in (0, 1000000], got ${String(speed)}`);
  const positive = (name: string, value: number | undefined, fallback: number, min: number): number => {
    if (value === undefined) return fallback;
    if (!Number.isInteger(value) || value < min || value > 2 ** 40)
      throw new ConfigError(`replay.${name}`, `expected an integer ≥ ${min}, got ${String(value)}`);
    return value;
  };
  return Object.freeze({
    path: options.path,
    speed,
    asFastAsPossible: options.asFastAsPossible ?? d.asFastAsPossible,
    loop: options.loop ?? d.loop,
    maxLineBytes: positive('maxLineBytes', options.maxLineBytes, d.maxLineBytes, 1024),
    maxOpeningBytes: positive('maxOpeningBytes', options.maxOpeningBytes, d.maxOpeningBytes, 0),
    startWaitMs: positive('startWaitMs', options.startWaitMs, d.startWaitMs, 0),
  });
}

type Role = 'opening-ready' | 'opening-guild' | 'skip' | 'event';

interface ShardTrack {
  readies: number;
  lastSeq: number;
  pending: Set<string>;
}

const SNOWFLAKE = /^\d{1,20}$/;
/** As fast as possible, the replay waits while a client has more than this unread. */
const AFAP_MAX_UNREAD_BYTES = 4 * 1024 * 1024;
const MAX_U64 = (1n << 64n) - 1n;

function guildIdOf(p: RecordedPayload): string | undefined {
  const d = p.d;
  if (typeof d !== 'object' || d === null) return undefined;
  const rec = d as Record<string, unknown>;
  const id =
    p.t === 'GUILD_CREATE' || p.t === 'GUILD_UPDATE' || p.t === 'GUILD_DELETE' ? rec.id : rec.guild_id;
  return typeof id === 'string' && SNOWFLAKE.test(id) && BigInt(id) <= MAX_U64 ? id : undefined;
}

/**
 * Says what each entry is to the replay, the same way in every pass: the first READY of a shard and the
 * GUILD_CREATEs of the guilds it announced open sessions; a later READY and its guilds (the recorded client
 * identified again), RESUMED, dispatches replayed after a RESUME (sequence not above the last one) and
 * everything that is not a dispatch are skipped; the rest are the live events.
 */
export class EntryClassifier {
  readonly #shards = new Map<number, ShardTrack>();

  classify(entry: RecordingEntry): Role {
    if (entry.kind !== 'payload' || entry.op !== 0 || entry.t === null) return 'skip';
    const key = entry.shard ?? -1;
    let track = this.#shards.get(key);
    if (!track) {
      track = { readies: 0, lastSeq: 0, pending: new Set() };
      this.#shards.set(key, track);
    }
    const d = (typeof entry.d === 'object' && entry.d !== null ? entry.d : {}) as Record<string, unknown>;
    if (entry.t === 'READY') {
      track.readies++;
      track.lastSeq = entry.s ?? 0;
      track.pending = new Set();
      if (Array.isArray(d.guilds)) {
        for (const g of d.guilds as unknown[]) {
          const id = (g as { id?: unknown } | null)?.id;
          if (typeof id === 'string') track.pending.add(id);
        }
      }
      return track.readies === 1 && entry.shard !== null ? 'opening-ready' : 'skip';
    }
    if (entry.s !== null) {
      if (track.readies > 0 && entry.s <= track.lastSeq) return 'skip';
      track.lastSeq = entry.s;
    }
    if (entry.t === 'RESUMED') return 'skip';
    const guildId = guildIdOf(entry);
    if (entry.t === 'GUILD_CREATE' && guildId !== undefined && track.pending.delete(guildId)) {
      return track.readies === 1 && entry.shard !== null ? 'opening-guild' : 'skip';
    }
    if (entry.t === 'GUILD_DELETE' && guildId !== undefined) track.pending.delete(guildId);
    return 'event';
  }
}

interface ShardOpening {
  /** READY `d` as JSON. */
  ready: string;
  /** Entries of READY `guilds`. */
  readyGuilds: Array<{ id: string; entry: unknown }>;
  guilds: Array<{ guildId: string; json: string }>;
}

/** What the first pass learned: the header, the openings per recorded shard, the size of the timeline. */
export interface LoadedRecording {
  readonly header: RecordingHeader;
  readonly openings: ReadonlyMap<number, ShardOpening>;
  readonly events: number;
  readonly durationMs: number;
}

/** First pass: checks every line and keeps what new sessions need. Throws `RecordingError`. */
export async function loadRecording(options: ResolvedReplayOptions): Promise<LoadedRecording> {
  const { header, entries } = await openRecording(options.path, { maxLineBytes: options.maxLineBytes });
  const classifier = new EntryClassifier();
  const openings = new Map<number, ShardOpening>();
  let events = 0;
  let firstAt: number | undefined;
  let lastAt = 0;
  let bytes = 0;
  for await (const { line, entry } of entries) {
    const role = classifier.classify(entry);
    if (role === 'event') {
      events++;
      firstAt ??= entry.at;
      lastAt = entry.at;
      continue;
    }
    if (role === 'skip' || entry.kind !== 'payload' || entry.shard === null) continue;
    const json = JSON.stringify(entry.d);
    bytes += json.length;
    if (bytes > options.maxOpeningBytes) {
      await entries.return();
      throw new RecordingError(
        'RECORDING_TOO_LARGE',
        `READY and first GUILD_CREATE data exceed ${options.maxOpeningBytes} bytes (raise maxOpeningBytes / --max-opening-bytes)`,
        line,
      );
    }
    if (role === 'opening-ready') {
      const d = entry.d as Record<string, unknown>;
      const readyGuilds: ShardOpening['readyGuilds'] = [];
      if (Array.isArray(d.guilds)) {
        for (const g of d.guilds as unknown[]) {
          const id = (g as { id?: unknown } | null)?.id;
          if (typeof id === 'string' && SNOWFLAKE.test(id)) readyGuilds.push({ id, entry: g });
        }
      }
      openings.set(entry.shard, { ready: json, readyGuilds, guilds: [] });
    } else {
      const guildId = guildIdOf(entry);
      const opening = openings.get(entry.shard);
      if (opening && guildId !== undefined) opening.guilds.push({ guildId, json });
    }
  }
  return { header, openings, events, durationMs: firstAt === undefined ? 0 : lastAt - firstAt };
}

function shardOf(guildId: string, count: number): number {
  return Number((BigInt(guildId) >> 22n) % BigInt(count));
}

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
