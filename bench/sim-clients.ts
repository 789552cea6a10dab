/**
 * Child process of bench/simulator.bench.ts: opens many gateway connections to a simulator, identifies each
 * as its own shard, heartbeats, and counts the frames it receives (without decoding them, so the figure is
 * the server's output). Controlled over IPC: {cmd:'open', url, token, count, compress, heartbeatMs} →
 * {ready}; {cmd:'count'} → {received}; {cmd:'exit'}.
 */
import WebSocket from 'ws';

interface OpenCommand {
  cmd: 'open';
  url: string;
  token: string;
  count: number;
  compress: 'none' | 'zlib-stream';
  heartbeatMs: number;
  intents: number;
}

let received = 0;
const sockets: WebSocket[] = [];

function open(c: OpenCommand, index: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const q = `v=10&encoding=json${c.compress === 'none' ? '' : `&compress=${c.compress}`}`;
    const ws = new WebSocket(`${c.url}/?${q}`, { perMessageDeflate: false });
    sockets.push(ws);
    let identified = false;
    ws.on('error', reject);
    ws.on('message', () => {
      received++;
      if (!identified) {
        identified = true;
        ws.send(
          JSON.stringify({
            op: 2,
            d: {
              token: c.token,
              intents: c.intents,
              shard: [index, c.count],
              properties: { os: 'linux', browser: 'bench', device: 'bench' },
            },
          }),
        );
        const timer = setInterval(() => {
          if (ws.readyState === WebSocket.OPEN) ws.send('{"op":1,"d":null}');
        }, c.heartbeatMs);
        ws.on('close', () => clearInterval(timer));
        resolve();
      }
    });
  });
}

process.on('message', async (m: { cmd: string } & Partial<OpenCommand>) => {
  if (m.cmd === 'open') {
    const c = m as OpenCommand;
    const batch = 200;
    for (let i = 0; i < c.count; i += batch) {
      const n = Math.min(batch, c.count - i);
      await Promise.all(Array.from({ length: n }, (_, k) => open(c, i + k)));
    }
    process.send?.({ ready: sockets.length });
  } else if (m.cmd === 'count') {
    process.send?.({ received });
  } else if (m.cmd === 'exit') {
    for (const ws of sockets) ws.terminate();
    process.exit(0);
  }
});
