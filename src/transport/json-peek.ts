/**
 * Reads `op`, `s` and `t` of a JSON gateway envelope without parsing `d`, so a shard with a dispatch
 * filter can skip unwanted events cheaply. Returns undefined whenever it is not sure (escapes in keys or
 * `t`, unexpected syntax); the caller then parses the whole payload. Stops scanning as soon as all three
 * keys were seen, so with Discord's key order (`t`, `s`, `op`, `d`) the body is never touched.
 */
export interface PeekedEnvelope {
  readonly op: number;
  readonly s: number | null;
  readonly t: string | null;
}

const QUOTE = 34;
const BACKSLASH = 92;

function isSpace(c: number): boolean {
  return c === 32 || c === 10 || c === 13 || c === 9;
}

export function peekJsonEnvelope(text: string): PeekedEnvelope | undefined {
  const n = text.length;
  let i = 0;
  const ws = (): void => {
    while (i < n && isSpace(text.charCodeAt(i))) i++;
  };
  /** Index after the string starting at `at` (a quote), or -1. */
  const skipString = (at: number): number => {
    let j = at + 1;
    while (j < n) {
      const c = text.charCodeAt(j);
      if (c === BACKSLASH) j += 2;
      else if (c === QUOTE) return j + 1;
      else j++;
    }
    return -1;
  };
  /** Index after the JSON value starting at `at`, or -1. */
  const skipValue = (at: number): number => {
    const c = text.charCodeAt(at);
    if (c === QUOTE) return skipString(at);
    if (c === 123 /* { */ || c === 91 /* [ */) {
      let depth = 0;
      let j = at;
      while (j < n) {
        const d = text.charCodeAt(j);
        if (d === QUOTE) {
          j = skipString(j);
          if (j < 0) return -1;
          continue;
        }
        if (d === 123 || d === 91) depth++;
        else if (d === 125 || d === 93) {
          depth--;
          if (depth === 0) return j + 1;
        }
        j++;
      }
      return -1;
    }
    let j = at;
    while (j < n) {
      const d = text.charCodeAt(j);
      if (d === 44 /* , */ || d === 125 /* } */ || isSpace(d)) break;
      j++;
    }
    return j > at ? j : -1;
  };

  ws();
  if (text.charCodeAt(i) !== 123) return undefined;
  i++;
  let op: number | undefined;
  let s: number | null | undefined;
  let t: string | null | undefined;
  for (;;) {
    ws();
    if (text.charCodeAt(i) === 125) break;
    if (text.charCodeAt(i) !== QUOTE) return undefined;
    const keyEnd = text.indexOf('"', i + 1);
    if (keyEnd < 0) return undefined;
    const key = text.slice(i + 1, keyEnd);
    if (key.includes('\\')) return undefined;
    i = keyEnd + 1;
    ws();
    if (text.charCodeAt(i) !== 58 /* : */) return undefined;
    i++;
    ws();
    const end = skipValue(i);
    if (end < 0) return undefined;
    const raw = text.slice(i, key === 'd' ? i : end);
    if (key === 'op') {
      if (!/^\d+$/.test(raw)) return undefined;
      op = Number(raw);
    } else if (key === 's') {
      if (raw === 'null') s = null;
      else if (/^\d+$/.test(raw)) s = Number(raw);
      else return undefined;
    } else if (key === 't') {
      if (raw === 'null') t = null;
      else if (raw.length >= 2 && raw.startsWith('"') && !raw.includes('\\')) t = raw.slice(1, -1);
      else return undefined;
    }
    i = end;
    if (op !== undefined && s !== undefined && t !== undefined) return { op, s, t };
    ws();
    const c = text.charCodeAt(i);
    if (c === 44) {
      i++;
      continue;
    }
    if (c === 125) break;
    return undefined;
  }
  if (op === undefined) return undefined;
  return { op, s: s ?? null, t: t ?? null };
}
