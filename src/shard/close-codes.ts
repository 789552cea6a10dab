import type { CloseAction } from '../errors.js';

export type { CloseAction } from '../errors.js';

export interface CloseCodeInfo {
  readonly action: CloseAction;
  readonly description: string;
}

/**
 * Discord gateway close codes and what the shard does on each. Codes not listed here
 * — 1000/1001/1006 from the server, network drops, unknown 4xxx — are handled by `closeCodeInfo` as
 * `resume` (reconnect with backoff, resume if a session exists).
 */
export const GATEWAY_CLOSE_CODES = {
  4000: { action: 'resume', description: 'unknown error' },
  4001: { action: 'resume', description: 'unknown opcode' },
  4002: { action: 'resume', description: 'decode error' },
  4003: { action: 'reidentify', description: 'not authenticated' },
  4004: { action: 'fatal', description: 'authentication failed' },
  4005: { action: 'resume', description: 'already authenticated' },
  4007: { action: 'reidentify', description: 'invalid seq' },
  4008: { action: 'resume', description: 'rate limited' },
  4009: { action: 'reidentify', description: 'session timed out' },
  4010: { action: 'fatal', description: 'invalid shard' },
  4011: { action: 'fatal', description: 'sharding required' },
  4012: { action: 'fatal', description: 'invalid API version' },
  4013: { action: 'fatal', description: 'invalid intents' },
  4014: { action: 'fatal', description: 'disallowed intents' },
} as const satisfies Record<number, CloseCodeInfo>;

export const FATAL_CLOSE_CODES: readonly number[] = Object.entries(GATEWAY_CLOSE_CODES)
  .filter(([, info]) => info.action === 'fatal')
  .map(([code]) => Number(code));

/**
 * The close code the shard sends when it closes a connection but wants to keep the session for a resume
 * (anything other than 1000/1001 keeps it; 4000 is what twilight uses).
 */
export const RESUMABLE_CLIENT_CLOSE_CODE = 4000;

/** Total: every integer maps to an action. Unknown codes and network drops resume. */
export function closeCodeInfo(code: number | undefined): CloseCodeInfo {
  if (code !== undefined && Object.hasOwn(GATEWAY_CLOSE_CODES, code)) {
    return GATEWAY_CLOSE_CODES[code as keyof typeof GATEWAY_CLOSE_CODES];
  }
  if (code === undefined || code === 1006) return { action: 'resume', description: 'connection lost' };
  if (code === 1000 || code === 1001) return { action: 'resume', description: 'normal closure by server' };
  return { action: 'resume', description: 'unknown close code' };
}

/** Whether a close code the client sends ends the session (1000/1001) or keeps it resumable. */
export function clientCloseEndsSession(code: number): boolean {
  return code === 1000 || code === 1001;
}
