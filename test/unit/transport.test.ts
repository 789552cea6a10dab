import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import { test } from 'node:test';
import { WebSocketServer } from 'ws';
import type { ShardlineError } from '../../src/errors.js';
import { Shard } from '../../src/shard/shard.js';
import type { GatewayEnvelope } from '../../src/transport/envelope.js';
import { gatewayConnectUrl, Transport, type TransportOptions } from '../../src/transport/transport.js';

interface Log {
  opens: number;
  payloads: GatewayEnvelope[];
  closes: [number, string][];
  errors: ShardlineError[];
}

function open(options: Partial<TransportOptions> & { url: string }): { transport: Transport; log: Log } {
  const log: Log = { opens: 0, payloads: [], closes: [], errors: [] };
  const transport = new Transport(
    { encoding: 'json', compression: 'none', maxPayloadBytes: 1 << 20, ...options },
    {
      onOpen: () => log.opens++,
      onPayload: (p) => log.payloads.push(p),
      onClose: (code, reason) => log.closes.push([code, reason]),
      onError: (e) => log.errors.push(e),
    },
  );
  return { transport, log };
}

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as { port: number };
  await new Promise<void>((r) => server.close(() => r()));
  return port;
}

async function wsServer(t: {
  after(fn: () => unknown): void;
}): Promise<{ wss: WebSocketServer; url: string }> {
  const wss = new WebSocketServer({ host: '127.0.0.1', port: 0 });
  await new Promise<void>((r) => wss.once('listening', r));
  t.after(() => new Promise<void>((r) => wss.close(() => r())));
  return { wss, url: `ws://127.0.0.1:${(wss.address() as { port: number }).port}` };
}

test('the connect URL carries v=10, the encoding and the compression', () => {
  assert.equal(
    gatewayConnectUrl('wss://g.test', 'etf', 'zstd-stream'),
    'wss://g.test/?v=10&encoding=etf&compress=zstd-stream',
  );
  assert.equal(
    gatewayConnectUrl('wss://g.test/?compress=x', 'json', 'none'),
    'wss://g.test/?v=10&encoding=json',
  );
});

test('a refused connection reports an error and exactly one close, without crashing', async () => {
  const { transport, log } = open({ url: `ws://127.0.0.1:${await freePort()}` });
  await transport.closed;
  assert.equal(log.opens, 0);
  assert.equal(log.closes.length, 1);
  assert.equal(log.errors[0]?.code, 'SOCKET_ERROR');
  assert.equal(transport.send('{}'), false, 'never writes to a closed socket');
});

test('decodes frames, reports bad JSON as an error, and reports the server close code', async (t) => {
  const { wss, url } = await wsServer(t);
  wss.on('connection', (ws) => {
    ws.send('{"t":null,"s":null,"op":10,"d":{"heartbeat_interval":1000}}');
    ws.send('{"op":');
    ws.send('[1,2]');
    setTimeout(() => ws.close(4009, 'session timed out'), 20);
  });
  const { transport, log } = open({ url });
  await transport.closed;
  assert.equal(log.opens, 1);
  assert.deepEqual(log.payloads, [{ op: 10, d: { heartbeat_interval: 1000 }, s: null, t: null }]);
  assert.deepEqual(
    log.errors.map((e) => e.code),
    ['JSON_INVALID', 'PROTOCOL_VIOLATION'],
  );
  assert.deepEqual(log.closes, [[4009, 'session timed out']]);
});

test('a compressed connection rejects text frames and garbage bytes as errors', async (t) => {
  const { wss, url } = await wsServer(t);
  wss.on('connection', (ws) => {
    ws.send('{"op":11}');
    ws.send(Buffer.from([1, 2, 3, 4, 0, 0, 0xff, 0xff]));
    setTimeout(() => ws.close(1000), 20);
  });
  const { transport, log } = open({ url, compression: 'zlib-stream' });
  await transport.closed;
  assert.equal(log.payloads.length, 0);
  assert.equal(log.errors.length, 2);
  assert.equal(log.errors[0]?.code, 'PROTOCOL_VIOLATION');
});

test('close() resolves once the socket is closed and sends nothing afterwards', async (t) => {
  const { wss, url } = await wsServer(t);
  const received: string[] = [];
  wss.on('connection', (ws) => ws.on('message', (m) => received.push(String(m))));
  const { transport, log } = open({ url });
  await new Promise<void>((r) => {
    const check = (): void => (log.opens ? r() : void setTimeout(check, 5));
    check();
  });
  assert.equal(transport.send('{"op":3}'), true);
  await transport.close(4000, 'bye');
  assert.equal(transport.send('{"op":3}'), false);
  assert.equal(log.closes.length, 1);
});

test('a shard that cannot reach the gateway keeps retrying with backoff and destroy() stops it', async () => {
  const shard = new Shard({
    token: 'abc.def.ghi',
    intents: 1,
    gatewayUrl: `ws://127.0.0.1:${await freePort()}`,
    reconnectBackoff: { baseMs: 5, maxMs: 20 },
  });
  const statuses: string[] = [];
  const closes: number[] = [];
  shard.on('status', (s) => statuses.push(s));
  shard.on('close', (c) => closes.push(c.code));
  shard.on('error', () => {});
  const connecting = shard.connect();
  await new Promise<void>((r) => {
    const check = (): void => (closes.length >= 3 ? r() : void setTimeout(check, 5));
    check();
  });
  await shard.destroy();
  await assert.rejects(connecting, (e: ShardlineError) => e.code === 'SHARD_DESTROYED');
  assert.equal(shard.status, 'closed');
  assert.ok(statuses.filter((s) => s === 'backoff').length >= 3);
});
