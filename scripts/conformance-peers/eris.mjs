// An unmodified Eris client configured from the `shardline conformance` environment, token with its `Bot `
// prefix as Eris's README says. Eris's REST client is HTTPS-only, so its two /gateway lookups are answered
// from the simulator's REST base over plain HTTP; the gateway side is Eris's own. Prints
// {"conformance":"dispatch",…} per packet.
import { createRequire } from 'node:module';

const Eris = createRequire(import.meta.url)('eris');

const env = process.env;
const count = Number(env.SHARDLINE_SHARD_COUNT);
const members = env.SHARDLINE_REQUEST_MEMBERS;
const client = new Eris.Client(`Bot ${env.DISCORD_TOKEN}`, {
  intents: 1 | 512 | (members ? 2 : 0),
  maxShards: Number.isInteger(count) && count > 0 ? count : 'auto',
  compress: env.SHARDLINE_COMPRESS === 'zlib-stream',
});
const gatewayBot = async () => {
  const res = await fetch(`${env.SHARDLINE_API}/v10/gateway/bot`, {
    headers: { authorization: `Bot ${env.DISCORD_TOKEN}` },
  });
  return res.json();
};
client.getBotGateway = gatewayBot;
client.getGateway = gatewayBot;
client.on('rawWS', (packet, shardId) => {
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
      ?.fetchAllMembers()
      .then((n) => process.stderr.write(`members: ${n}\n`))
      .catch((err) => process.stderr.write(`members: ${err.message}\n`));
  await Promise.all([ask(), ask()]);
});
process.once('SIGTERM', () => {
  client.disconnect({ reconnect: false });
  process.exit(0);
});
await client.connect();
