/**
 * Rewrites what identifies people in gateway payloads so a recording can be shared: snowflakes, names,
 * texts, image hashes, URLs, e-mails. Consistent — the same value always becomes the same replacement,
 * in every payload of a recording — and stateless (a keyed permutation, not a table), so memory stays
 * bounded whatever the length of the recording. The key is random per recording and never written.
 */
import { createHmac, randomBytes } from 'node:crypto';

const DISCORD_EPOCH_MS = 1_420_070_400_000;
const TWO_22 = 0x400000;
const DAY_MS = 86_400_000;
const MAX_DEPTH = 256;
/** Entries of the id cache before it is cleared (bounds memory; a miss only costs a recomputation). */
const CACHE_LIMIT = 200_000;

const SNOWFLAKE = /^\d{17,20}$/;
const MAX_SNOWFLAKE = (1n << 64n) - 1n;
const PRESENCE_STATUSES = new Set(['online', 'idle', 'dnd', 'offline', 'invisible']);

/** Keys whose string values are names: replaced by a pseudonym. */
const NAME_KEYS = new Set(['username', 'global_name', 'nick', 'nickname', 'name', 'display_name']);
/** Keys whose string values are free text: replaced by letters of the same length (mentions kept, ids mapped). */
const TEXT_KEYS = new Set([
  'content',
  'topic',
  'description',
  'title',
  'value',
  'text',
  'label',
  'placeholder',
  'bio',
  'pronouns',
  'details',
  'state',
  'reason',
  'status',
  'location',
  'tags',
]);
/** Keys whose string values are image hashes (`a_` prefix of animated ones kept). */
const HASH_KEYS = new Set([
  'avatar',
  'icon',
  'banner',
  'splash',
  'discovery_splash',
  'asset',
  'image',
  'cover_image',
]);
/** Keys whose string values are links, file names, invite codes or contact details. */
const LINK_KEYS = new Set([
  'url',
  'proxy_url',
  'icon_url',
  'proxy_icon_url',
  'filename',
  'vanity_url_code',
  'code',
  'instant_invite',
  'email',
  'phone',
]);
/** Keys whose values are secrets (interaction and voice tokens): never kept, anonymized or not. */
export const SECRET_KEYS: ReadonlySet<string> = new Set(['token']);
/** Keys whose digit strings are bitfields, not ids. */
const BITFIELD_KEYS = new Set(['permissions', 'allow', 'deny', 'permissions_new', 'allow_new', 'deny_new']);
const KEEP_NAMES = new Set(['@everyone']);

