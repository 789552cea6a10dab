/**
 * Commands a client sends on its session: op 3 presence, op 4 voice state, op 31 soundboard sounds and
 * op 43 channel info go to the upstream shard (through its own send limiter); op 8 is answered from the
 * cache when it holds every member of the guild, else forwarded with a nonce that routes the chunks back.
 */
import type { GatewaySendPayload } from 'discord-api-types/v10';
import { GatewayIntentBits } from 'discord-api-types/v10';
import { shardForGuild } from '../../manager/routing.js';
import type { ProxyContext } from './context.js';
import { OutboundEvent } from './outbound-event.js';
import type { ClientSession } from './session.js';
import { isInt, isRecord, type Refusal, snowflake } from './validate.js';

export const FORWARDED_OPS: ReadonlySet<number> = new Set([3, 4, 8, 31, 43]);

/** Discord's chunk size for GUILD_MEMBERS_CHUNK. */
const CHUNK_SIZE = 1000;
const NONCE_MAX_BYTES = 32;
const USER_IDS_MAX = 100;

const invalid = (reason: string): Refusal => ({ code: 4002, reason });

function onShard(session: ClientSession, guildId: string): boolean {
  return shardForGuild(guildId, session.shardCount) === session.shardId;
}

function forward(ctx: ProxyContext, session: ClientSession, payload: unknown): void {
  ctx.upstream.send(session.shardId, payload as GatewaySendPayload).catch((err: unknown) => {
    ctx.debug(
      `forwarding op ${(payload as { op: number }).op} to shard ${session.shardId} failed: ${String((err as Error)?.message ?? err)}`,
    );
  });
}

/** Handles one command; a Refusal closes the connection with its code. */
export function handleCommand(
  ctx: ProxyContext,
  session: ClientSession,
  op: number,
  d: unknown,
): Refusal | undefined {
  switch (op) {
    case 3:
      if (!isRecord(d)) return invalid('presence update: d must be an object');
      if (d.status !== undefined && typeof d.status !== 'string')
        return invalid('presence update: status must be a string');
      if (d.activities !== undefined && !Array.isArray(d.activities))
        return invalid('presence update: activities must be an array');
      forward(ctx, session, { op: 3, d });
      return undefined;
    case 4: {
      if (!isRecord(d)) return invalid('voice state update: d must be an object');
      const guildId = snowflake(d.guild_id);
      if (guildId === undefined) return invalid('voice state update: guild_id must be a snowflake');
      if (d.channel_id !== null && snowflake(d.channel_id) === undefined)
        return invalid('voice state update: channel_id must be a snowflake or null');
      if (!onShard(session, guildId)) return undefined;
      forward(ctx, session, { op: 4, d: { ...d, guild_id: guildId } });
      return undefined;
    }
    case 31: {
      if (!isRecord(d) || !Array.isArray(d.guild_ids) || d.guild_ids.length > 1000)
        return invalid('request soundboard sounds: guild_ids must be an array');
      const ids: string[] = [];
      for (const raw of d.guild_ids) {
        const id = snowflake(raw);
        if (id === undefined) return invalid('request soundboard sounds: guild_ids must hold snowflakes');
        if (onShard(session, id)) ids.push(id);
      }
      if (ids.length > 0) forward(ctx, session, { op: 31, d: { guild_ids: ids } });
      return undefined;
    }
    case 43: {
      if (!isRecord(d)) return invalid('request channel info: d must be an object');
      const guildId = snowflake(d.guild_id);
      if (guildId === undefined) return invalid('request channel info: guild_id must be a snowflake');
      if (!onShard(session, guildId)) return undefined;
      forward(ctx, session, { op: 43, d: { ...d, guild_id: guildId } });
      return undefined;
    }
    case 8:
      return requestMembers(ctx, session, d);
    default:
      return { code: 4001, reason: 'unknown opcode' };
  }
}

