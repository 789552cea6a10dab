/**
 * Gateway intents, derived from discord-api-types' `GatewayIntentBits` (the external authority): the mask of
 * every documented bit, the privileged ones, and one parser for the names a user types.
 */
import { GatewayIntentBits } from 'discord-api-types/v10';

export type IntentName = keyof typeof GatewayIntentBits;

/** The intent names, PascalCase as discord-api-types spells them (deprecated aliases included). */
export const INTENT_NAMES: readonly IntentName[] = Object.keys(GatewayIntentBits).filter((k) =>
  Number.isNaN(Number(k)),
) as IntentName[];

/** Every documented intent bit; any other bit in an IDENTIFY makes the gateway close with 4013. */
export const ALL_INTENTS: number = INTENT_NAMES.reduce((bits, name) => bits | GatewayIntentBits[name], 0);

/** The intents an application must enable in the Developer Portal (else close 4014). */
export const PRIVILEGED_INTENTS: number =
  GatewayIntentBits.GuildMembers | GatewayIntentBits.GuildPresences | GatewayIntentBits.MessageContent;

const BY_KEY: ReadonlyMap<string, number> = new Map(
  INTENT_NAMES.map((name) => [name.toLowerCase(), GatewayIntentBits[name]]),
);

/** The bit of one intent name: `GuildMessages`, `GUILD_MESSAGES` or `guild_messages`; undefined if unknown. */
export function intentBit(name: string): number | undefined {
  return BY_KEY.get(name.trim().toLowerCase().replace(/_/g, ''));
}

/**
 * Parses a comma list of intent names (any of the spellings `intentBit` takes), a decimal bitfield, `none`
 * or `all` (every documented bit) into a bitfield; undefined if any part is not understood.
 */
export function parseIntents(text: string): number | undefined {
  const trimmed = text.trim();
  if (trimmed === 'none') return 0;
  if (trimmed === 'all') return ALL_INTENTS;
  if (/^\d+$/.test(trimmed)) return Number(trimmed);
  let bits = 0;
  for (const part of trimmed.split(',')) {
    const bit = intentBit(part);
    if (bit === undefined) return undefined;
    bits |= bit;
  }
  return bits;
}
