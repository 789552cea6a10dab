import { Dispatch } from '../dispatch.js';
import { INTENTS } from '../intents.js';
import type { WorldMember } from '../world.js';
import type { CommandConnection, CommandContext, CommandSession } from './context.js';
import { guildOf, isObject } from './context.js';

const NONCE_MAX_BYTES = 32;
/** Most members one query or `user_ids` request returns. */
const MAX_MEMBERS_PER_REQUEST = 100;

/**
 * op 8: GUILD_MEMBERS_CHUNKs by query or by `user_ids`; the all-members request (`query: ''`, `limit: 0`)
 * needs GUILD_MEMBERS and is limited per guild (RATE_LIMITED dispatch).
 */
export function requestGuildMembers<S extends CommandSession>(
  ctx: CommandContext<S>,
  conn: CommandConnection,
  session: S,
  d: unknown,
): void {
  const o = ctx.options;
  const world = ctx.world;
  const hasQuery = isObject(d) && d.query !== undefined;
  const hasIds = isObject(d) && d.user_ids !== undefined;
  if (
    !isObject(d) ||
    typeof d.guild_id !== 'string' ||
    (!hasQuery && !hasIds) ||
    (hasQuery &&
      (typeof d.query !== 'string' ||
        typeof d.limit !== 'number' ||
        !Number.isInteger(d.limit) ||
        d.limit < 0)) ||
    (hasIds &&
      !(
        typeof d.user_ids === 'string' ||
        (Array.isArray(d.user_ids) && d.user_ids.every((x) => typeof x === 'string'))
      )) ||
    (d.presences !== undefined && typeof d.presences !== 'boolean')
  ) {
    conn.closeWith(4001, 'invalid request guild members', 'invalid-payload');
    return;
  }
  const guild = guildOf(world, session, d.guild_id);
  if (!guild) return;
  const nonce =
    typeof d.nonce === 'string' && Buffer.byteLength(d.nonce) <= NONCE_MAX_BYTES ? d.nonce : undefined;
  const presences = d.presences === true && (session.intents & INTENTS.GUILD_PRESENCES) !== 0;
  let members: WorldMember[];
  let notFound: string[] | undefined;
  if (hasIds) {
    const ids = (typeof d.user_ids === 'string' ? [d.user_ids] : (d.user_ids as string[])).slice(
      0,
      MAX_MEMBERS_PER_REQUEST,
    );
    members = [];
    notFound = [];
    for (const id of ids) {
      const m = guild.members.find((x) => x.user.id === id);
      if (m) members.push(m);
      else notFound.push(id);
    }
  } else {
    const query = (d.query as string).toLowerCase();
    const limit = d.limit as number;
    if (query === '' && limit === 0) {
      if ((session.intents & INTENTS.GUILD_MEMBERS) === 0) {
        // Without GUILD_MEMBERS the full list is refused: one empty chunk (documented choice).
        ctx.countViolation('missing-intent');
        members = [];
      } else {
        const wait = ctx.memberRequests.take(guild.id, o.clock.now());
        if (wait > 0) {
          ctx.countViolation('member-request-rate');
          const meta: Record<string, unknown> = { guild_id: guild.id };
          if (nonce !== undefined) meta.nonce = nonce;
          ctx.deliver(
            session,
            new Dispatch('RATE_LIMITED', { opcode: 8, retry_after: wait / 1000, meta }, guild.id, 0),
          );
          return;
        }
        members = guild.members;
      }
    } else {
      const max = Math.min(limit === 0 ? MAX_MEMBERS_PER_REQUEST : limit, MAX_MEMBERS_PER_REQUEST);
      members = [];
      for (const m of guild.members) {
        if (members.length >= max) break;
        if (
          m.user.username.toLowerCase().startsWith(query) ||
          (m.nick ?? '').toLowerCase().startsWith(query)
        ) {
          members.push(m);
        }
      }
    }
  }
  const size = o.memberChunkSize;
  const chunkCount = Math.max(1, Math.ceil(members.length / size));
  for (let i = 0; i < chunkCount; i++) {
    const slice = members.slice(i * size, (i + 1) * size);
    const chunk: Record<string, unknown> = {
      guild_id: guild.id,
      members: slice.map((m) => world.memberJson(guild, m)),
      chunk_index: i,
      chunk_count: chunkCount,
    };
    if (notFound && i === 0) chunk.not_found = notFound;
    if (presences)
      chunk.presences = slice
        .filter((m) => m.status !== 'offline')
        .map((m) => world.presenceJson(guild, m, false));
    if (nonce !== undefined) chunk.nonce = nonce;
    ctx.deliver(session, new Dispatch('GUILD_MEMBERS_CHUNK', chunk, guild.id, 0));
  }
}
