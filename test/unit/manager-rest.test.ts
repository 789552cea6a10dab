import assert from 'node:assert/strict';
import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { test } from 'node:test';
import { inspect } from 'node:util';
import { RestError } from '../../src/errors.js';
import { apiUrl, fetchGatewayBot, parseGatewayBot } from '../../src/manager/rest.js';
import type { Clock, TimerHandle } from '../../src/util/clock.js';
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
  const err = await fetchGatewayBot({ token: TOKEN, api, maxAttempts: 1 }).catch((e: unknown) => e);
  assert.ok(err instanceof RestError);
  assert.equal(err.code, 'REST_UNAUTHORIZED');
  assert.equal(err.status, 401);
  assert.ok(!inspect(err).includes(TOKEN));
});

test('other statuses are REST_HTTP_ERROR with a redacted excerpt of the body', async (t) => {
  const { api } = await server(t, () => ({ status: 500, body: `oops ${TOKEN}` }));
  const err = await fetchGatewayBot({ token: TOKEN, api, maxAttempts: 1 }).catch((e: unknown) => e);
  assert.ok(err instanceof RestError);
  assert.equal(err.code, 'REST_HTTP_ERROR');
  assert.match(err.message, /HTTP 500: oops \[redacted\]/);
  assert.ok(!JSON.stringify({ m: err.message, s: err.stack }).includes(TOKEN));
});

