/**
 * Reads `op`, `s` and `t` of a JSON gateway envelope without building `d`, so a shard with a dispatch
 * filter can skip unwanted events without `JSON.parse`. The peek must never disagree with the decoder
 * (`JSON.parse`, last key wins): it answers only for a document that is valid JSON from end to end, whose
 * top-level keys carry no escapes and name `op`, `s` and `t` at most once each, with `op` and `s` written
 * as plain integers and `t` as a string without escapes or null. Anything else returns undefined and the
 * caller decodes the whole payload. Validating `d` is a scan that allocates nothing, several times
 * cheaper than parsing it.
 */
export interface PeekedEnvelope {
  readonly op: number;
  readonly s: number | null;
  readonly t: string | null;
}

const QUOTE = 34;
const BACKSLASH = 92;
const COMMA = 44;
const COLON = 58;
const OPEN_ARRAY = 91;
const CLOSE_ARRAY = 93;
const OPEN_OBJECT = 123;
const CLOSE_OBJECT = 125;
const MINUS = 45;
const ZERO = 48;
const NINE = 57;

/** A plain non-negative integer of at most 15 digits (always a safe integer), as JSON writes it. */
const PLAIN_INTEGER = /^(?:0|[1-9]\d{0,14})$/;

function skipSpace(text: string, i: number): number {
  for (;;) {
    const c = text.charCodeAt(i);
    if (c === 32 || c === 10 || c === 13 || c === 9) i++;
    else return i;
  }
}

function isHex(c: number): boolean {
  return (c >= ZERO && c <= NINE) || ((c | 0x20) >= 97 && (c | 0x20) <= 102);
}

/**
 * Fast path of `scanString` for the document being peeked (`peek` is synchronous and never nests): when the
 * document holds no character below U+0020 at all, a string without a backslash ends at the next quote,
 * found by `indexOf` instead of a loop in JavaScript. `nextBackslash` is the first backslash at or after
 * the last position asked for (`text.length` when there is none).
 */
let fastStrings = false;
let nextBackslash = 0;
/** Any character JSON forbids unescaped in a string (and whitespace, which is allowed between tokens). */
const CONTROL = /[\u0000-\u001f]/;

function startDocument(text: string): void {
  fastStrings = !CONTROL.test(text);
  nextBackslash = -1;
}

/** Index after the JSON string whose opening quote is at `at`, or -1 when it is not valid JSON. */
function scanString(text: string, at: number): number {
  if (fastStrings) {
    const q = text.indexOf('"', at + 1);
    if (q < 0) return -1;
    if (nextBackslash <= at) {
      nextBackslash = text.indexOf('\\', at + 1);
      if (nextBackslash < 0) nextBackslash = text.length;
    }
    if (q < nextBackslash) return q + 1;
  }
  return scanStringSlow(text, at);
}

function scanStringSlow(text: string, at: number): number {
  const n = text.length;
  let j = at + 1;
  while (j < n) {
    const c = text.charCodeAt(j);
    if (c === QUOTE) return j + 1;
    if (c < 0x20) return -1;
    if (c !== BACKSLASH) {
      j++;
      continue;
    }
    const e = text.charCodeAt(j + 1);
    if (e === 117 /* u */) {
      if (!isHex(text.charCodeAt(j + 2)) || !isHex(text.charCodeAt(j + 3))) return -1;
      if (!isHex(text.charCodeAt(j + 4)) || !isHex(text.charCodeAt(j + 5))) return -1;
      j += 6;
    } else if (
      e === QUOTE ||
      e === BACKSLASH ||
      e === 47 /* / */ ||
      e === 98 /* b */ ||
      e === 102 /* f */ ||
      e === 110 /* n */ ||
      e === 114 /* r */ ||
      e === 116 /* t */
    ) {
      j += 2;
    } else return -1;
  }
  return -1;
}

function digitsFrom(text: string, j: number): number {
  for (;;) {
    const c = text.charCodeAt(j);
    if (c >= ZERO && c <= NINE) j++;
    else return j;
  }
}

/** Index after the JSON number at `at`, or -1. */
function scanNumber(text: string, at: number): number {
  let j = at;
  if (text.charCodeAt(j) === MINUS) j++;
  const first = text.charCodeAt(j);
  if (first === ZERO) j++;
  else if (first > ZERO && first <= NINE) j = digitsFrom(text, j + 1);
  else return -1;
  if (text.charCodeAt(j) === 46 /* . */) {
    const k = digitsFrom(text, j + 1);
    if (k === j + 1) return -1;
    j = k;
  }
  if ((text.charCodeAt(j) | 0x20) === 101 /* e */) {
    j++;
    const sign = text.charCodeAt(j);
    if (sign === 43 /* + */ || sign === MINUS) j++;
    const k = digitsFrom(text, j);
    if (k === j) return -1;
    j = k;
  }
  return j;
}

/** Index after an object key and its colon (`"k" :`), with the space after it skipped; -1 if invalid. */
function scanKeyAndColon(text: string, at: number): number {
  if (text.charCodeAt(at) !== QUOTE) return -1;
  let j = scanString(text, at);
  if (j < 0) return -1;
  j = skipSpace(text, j);
  if (text.charCodeAt(j) !== COLON) return -1;
  return skipSpace(text, j + 1);
}

