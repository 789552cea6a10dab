/**
 * Sentences for the status view and its log lines: why a connection closed and what the shard does next,
 * where the close code alone would puzzle a reader (an op 9 shows as our own close 4000).
 */
import type { CloseInfo } from '../shard/events.js';

/**
 * Explains a close, given the state the shard was in before it (`identifying`, `resuming`, `ready`, …);
 * `undefined` when the code and action say it all.
 */
export function explainClose(info: CloseInfo, before: string | undefined): string | undefined {
  if (!info.reason.startsWith('invalid session')) return undefined;
  if (info.action === 'resume')
    return 'the gateway invalidated the connection but kept the session (op 9): resuming';
  if (before === 'identifying')
    return (
      'the gateway refused the identify (op 9): an identify with this token ran less than one identify window ' +
      '(5 s on Discord, per max_concurrency bucket) ago, often the run before this one or another process; ' +
      'identifying again after a short wait'
    );
  if (before === 'resuming') return 'the session could not be resumed (op 9): identifying a new session';
  return 'the gateway ended the session (op 9, not resumable): identifying a new session';
}
