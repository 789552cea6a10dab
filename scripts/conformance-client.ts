/**
 * Shardline's own client for `shardline conformance`: a `ShardManager` configured from the documented
 * environment, as a bot would run it. Prints `{"conformance":"dispatch",…}` lines so the replay check can
 * use the client's own view. Run: `shardline conformance -- node dist/scripts/conformance-client.js`.
 */
import type { Compression, Encoding } from '../src/index.js';
import { ShardManager } from '../src/index.js';

const env = process.env;
const GUILDS = 1;
const GUILD_MEMBERS = 2;
const GUILD_MESSAGES = 512;

const count = Number(env.SHARDLINE_SHARD_COUNT);
const window = Number(env.SHARDLINE_IDENTIFY_WINDOW_MS);
const membersOf = env.SHARDLINE_REQUEST_MEMBERS;
const compression = (env.SHARDLINE_COMPRESS as Compression | undefined) ?? 'zlib-stream';
const encoding = (env.SHARDLINE_ENCODING as Encoding | undefined) ?? 'etf';

const manager = new ShardManager({
  token: env.DISCORD_TOKEN ?? '',
  intents: GUILDS | GUILD_MESSAGES | (membersOf ? GUILD_MEMBERS : 0),
  api: env.SHARDLINE_API ?? 'https://discord.com/api',
  shardCount: Number.isInteger(count) && count > 0 ? count : 'auto',
  encoding,
  compression,
  ...(Number.isInteger(window) && window > 0 ? { identifyWindowMs: window } : {}),
  // The simulator runs Discord's clocks scaled down (a 1 s heartbeat interval instead of 41.25 s).
  shardOptions: { minHeartbeatIntervalMs: 100 },
});

manager.on('dispatch', (payload, shardId) => {
  process.stdout.write(
    `${JSON.stringify({ conformance: 'dispatch', shard: shardId, s: payload.s, t: payload.t })}\n`,
  );
});
manager.on('error', (error, shardId) => process.stderr.write(`shard ${shardId}: ${error.message}\n`));
manager.on('close', (info, shardId) => {
  if (info.action === 'fatal') {
    process.stderr.write(`shard ${shardId}: closed with ${info.code} (fatal), stopping\n`);
    void manager.destroy().finally(() => process.exit(1));
  }
});

const stop = (): void => {
  void manager.destroy().finally(() => process.exit(0));
};
process.once('SIGTERM', stop);
process.once('SIGINT', stop);

await manager.connect();
if (membersOf) {
  // Two parts of a bot asking for the same guild's members at once: the second meets the per-guild limit.
  const ask = () =>
    manager
      .requestGuildMembers({ guildId: membersOf, query: '', limit: 0 })
      .then((r) => process.stderr.write(`members: ${r.members.length}\n`))
      .catch((err: Error) => process.stderr.write(`members: ${err.message}\n`));
  await Promise.all([ask(), ask()]);
}
