// An unmodified Oceanic.js client configured from the `shardline conformance` environment (`Bot ` token, REST
// base + /v10 as Oceanic's baseURL). Prints {"conformance":"dispatch",…} per packet.
import zlib from 'node:zlib';
import { Client } from 'oceanic.js';

const env = process.env;
const count = Number(env.SHARDLINE_SHARD_COUNT);
const members = env.SHARDLINE_REQUEST_MEMBERS;
// Oceanic's zstd-stream needs Node's zstd (22.15+) or zstd-napi; without either it refuses to start, so it
// runs uncompressed then, as a bot on such a Node would.
const zstd = 'createZstdDecompress' in zlib;
const compress =
  env.SHARDLINE_COMPRESS === 'zlib-stream' || (env.SHARDLINE_COMPRESS === 'zstd-stream' && zstd)
    ? env.SHARDLINE_COMPRESS
    : false;
const client = new Client({
  auth: `Bot ${env.DISCORD_TOKEN}`,
  rest: { baseURL: `${env.SHARDLINE_API}/v10` },
  gateway: {
    intents: 1 | 512 | (members ? 2 : 0),
    maxShards: Number.isInteger(count) && count > 0 ? count : 'auto',
    compress,
  },
});
client.on('packet', (packet, shardId) => {
  if (packet.op === 0)
    process.stdout.write(
      `${JSON.stringify({ conformance: 'dispatch', shard: shardId, s: packet.s, t: packet.t })}\n`,
    );
});
client.on('error', (error, shardId) =>
  process.stderr.write(`shard ${shardId}: ${error?.message ?? error}\n`),
);
client.once('ready', async () => {
  if (!members) return;
  const guild = client.guilds.get(members);
  const ask = () =>
    guild
      ?.fetchMembers({ query: '', limit: 0 })
      .then((m) => process.stderr.write(`members: ${m.length}\n`))
      .catch((err) => process.stderr.write(`members: ${err.message}\n`));
  await Promise.all([ask(), ask()]);
});
process.once('SIGTERM', () => {
  client.disconnect(false);
  process.exit(0);
});
await client.connect();
