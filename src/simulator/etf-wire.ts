import { type Dispatch, SLOT_ETF_BODY, type Variant } from './dispatch.js';
import type { ClientPayload, EtfOutputOptions } from './encoding.js';
import { decodeEtfTerm, encodeEtfTerm } from './etf-adapter.js';

/**
 * ETF framing of server payloads, as Discord sends them: the envelope map `{t, s, op, d}` with atom keys
 * (and `t` as an atom), `d` maps with binary keys, snowflakes as 64-bit integers. The envelope is written
 * here byte by byte so the encoded `d` can be reused across sessions (only `s` differs).
 */

const VERSION = 131;
const SMALL_INTEGER_EXT = 97;
const INTEGER_EXT = 98;
const SMALL_ATOM_EXT = 115;
const BINARY_EXT = 109;
const MAP_EXT = 116;

const utf8 = new TextEncoder();

function atomBytes(name: string): Uint8Array {
  const b = utf8.encode(name);
  const out = new Uint8Array(2 + b.length);
  out[0] = SMALL_ATOM_EXT;
  out[1] = b.length;
  out.set(b, 2);
  return out;
}

function binaryBytes(text: string): Uint8Array {
  const b = utf8.encode(text);
  const out = new Uint8Array(5 + b.length);
  out[0] = BINARY_EXT;
  new DataView(out.buffer).setUint32(1, b.length);
  out.set(b, 5);
  return out;
}

function intBytes(n: number): Uint8Array {
  if (n >= 0 && n <= 255) return Uint8Array.of(SMALL_INTEGER_EXT, n);
  const out = new Uint8Array(5);
  out[0] = INTEGER_EXT;
  new DataView(out.buffer).setInt32(1, n);
  return out;
}

const NIL = atomBytes('nil');
const KEY_ATOM = { t: atomBytes('t'), s: atomBytes('s'), op: atomBytes('op'), d: atomBytes('d') };
const KEY_BINARY = { t: binaryBytes('t'), s: binaryBytes('s'), op: binaryBytes('op'), d: binaryBytes('d') };
const nameCache = new Map<string, Uint8Array>();

function eventName(t: string, atom: boolean): Uint8Array {
  const key = (atom ? 'a' : 'b') + t;
  let b = nameCache.get(key);
  if (b === undefined) {
    b = atom && t.length < 256 ? atomBytes(t) : binaryBytes(t);
    if (nameCache.size < 4096) nameCache.set(key, b);
  }
  return b;
}

const SNOWFLAKE_RE = /^\d{1,20}$/;
const MAX_U64 = (1n << 64n) - 1n;

function toSnowflake(value: unknown): unknown {
  if (typeof value === 'string' && SNOWFLAKE_RE.test(value)) {
    const n = BigInt(value);
    if (n <= MAX_U64) return n;
  }
  return value;
}

/** Copies `value` with snowflake strings (`id`, `*_id`, `*_ids`, `roles` entries) turned into BigInt. */
export function snowflakesToBigInt(value: unknown, key = ''): unknown {
  if (Array.isArray(value)) {
    const listOfIds = key.endsWith('_ids') || key === 'roles' || key === 'not_found';
    return value.map((v) => (listOfIds ? toSnowflake(v) : snowflakesToBigInt(v)));
  }
  if (typeof value === 'object' && value !== null) {
    // defineProperty, not assignment: a `__proto__` key in the data must stay a key, not set a prototype.
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) {
      Object.defineProperty(out, k, {
        value: snowflakesToBigInt(v, k),
        enumerable: true,
        writable: true,
        configurable: true,
      });
    }
    return out;
  }
  if (key === 'id' || key.endsWith('_id')) return toSnowflake(value);
  return value;
}

/** The ETF term of `value` without the version byte. */
function term(value: unknown, options: EtfOutputOptions): Uint8Array {
  const full = encodeEtfTerm(options.bigintSnowflakes ? snowflakesToBigInt(value) : value);
  return full.subarray(1);
}

/** `d` of a dispatch as an ETF term (no version byte), encoded once per dispatch and variant. */
export function etfBody(dispatch: Dispatch, variant: Variant, options: EtfOutputOptions): Uint8Array {
  const slot = SLOT_ETF_BODY + variant;
  let bytes = dispatch.cache[slot] as Uint8Array | undefined;
  if (bytes === undefined) {
    bytes = term(dispatch.data(variant), options);
    dispatch.cache[slot] = bytes;
  }
  return bytes;
}

/** Everything of the envelope before the `d` term: version, map header, `t`, `s`, `op` and the `d` key. */
function envelopePrefix(
  t: Uint8Array,
  s: Uint8Array,
  op: Uint8Array,
  atomKeys: boolean,
  extra = 0,
): Uint8Array {
  const k = atomKeys ? KEY_ATOM : KEY_BINARY;
  const size = 6 + k.t.length + t.length + k.s.length + s.length + k.op.length + op.length + k.d.length;
  const out = new Uint8Array(size + extra);
  out[0] = VERSION;
  out[1] = MAP_EXT;
  out[5] = 4; // arity, big-endian u32
  let at = 6;
  for (const part of [k.t, t, k.s, s, k.op, op, k.d]) {
    out.set(part, at);
    at += part.length;
  }
  return out;
}

export function etfDispatchPrefix(dispatch: Dispatch, seq: number, options: EtfOutputOptions): Uint8Array {
  return envelopePrefix(
    eventName(dispatch.t, options.atomKeys),
    intBytes(seq),
    intBytes(0),
    options.atomKeys,
  );
}

export function etfDispatch(
  dispatch: Dispatch,
  variant: Variant,
  seq: number,
  options: EtfOutputOptions,
): Uint8Array {
  const body = etfBody(dispatch, variant, options);
  const t = eventName(dispatch.t, options.atomKeys);
  const out = envelopePrefix(t, intBytes(seq), intBytes(0), options.atomKeys, body.length);
  out.set(body, out.length - body.length);
  return out;
}

export function etfPayload(op: number, d: unknown, options: EtfOutputOptions): Uint8Array {
  const body = term(d, options);
  const out = envelopePrefix(NIL, NIL, intBytes(op), options.atomKeys, body.length);
  out.set(body, out.length - body.length);
  return out;
}

/** Decodes a client ETF frame into `{op, d}`; throws on malformed input. */
export function decodeEtfPayload(frame: Uint8Array): ClientPayload {
  const value = decodeEtfTerm(frame);
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new TypeError('a gateway payload is an ETF map');
  }
  return value as ClientPayload;
}
