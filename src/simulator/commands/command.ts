import { OPCODES } from '../rules.js';
import type { CommandConnection, CommandContext, CommandSession } from './context.js';
import { presenceUpdate } from './presence-update.js';
import { requestChannelInfo } from './request-channel-info.js';
import { requestGuildMembers } from './request-guild-members.js';
import { requestSoundboardSounds } from './request-soundboard-sounds.js';
import { voiceStateUpdate } from './voice-state-update.js';

/** Runs a command (op 3, 4, 8, 31 or 43) of an identified connection; other opcodes are ignored here. */
export function runCommand<S extends CommandSession>(
  ctx: CommandContext<S>,
  conn: CommandConnection,
  session: S,
  op: number,
  d: unknown,
): void {
  switch (op) {
    case OPCODES.PRESENCE_UPDATE:
      presenceUpdate(conn, session, d);
      return;
    case OPCODES.VOICE_STATE_UPDATE:
      voiceStateUpdate(ctx, conn, session, d);
      return;
    case OPCODES.REQUEST_GUILD_MEMBERS:
      requestGuildMembers(ctx, conn, session, d);
      return;
    case OPCODES.REQUEST_SOUNDBOARD_SOUNDS:
      requestSoundboardSounds(ctx, conn, session, d);
      return;
    case OPCODES.REQUEST_CHANNEL_INFO:
      requestChannelInfo(ctx, conn, session, d);
      return;
  }
}
