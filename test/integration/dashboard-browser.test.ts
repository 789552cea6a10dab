import assert from 'node:assert/strict';
import { request } from 'node:http';
import { Writable } from 'node:stream';
import { test } from 'node:test';
import { runDemo } from '../../src/cli/commands/demo.js';
import { artifactPath, launchChromium } from '../support/browser.js';
import { waitFor } from '../support/wait.js';

/** The little of the DOM the page functions below use (the tests compile without the DOM's types). */
declare const document: {
  querySelector(selector: string): { textContent: string | null } | null;
  querySelectorAll(selector: string): Iterable<{ textContent: string | null }>;
};

/** A stdout that keeps its text. */
function sink() {
  const chunks: string[] = [];
  const stream = new Writable({
    write(chunk, _enc, done) {
      chunks.push(String(chunk));
      done();
    },
  });
  return { stream, text: () => chunks.join('') };
}

/** A raw HTTP request, so that the Host header can be anything (fetch refuses to set it). */
function raw(
  url: string,
  options: { method?: string; headers?: Record<string, string>; body?: string },
): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method: options.method ?? 'GET', headers: options.headers }, (res) => {
      let body = '';
      res.on('data', (c) => {
        body += String(c);
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    req.end(options.body);
  });
}

/** The demo with its dashboard, run in this process until the test ends it. */
async function demoWithDashboard(
  t: import('node:test').TestContext,
): Promise<{ url: string; out: () => string }> {
  const out = sink();
  const stop = new AbortController();
  const run = runDemo(
    [
      '--shard-count',
      '2',
      '--guilds',
      '30',
      '--events-per-second',
      '100',
      '--heartbeat-interval',
      '1000',
      '--duration',
      '120',
      '--dashboard-port',
      '0',
    ],
    { stdout: out.stream, stderr: out.stream, env: {}, signal: stop.signal },
  );
  t.after(async () => {
    stop.abort();
    await run;
  });
  let url = '';
  await waitFor(
    () => {
      url = /dashboard on (http:\S+)/.exec(out.text())?.[1] ?? '';
      return url !== '';
    },
    { what: 'the dashboard URL', timeoutMs: 30_000, everyMs: 20 },
  );
  return { url, out: out.text };
}

test('the demo dashboard in Chromium: the table fills, numbers move, a button fault shows as a resume', async (t) => {
  const context = await launchChromium(t);
  if ('skip' in context) {
    t.skip(context.skip);
    return;
  }
  const { url, out } = await demoWithDashboard(t);
  const page = await context.newPage();
  const errors: string[] = [];
  page.on('pageerror', (err) => errors.push(err.message));
  page.on('console', (m) => {
    if (m.type() === 'error') errors.push(m.text());
  });
  await page.goto(url);
  const cell = (shard: number, col: string) => page.locator(`#shards tr[data-shard="${shard}"] td.${col}`);

  // The table fills: both shards READY.
  await page.waitForFunction(
    () =>
      [...document.querySelectorAll('#shards tbody tr td.state')].filter((td) => td.textContent === 'ready')
        .length === 2,
    undefined,
    { timeout: 60_000 },
  );
  // Numbers move: the sequence of shard 0 grows under the simulator's event stream.
  const seqBefore = Number(await cell(0, 'seq').textContent());
  await page.waitForFunction(
    (before) => Number(document.querySelector('#shards tr[data-shard="0"] td.seq')?.textContent) > before,
    seqBefore,
    { timeout: 30_000 },
  );
  assert.equal(await cell(0, 'resumes').textContent(), '0');

  // A button's fault (op 7 into shard 0) shows as a resume of shard 0, and its close.
  await page.selectOption('#fault-shard', '0');
  await page.click('button[data-fault="reconnect"]');
  await page.waitForFunction(
    () => Number(document.querySelector('#shards tr[data-shard="0"] td.resumes')?.textContent) >= 1,
    undefined,
    { timeout: 30_000 },
  );
  assert.match((await cell(0, 'close').textContent()) ?? '', /→ resume/);
  assert.match((await page.textContent('#fault-result')) ?? '', /injected op 7 into shard 0/);
  // The chart has drawn a line; the budget is known.
  await page.waitForFunction(() => document.querySelector('#chart-eps path') !== null, undefined, {
    timeout: 30_000,
  });
  assert.match((await page.textContent('#budget')) ?? '', /^\d+ \/ \d+$/);

  const shot = artifactPath('dashboard-demo.png');
  await page.screenshot({ path: shot, fullPage: true });
  t.diagnostic(`screenshot: ${shot}`);
  assert.deepEqual(errors, [], 'no script errors in the page');
  assert.match(out(), /fault: reconnect -> shard 0/);
});

test('the dashboard refuses foreign hosts, cross-site and token-less fault requests, and bounds its streams', async (t) => {
  const { url } = await demoWithDashboard(t);
  const { host } = new URL(url);
  // DNS rebinding: the page must not be served under a foreign name (it holds the token).
  const rebound = await raw(url, { headers: { host: `evil.example:${new URL(url).port}` } });
  assert.equal(rebound.status, 403, rebound.body);
  const page = await raw(url, {});
  assert.equal(page.status, 200);
  const token = /name="shardline-token" content="([0-9a-f]+)"/.exec(page.body)?.[1];
  assert.ok(token, page.body);
  const body = JSON.stringify({ kind: 'reconnect', shard: 0 });
  const post = (headers: Record<string, string>) =>
    raw(`${url}api/fault`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...headers },
      body,
    });
  assert.equal((await post({})).status, 403, 'no token');
  assert.equal((await post({ 'x-shardline-token': 'ab'.repeat(24) })).status, 403, 'wrong token');
  assert.equal(
    (await post({ 'x-shardline-token': token, origin: 'http://evil.example' })).status,
    403,
    'foreign origin',
  );
  assert.equal(
    (await post({ 'x-shardline-token': token, 'sec-fetch-site': 'cross-site' })).status,
    403,
    'cross-site fetch',
  );
  const bad = await raw(`${url}api/fault`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-shardline-token': token, origin: `http://${host}` },
    body: JSON.stringify({ kind: 'rm -rf', shard: 0 }),
  });
  assert.equal(bad.status, 400, bad.body);
  const big = await raw(`${url}api/fault`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-shardline-token': token },
    body: 'x'.repeat(4096),
  });
  assert.equal(big.status, 413, big.body);
  const ok = await post({ 'x-shardline-token': token, origin: `http://${host}` });
  assert.equal(ok.status, 200, ok.body);

  // At most 8 event streams; the ninth is refused, the others keep being served.
  const streams: import('node:http').ClientRequest[] = [];
  t.after(() => {
    for (const s of streams) s.destroy();
  });
  const statuses: number[] = [];
  for (let i = 0; i < 9; i++) {
    statuses.push(
      await new Promise<number>((resolve, reject) => {
        const req = request(`${url}events`, (res) => {
          res.on('data', () => {});
          resolve(res.statusCode ?? 0);
        });
        req.on('error', reject);
        req.end();
        streams.push(req);
      }),
    );
  }
  assert.deepEqual(statuses, [200, 200, 200, 200, 200, 200, 200, 200, 503]);
});
