/**
 * Rewrites what identifies people in gateway payloads so a recording can be shared: snowflakes, names,
 * texts, image hashes, URLs, e-mails. Consistent — the same value always becomes the same replacement,
 * in every payload of a recording — and stateless (a keyed permutation, not a table), so memory stays
 * bounded whatever the length of the recording. The key is random per recording and never written.
 */
import { randomBytes } from 'node:crypto';

const DISCORD_EPOCH_MS = 1_420_070_400_000;
const TWO_22 = 0x400000;
const DAY_MS = 86_400_000;
const MAX_DEPTH = 256;
/** Entries of each cache before it is cleared (bounds memory; a miss only costs a recomputation). */
const CACHE_LIMIT = 100_000;

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

const rotl = (x: number, b: number): number => ((x << b) | (x >>> (32 - b))) >>> 0;

/**
 * HalfSipHash-2-4 over 32-bit words, the word count absorbed last: a keyed pseudo-random function that is
 * fast in JavaScript, where each `node:crypto` call costs microseconds. The anonymizer XORs two of them
 * with independent keys (and distinct initial states, `lane`), so its key is 128 bits.
 */
function halfSip(k0: number, k1: number, lane: number, words: ArrayLike<number>, n: number): number {
  let v0 = k0 >>> 0;
  let v1 = k1 >>> 0;
  let v2 = (0x6c796765 ^ k0 ^ lane) >>> 0;
  let v3 = (0x74656462 ^ k1) >>> 0;
  const round = (): void => {
    v0 = (v0 + v1) >>> 0;
    v1 = rotl(v1, 5) ^ v0;
    v0 = rotl(v0, 16);
    v2 = (v2 + v3) >>> 0;
    v3 = rotl(v3, 8) ^ v2;
    v0 = (v0 + v3) >>> 0;
    v3 = rotl(v3, 7) ^ v0;
    v2 = (v2 + v1) >>> 0;
    v1 = rotl(v1, 13) ^ v2;
    v2 = rotl(v2, 16);
  };
  for (let i = 0; i <= n; i++) {
    const m = (i < n ? words[i]! : n | 0x80000000) >>> 0;
    v3 = (v3 ^ m) >>> 0;
    round();
    round();
    v0 = (v0 ^ m) >>> 0;
  }
  v2 = (v2 ^ 0xff) >>> 0;
  for (let i = 0; i < 4; i++) round();
  return (v1 ^ v3) >>> 0;
}

/** A small deterministic generator (mulberry32) for the letters of a rewritten text. */
function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Domains of the keyed function, so one kind of value never collides with another. */
const ROUND = 1;
const NAME = 2;
const TEXT = 3;
const HASH = 4;
const LINK = 5;

export interface AnonymizerOptions {
  /** Shard count of the recording: guild ids keep their shard (`(id >> 22) % shardCount`). */
  readonly shardCount: number;
  /** When the recording started (ms since the Unix epoch): ids newer than a day before keep fine order. */
  readonly startedAtMs: number;
  /** Secret of the mapping (16 bytes are used); default random (a recording cannot be linked to another). */
  readonly key?: Uint8Array;
}

/**
 * Snowflakes keep their shard for the recording's shard count and their order at a coarse grain: recent ids
 * (messages, within about a second) and old ones (users, guilds, within about 70 minutes) are shuffled inside
 * their window only, so an account's creation time no longer points at it, and the mapping is a bijection
 * (two ids never become one).
 */
export class Anonymizer {
  /** Two 64-bit keys (four 32-bit words). */
  readonly #key: Uint32Array;
  readonly #shardCount: number;
  readonly #recentFrom: number;
  readonly #kRecent: number;
  readonly #kOld: number;
  readonly #ids = new Map<string, string>();
  readonly #names = new Map<string, string>();
  #scratch = new Uint32Array(64);

  constructor(options: AnonymizerOptions) {
    const key = Buffer.alloc(16);
    Buffer.from(options.key ?? randomBytes(16)).copy(key);
    this.#key = Uint32Array.from([0, 1, 2, 3], (i) => key.readUInt32LE(i * 4));
    const n = Math.max(1, Math.floor(options.shardCount));
    this.#shardCount = n;
    const log2n = Math.ceil(Math.log2(n));
    this.#kRecent = Math.max(0, 10 - log2n);
    this.#kOld = Math.max(this.#kRecent, 22 - log2n);
    const bucket = n * 2 ** this.#kOld;
    const recent = Math.max(0, options.startedAtMs - DISCORD_EPOCH_MS - DAY_MS);
    this.#recentFrom = Math.floor(recent / bucket) * bucket;
  }

