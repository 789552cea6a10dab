/**
 * The error tree of Shardline. Every error we throw or emit is a `ShardlineError` with a literal `code`,
 * so callers can switch on `err.code` instead of parsing messages. Causes travel through `ErrorOptions`.
 */

/** Hex excerpt of at most `max` bytes around `offset`, for codec errors (`"83 6d 00 …"`). */
export function hexExcerpt(bytes: Uint8Array, offset: number, max = 16): string {
  const start = Math.max(0, Math.min(offset, bytes.length) - Math.floor(max / 2));
  const end = Math.min(bytes.length, start + max);
  const parts: string[] = [];
  for (let i = start; i < end; i++) parts.push(bytes[i]!.toString(16).padStart(2, '0'));
  const prefix = start > 0 ? '… ' : '';
  const suffix = end < bytes.length ? ' …' : '';
  return `${prefix}${parts.join(' ')}${suffix}`;
}

export class ShardlineError extends Error {
  readonly code: string;
  constructor(code: string, message: string, options?: ErrorOptions) {
    super(message, options);
    this.code = code;
  }
  override get name(): string {
    return this.constructor.name;
  }
}

export const CODEC_ERROR_CODES = [
  'ETF_BAD_VERSION',
  'ETF_TRUNCATED',
  'ETF_UNKNOWN_TAG',
  'ETF_DEPTH_EXCEEDED',
  'ETF_TOO_LARGE',
  'ETF_TRAILING_BYTES',
  'ETF_IMPROPER_LIST',
  'ETF_INVALID',
  'ETF_UNENCODABLE',
  'JSON_INVALID',
] as const;
export type CodecErrorCode = (typeof CODEC_ERROR_CODES)[number];

/** Malformed or unencodable data in a codec. `offset` is the byte position where decoding failed. */
export class CodecError extends ShardlineError {
  declare readonly code: CodecErrorCode;
  readonly offset: number;
  /** Short hex excerpt of the bytes around `offset` (empty for encode errors). */
  readonly excerpt: string;
  constructor(
    code: CodecErrorCode,
    message: string,
    details: { offset?: number; bytes?: Uint8Array } = {},
    options?: ErrorOptions,
  ) {
    const offset = details.offset ?? -1;
    const excerpt = details.bytes && offset >= 0 ? hexExcerpt(details.bytes, offset) : '';
    super(
      code,
      offset >= 0 ? `${message} (at byte ${offset}${excerpt ? `: ${excerpt}` : ''})` : message,
      options,
    );
    this.offset = offset;
    this.excerpt = excerpt;
  }
}

export const DECOMPRESS_ERROR_CODES = [
  'ZLIB_INVALID',
  'ZLIB_TRUNCATED',
  'ZSTD_CORRUPT',
  'ZSTD_UNSUPPORTED',
  'DECOMPRESSOR_FAILED',
  'PAYLOAD_TOO_LARGE',
] as const;
export type DecompressErrorCode = (typeof DECOMPRESS_ERROR_CODES)[number];

/** Transport decompression failed. The context that threw is unusable until `reset()`. */
export class DecompressError extends ShardlineError {
  declare readonly code: DecompressErrorCode;
  constructor(code: DecompressErrorCode, message: string, options?: ErrorOptions) {
    super(code, message, options);
  }
}

/** An options object was rejected. `option` names the offending field. */
export class ConfigError extends ShardlineError {
  declare readonly code: 'CONFIG_INVALID';
  readonly option: string;
  constructor(option: string, message: string, options?: ErrorOptions) {
    super('CONFIG_INVALID', `${option}: ${message}`, options);
    this.option = option;
  }
}

export const REST_ERROR_CODES = [
  'REST_UNAUTHORIZED',
  'REST_HTTP_ERROR',
  'REST_NETWORK_ERROR',
  'REST_BAD_RESPONSE',
] as const;
export type RestErrorCode = (typeof REST_ERROR_CODES)[number];

/** A REST call (e.g. `GET /gateway/bot`) failed. `status` is the HTTP status, or 0 when none arrived. */
export class RestError extends ShardlineError {
  declare readonly code: RestErrorCode;
  readonly status: number;
  readonly route: string;
  constructor(code: RestErrorCode, route: string, status: number, message: string, options?: ErrorOptions) {
    super(code, `${route}: ${message}`, options);
    this.status = status;
    this.route = route;
  }
}

export const MANAGER_ERROR_CODES = [
  'SESSION_LIMIT_EXHAUSTED',
  'MEMBER_REQUEST_TIMEOUT',
  'MEMBER_REQUEST_ABORTED',
  'SHARD_NOT_MANAGED',
  'MANAGER_NOT_CONNECTED',
  'MANAGER_DESTROYED',
  'RESHARD_IN_PROGRESS',
  'RESHARD_FAILED',
  'IDENTIFY_ABORTED',
  'SESSION_STORE_FAILED',
] as const;
export type ManagerErrorCode = (typeof MANAGER_ERROR_CODES)[number];

/** The shard manager refused or failed an operation. `shardId` names the shard involved, when one is. */
export class ManagerError extends ShardlineError {
  declare readonly code: ManagerErrorCode;
  readonly shardId: number | undefined;
  constructor(
    code: ManagerErrorCode,
    message: string,
    details: { shardId?: number } = {},
    options?: ErrorOptions,
  ) {
    super(code, message, options);
    this.shardId = details.shardId;
  }
}

/**
 * The daily identify budget (`session_start_limit`) cannot cover the shards asked for. Starting anyway would
 * risk a token reset, so the manager refuses; `resetAt` says when the budget refills.
 */
export class SessionLimitError extends ManagerError {
  readonly needed: number;
  readonly remaining: number;
  readonly total: number;
  readonly resetAfterMs: number;
  readonly resetAt: Date;
  constructor(details: {
    needed: number;
    remaining: number;
    total: number;
    resetAfterMs: number;
    now?: number;
  }) {
    const resetAt = new Date((details.now ?? Date.now()) + details.resetAfterMs);
    super(
      'SESSION_LIMIT_EXHAUSTED',
      `session_start_limit: ${details.needed} identifies needed but only ${details.remaining} of ${details.total} remain; ` +
        `the budget resets in ${Math.ceil(details.resetAfterMs / 1000)} s (at ${resetAt.toISOString()})`,
    );
    this.needed = details.needed;
    this.remaining = details.remaining;
    this.total = details.total;
    this.resetAfterMs = details.resetAfterMs;
    this.resetAt = resetAt;
  }
}
