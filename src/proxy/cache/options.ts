/**
 * Which kinds of data the gateway cache keeps. Everything a rebuilt GUILD_CREATE needs is on by default
 * except presences: they change most often and are the largest share of a guild's data, and most bots
 * never read them. A kind that is off is sent as an empty array in a rebuilt GUILD_CREATE.
 */
import { ConfigError } from '../../errors.js';

export interface GatewayCacheOptions {
  /** Guild members (the bot's own member is kept even when off). Default true. */
  readonly members?: boolean;
  /** Presences (only non-offline ones are kept, as Discord sends them). Default false. */
  readonly presences?: boolean;
  /** Voice states. Default true. */
  readonly voiceStates?: boolean;
  /** Guild channels (not threads). Default true. */
  readonly channels?: boolean;
  /** Active threads. Default true. */
  readonly threads?: boolean;
  /** Roles. Default true. */
  readonly roles?: boolean;
  /** Custom emojis. Default true. */
  readonly emojis?: boolean;
  /** Stickers. Default true. */
  readonly stickers?: boolean;
  /** Stage instances. Default true. */
  readonly stageInstances?: boolean;
  /** Guild scheduled events. Default true. */
  readonly scheduledEvents?: boolean;
  /** Soundboard sounds. Default true. */
  readonly soundboardSounds?: boolean;
}

export type ResolvedGatewayCacheOptions = Readonly<Required<GatewayCacheOptions>>;

export const DEFAULT_GATEWAY_CACHE_OPTIONS = {
  members: true,
  presences: false,
  voiceStates: true,
  channels: true,
  threads: true,
  roles: true,
  emojis: true,
  stickers: true,
  stageInstances: true,
  scheduledEvents: true,
  soundboardSounds: true,
} as const satisfies ResolvedGatewayCacheOptions;

export type GatewayCacheKind = keyof ResolvedGatewayCacheOptions;

export const GATEWAY_CACHE_KINDS = Object.freeze(
  Object.keys(DEFAULT_GATEWAY_CACHE_OPTIONS) as GatewayCacheKind[],
);

function describe(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value);
  if (value === null || typeof value !== 'object') return String(value);
  return Array.isArray(value) ? 'an array' : 'an object';
}

/** Validates cache options with actionable messages and fills defaults. Throws `ConfigError`. */
export function resolveGatewayCacheOptions(options: GatewayCacheOptions = {}): ResolvedGatewayCacheOptions {
  if (options === null || typeof options !== 'object' || Array.isArray(options)) {
    throw new ConfigError('cache', `must be an object of per-kind switches, got ${describe(options)}`);
  }
  for (const key of Object.keys(options)) {
    if (!(GATEWAY_CACHE_KINDS as readonly string[]).includes(key)) {
      throw new ConfigError(
        `cache.${key}`,
        `unknown cache kind; known kinds are ${GATEWAY_CACHE_KINDS.join(', ')}`,
      );
    }
  }
  const out = { ...DEFAULT_GATEWAY_CACHE_OPTIONS } as { -readonly [K in GatewayCacheKind]: boolean };
  for (const kind of GATEWAY_CACHE_KINDS) {
    const value = (options as Record<string, unknown>)[kind];
    if (value === undefined) continue;
    if (typeof value !== 'boolean') {
      throw new ConfigError(`cache.${kind}`, `must be true or false, got ${describe(value)}`);
    }
    out[kind] = value;
  }
  return Object.freeze(out);
}
