/**
 * An unmodified `@discordjs/ws` client, run as a child process against the gateway proxy. It keeps its
 * sessions in a file (`retrieveSessionInfo`/`updateSessionInfo`) so a restart after SIGKILL resumes, and
 * prints one JSON line per event on stdout: `{kind:'ready'|'resumed'|'dispatch', shardId, t?, s?, d?}`.
 * Environment: PROXY_REST (REST base), PROXY_TOKEN, SESSION_FILE, COMPRESSION (`zlib-stream` or `none`).
 */
import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { REST } from '@discordjs/rest';
import { CompressionMethod, type SessionInfo, WebSocketManager, WebSocketShardEvents } from '@discordjs/ws';

const env = process.env;
const file = env.SESSION_FILE!;
const sessions: Record<string, SessionInfo | null> = existsSync(file)
  ? (JSON.parse(readFileSync(file, 'utf8')) as Record<string, SessionInfo | null>)
  : {};

function print(line: Record<string, unknown>): void {
  process.stdout.write(`${JSON.stringify(line)}\n`);
}

const rest = new REST({ api: env.PROXY_REST! }).setToken(env.PROXY_TOKEN!);
const manager = new WebSocketManager({
  token: env.PROXY_TOKEN!,
  intents: 1 | 512 | 32768,
  rest,
  compression: env.COMPRESSION === 'zlib-stream' ? CompressionMethod.ZlibNative : null,
  retrieveSessionInfo: (shardId) => sessions[shardId] ?? null,
  updateSessionInfo: (shardId, info) => {
    sessions[shardId] = info;
    writeFileSync(`${file}.tmp`, JSON.stringify(sessions));
    renameSync(`${file}.tmp`, file);
  },
});
manager.on(WebSocketShardEvents.Ready, (data, shardId) =>
  print({ kind: 'ready', shardId, sessionId: data.session_id, guilds: data.guilds.length }),
);
manager.on(WebSocketShardEvents.Resumed, (shardId) => print({ kind: 'resumed', shardId }));
manager.on(WebSocketShardEvents.Dispatch, (payload, shardId) => {
  const d = payload.d as { id?: string; content?: string };
  print({ kind: 'dispatch', shardId, t: payload.t, s: payload.s, id: d.id, content: d.content });
});
manager.on(WebSocketShardEvents.Error, (error, shardId) =>
  process.stderr.write(`shard ${shardId}: ${error.message}\n`),
);
await manager.connect();
print({ kind: 'connected', shards: await manager.getShardCount() });
