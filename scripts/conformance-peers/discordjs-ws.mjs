// An unmodified @discordjs/ws WebSocketManager configured from the `shardline conformance` environment.
// Prints {"conformance":"dispatch",…} per dispatch (the replay check uses it).
import { REST } from '@discordjs/rest';
import { CompressionMethod, WebSocketManager, WebSocketShardEvents } from '@discordjs/ws';

const env = process.env;
const count = Number(env.SHARDLINE_SHARD_COUNT);
const members = env.SHARDLINE_REQUEST_MEMBERS;
// @discordjs/ws 2.0 has no zstd-stream (CompressionMethod.ZstdNative is newer): then it runs uncompressed.
const compression =
  env.SHARDLINE_COMPRESS === 'zstd-stream'
    ? (CompressionMethod.ZstdNative ?? null)
    : env.SHARDLINE_COMPRESS === 'zlib-stream'
      ? CompressionMethod.ZlibNative
      : null;
const rest = new REST({ api: env.SHARDLINE_API }).setToken(env.DISCORD_TOKEN);
const manager = new WebSocketManager({
  token: env.DISCORD_TOKEN,
  intents: 1 | 512 | (members ? 2 : 0),
  rest,
  shardCount: Number.isInteger(count) && count > 0 ? count : null,
  compression,
});
manager.on(WebSocketShardEvents.Dispatch, (payload, shardId) => {
  process.stdout.write(
    `${JSON.stringify({ conformance: 'dispatch', shard: shardId, s: payload.s, t: payload.t })}\n`,
  );
});
manager.on(WebSocketShardEvents.Error, (error, shardId) =>
  process.stderr.write(`shard ${shardId}: ${error.message}\n`),
);
process.once('SIGTERM', () => void manager.destroy().finally(() => process.exit(0)));
await manager.connect();
if (members) {
  // A raw gateway library: the bot sends op 8 itself, twice (two parts of a bot asking at once).
  for (const nonce of ['a', 'b'])
    await manager.send(0, { op: 8, d: { guild_id: members, query: '', limit: 0, nonce } });
}