function requestMembers(ctx: ProxyContext, session: ClientSession, d: unknown): Refusal | undefined {
  if (!isRecord(d)) return invalid('request guild members: d must be an object');
  const guildId = snowflake(d.guild_id);
  if (guildId === undefined) return invalid('request guild members: guild_id must be one snowflake');
  let nonce: string | undefined;
  if (d.nonce !== undefined && d.nonce !== null) {
    if (typeof d.nonce !== 'string') return invalid('request guild members: nonce must be a string');
    // Discord drops an over-long nonce silently; so do we.
    if (Buffer.byteLength(d.nonce) <= NONCE_MAX_BYTES) nonce = d.nonce;
  }
  let userIds: string[] | undefined;
  if (d.user_ids !== undefined && d.user_ids !== null) {
    const list = Array.isArray(d.user_ids) ? d.user_ids : [d.user_ids];
    if (list.length > USER_IDS_MAX) return invalid(`request guild members: at most ${USER_IDS_MAX} user_ids`);
    userIds = [];
    for (const raw of list) {
      const id = snowflake(raw);
      if (id === undefined) return invalid('request guild members: user_ids must hold snowflakes');
      userIds.push(id);
    }
  }
  if (d.query !== undefined && typeof d.query !== 'string')
    return invalid('request guild members: query must be a string');
  if (d.limit !== undefined && (!isInt(d.limit) || d.limit < 0))
    return invalid('request guild members: limit must be a non-negative integer');
  if (d.presences !== undefined && typeof d.presences !== 'boolean')
    return invalid('request guild members: presences must be a boolean');
  if (userIds === undefined && typeof d.query !== 'string')
    return invalid('request guild members: query or user_ids is required');
  if (!onShard(session, guildId)) return undefined;
  const presences = d.presences === true && (session.intents & GatewayIntentBits.GuildPresences) !== 0;
  const answer = () => {
    if (ctx.cache.membersComplete(guildId)) {
      answerFromCache(ctx, session, guildId, {
        ...(typeof d.query === 'string' ? { query: d.query } : {}),
        ...(typeof d.limit === 'number' ? { limit: d.limit } : {}),
        ...(userIds ? { user_ids: userIds } : {}),
        presences,
        nonce,
      });
      return;
    }
    const ours = ctx.members.register(session, nonce);
    forward(ctx, session, { op: 8, d: { ...d, guild_id: guildId, nonce: ours, presences } });
  };
  const shared = ctx.shared;
  if (!shared) {
    answer();
    return undefined;
  }
  // Redis mode: the chunks are events the stream cannot rebuild for another replica; the stored session
  // says so before any of them can reach the client (see SharedSessions).
  session.ownEvents++;
  void shared
    .beforeOwnEvents(session)
    .then(() => {
      if (!session.ended) answer();
    })
    .finally(() => {
      session.ownEvents--;
    });
  return undefined;
}

function answerFromCache(
  ctx: ProxyContext,
  session: ClientSession,
  guildId: string,
  q: { query?: string; limit?: number; user_ids?: string[]; presences: boolean; nonce: string | undefined },
): void {
  const members = ctx.cache.queryMembers(guildId, {
    ...(q.query !== undefined ? { query: q.query } : {}),
    ...(q.limit !== undefined ? { limit: q.limit } : {}),
    ...(q.user_ids ? { user_ids: q.user_ids } : {}),
  });
  const idOf = (m: unknown) => (m as { user?: { id?: unknown } }).user?.id;
  let notFound: string[] | undefined;
  if (q.user_ids) {
    const found = new Set(members.map((m) => String(idOf(m))));
    notFound = q.user_ids.filter((id) => !found.has(id));
  }
  let presences: unknown[] | undefined;
  if (q.presences) {
    const ids = new Set(members.map((m) => String(idOf(m))));
    presences = ctx.cache
      .presences(guildId)
      .filter((p) => ids.has(String((p as { user?: { id?: unknown } }).user?.id)));
  }
  const count = Math.max(1, Math.ceil(members.length / CHUNK_SIZE));
  const now = ctx.options.clock.now();
  for (let i = 0; i < count; i++) {
    const part = members.slice(i * CHUNK_SIZE, (i + 1) * CHUNK_SIZE);
    const partIds = new Set(part.map((m) => String(idOf(m))));
    const d: Record<string, unknown> = {
      guild_id: guildId,
      members: part,
      chunk_index: i,
      chunk_count: count,
    };
    if (notFound && i === 0) d.not_found = notFound;
    if (presences)
      d.presences = presences.filter((p) => partIds.has(String((p as { user?: { id?: unknown } }).user?.id)));
    if (q.nonce !== undefined) d.nonce = q.nonce;
    session.push(new OutboundEvent('GUILD_MEMBERS_CHUNK', d), now);
  }
}
