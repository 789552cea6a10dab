import { Dispatch } from '../dispatch.js';
import type { CommandConnection, CommandContext, CommandSession } from './context.js';
import { guildOf, isObject } from './context.js';

/**
 * op 43: CHANNEL_INFO with the requested fields of the guild's voice and stage channels. Field names other
 * than `status` and `voice_start_time` are ignored (Discord may add fields; a request naming one is valid).
 */
export function requestChannelInfo<S extends CommandSession>(
  ctx: CommandContext<S>,
  conn: CommandConnection,
  session: S,
  d: unknown,
): void {
  if (
    !isObject(d) ||
    typeof d.guild_id !== 'string' ||
    !Array.isArray(d.fields) ||
    !d.fields.every((f) => typeof f === 'string')
  ) {
    conn.closeWith(4001, 'invalid request channel info', 'invalid-payload');
    return;
  }
  const guild = guildOf(ctx.world, session, d.guild_id);
  if (!guild) return;
  const fields = new Set(d.fields as string[]);
  const channels = guild.channels
    .filter((c) => c.type === 2 || c.type === 13)
    .map((c) => {
      const out: Record<string, unknown> = { id: c.id };
      if (fields.has('status')) out.status = c.status ?? null;
      if (fields.has('voice_start_time')) out.voice_start_time = c.voice_start_time ?? null;
      return out;
    });
  ctx.deliver(session, new Dispatch('CHANNEL_INFO', { guild_id: guild.id, channels }, guild.id, 0));
}
