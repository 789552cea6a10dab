/**
 * An unmodified discord.js 14 `Client`, run as a child process against the gateway proxy. discord.js keeps
 * no session across a restart, so every start IDENTIFIES. It prints one JSON line per event on stdout:
 * `{kind:'ready', guilds}` once the client is ready (its guild cache), `{kind:'message', content, guildId}`
 * per `messageCreate`. Environment: PROXY_REST (REST base), PROXY_TOKEN, COMPRESSION (`zlib-stream` or
 * `none`). discord.js compresses with zlib-stream whenever `zlib-sync` is installed; for `none` this child
 * hides `zlib-sync` from the resolver, as on an install without it.
 */
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const Module = require('node:module') as {
  _resolveFilename: (request: string, ...rest: unknown[]) => string;
};
if (process.env.COMPRESSION !== 'zlib-stream') {
  const resolve = Module._resolveFilename;
  Module._resolveFilename = (request: string, ...rest: unknown[]) => {
    if (request === 'zlib-sync')
      throw Object.assign(new Error(`Cannot find module '${request}'`), { code: 'MODULE_NOT_FOUND' });
    return resolve(request, ...rest);
  };
}

const { Client, Events, GatewayIntentBits } = await import('discord.js');

function print(line: Record<string, unknown>): void {
  process.stdout.write(`${JSON.stringify(line)}\n`);
}

const client = new Client({
  intents: [GatewayIntentBits.Guilds, GatewayIntentBits.GuildMessages, GatewayIntentBits.MessageContent],
  // Take the shard count from the proxy's /gateway/bot, as a multi-shard bot does.
  shards: 'auto',
  rest: { api: process.env.PROXY_REST! },
});
client.on(Events.ClientReady, (ready) =>
  print({
    kind: 'ready',
    shards: ready.ws.shards.size,
    guilds: [...ready.guilds.cache.keys()],
  }),
);
client.on(Events.MessageCreate, (message) =>
  print({
    kind: 'message',
    content: message.content,
    guildId: message.guildId,
    shardId: message.guild?.shardId,
  }),
);
// @discordjs/ws logs the transport compression of each connection it opens: the test checks it.
client.on(Events.Debug, (message) => {
  if (process.env.DJS_DEBUG) process.stderr.write(`${message}\n`);
  const match = /compression: (\S+)/.exec(message);
  if (match) print({ kind: 'compression', value: match[1] });
});
client.on(Events.Error, (error) => process.stderr.write(`client error: ${error.message}\n`));
client.on(Events.ShardError, (error, shardId) =>
  process.stderr.write(`shard ${shardId}: ${error.message}\n`),
);
await client.login(process.env.PROXY_TOKEN!);
