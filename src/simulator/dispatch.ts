import { CONTENT_EVENTS, INTENTS, intentFor } from './intents.js';

/** Which content-less variant of a message event a connection gets. */
export type Variant = 0 | 1;
export const FULL: Variant = 0;
export const STRIPPED: Variant = 1;

/** Cache slots of `Dispatch.cache` (add the variant): */
export const SLOT_JSON_TEXT = 0; // JSON of d, string
export const SLOT_ETF_BODY = 2; // ETF term of d, bytes
export const SLOT_JSON_BODY = 4; // UTF-8 of `${d}}`, bytes
export const SLOT_ZLIB_JSON = 6; // deflated JSON body
export const SLOT_ZLIB_ETF = 8; // deflated ETF body

/**
 * Events of the application rather than of a guild: Discord sends them to shard 0 only (as every event
 * without a `guild_id`), so they are routed there even when an entitlement names a guild.
 */
export const SHARD_ZERO_EVENTS: ReadonlySet<string> = new Set([
  'ENTITLEMENT_CREATE',
  'ENTITLEMENT_UPDATE',
  'ENTITLEMENT_DELETE',
  'SUBSCRIPTION_CREATE',
  'SUBSCRIPTION_UPDATE',
  'SUBSCRIPTION_DELETE',
]);

/**
 * One dispatch (`op 0`) as the world produced it, shared by every session it fans out to. The `d`
 * payload is encoded at most once per encoding and variant (pre-encoding), then wrapped per session
 * with that session's `s`.
 */
export class Dispatch {
  readonly t: string;
  readonly d: unknown;
  /** Guild the event belongs to; `undefined` routes to shard 0 (DMs, entitlements, …). */
  readonly guildId: string | undefined;
  /** Routing key `guild_id >> 22` as a number (fits 42 bits), or -1 without guild. */
  readonly routeKey: number;
  /** Intent bit a connection needs to receive it; 0 = always delivered. */
  readonly intent: number;
  /** Whether the event carries message content that MESSAGE_CONTENT gates. */
  readonly hasContent: boolean;
  /** Encoded forms of `d`, per encoding, variant and compression (`SLOT_*`); filled lazily by the encoders. */
  readonly cache: unknown[] = [];

  constructor(t: string, d: unknown, guildId: string | undefined, intent?: number) {
    if (!/^[A-Z0-9_]{1,64}$/.test(t)) throw new TypeError(`dispatch name must match [A-Z0-9_]{1,64}`);
    this.t = t;
    this.d = d;
    this.guildId = guildId;
    this.routeKey = guildId === undefined ? -1 : Number(BigInt(guildId) >> 22n);
    this.intent = intent ?? intentFor(t, guildId !== undefined);
    this.hasContent = CONTENT_EVENTS.has(t) && hasContentFields(d);
  }

  /** The variant a connection with `intents` receives, or `undefined` when its intents filter it out. */
  variantFor(intents: number): Variant | undefined {
    if (this.intent !== 0 && (intents & this.intent) === 0) return undefined;
    if (this.hasContent && this.guildId !== undefined && (intents & INTENTS.MESSAGE_CONTENT) === 0)
      return STRIPPED;
    return FULL;
  }

  /** `d` as a connection of that variant sees it. */
  data(variant: Variant): unknown {
    return variant === STRIPPED ? stripContent(this.d) : this.d;
  }
}

function hasContentFields(d: unknown): boolean {
  return typeof d === 'object' && d !== null && 'content' in d;
}

/** The message without `content`, `embeds`, `attachments`, `components`, `poll` (MESSAGE_CONTENT rules). */
export function stripContent(d: unknown): unknown {
  if (typeof d !== 'object' || d === null) return d;
  const out: Record<string, unknown> = { ...(d as Record<string, unknown>) };
  out.content = '';
  if ('embeds' in out) out.embeds = [];
  if ('attachments' in out) out.attachments = [];
  if ('components' in out) out.components = [];
  delete out.poll;
  return out;
}
