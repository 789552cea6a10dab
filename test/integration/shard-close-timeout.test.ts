import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { createServer, type Socket } from 'node:net';
import { test } from 'node:test';
import { Shard } from '../../src/shard/shard.js';

/**
 * A gateway that completes the WebSocket handshake, says HELLO and then reads everything without ever
 * answering: not even our close frame. Only the client's close timeout can end such a connection.
 */
async function silentGateway(t: { after: (fn: () => Promise<void> | void) => void }) {
  const sockets: Socket[] = [];
  const received: Buffer[] = [];
  const server = createServer((socket) => {
    sockets.push(socket);
    socket.on('error', () => {});
    socket.once('data', (request) => {
      const key = /sec-websocket-key:\s*(\S+)/i.exec(request.toString('latin1'))?.[1] ?? '';
      const accept = createHash('sha1').update(`${key}258EAFA5-E914-47DA-95CA-C5AB0DC85B11`).digest('base64');
      socket.write(
        `HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${accept}\r\n\r\n`,
      );
      const hello = Buffer.from(
        JSON.stringify({ op: 10, d: { heartbeat_interval: 45_000 }, s: null, t: null }),
      );
      socket.write(Buffer.concat([Buffer.from([0x81, hello.length]), hello]));
      socket.on('data', (chunk) => received.push(chunk));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.after(async () => {
    for (const s of sockets) s.destroy();
    await new Promise((resolve) => server.close(resolve));
  });
  const { port } = server.address() as { port: number };
  return { url: `ws://127.0.0.1:${port}`, sockets, received };
}

test('closeTimeoutMs bounds destroy() against a gateway that never answers the close frame', {
  timeout: 4_000,
}, async (t) => {
  // the default close timeout (5 s) would not fit: only closeTimeoutMs can pass this
  const gateway = await silentGateway(t);
  const shard = new Shard({
    token: 'close-timeout-token',
    intents: 1,
    gatewayUrl: gateway.url,
    encoding: 'json',
    compression: 'none',
    closeTimeoutMs: 100,
  });
  shard.connect().catch(() => {}); // rejected with SHARD_DESTROYED below
  // Wait for the IDENTIFY: the connection is open and the shard is waiting for READY.
  while (gateway.received.length === 0) await new Promise((r) => setTimeout(r, 10));
  const serverSide = gateway.sockets[0]!;
  const serverClosed = new Promise((resolve) => serverSide.once('close', resolve));
  await shard.destroy();
  await serverClosed;
  assert.equal(shard.status, 'closed');
});

test('closeTimeoutMs is validated like the other timeouts', () => {
  assert.throws(
    () => new Shard({ token: 'validation-token', intents: 1, closeTimeoutMs: 0 }),
    (err: Error & { code?: string }) =>
      err.code === 'CONFIG_INVALID' && /^closeTimeoutMs: /.test(err.message),
  );
});
