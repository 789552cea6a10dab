/**
 * Request Guild Members (op 8) answered from cached members, with Discord's semantics: `user_ids`
 * selects those members; otherwise `query` is a case-insensitive prefix of the username, the global
 * name or the nickname, and an empty query with `limit` 0 means every member.
 */
import type { APIGuildMember } from 'discord-api-types/v10';
import { isObject, type Json, snowflakeOf } from './guards.js';

/** Discord's cap on `limit` and on `user_ids`. */
export const MEMBER_QUERY_MAX = 100;

export interface MemberQuery {
  readonly query?: string;
  /** 0 with an empty query means all members; otherwise at most 100 are returned. */
  readonly limit?: number;
  readonly user_ids?: string | readonly string[];
}

function startsWith(value: unknown, prefix: string): boolean {
  return typeof value === 'string' && value.toLowerCase().startsWith(prefix);
}

export function queryMembers(members: ReadonlyMap<string, Json>, q: MemberQuery): APIGuildMember[] {
  const out: APIGuildMember[] = [];
  if (q.user_ids !== undefined) {
    const ids = typeof q.user_ids === 'string' ? [q.user_ids] : Array.isArray(q.user_ids) ? q.user_ids : [];
    const seen = new Set<string>();
    for (const raw of ids.slice(0, MEMBER_QUERY_MAX)) {
      const id = snowflakeOf(raw);
      if (id === undefined || seen.has(id)) continue;
      seen.add(id);
      const member = members.get(id);
      if (member !== undefined) out.push(member as unknown as APIGuildMember);
    }
    return out;
  }
  const query = typeof q.query === 'string' ? q.query.toLowerCase() : '';
  const rawLimit = typeof q.limit === 'number' && Number.isFinite(q.limit) ? Math.trunc(q.limit) : 0;
  const limit =
    rawLimit <= 0
      ? query === ''
        ? Number.POSITIVE_INFINITY
        : MEMBER_QUERY_MAX
      : Math.min(rawLimit, MEMBER_QUERY_MAX);
  for (const member of members.values()) {
    if (out.length >= limit) break;
    const user = isObject(member.user) ? member.user : undefined;
    if (
      query === '' ||
      startsWith(user?.username, query) ||
      startsWith(user?.global_name, query) ||
      startsWith(member.nick, query)
    )
      out.push(member as unknown as APIGuildMember);
  }
  return out;
}
