import { Dispatch } from '../dispatch.js';
import type { CommandConnection, CommandContext, CommandSession } from './context.js';
import { guildOf, isObject } from './context.js';

/** op 31: one SOUNDBOARD_SOUNDS per requested guild of the session's shard. */
export function requestSoundboardSounds<S extends CommandSession>(
  ctx: CommandContext<S>,
  conn: CommandConnection,
  session: S,
  d: unknown,
): void {
  if (!isObject(d) || !Array.isArray(d.guild_ids) || !d.guild_ids.every((x) => typeof x === 'string')) {
    conn.closeWith(4001, 'invalid request soundboard sounds', 'invalid-payload');
    return;
  }
  // Each guild once, however often it is listed: a 4 KiB request cannot fan out into hundreds of dispatches.
  for (const id of new Set(d.guild_ids as string[])) {
    const guild = guildOf(ctx.world, session, id);
    if (!guild) continue;
    ctx.deliver(
      session,
      new Dispatch(
        'SOUNDBOARD_SOUNDS',
        {
          guild_id: guild.id,
          soundboard_sounds: [
            {
              name: 'airhorn',
              sound_id: guild.roles[1]?.id ?? guild.id,
              volume: 1,
              emoji_id: null,
              emoji_name: '📯',
              guild_id: guild.id,
              available: true,
            },
          ],
        },
        guild.id,
        0,
      ),
    );
  }
}
