import type { CommandConnection, CommandSession } from './context.js';
import { isObject } from './context.js';

const PRESENCE_STATUSES = new Set(['online', 'dnd', 'idle', 'invisible', 'offline']);

/** Whether `d` is a presence update Discord accepts (op 3, and Identify's `presence`). */
export function isPresenceUpdate(d: unknown): d is Record<string, unknown> {
  return (
    isObject(d) &&
    typeof d.status === 'string' &&
    PRESENCE_STATUSES.has(d.status) &&
    (d.activities === undefined || Array.isArray(d.activities)) &&
    (d.since === undefined || d.since === null || typeof d.since === 'number') &&
    (d.afk === undefined || typeof d.afk === 'boolean')
  );
}

/** op 3: the session's presence; a malformed one closes with 4001. */
export function presenceUpdate(conn: CommandConnection, session: CommandSession, d: unknown): void {
  if (!isPresenceUpdate(d)) {
    conn.closeWith(4001, 'invalid presence update', 'invalid-payload');
    return;
  }
  session.presence = d;
}
