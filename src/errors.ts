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
  'JSON_TOO_COMPLEX',
  'CODEC_CLOSED',
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
  'TOO_MANY_FRAGMENTS',
  'COMPRESSOR_FAILED',
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
  'REST_RATE_LIMITED',
  'REST_TIMEOUT',
] as const;
export type RestErrorCode = (typeof REST_ERROR_CODES)[number];

/** A REST call (e.g. `GET /gateway/bot`) failed. `status` is the HTTP status, or 0 when none arrived. */
export class RestError extends ShardlineError {
  declare readonly code: RestErrorCode;
  /** HTTP status of the last answer; 0 when none came (network error, timeout). */
  readonly status: number;
  readonly route: string;
  /** Requests made before giving up (1 when the first answer was final). */
  readonly attempts: number;
  constructor(
    code: RestErrorCode,
    route: string,
    status: number,
    message: string,
    options?: ErrorOptions & { readonly attempts?: number },
  ) {
    super(code, `${route}: ${message}`, options);
    this.status = status;
    this.route = route;
    this.attempts = options?.attempts ?? 1;
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
  'CONNECT_FAILED',
  'SHARD_ALREADY_STARTED',
  'THREAD_CRASHED',
  'NOT_SUPPORTED_IN_THREADS',
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

// ---- shard ----

/** What a gateway close code means for the shard: resume the session, start a new one, or stop for good. */
export type CloseAction = 'resume' | 'reidentify' | 'fatal';

/** The gateway closed the connection with a code the shard cannot recover from (4004, 4010–4014). */
export class GatewayCloseError extends ShardlineError {
  declare readonly code: 'GATEWAY_CLOSED';
  readonly closeCode: number;
  readonly kind: CloseAction;
  readonly reason: string;
  constructor(
    closeCode: number,
    kind: CloseAction,
    description: string,
    reason = '',
    options?: ErrorOptions,
  ) {
    super(
      'GATEWAY_CLOSED',
      `gateway closed the connection with ${closeCode} (${description})${reason ? `: ${reason}` : ''}`,
      options,
    );
    this.closeCode = closeCode;
    this.kind = kind;
    this.reason = reason;
  }
}

export const SHARD_ERROR_CODES = [
  'SHARD_DESTROYED',
  'SHARD_ALREADY_STARTED',
  'SEQUENCE_GAP',
  'SESSION_STORE_FAILED',
  'IDENTIFY_QUEUE_FAILED',
  'SOCKET_ERROR',
  'PROTOCOL_VIOLATION',
  'LISTENER_FAILED',
  'INTERNAL_ERROR',
] as const;
export type ShardErrorCode = (typeof SHARD_ERROR_CODES)[number];

/** A shard-level failure that is not a gateway close: a sequence gap, a failing store hook, a socket error. */
export class ShardError extends ShardlineError {
  declare readonly code: ShardErrorCode;
  constructor(code: ShardErrorCode, message: string, options?: ErrorOptions) {
    super(code, message, options);
  }
}

/**
 * The gateway sent a value the shard refuses to act on (a sequence that is not a safe integer, a heartbeat
 * interval out of range, a malformed session id or resume URL). `field` names it (`s`,
 * `d.heartbeat_interval`, …); the shard reports this and reconnects or falls back, never stores the value.
 */
export class ProtocolViolationError extends ShardError {
  declare readonly code: 'PROTOCOL_VIOLATION';
  readonly field: string;
  constructor(field: string, message: string, options?: ErrorOptions) {
    super('PROTOCOL_VIOLATION', message, options);
    this.field = field;
  }
}

export const SEND_ERROR_CODES = [
  'PAYLOAD_TOO_LARGE_SEND',
  'SEND_QUEUE_FULL',
  'SEND_INVALID',
  'SHARD_DESTROYED',
] as const;
export type SendErrorCode = (typeof SEND_ERROR_CODES)[number];

/** A payload the caller asked the shard to send was rejected (too large, queue full, shard destroyed). */
export class SendError extends ShardlineError {
  declare readonly code: SendErrorCode;
  constructor(code: SendErrorCode, message: string, options?: ErrorOptions) {
    super(code, message, options);
  }
}

export const TIMEOUT_ERROR_CODES = ['OPEN_TIMEOUT', 'HELLO_TIMEOUT', 'READY_TIMEOUT'] as const;
export type TimeoutErrorCode = (typeof TIMEOUT_ERROR_CODES)[number];

/** A connection step did not finish in time; the shard closes that connection and reconnects. */
export class TimeoutError extends ShardlineError {
  declare readonly code: TimeoutErrorCode;
  readonly timeoutMs: number;
  constructor(code: TimeoutErrorCode, message: string, timeoutMs: number, options?: ErrorOptions) {
    super(code, message, options);
    this.timeoutMs = timeoutMs;
  }
}

export const SIMULATOR_ERROR_CODES = [
  'SIMULATOR_FAULT_INVALID',
  'SIMULATOR_EVENT_INVALID',
  'SIMULATOR_CLOSED',
] as const;
export type SimulatorErrorCode = (typeof SIMULATOR_ERROR_CODES)[number];

/** The gateway simulator refused a request (a malformed fault, an event it cannot route, use after close). */
export class SimulatorError extends ShardlineError {
  declare readonly code: SimulatorErrorCode;
  constructor(code: SimulatorErrorCode, message: string, options?: ErrorOptions) {
    super(code, message, options);
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
  'REDIS_BAD_REPLY',
  'REDIS_DATA_LOST',
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

export const RECORDING_ERROR_CODES = [
  'RECORDING_UNREADABLE',
  'RECORDING_UNWRITABLE',
  'RECORDING_BAD_HEADER',
  'RECORDING_BAD_VERSION',
  'RECORDING_MALFORMED_LINE',
  'RECORDING_LINE_TOO_LONG',
  'RECORDING_TOO_LARGE',
] as const;
export type RecordingErrorCode = (typeof RECORDING_ERROR_CODES)[number];

/**
 * A gateway recording (NDJSON, optionally gzip) could not be read or replayed. `line` is the 1-based line of
 * the file where it went wrong (0 when the file itself could not be opened).
 */
export class RecordingError extends ShardlineError {
  declare readonly code: RecordingErrorCode;
  readonly line: number;
  constructor(code: RecordingErrorCode, message: string, line: number, options?: ErrorOptions) {
    super(code, line > 0 ? `line ${line}: ${message}` : message, options);
    this.line = line;
  }
}

export const CONFORMANCE_ERROR_CODES = [
  'CONFORMANCE_SCENARIO_UNKNOWN',
  'CONFORMANCE_COMMAND_MISSING',
] as const;
export type ConformanceErrorCode = (typeof CONFORMANCE_ERROR_CODES)[number];

/** `shardline conformance` was asked for something it cannot run (an unknown scenario, no client command). */
export class ConformanceError extends ShardlineError {
  declare readonly code: ConformanceErrorCode;
  constructor(code: ConformanceErrorCode, message: string, options?: ErrorOptions) {
    super(code, message, options);
  }
}

// ---- library adapters ----

export const ADAPTER_ERROR_CODES = [
  'ADAPTER_CLOSED',
  'HANDLER_FAILED',
  'DELIVERY_SETTLED',
  'COMMIT_REFUSED',
  'ENTRY_REFUSED',
] as const;
export type AdapterErrorCode = (typeof ADAPTER_ERROR_CODES)[number];

/**
 * A library adapter (`shardline/discordjs`) refused a call or saw a handler fail. `streamId` names the event
 * stream entry concerned, when there is one.
 */
export class AdapterError extends ShardlineError {
  declare readonly code: AdapterErrorCode;
  readonly streamId: string | undefined;
  readonly shardId: number | undefined;
  constructor(
    code: AdapterErrorCode,
    message: string,
    details: { streamId?: string; shardId?: number } = {},
    options?: ErrorOptions,
  ) {
    super(code, message, options);
    this.streamId = details.streamId;
    this.shardId = details.shardId;
  }
}