test('an unreachable API is REST_NETWORK_ERROR', async () => {
  await assert.rejects(
    fetchGatewayBot({ token: TOKEN, api: 'http://127.0.0.1:1/api', timeoutMs: 5000, maxAttempts: 1 }),
    {
      code: 'REST_NETWORK_ERROR',
    },
  );
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
    const err = await fetchGatewayBot({ token: TOKEN, api, maxAttempts: 1 }).catch((e: unknown) => e);
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

/** Runs every timer at once and records the delays asked for: retries without waiting, delays asserted. */
class RecordingClock implements Clock {
  readonly delays: number[] = [];
  #id = 0;
  now(): number {
    return 0;
  }
  setTimeout(fn: () => void, ms: number): TimerHandle {
    this.delays.push(ms);
    setImmediate(fn);
    return { id: ++this.#id };
  }
  clearTimeout(): void {}
  random(): number {
    return 0.5;
  }
}

type Answer = { status: number; body: string; headers?: Record<string, string> } | 'hang' | 'reset';

/** A server that answers request i with `answers[i]` (the last one repeats). */
async function scripted(
  t: { after(fn: () => Promise<void>): void },
  answers: readonly Answer[],
): Promise<{ api: string; count: () => number }> {
  let n = 0;
  const srv = createServer((req, res) => {
    const answer = answers[Math.min(n++, answers.length - 1)]!;
    if (answer === 'hang') {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.write('{"url":');
      return; // never ends
    }
    if (answer === 'reset') {
      req.socket.destroy();
      return;
    }
    res.writeHead(answer.status, { 'content-type': 'application/json', ...answer.headers }).end(answer.body);
  });
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  t.after(
    () =>
      new Promise<void>((r) => {
        srv.closeAllConnections();
        srv.close(() => r());
      }),
  );
  return { api: `http://127.0.0.1:${(srv.address() as AddressInfo).port}/api`, count: () => n };
}

const OK: Answer = { status: 200, body: JSON.stringify(GOOD) };

test('a 429 is waited out for retry_after (body, then headers) and the next answer is used', async (t) => {
  const { api, count } = await scripted(t, [
    { status: 429, body: '{"message":"You are being rate limited.","retry_after":1.5,"global":true}' },
    { status: 429, body: 'not json', headers: { 'Retry-After': '2' } },
    { status: 429, body: '{}', headers: { 'X-RateLimit-Reset-After': '0.25' } },
    OK,
  ]);
  const clock = new RecordingClock();
  const info = await fetchGatewayBot({ token: TOKEN, api, clock });
  assert.equal(info.shards, 9);
  assert.equal(count(), 4);
  assert.deepEqual(clock.delays, [1500, 2000, 250]);
});

test('a 429 asking for longer than maxRetryAfterMs is REST_RATE_LIMITED at once', async (t) => {
  const { api, count } = await scripted(t, [{ status: 429, body: '{"retry_after":3600,"global":false}' }]);
  const err = await fetchGatewayBot({ token: TOKEN, api, clock: new RecordingClock() }).catch((e) => e);
  assert.ok(err instanceof RestError);
  assert.equal(err.code, 'REST_RATE_LIMITED');
  assert.equal(err.status, 429);
  assert.equal(err.attempts, 1);
  assert.equal(count(), 1);
});

test('hostile retry_after values fall back to backoff; 429 forever ends as REST_RATE_LIMITED', async (t) => {
  const { api, count } = await scripted(t, [
    { status: 429, body: '{"retry_after":-5}' },
    { status: 429, body: '{"retry_after":"NaN"}', headers: { 'Retry-After': 'soon' } },
    { status: 429, body: '{"retry_after":1e308}', headers: { 'X-RateLimit-Global': 'true' } },
  ]);
  const clock = new RecordingClock();
  const err = await fetchGatewayBot({ token: TOKEN, api, clock, maxAttempts: 3 }).catch((e) => e);
  assert.ok(err instanceof RestError);
  assert.equal(err.code, 'REST_RATE_LIMITED');
  assert.equal(err.attempts, 3);
  assert.equal(count(), 3);
  assert.match(err.message, /global rate limit.*gave up after 3 attempts/);
  // backoff (250 ms base, jitter at 0.5) instead of -5 s, NaN or 1e308 s
  assert.deepEqual(clock.delays, [188, 375]);
});

test('5xx answers are retried with backoff; a 502 every time ends as REST_HTTP_ERROR with the attempts', async (t) => {
  const flaky = await scripted(t, [{ status: 502, body: 'bad gateway' }, { status: 503, body: '' }, OK]);
  const clock = new RecordingClock();
  assert.equal((await fetchGatewayBot({ token: TOKEN, api: flaky.api, clock })).shards, 9);
  assert.deepEqual(clock.delays, [188, 375]);

  const down = await scripted(t, [{ status: 502, body: `upstream said ${TOKEN}` }]);
  const err = await fetchGatewayBot({ token: TOKEN, api: down.api, clock: new RecordingClock() }).catch(
    (e) => e,
  );
  assert.ok(err instanceof RestError);
  assert.equal(err.code, 'REST_HTTP_ERROR');
  assert.equal(err.status, 502);
  assert.equal(err.attempts, 4);
  assert.equal(down.count(), 4);
  assert.match(err.message, /HTTP 502: upstream said \[redacted\] \(gave up after 4 attempts\)/);
  for (const text of [err.message, err.stack ?? '', inspect(err, { showHidden: true })])
    assert.equal(
      PIECES.find((p) => text.includes(p)),
      undefined,
    );
});

test('4xx other than 429 and 200 with garbage are final at once', async (t) => {
  const forbidden = await scripted(t, [{ status: 403, body: '{"message":"Missing Access"}' }]);
  const err = await fetchGatewayBot({ token: TOKEN, api: forbidden.api, clock: new RecordingClock() }).catch(
    (e) => e,
  );
  assert.equal(err.code, 'REST_HTTP_ERROR');
  assert.equal(err.attempts, 1);
  assert.equal(forbidden.count(), 1);

  const garbage = await scripted(t, [{ status: 200, body: '\u0000\u00ff{{{' }]);
  await assert.rejects(fetchGatewayBot({ token: TOKEN, api: garbage.api, clock: new RecordingClock() }), {
    code: 'REST_BAD_RESPONSE',
    attempts: 1,
  });
  assert.equal(garbage.count(), 1);
});

test('a huge body is read only up to maxBodyBytes', async (t) => {
  const huge = JSON.stringify({ ...GOOD, padding: 'x'.repeat(4 * 1024 * 1024) });
  const { api } = await scripted(t, [{ status: 200, body: huge }]);
  await assert.rejects(fetchGatewayBot({ token: TOKEN, api, clock: new RecordingClock() }), {
    code: 'REST_BAD_RESPONSE',
    message: /longer than 65536 bytes/,
  });
  const errorBody = await scripted(t, [{ status: 500, body: 'e'.repeat(4 * 1024 * 1024) }]);
  const err = await fetchGatewayBot({
    token: TOKEN,
    api: errorBody.api,
    clock: new RecordingClock(),
    maxAttempts: 1,
  }).catch((e) => e);
  assert.equal(err.code, 'REST_HTTP_ERROR');
  assert.ok(err.message.length < 400, err.message.length);
});

test('a hanging response times out, is retried, and ends as REST_TIMEOUT; resets are network errors', async (t) => {
  const hang = await scripted(t, ['hang']);
  const err = await fetchGatewayBot({
    token: TOKEN,
    api: hang.api,
    clock: new RecordingClock(),
    timeoutMs: 200,
    maxAttempts: 2,
  }).catch((e) => e);
  assert.ok(err instanceof RestError, String(err));
  assert.equal(err.code, 'REST_TIMEOUT');
  assert.equal(err.attempts, 2);
  assert.equal(hang.count(), 2);

  const reset = await scripted(t, ['reset', 'reset', OK]);
  assert.equal(
    (await fetchGatewayBot({ token: TOKEN, api: reset.api, clock: new RecordingClock() })).shards,
    9,
  );
  assert.equal(reset.count(), 3);
});

test('an abort while waiting to retry ends the call at once', async (t) => {
  const { api } = await scripted(t, [{ status: 503, body: '' }]);
  const stop = new AbortController();
  const clock: Clock = {
    now: () => 0,
    setTimeout: () => {
      stop.abort();
      return { id: 1 };
    },
    clearTimeout: () => undefined,
    random: () => 0,
  };
  await assert.rejects(fetchGatewayBot({ token: TOKEN, api, clock, signal: stop.signal }), {
    code: 'REST_NETWORK_ERROR',
  });
});
