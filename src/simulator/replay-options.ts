import { ConfigError } from '../errors.js';

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