const MENTION = /<(@!?|@&|#|a?:[^:<>\s]{1,64}:)(\d{17,20})>/g;

export interface AnonymizerOptions {
  /** Shard count of the recording: guild ids keep their shard (`(id >> 22) % shardCount`). */
  readonly shardCount: number;
  /** When the recording started (ms since the Unix epoch): ids newer than a day before keep fine order. */
  readonly startedAtMs: number;
  /** Secret of the mapping; default 32 random bytes (a recording cannot be linked to another). */
  readonly key?: Uint8Array;
}

/**
 * Snowflakes keep their shard for the recording's shard count and their order at a coarse grain: recent ids
 * (messages, within about a second) and old ones (users, guilds, within about 70 minutes) are shuffled inside
 * their window only, so an account's creation time no longer points at it, and the mapping is a bijection
 * (two ids never become one).
 */
export class Anonymizer {
  readonly #key: Buffer;
  readonly #shardCount: number;
  readonly #recentFrom: number;
  readonly #kRecent: number;
  readonly #kOld: number;
  readonly #ids = new Map<string, string>();

  constructor(options: AnonymizerOptions) {
    this.#key = Buffer.from(options.key ?? randomBytes(32));
    const n = Math.max(1, Math.floor(options.shardCount));
    this.#shardCount = n;
    const log2n = Math.ceil(Math.log2(n));
    this.#kRecent = Math.max(0, 10 - log2n);
    this.#kOld = Math.max(this.#kRecent, 22 - log2n);
    const bucket = n * 2 ** this.#kOld;
    const recent = Math.max(0, options.startedAtMs - DISCORD_EPOCH_MS - DAY_MS);
    this.#recentFrom = Math.floor(recent / bucket) * bucket;
  }

  #mac(kind: string, value: string): Buffer {
    return createHmac('sha256', this.#key).update(kind).update('\0').update(value).digest();
  }

  /** A keyed pseudo-random function of `x` (< 2^23) → 32 bits. */
  #prf(tweak: string, round: number, x: number): number {
    return this.#mac('f', `${tweak}:${round}:${x}`).readUInt32BE(0);
  }

  /** A keyed permutation of [0, 2^bits): a 4-round Feistel network, cycle-walked for odd widths. */
  #permute(x: number, bits: number, tweak: string): number {
    const half = Math.ceil(bits / 2);
    const size = 2 ** half;
    const mask = size - 1;
    const limit = 2 ** bits;
    let v = x;
    do {
      let left = Math.floor(v / size);
      let right = v % size;
      for (let round = 0; round < 4; round++) {
        const next = (left ^ (this.#prf(tweak, round, right) & mask)) >>> 0;
        left = right;
        right = next;
      }
      v = left * size + right;
    } while (v >= limit);
    return v;
  }

  /** The replacement of one snowflake (a decimal string); a string that is not one is returned as is. */
  snowflake(id: string): string {
    const cached = this.#ids.get(id);
    if (cached !== undefined) return cached;
    if (!SNOWFLAKE.test(id)) return id;
    const v = BigInt(id);
    if (v > MAX_SNOWFLAKE) return id;
    const ts = Number(v >> 22n);
    const low = Number(v & 0x3fffffn);
    const n = this.#shardCount;
    const k = ts >= this.#recentFrom ? this.#kRecent : this.#kOld;
    const q = Math.floor(ts / n);
    const r = ts % n;
    const hi = Math.floor(q / 2 ** k);
    const lo = q % 2 ** k;
    const x = this.#permute(lo * TWO_22 + low, k + 22, `${k}:${hi}`);
    const newTs = (hi * 2 ** k + Math.floor(x / TWO_22)) * n + r;
    const out = ((BigInt(newTs) << 22n) | BigInt(x % TWO_22)).toString();
    if (this.#ids.size >= CACHE_LIMIT) this.#ids.clear();
    this.#ids.set(id, out);
    return out;
  }

  /** A name → `anon_` and 8 hex digits (`@everyone` kept; emoji-only names kept). */
  name(value: string): string {
    if (KEEP_NAMES.has(value) || !/[\p{L}\p{N}]/u.test(value)) return value;
    return `anon_${this.#mac('n', value).toString('hex').slice(0, 8)}`;
  }

  /** Free text → letters of the same length, whitespace and mentions kept (their ids mapped). */
  text(value: string): string {
    if (value === '') return value;
    const stream = this.#mac('t', value);
    let at = 0;
    const letter = (): string => {
      const byte = stream[at % stream.length]! ^ (at >> 5);
      at++;
      return String.fromCharCode(97 + (byte % 26));
    };
    let out = '';
    let last = 0;
    const scramble = (part: string): string => part.replace(/\S/gu, letter);
    for (const m of value.matchAll(MENTION)) {
      out += scramble(value.slice(last, m.index));
      out += `<${m[1]}${this.snowflake(m[2]!)}>`;
      last = m.index + m[0].length;
    }
    return out + scramble(value.slice(last));
  }

  /** An image hash → another of the same shape. */
  hash(value: string): string {
    const animated = value.startsWith('a_');
    const hex = this.#mac('h', value).toString('hex').slice(0, 32);
    return animated ? `a_${hex}` : hex;
  }

  /** A link, file name, invite code, e-mail or phone number → a neutral one. */
  link(key: string, value: string): string {
    const tag = this.#mac('l', value).toString('hex').slice(0, 12);
    if (key === 'email') return `anon_${tag}@example.invalid`;
    if (key === 'phone') return '+10000000000';
    if (key === 'filename') return `file_${tag}${/\.[A-Za-z0-9]{1,8}$/.exec(value)?.[0] ?? ''}`;
    if (key.endsWith('url')) return `https://example.invalid/${tag}`;
    return tag;
  }

  /** A copy of `value` with every identifying field rewritten (ids in keys and values too). */
  payload(value: unknown): unknown {
    return this.#walk(value, '', 0);
  }

  #walk(value: unknown, key: string, depth: number): unknown {
    if (typeof value === 'string') return this.#string(key, value);
    if (typeof value !== 'object' || value === null) return value;
    if (depth >= MAX_DEPTH) return null;
    if (Array.isArray(value)) return value.map((v) => this.#walk(v, key, depth + 1));
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) {
      out[SNOWFLAKE.test(k) ? this.snowflake(k) : k] = this.#walk(v, k, depth + 1);
    }
    return out;
  }

  #string(key: string, value: string): string {
    if (SECRET_KEYS.has(key)) return '[redacted]';
    if (BITFIELD_KEYS.has(key)) return value;
    if (SNOWFLAKE.test(value)) return this.snowflake(value);
    if (NAME_KEYS.has(key)) return this.name(value);
    if (key === 'status' && PRESENCE_STATUSES.has(value)) return value;
    if (TEXT_KEYS.has(key)) return this.text(value);
    if (HASH_KEYS.has(key)) return this.hash(value);
    if (LINK_KEYS.has(key)) return this.link(key, value);
    return value;
  }
}

/** A copy of `value` with the values of secret keys (`token`) replaced by `[redacted]`; same object when none. */
export function stripSecretFields(value: unknown, depth = 0): unknown {
  if (typeof value !== 'object' || value === null || depth >= MAX_DEPTH) return value;
  if (Array.isArray(value)) {
    let changed = false;
    const out = value.map((v) => {
      const w = stripSecretFields(v, depth + 1);
      if (w !== v) changed = true;
      return w;
    });
    return changed ? out : value;
  }
  let out: Record<string, unknown> | undefined;
  for (const [k, v] of Object.entries(value)) {
    const w =
      SECRET_KEYS.has(k) && v !== null && v !== undefined ? '[redacted]' : stripSecretFields(v, depth + 1);
    if (w !== v) {
      out ??= { ...(value as Record<string, unknown>) };
      out[k] = w;
    }
  }
  return out ?? value;
}
