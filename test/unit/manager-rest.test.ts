import assert from 'node:assert/strict';
import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { test } from 'node:test';
import { inspect } from 'node:util';
import { RestError } from '../../src/errors.js';
import { apiUrl, fetchGatewayBot, parseGatewayBot } from '../../src/manager/rest.js';
import { Secret } from '../../src/util/redact.js';

const TOKEN = 'MTIzNDU2Nzg5.secret-token-value';
const GOOD = {
  url: 'wss://gateway.discord.gg',
  shards: 9,
  session_start_limit: { total: 1000, remaining: 999, reset_after: 14_400_000, max_concurrency: 4 },
};

async function server(
  t: { after(fn: () => Promise<void>): void },
  handler: (req: IncomingMessage) => { status: number; body: string },
): Promise<{ api: string; requests: IncomingMessage[] }> {
  const requests: IncomingMessage[] = [];
  const srv = createServer((req, res) => {
    requests.push(req);
    const { status, body } = handler(req);
    res.writeHead(status, { 'content-type': 'application/json' }).end(body);
  });
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  t.after(
    () =>
      new Promise<void>((r) => {
        srv.closeAllConnections();
        srv.close(() => r());
      }),
  );
  return { api: `http://127.0.0.1:${(srv.address() as AddressInfo).port}/api`, requests };
}

test('apiUrl adds /v10 once and tolerates trailing slashes', () => {
  assert.equal(apiUrl('https://discord.com/api', '/gateway/bot'), 'https://discord.com/api/v10/gateway/bot');
  assert.equal(apiUrl('https://discord.com/api/', '/gateway/bot'), 'https://discord.com/api/v10/gateway/bot');
  assert.equal(apiUrl('http://x/api/v10', '/gateway/bot'), 'http://x/api/v10/gateway/bot');
});

test('GET /gateway/bot sends the bot token and parses the limits', async (t) => {
  const { api, requests } = await server(t, () => ({ status: 200, body: JSON.stringify(GOOD) }));
  const info = await fetchGatewayBot({ token: new Secret(TOKEN), api });
  assert.equal(requests[0]!.url, '/api/v10/gateway/bot');
  assert.equal(requests[0]!.headers.authorization, `Bot ${TOKEN}`);
  assert.deepEqual(info, {
    url: 'wss://gateway.discord.gg',
    shards: 9,
    sessionStartLimit: { total: 1000, remaining: 999, resetAfterMs: 14_400_000, maxConcurrency: 4 },
  });
});

test('a 401 is REST_UNAUTHORIZED and no error mentions the token', async (t) => {
  const { api } = await server(t, () => ({ status: 401, body: `{"message":"bad ${TOKEN}"}` }));
  const err = await fetchGatewayBot({ token: TOKEN, api }).catch((e: unknown) => e);
  assert.ok(err instanceof RestError);
  assert.equal(err.code, 'REST_UNAUTHORIZED');
  assert.equal(err.status, 401);
  assert.ok(!inspect(err).includes(TOKEN));
});

test('other statuses are REST_HTTP_ERROR with a redacted excerpt of the body', async (t) => {
  const { api } = await server(t, () => ({ status: 500, body: `oops ${TOKEN}` }));
  const err = await fetchGatewayBot({ token: TOKEN, api }).catch((e: unknown) => e);
  assert.ok(err instanceof RestError);
  assert.equal(err.code, 'REST_HTTP_ERROR');
  assert.match(err.message, /HTTP 500: oops \[redacted\]/);
  assert.ok(!JSON.stringify({ m: err.message, s: err.stack }).includes(TOKEN));
});

test('an unreachable API is REST_NETWORK_ERROR', async () => {
  await assert.rejects(fetchGatewayBot({ token: TOKEN, api: 'http://127.0.0.1:1/api', timeoutMs: 5000 }), {
    code: 'REST_NETWORK_ERROR',
  });
});

test('malformed bodies are REST_BAD_RESPONSE naming the field', async (t) => {
  const { api } = await server(t, () => ({ status: 200, body: 'not json' }));
  await assert.rejects(fetchGatewayBot({ token: TOKEN, api }), { code: 'REST_BAD_RESPONSE' });
  assert.throws(() => parseGatewayBot({ ...GOOD, shards: 0 }), /'shards'/);
  assert.throws(
    () =>
      parseGatewayBot({ ...GOOD, session_start_limit: { ...GOOD.session_start_limit, max_concurrency: 0 } }),
    /max_concurrency/,
  );
  assert.throws(() => parseGatewayBot(null), { code: 'REST_BAD_RESPONSE' });
});

/** Every 8-character piece of the token: an excerpt cut through the token must not leave one behind. */
const PIECES = Array.from({ length: TOKEN.length - 7 }, (_, i) => TOKEN.slice(i, i + 8));

test('an error body echoing the token is redacted before it is cut: no piece of the token survives', async (t) => {
  for (const pad of [0, 150, 185, 190, 195, 199, 200]) {
    const { api } = await server(t, () => ({ status: 500, body: `${'x'.repeat(pad)}${TOKEN} and more` }));
    const err = await fetchGatewayBot({ token: TOKEN, api }).catch((e: unknown) => e);
    assert.ok(err instanceof RestError);
    assert.equal(err.code, 'REST_HTTP_ERROR');
    for (const text of [
      err.message,
      err.stack ?? '',
      inspect(err, { showHidden: true }),
      JSON.stringify(err),
    ]) {
      const piece = PIECES.find((p) => text.includes(p));
      assert.equal(piece, undefined, `pad ${pad}: ${text}`);
    }
  }
});

test('a gateway URL from /gateway/bot that is not a plain ws:/wss: URL is REST_BAD_RESPONSE', () => {
  for (const url of [
    'ws+unix:///tmp/gw.sock',
    'wss://[bad',
    'https://gateway.discord.gg',
    'wss://u:p@host',
    'wss://',
  ]) {
    assert.throws(() => parseGatewayBot({ ...GOOD, url }), /'url'/, url);
  }
  assert.equal(parseGatewayBot({ ...GOOD, url: 'ws://127.0.0.1:1234' }).url, 'ws://127.0.0.1:1234');
});
