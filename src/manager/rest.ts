/**
 * The one REST call the manager needs: `GET /gateway/bot` (gateway URL, recommended shard count and the
 * daily identify budget). Uses the global `fetch`; the token travels only in the Authorization header and
 * never appears in an error. Rate limits and transient failures are retried within a bounded budget.
 */
import type { APIGatewaySessionStartLimit } from 'discord-api-types/v10';
import { APIVersion } from 'discord-api-types/v10';
import { ConfigError, RestError, type RestErrorCode } from '../errors.js';
import { gatewayUrlProblem } from '../shard/gateway-values.js';
import { type BackoffOptions, backoffDelay } from '../util/backoff.js';
import { type Clock, systemClock, type TimerHandle } from '../util/clock.js';
import { redact, redactedExcerpt, Secret } from '../util/redact.js';

export const DEFAULT_API_BASE_URL = 'https://discord.com/api';
export const DEFAULT_REST_TIMEOUT_MS = 15_000;
/** Characters of an error body quoted in a `REST_HTTP_ERROR` message (after redaction). */
export const REST_ERROR_EXCERPT_CHARS = 200;

/** `session_start_limit` of `GET /gateway/bot` (discord-api-types' `APIGatewaySessionStartLimit`), camel-cased. */
export interface SessionStartLimit {
  /** Identifies allowed per reset window (usually 1000 a day). */
  readonly total: APIGatewaySessionStartLimit['total'];
  /** Identifies left in the current window. */
  readonly remaining: APIGatewaySessionStartLimit['remaining'];
  /** Milliseconds until `remaining` refills. */
  readonly resetAfterMs: APIGatewaySessionStartLimit['reset_after'];
  /** Identify buckets: `shard_id % maxConcurrency`, one identify per bucket per 5 s. */
  readonly maxConcurrency: APIGatewaySessionStartLimit['max_concurrency'];
}

export interface GatewayBotInfo {
  /** WSS URL for new sessions, as Discord returned it (with or without a trailing slash). */
  readonly url: string;
  /** Recommended shard count. */
  readonly shards: number;
  readonly sessionStartLimit: SessionStartLimit;
}

export interface RestOptions {
  readonly token: string | Secret;
  /** REST base URL without the version (`https://discord.com/api`); a trailing `/v10` is accepted too. */
  readonly api?: string;
  /** Time for one attempt, headers and body (default 15 000 ms). */
  readonly timeoutMs?: number;
  readonly signal?: AbortSignal;
  /** Requests in all, the first included, before a 429, 5xx or network failure is final (default 4). */
  readonly maxAttempts?: number;
  /** Backoff between attempts after a 5xx or a network failure (defaults 250 ms … 10 000 ms, doubling). */
  readonly retryBaseMs?: number;
  readonly retryMaxMs?: number;
  /** A 429 asking to wait longer than this is final at once (default 60 000 ms). */
  readonly maxRetryAfterMs?: number;
  /** Bytes of a response body read at most; a longer answer is cut there (default 64 KiB). */
  readonly maxBodyBytes?: number;
  /** Waits between attempts go through it (default: the system clock). */
  readonly clock?: Clock;
}

export const DEFAULT_REST_MAX_ATTEMPTS = 4;
export const DEFAULT_REST_RETRY_BASE_MS = 250;
export const DEFAULT_REST_RETRY_MAX_MS = 10_000;
export const DEFAULT_REST_MAX_RETRY_AFTER_MS = 60_000;
export const DEFAULT_REST_MAX_BODY_BYTES = 64 * 1024;

/** `${api}/v10${route}`, tolerating a trailing slash or an explicit `/v10` on `api`. */
export function apiUrl(api: string, route: string): string {
  let base = api.replace(/\/+$/, '');
  if (!/\/v\d+$/.test(base)) base = `${base}/v${APIVersion}`;
  return `${base}${route}`;
}

function isInt(value: unknown, min: number): value is number {
  return typeof value === 'number' && Number.isInteger(value) && value >= min;
}

/** Validates the JSON body of `GET /gateway/bot`; throws `REST_BAD_RESPONSE` naming the bad field. */
export function parseGatewayBot(body: unknown, route = 'GET /gateway/bot'): GatewayBotInfo {
  const bad = (field: string): never => {
    throw new RestError('REST_BAD_RESPONSE', route, 200, `response field '${field}' is missing or invalid`);
  };
  if (typeof body !== 'object' || body === null) return bad('(body)');
  const b = body as Record<string, unknown>;
  // The shards connect to it and send the token there: a parsable ws:/wss: URL only.
  if (gatewayUrlProblem(b.url) !== null) bad('url');
  if (!isInt(b.shards, 1)) bad('shards');
  const limit = b.session_start_limit;
  if (typeof limit !== 'object' || limit === null) return bad('session_start_limit');
  const l = limit as Record<string, unknown>;
  if (!isInt(l.total, 0)) bad('session_start_limit.total');
  if (!isInt(l.remaining, 0)) bad('session_start_limit.remaining');
  if (typeof l.reset_after !== 'number' || !(l.reset_after >= 0)) bad('session_start_limit.reset_after');
  if (!isInt(l.max_concurrency, 1)) bad('session_start_limit.max_concurrency');
  return {
    url: b.url as string,
    shards: b.shards as number,
    sessionStartLimit: {
      total: l.total as number,
      remaining: l.remaining as number,
      resetAfterMs: l.reset_after as number,
      maxConcurrency: l.max_concurrency as number,
    },
  };
}

