import { randomBytes } from 'node:crypto';
import { Dispatch } from '../dispatch.js';
import type { CommandConnection, CommandContext, CommandSession } from './context.js';
import { guildOf, isObject } from './context.js';

/** op 4: VOICE_STATE_UPDATE for the bot, and VOICE_SERVER_UPDATE when it joins a channel. */
export function voiceStateUpdate<S extends CommandSession>(
  ctx: CommandContext<S>,
  conn: CommandConnection,
  session: S,
  d: unknown,
): void {
  if (
    !isObject(d) ||
    typeof d.guild_id !== 'string' ||
    !(d.channel_id === null || typeof d.channel_id === 'string') ||
    (d.self_mute !== undefined && typeof d.self_mute !== 'boolean') ||
    (d.self_deaf !== undefined && typeof d.self_deaf !== 'boolean')
  ) {
    conn.closeWith(4001, 'invalid voice state update', 'invalid-payload');
    return;
  }
  const world = ctx.world;
  const guild = guildOf(world, session, d.guild_id);
  if (!guild) return; // Discord ignores guilds that are not on this session.
  const bot = guild.members.find((m) => m.user.id === world.bot.id);
  const voiceSessionId = randomBytes(16).toString('hex');
  ctx.deliver(
    session,
    new Dispatch(
      'VOICE_STATE_UPDATE',
      {
        guild_id: guild.id,
        channel_id: d.channel_id,
        user_id: world.bot.id,
        member: bot ? world.memberJson(guild, bot) : undefined,
        session_id: voiceSessionId,
        deaf: false,
        mute: false,
        self_deaf: d.self_deaf ?? false,
        self_mute: d.self_mute ?? false,
        self_video: false,
        suppress: false,
        request_to_speak_timestamp: null,
      },
      guild.id,
    ),
  );
  if (d.channel_id !== null) {
    ctx.deliver(
      session,
      new Dispatch(
        'VOICE_SERVER_UPDATE',
        {
          token: randomBytes(8).toString('hex'),
          guild_id: guild.id,
          endpoint: 'voice.simulator.invalid:443',
        },
        guild.id,
        0,
      ),
    );
  }
}
