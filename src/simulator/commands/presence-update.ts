import { isPresenceUpdate } from '../rules.js';
import type { CommandConnection, CommandSession } from './context.js';

/** op 3: the session's presence; a malformed one closes with 4001. */
export function presenceUpdate(conn: CommandConnection, session: CommandSession, d: unknown): void {
  if (!isPresenceUpdate(d)) {
    conn.closeWith(4001, 'invalid presence update', 'invalid-payload');
    return;
  }
  session.presence = d;
}