  #keyed(words: ArrayLike<number>, n: number): number {
    const k = this.#key;
    return (halfSip(k[0]!, k[1]!, 0, words, n) ^ halfSip(k[2]!, k[3]!, 0x5bd1e995, words, n)) >>> 0;
  }

  /** The keyed function of (`domain`, `index`, a string) → 32 bits. */
  #ofString(domain: number, index: number, value: string): number {
    const n = 3 + Math.ceil(value.length / 2);
    if (this.#scratch.length < n) this.#scratch = new Uint32Array(n * 2);
    const w = this.#scratch;
    w[0] = domain;
    w[1] = index;
    w[2] = value.length;
    for (let i = 0; i < value.length; i += 2) {
      const second = i + 1 < value.length ? value.charCodeAt(i + 1) : 0;
      w[3 + i / 2] = (value.charCodeAt(i) | (second << 16)) >>> 0;
    }
    return this.#keyed(w, n);
  }

  /** `chars` hex digits keyed on (`domain`, a string). */
  #hex(domain: number, value: string, chars: number): string {
    let out = '';
    for (let i = 0; out.length < chars; i++)
      out += this.#ofString(domain, i, value).toString(16).padStart(8, '0');
    return out.slice(0, chars);
  }

  /** The round function of the id permutation: (window, round, half) → 32 bits. */
  #round(k: number, hi: number, round: number, x: number): number {
    const w = this.#scratch;
    w[0] = ROUND;
    w[1] = k;
    w[2] = hi % 0x100000000;
    w[3] = Math.floor(hi / 0x100000000);
    w[4] = round;
    w[5] = x;
    return this.#keyed(w, 6);
  }

  /** A keyed permutation of [0, 2^bits) for one window: a 4-round Feistel network, cycle-walked for odd widths. */
  #permute(x: number, bits: number, k: number, hi: number): number {
    const half = Math.ceil(bits / 2);
    const size = 2 ** half;
    const mask = size - 1;
    const limit = 2 ** bits;
    let v = x;
    do {
      let left = Math.floor(v / size);
      let right = v % size;
      for (let round = 0; round < 4; round++) {
        const next = (left ^ (this.#round(k, hi, round, right) & mask)) >>> 0;
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
    const x = this.#permute(lo * TWO_22 + low, k + 22, k, hi);
    const newTs = (hi * 2 ** k + Math.floor(x / TWO_22)) * n + r;
    const out = ((BigInt(newTs) << 22n) | BigInt(x % TWO_22)).toString();
    if (this.#ids.size >= CACHE_LIMIT) this.#ids.clear();
    this.#ids.set(id, out);
    return out;
  }

  /** A name → `anon_` and 8 hex digits (`@everyone` kept; emoji-only names kept). */
  name(value: string): string {
    if (KEEP_NAMES.has(value) || !/[\p{L}\p{N}]/u.test(value)) return value;
    const cached = this.#names.get(value);
    if (cached !== undefined) return cached;
    const out = `anon_${this.#hex(NAME, value, 8)}`;
    if (this.#names.size >= CACHE_LIMIT) this.#names.clear();
    this.#names.set(value, out);
    return out;
  }

  /** Free text → letters of the same length, whitespace and mentions kept (their ids mapped). */
  text(value: string): string {
    if (value === '') return value;
    const next = mulberry32(this.#ofString(TEXT, 0, value));
    const letter = (): string => String.fromCharCode(97 + Math.floor(next() * 26));
    const scramble = (part: string): string => part.replace(/\S/gu, letter);
    let out = '';
    let last = 0;
    for (const m of value.matchAll(MENTION)) {
      out += scramble(value.slice(last, m.index));
      out += `<${m[1]}${this.snowflake(m[2]!)}>`;
      last = m.index + m[0].length;
    }
    return out + scramble(value.slice(last));
  }

  /** An image hash → another of the same shape. */
  hash(value: string): string {
    const hex = this.#hex(HASH, value, 32);
    return value.startsWith('a_') ? `a_${hex}` : hex;
  }

  /** A link, file name, invite code, e-mail or phone number → a neutral one. */
  link(key: string, value: string): string {
    const tag = this.#hex(LINK, value, 12);
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
