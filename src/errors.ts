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

export const REDIS_ERROR_CODES = [
  'REDIS_UNAVAILABLE',
  'REDIS_SCRIPT_FAILED',
  'REDIS_REPLY_ERROR',
  'REDIS_BAD_ENTRY',
  'LEASE_LOST',
  'IDENTIFY_BUDGET_EXHAUSTED',
  'COMMAND_TIMEOUT',
  'COMMAND_FAILED',
  'REDIS_ABORTED',
  'REDIS_CLOSED',
] as const;
export type RedisErrorCode = (typeof REDIS_ERROR_CODES)[number];

/**
 * A Redis scale-out failure. `shardId` names the shard concerned when there is one; `retryAfterMs` says when
 * trying again makes sense (`IDENTIFY_BUDGET_EXHAUSTED`: time until the daily budget resets).
 */
export class RedisError extends ShardlineError {
  declare readonly code: RedisErrorCode;
  readonly shardId: number | undefined;
  readonly retryAfterMs: number | undefined;
  constructor(
    code: RedisErrorCode,
    message: string,
    details: { shardId?: number; retryAfterMs?: number } = {},
    options?: ErrorOptions,
  ) {
    super(code, message, options);
    this.shardId = details.shardId;
    this.retryAfterMs = details.retryAfterMs;
  }
}
