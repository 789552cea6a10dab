/**
 * `Transport` reading the socket with its own frame reader, over real sockets against a ws server: frames
 * split and fragmented by the server, pings answered, a close frame behind a pause, and a refused frame
 * closed with ws' close code and reported as a typed `FrameError`.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { dirname, join } from 'node:path';
import { type TestContext, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { type WebSocket, WebSocketServer } from 'ws';
import type { ShardlineError } from '../../src/errors.js';
import type { GatewayEnvelope } from '../../src/transport/envelope.js';
import { Transport } from '../../src/transport/transport.js';
import { FrameError } from '../../src/transport/ws-reader.js';
import { waitFor } from '../support/wait.js';

interface Peer {
  readonly url: string;
  readonly connection: Promise<WebSocket>;
}

/** A self-signed certificate for 127.0.0.1 (test/fixtures/tls, valid for a century). */
const TLS_DIR = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', 'test', 'fixtures', 'tls');

async function startPeer(t: TestContext, tls = false): Promise<Peer> {
  const http = tls
    ? createHttpsServer({
        key: readFileSync(join(TLS_DIR, 'localhost-key.pem')),
        cert: readFileSync(join(TLS_DIR, 'localhost-cert.pem')),
      })
    : createServer();
  const wss = new WebSocketServer({ server: http });
  const connection = new Promise<WebSocket>((resolve) => wss.once('connection', resolve));
  await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
  t.after(async () => {
    for (const c of wss.clients) c.terminate();
    wss.close();
    await new Promise((resolve) => http.close(resolve));
  });
  const port = (http.address() as AddressInfo).port;
  return { url: `${tls ? 'wss' : 'ws'}://127.0.0.1:${port}`, connection };
}

interface Seen {
  payloads: GatewayEnvelope[];
  errors: ShardlineError[];
  closes: [number, string][];
  opened: boolean;
}

function open(
  t: TestContext,
  url: string,
  onPayload: (transport: Transport) => void = () => {},
): { transport: Transport; seen: Seen } {
  const seen: Seen = { payloads: [], errors: [], closes: [], opened: false };
  const transport = new Transport(
    { url, encoding: 'json', compression: 'none', maxPayloadBytes: 4096, closeTimeoutMs: 2000 },
    {
      onOpen: () => {
        seen.opened = true;
      },
      onPayload: (p) => {
        seen.payloads.push(p);
        onPayload(transport);
      },
      onClose: (code, reason) => seen.closes.push([code, reason]),
      onError: (e) => seen.errors.push(e),
    },
  );
  t.after(() => transport.close(1000));
  return { transport, seen };
}

const hello = (n: number): string =>
  JSON.stringify({ op: 10, d: { heartbeat_interval: n }, s: null, t: null });

test('the transport reads split, fragmented and back-to-back frames, and ws answers pings', async (t) => {
  const peer = await startPeer(t);
  const { transport, seen } = open(t, peer.url);
  const server = await peer.connection;
  await waitFor(() => seen.opened, { what: 'the transport to open' });
  assert.equal(transport.readsFrames, true);
  const pong = new Promise<Buffer>((resolve) => server.once('pong', resolve));
  server.ping('are you there');
  assert.equal((await pong).toString(), 'are you there');
  // Fragmented by the server: three frames, one message.
  const text = hello(1);
  server.send(text.slice(0, 5), { fin: false });
  server.send(text.slice(5, 9), { fin: false });
  server.send(text.slice(9), { fin: true });
  // One frame written a byte at a time through the raw socket.
  const frame = Buffer.concat([Buffer.from([0x81, hello(2).length]), Buffer.from(hello(2))]);
  const raw = (server as unknown as { _socket: import('node:net').Socket })._socket;
  for (const byte of frame) raw.write(Buffer.from([byte]));
  // Many frames in one write.
  raw.write(
    Buffer.concat(
      [3, 4, 5].map((n) => Buffer.concat([Buffer.from([0x81, hello(n).length]), Buffer.from(hello(n))])),
    ),
  );
  await waitFor(() => seen.payloads.length === 5, { what: 'seen.payloads.length === 5' });
  assert.deepEqual(
    seen.payloads.map((p) => (p.d as { heartbeat_interval: number }).heartbeat_interval),
    [1, 2, 3, 4, 5],
  );
  assert.deepEqual(seen.errors, []);
});