/** Index after the JSON value starting at `at` (no leading space), or -1 when it is not valid JSON. */
function scanValue(text: string, at: number): number {
  // Open containers, innermost last: true = object, false = array. Iterative, so depth costs no stack.
  const open: boolean[] = [];
  let j = at;
  value: for (;;) {
    const c = text.charCodeAt(j);
    if (c === QUOTE) j = scanString(text, j);
    else if (c === OPEN_OBJECT || c === OPEN_ARRAY) {
      const isObject = c === OPEN_OBJECT;
      j = skipSpace(text, j + 1);
      if (text.charCodeAt(j) === (isObject ? CLOSE_OBJECT : CLOSE_ARRAY)) j++;
      else {
        open.push(isObject);
        if (isObject) {
          j = scanKeyAndColon(text, j);
          if (j < 0) return -1;
        }
        continue;
      }
    } else if (c === MINUS || (c >= ZERO && c <= NINE)) j = scanNumber(text, j);
    else if (c === 116 /* t */ && text.startsWith('true', j)) j += 4;
    else if (c === 102 /* f */ && text.startsWith('false', j)) j += 5;
    else if (c === 110 /* n */ && text.startsWith('null', j)) j += 4;
    else return -1;
    if (j < 0) return -1;
    // After a value: close what ends here, or move to the next element or member.
    for (;;) {
      if (open.length === 0) return j;
      j = skipSpace(text, j);
      const d = text.charCodeAt(j);
      const inObject = open[open.length - 1]!;
      if (d === COMMA) {
        j = skipSpace(text, j + 1);
        if (inObject) {
          j = scanKeyAndColon(text, j);
          if (j < 0) return -1;
        }
        continue value;
      }
      if (d !== (inObject ? CLOSE_OBJECT : CLOSE_ARRAY)) return -1;
      open.pop();
      j++;
    }
  }
}

/**
 * The envelope of `text`, or undefined when the peek cannot be sure the decoder sees the same (see the
 * module comment). With `skip`, it returns only a dispatch that `skip` accepts, and gives up as soon as it
 * knows the payload will be decoded anyway.
 */
function peek(text: string, skip?: (envelope: PeekedEnvelope) => boolean): PeekedEnvelope | undefined {
  const n = text.length;
  startDocument(text);
  let i = skipSpace(text, 0);
  if (text.charCodeAt(i) !== OPEN_OBJECT) return undefined;
  i = skipSpace(text, i + 1);
  let op: number | undefined;
  let s: number | null | undefined;
  let t: string | null | undefined;
  if (text.charCodeAt(i) !== CLOSE_OBJECT) {
    for (;;) {
      if (text.charCodeAt(i) !== QUOTE) return undefined;
      const keyEnd = scanString(text, i);
      if (keyEnd < 0) return undefined;
      const key = text.slice(i + 1, keyEnd - 1);
      // An escaped key may spell op, s or t ("\u0074"): only the full decode can tell.
      if (key.includes('\\')) return undefined;
      i = skipSpace(text, keyEnd);
      if (text.charCodeAt(i) !== COLON) return undefined;
      i = skipSpace(text, i + 1);
      const end = scanValue(text, i);
      if (end < 0) return undefined;
      if (key === 'op' || key === 's' || key === 't') {
        const raw = text.slice(i, end);
        if (key === 'op') {
          if (op !== undefined || !PLAIN_INTEGER.test(raw)) return undefined;
          op = Number(raw);
        } else if (key === 's') {
          if (s !== undefined) return undefined;
          if (raw === 'null') s = null;
          else if (PLAIN_INTEGER.test(raw)) s = Number(raw);
          else return undefined;
        } else {
          if (t !== undefined) return undefined;
          if (raw === 'null') t = null;
          else if (raw.charCodeAt(0) === QUOTE && !raw.includes('\\')) t = raw.slice(1, -1);
          else return undefined;
        }
        // All three known: a payload that will be decoded anyway needs no further checking.
        if (skip && op !== undefined && s !== undefined && t !== undefined && !skip({ op, s, t }))
          return undefined;
      }
      i = skipSpace(text, end);
      const c = text.charCodeAt(i);
      if (c === COMMA) {
        i = skipSpace(text, i + 1);
        continue;
      }
      if (c === CLOSE_OBJECT) break;
      return undefined;
    }
  }
  if (skipSpace(text, i + 1) !== n || op === undefined) return undefined;
  const envelope = { op, s: s ?? null, t: t ?? null };
  if (skip && !skip(envelope)) return undefined;
  return envelope;
}

/**
 * `op`, `s` and `t` of a JSON gateway payload, exactly as a full decode would report them, or undefined
 * when the peek cannot be sure (invalid JSON, escaped or duplicated top-level keys, unusual values).
 */
export function peekJsonEnvelope(text: string): PeekedEnvelope | undefined {
  return peek(text);
}

/**
 * The envelope of a dispatch whose type `want` rejects, or undefined: the payload is to be decoded in
 * full (it is not a dispatch, it is wanted, or the peek cannot be sure). Stops early for a wanted one.
 */
export function peekUnwantedJsonDispatch(
  text: string,
  want: (t: string) => boolean,
): PeekedEnvelope | undefined {
  return peek(text, (e) => e.op === 0 && e.t !== null && !want(e.t));
}
