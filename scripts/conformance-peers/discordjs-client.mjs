// An unmodified discord.js Client configured from the `shardline conformance` environment. discord.js uses
// zlib-stream whenever zlib-sync is installed; without SHARDLINE_COMPRESS=zlib-stream it is hidden, so the
// client runs uncompressed JSON as on an install without it. Prints {"conformance":"dispatch",…} per packet.
import { createRequire } from 'node:module';

const env = process.env;
if (env.SHARDLINE_COMPRESS !== 'zlib-stream') {
  const Module = createRequire(import.meta.url)('node:module');
  const resolve = Module._resolveFilename;
  Module._resolveFilename = (request, ...rest) => {
    if (request === 'zlib-sync')
      throw Object.assign(new Error(`Cannot find module '${request}'`), { code: 'MODULE_NOT_FOUND' });
    return resolve(request, ...rest);
  };
}
const { Client, Events, GatewayIntentBits } = await import('discord.js');

const count = Number(env.SHARDLINE_SHARD_COUNT);
const members = env.SHARDLINE_REQUEST_MEMBERS;
const client = new Client({
  intents: [
    GatewayIntentBits.Guilds,
    GatewayIntentBits.GuildMessages,
    ...(members ? [GatewayIntentBits.GuildMembers] : []),
  ],
  shards: 'auto',
  ...(Number.isInteger(count) && count > 0 ? { shardCount: count } : {}),
  rest: { api: env.SHARDLINE_API },
});
client.on(Events.Raw, (packet, shardId) => {
  if (packet.op === 0)
    process.stdout.write(
      `${JSON.stringify({ conformance: 'dispatch', shard: shardId, s: packet.s, t: packet.t })}\n`,
    );
});
client.on(Events.Error, (error) => process.stderr.write(`client error: ${error.message}\n`));
client.on(Events.ShardError, (error, shardId) =>
  process.stderr.write(`shard ${shardId}: ${error.message}\n`),
);
process.once('SIGTERM', () => void client.destroy().finally(() => process.exit(0)));
client.once(Events.ClientReady, async () => {
  if (!members) return;
  const guild = client.guilds.cache.get(members);
  const ask = () =>
    guild?.members
      .fetch()
      .then((m) => process.stderr.write(`members: ${m.size}\n`))
      .catch((err) => process.stderr.write(`members: ${err.message}\n`));
  await Promise.all([ask(), ask()]);
});
await client.login(env.DISCORD_TOKEN);