test('a paused transport reports nothing until resumed, then everything in order', async (t) => {
  const peer = await startPeer(t);
  const { transport, seen } = open(t, peer.url);
  const server = await peer.connection;
  await waitFor(() => seen.opened, { what: 'the transport to open' });
  server.send(hello(1));
  await waitFor(() => seen.payloads.length === 1, { what: 'seen.payloads.length === 1' });
  transport.pause();
  for (let n = 2; n <= 40; n++) server.send(hello(n));
  // Give the frames time to arrive; none may be reported while paused.
  await new Promise((resolve) => setTimeout(resolve, 100));
  assert.equal(seen.payloads.length, 1);
  transport.resume();
  await waitFor(() => seen.payloads.length === 40, { what: 'seen.payloads.length === 40' });
  assert.deepEqual(
    seen.payloads.map((p) => (p.d as { heartbeat_interval: number }).heartbeat_interval),
    Array.from({ length: 40 }, (_, i) => i + 1),
  );
});

test('a close frame behind a pause still closes with the peer code', async (t) => {
  const peer = await startPeer(t);
  // The first message pauses the transport.
  const { seen } = open(t, peer.url, (transport) => transport.pause());
  const server = await peer.connection;
  await waitFor(() => seen.opened, { what: 'the transport to open' });
  const raw = (server as unknown as { _socket: import('node:net').Socket })._socket;
  // Two messages and a close frame in one write.
  const msg = (n: number): Buffer =>
    Buffer.concat([Buffer.from([0x81, hello(n).length]), Buffer.from(hello(n))]);
  const close = Buffer.from([0x88, 0x02, 0x0f, 0xa4]); // 4004
  raw.write(Buffer.concat([msg(1), msg(2), close]));
  await waitFor(() => seen.closes.length === 1, { what: 'seen.closes.length === 1' });
  assert.deepEqual(seen.closes, [[4004, '']]);
  // The message behind the pause dies with the connection (the gateway replays it on RESUME).
  assert.equal(seen.payloads.length, 1);
});

test('a frame with a reserved opcode is a typed FrameError and the connection closes with 1002', async (t) => {
  const peer = await startPeer(t);
  const { seen } = open(t, peer.url);
  const server = await peer.connection;
  await waitFor(() => seen.opened, { what: 'the transport to open' });
  const serverClose = new Promise<number>((resolve) => server.once('close', (code) => resolve(code)));
  const raw = (server as unknown as { _socket: import('node:net').Socket })._socket;
  raw.write(Buffer.from([0x83, 0x00]));
  assert.equal(await serverClose, 1002);
  await waitFor(() => seen.closes.length === 1, { what: 'seen.closes.length === 1' });
  assert.equal(seen.errors.length, 1);
  const err = seen.errors[0]!;
  assert.ok(err instanceof FrameError);
  assert.equal(err.code, 'PROTOCOL_VIOLATION');
  assert.equal(err.reason, 'WS_ERR_INVALID_OPCODE');
  assert.equal(err.closeCode, 1002);
});

test('a message over maxPayloadBytes is refused from its header with 1009', async (t) => {
  const peer = await startPeer(t);
  const { seen } = open(t, peer.url);
  const server = await peer.connection;
  await waitFor(() => seen.opened, { what: 'the transport to open' });
  const serverClose = new Promise<number>((resolve) => server.once('close', (code) => resolve(code)));
  server.send('x'.repeat(5000));
  assert.equal(await serverClose, 1009);
  await waitFor(() => seen.closes.length === 1, { what: 'seen.closes.length === 1' });
  assert.equal((seen.errors[0] as FrameError | undefined)?.reason, 'WS_ERR_UNSUPPORTED_MESSAGE_LENGTH');
});

test('over TLS (wss) the reader gets the decrypted frames, and a close code', async (t) => {
  // The fixture certificate is self-signed; only this test's connections to 127.0.0.1 skip verification.
  const previous = process.env.NODE_TLS_REJECT_UNAUTHORIZED;
  process.env.NODE_TLS_REJECT_UNAUTHORIZED = '0';
  t.after(() => {
    if (previous === undefined) delete process.env.NODE_TLS_REJECT_UNAUTHORIZED;
    else process.env.NODE_TLS_REJECT_UNAUTHORIZED = previous;
  });
  const peer = await startPeer(t, true);
  const { transport, seen } = open(t, peer.url);
  const server = await peer.connection;
  await waitFor(() => seen.opened, { what: 'the transport to open over TLS' });
  assert.equal(transport.readsFrames, true);
  const text = hello(7);
  server.send(text.slice(0, 3), { fin: false });
  server.send(text.slice(3), { fin: true });
  server.send(hello(8));
  await waitFor(() => seen.payloads.length === 2, { what: 'two payloads over TLS' });
  server.close(4004, 'bye');
  await waitFor(() => seen.closes.length === 1, { what: 'the close over TLS' });
  assert.deepEqual(seen.closes, [[4004, 'bye']]);
  assert.deepEqual(
    seen.payloads.map((p) => (p.d as { heartbeat_interval: number }).heartbeat_interval),
    [7, 8],
  );
  assert.deepEqual(seen.errors, []);
});