/** What one attempt ended with: a final result, or a reason to try again after `waitMs`. */
type Attempt =
  | { readonly kind: 'done'; readonly info: GatewayBotInfo }
  | { readonly kind: 'retry'; readonly error: RestError; readonly waitMs: number | undefined };

/**
 * Seconds to wait from a 429: the body's `retry_after`, else `Retry-After`, else `X-RateLimit-Reset-After`.
 * Hostile values (negative, not a number, absurd) give undefined: the caller then backs off on its own.
 */
export function retryAfterMs(body: unknown, headers: Headers): number | undefined {
  const candidates: unknown[] = [
    typeof body === 'object' && body !== null ? (body as Record<string, unknown>).retry_after : undefined,
    headers.get('retry-after'),
    headers.get('x-ratelimit-reset-after'),
  ];
  for (const raw of candidates) {
    const seconds = typeof raw === 'number' ? raw : typeof raw === 'string' ? Number(raw.trim()) : Number.NaN;
    if (typeof raw === 'string' && raw.trim() === '') continue;
    if (Number.isFinite(seconds) && seconds >= 0 && seconds <= 86_400) return Math.ceil(seconds * 1000);
  }
  return undefined;
}

/** Whether a 429 is the global limit (body `global: true` or `X-RateLimit-Global: true`). */
function isGlobal(body: unknown, headers: Headers): boolean {
  const g = typeof body === 'object' && body !== null ? (body as Record<string, unknown>).global : undefined;
  return g === true || headers.get('x-ratelimit-global')?.trim().toLowerCase() === 'true';
}

/** The body as text, at most `maxBytes` of it (the rest is not read); `cut` says whether it went on. */
async function readBounded(response: Response, maxBytes: number): Promise<{ text: string; cut: boolean }> {
  const reader = response.body?.getReader();
  if (!reader) return { text: '', cut: false };
  const chunks: Uint8Array[] = [];
  let size = 0;
  let cut = false;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    if (size + value.byteLength > maxBytes) {
      chunks.push(value.subarray(0, maxBytes - size));
      size = maxBytes;
      cut = true;
      await reader.cancel().catch(() => undefined);
      break;
    }
    chunks.push(value);
    size += value.byteLength;
  }
  return { text: Buffer.concat(chunks, size).toString('utf8'), cut };
}

/** Waits `ms` on `clock`; rejects with `REST_NETWORK_ERROR` when `signal` aborts first. */
function pause(clock: Clock, ms: number, signal: AbortSignal | undefined, route: string): Promise<void> {
  return new Promise((resolve, reject) => {
    let handle: TimerHandle | undefined;
    const aborted = (): void => {
      clock.clearTimeout(handle);
      reject(new RestError('REST_NETWORK_ERROR', route, 0, 'aborted while waiting to retry'));
    };
    if (signal?.aborted) return aborted();
    signal?.addEventListener('abort', aborted, { once: true });
    handle = clock.setTimeout(() => {
      signal?.removeEventListener('abort', aborted);
      resolve();
    }, ms);
  });
}

/**
 * `GET /gateway/bot`. A 429 is waited out (`retry_after` of the body or the headers, global or not), a 5xx
 * or a network failure is retried with backoff, up to `maxAttempts` requests in all; then, and on any other
 * failure, a `RestError` that carries the last status and the attempts made (`REST_UNAUTHORIZED` on 401,
 * `REST_RATE_LIMITED`, `REST_HTTP_ERROR`, `REST_NETWORK_ERROR`, `REST_TIMEOUT`, `REST_BAD_RESPONSE`).
 */
