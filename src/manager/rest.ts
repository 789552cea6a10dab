/**
 * The one REST call the manager needs: `GET /gateway/bot` (gateway URL, recommended shard count and the
 * daily identify budget). Uses the global `fetch`; the token travels only in the Authorization header and
 * never appears in an error.
 */
import type { APIGatewaySessionStartLimit } from 'discord-api-types/v10';
import { APIVersion } from 'discord-api-types/v10';
import { RestError } from '../errors.js';
import { gatewayUrlProblem } from '../shard/gateway-values.js';
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
  readonly timeoutMs?: number;
  readonly signal?: AbortSignal;
}

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

/** `GET /gateway/bot`. Throws `RestError` (`REST_UNAUTHORIZED` on 401, `REST_HTTP_ERROR`, …). */
export async function fetchGatewayBot(options: RestOptions): Promise<GatewayBotInfo> {
  const route = 'GET /gateway/bot';
  const token = options.token instanceof Secret ? options.token : new Secret(options.token);
  const url = apiUrl(options.api ?? DEFAULT_API_BASE_URL, '/gateway/bot');
  const timeout = AbortSignal.timeout(options.timeoutMs ?? DEFAULT_REST_TIMEOUT_MS);
  const signal = options.signal ? AbortSignal.any([options.signal, timeout]) : timeout;
  let response: Response;
  try {
    response = await fetch(url, {
      headers: { Authorization: `Bot ${token.reveal()}`, 'User-Agent': 'DiscordBot (shardline, 0.1.0)' },
      signal,
    });
  } catch (err) {
    const reason = err instanceof Error ? err.message : String(err);
    throw new RestError('REST_NETWORK_ERROR', route, 0, `request to ${url} failed: ${redact(reason, token)}`);
  }
  let text: string;
  try {
    text = await response.text();
  } catch (err) {
    const reason = err instanceof Error ? err.message : String(err);
    throw new RestError(
      'REST_NETWORK_ERROR',
      route,
      response.status,
      `reading the body failed: ${redact(reason, token)}`,
    );
  }
  if (response.status === 401) {
    throw new RestError('REST_UNAUTHORIZED', route, 401, 'the token was rejected (401 Unauthorized)');
  }
  if (!response.ok) {
    // Redact before cutting: a cut through the token would leave a piece the redaction cannot see.
    const excerpt = redactedExcerpt(text, token, REST_ERROR_EXCERPT_CHARS);
    throw new RestError('REST_HTTP_ERROR', route, response.status, `HTTP ${response.status}: ${excerpt}`);
  }
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    throw new RestError('REST_BAD_RESPONSE', route, response.status, 'the body is not JSON');
  }
  return parseGatewayBot(body, route);
}
