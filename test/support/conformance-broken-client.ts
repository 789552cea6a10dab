/**
 * A deliberately broken gateway client for the conformance tests: it identifies on HELLO and never sends a
 * heartbeat. Reads SHARDLINE_GATEWAY_URL and DISCORD_TOKEN like any client under `shardline conformance`.
 */
import WebSocket from 'ws';

const ws = new WebSocket(`${process.env.SHARDLINE_GATEWAY_URL}/?v=10&encoding=json`);
ws.on('error', () => {});
ws.on('message', (data) => {
  const p = JSON.parse(String(data)) as { op: number };
  if (p.op === 10)
    ws.send(
      JSON.stringify({
        op: 2,
        d: {
          token: process.env.DISCORD_TOKEN,
          intents: 1,
          properties: { os: 'linux', browser: 'x', device: 'x' },
        },
      }),
    );
});
ws.on('close', () => process.exit(0));