export async function fetchGatewayBot(options: RestOptions): Promise<GatewayBotInfo> {
  const route = 'GET /gateway/bot';
  const maxAttempts = positiveInt('maxAttempts', options.maxAttempts ?? DEFAULT_REST_MAX_ATTEMPTS);
  const backoff: BackoffOptions = {
    baseMs: positiveInt('retryBaseMs', options.retryBaseMs ?? DEFAULT_REST_RETRY_BASE_MS),
    maxMs: positiveInt('retryMaxMs', options.retryMaxMs ?? DEFAULT_REST_RETRY_MAX_MS),
    factor: 2,
    jitter: 0.5,
  };
  const maxRetryAfterMs = options.maxRetryAfterMs ?? DEFAULT_REST_MAX_RETRY_AFTER_MS;
  const clock = options.clock ?? systemClock;
  let failures = 0;
  for (let attempt = 1; ; attempt++) {
    const result = await attemptGatewayBot(options, route, attempt);
    if (result.kind === 'done') return result.info;
    const { error } = result;
    if (attempt >= maxAttempts) {
      throw new RestError(
        error.code,
        route,
        error.status,
        `${error.message.slice(route.length + 2)} (gave up after ${attempt} attempts)`,
        { attempts: attempt, cause: error.cause },
      );
    }
    let waitMs = result.waitMs;
    if (waitMs !== undefined && waitMs > maxRetryAfterMs) {
      throw new RestError(
        'REST_RATE_LIMITED',
        route,
        429,
        `rate limited for ${Math.ceil(waitMs / 1000)} s, longer than the ${maxRetryAfterMs} ms this call waits`,
        { attempts: attempt },
      );
    }
    waitMs ??= backoffDelay(failures++, clock.random(), backoff);
    await pause(clock, waitMs, options.signal, route);
  }
}

function positiveInt(name: string, value: number): number {
  if (!Number.isInteger(value) || value < 1)
    throw new ConfigError(name, `must be an integer ≥ 1, got ${String(value)}`);
  return value;
}

/** One request. Throws what is final at once; returns a retry for 429, 5xx, network failures, timeouts. */
async function attemptGatewayBot(options: RestOptions, route: string, attempt: number): Promise<Attempt> {
  const token = options.token instanceof Secret ? options.token : new Secret(options.token);
  const url = apiUrl(options.api ?? DEFAULT_API_BASE_URL, '/gateway/bot');
  const timeoutMs = options.timeoutMs ?? DEFAULT_REST_TIMEOUT_MS;
  const timeout = AbortSignal.timeout(timeoutMs);
  const signal = options.signal ? AbortSignal.any([options.signal, timeout]) : timeout;
  const retry = (code: RestErrorCode, status: number, message: string, waitMs?: number): Attempt => ({
    kind: 'retry',
    error: new RestError(code, route, status, message, { attempts: attempt }),
    waitMs,
  });
  const failed = (status: number, what: string, err: unknown): Attempt => {
    if (options.signal?.aborted)
      throw new RestError('REST_NETWORK_ERROR', route, status, `${what} aborted`, { attempts: attempt });
    if (timeout.aborted) return retry('REST_TIMEOUT', status, `${what} took longer than ${timeoutMs} ms`);
    const reason = err instanceof Error ? err.message : String(err);
    return retry('REST_NETWORK_ERROR', status, `${what} failed: ${redact(reason, token)}`);
  };
  let response: Response;
  try {
    response = await fetch(url, {
      headers: { Authorization: `Bot ${token.reveal()}`, 'User-Agent': 'DiscordBot (shardline, 0.1.0)' },
      signal,
    });
  } catch (err) {
    return failed(0, `request to ${url}`, err);
  }
  let text: string;
  let cut: boolean;
  try {
    ({ text, cut } = await readBounded(response, options.maxBodyBytes ?? DEFAULT_REST_MAX_BODY_BYTES));
  } catch (err) {
    return failed(response.status, 'reading the body', err);
  }
  const status = response.status;
  const final = (code: RestErrorCode, message: string): never => {
    throw new RestError(code, route, status, message, { attempts: attempt });
  };
  if (status === 401) return final('REST_UNAUTHORIZED', 'the token was rejected (401 Unauthorized)');
  // Redact before cutting: a cut through the token would leave a piece the redaction cannot see.
  const excerpt = (): string => redactedExcerpt(text, token, REST_ERROR_EXCERPT_CHARS);
  if (status === 429) {
    let body: unknown;
    try {
      body = JSON.parse(text);
    } catch {
      body = undefined;
    }
    const waitMs = retryAfterMs(body, response.headers);
    const scope = isGlobal(body, response.headers) ? 'global rate limit' : 'rate limited';
    const after = waitMs === undefined ? 'no valid retry_after' : `retry after ${waitMs} ms`;
    return retry('REST_RATE_LIMITED', 429, `HTTP 429 (${scope}, ${after})`, waitMs);
  }
  if (status >= 500 && status <= 599) return retry('REST_HTTP_ERROR', status, `HTTP ${status}: ${excerpt()}`);
  if (!response.ok) return final('REST_HTTP_ERROR', `HTTP ${status}: ${excerpt()}`);
  if (cut)
    return final(
      'REST_BAD_RESPONSE',
      `the body is longer than ${options.maxBodyBytes ?? DEFAULT_REST_MAX_BODY_BYTES} bytes`,
    );
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    return final('REST_BAD_RESPONSE', 'the body is not JSON');
  }
  try {
    return { kind: 'done', info: parseGatewayBot(body, route) };
  } catch (err) {
    if (err instanceof RestError) final(err.code, err.message.slice(route.length + 2));
    throw err;
  }
}
