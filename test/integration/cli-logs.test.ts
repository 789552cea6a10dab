import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { test } from 'node:test';
import { startHostileGateway } from '../support/hostile-gateway.js';
import { logRecord } from '../support/log-lines.js';
import { CLI } from '../support/worker-process.js';

const TOKEN = 'MTk4NjIyNDgzNDcxOTI1MjQ4.Cl2FMQ.ZnCjm1XVW7vRze4b7Cq4se7kKWs';
const PIECES = Array.from({ length: TOKEN.length - 7 }, (_, i) => TOKEN.slice(i, i + 8));

/** A REST base whose /gateway/bot answers `status` with `body`. */
async function restServer(
  t: { after(fn: () => Promise<void>): void },
  answer: () => { status: number; body: string },
): Promise<string> {
  const srv = createServer((_req, res) => {
    const { status, body } = answer();
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
  return `http://127.0.0.1:${(srv.address() as AddressInfo).port}/api`;
}

/** Runs `connect` with stdout a pipe; `stopWhen` sends SIGINT once a line matches. */
function connect(
  api: string,
  stopWhen?: RegExp,
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(
      process.execPath,
      [
        CLI,
        'connect',
        '--api',
        api,
        '--shard-count',
        '1',
        '--encoding',
        'json',
        '--compression',
        'none',
        '--duration',
        '60',
      ],
      {
        stdio: ['ignore', 'pipe', 'pipe'],
        env: { PATH: process.env.PATH, DISCORD_TOKEN: TOKEN },
      },
    );
    let stdout = '';
    let stderr = '';
    let stopped = false;
    const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
    child.stdout.on('data', (c: Buffer) => {
      stdout += c.toString();
      if (!stopped && stopWhen?.test(stdout)) {
        stopped = true;
        child.kill('SIGINT');
      }
    });
    child.stderr.on('data', (c: Buffer) => {
      stderr += c.toString();
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

function assertNoTokenPiece(text: string): void {
  const piece = PIECES.find((p) => text.includes(p));
  assert.equal(piece, undefined, `a piece of the token was logged: ${text}`);
}

test('connect logs JSON records with the shard id, and a token echoed in a close reason never reaches them', async (t) => {
  const gateway = await startHostileGateway(t, async (conn) => {
    conn.hello();
    await conn.next(2);
    // a hostile gateway echoes the token back in its close reason (123 bytes at most)
    conn.close(4000, `unknown error for ${TOKEN}`);
  });
  const api = await restServer(t, () => ({
    status: 200,
    body: JSON.stringify({
      url: gateway.url,
      shards: 1,
      session_start_limit: { total: 1000, remaining: 1000, reset_after: 0, max_concurrency: 1 },
    }),
  }));
  const run = await connect(api, /connection closed 4000/);
  assert.equal(run.code, 0, run.stderr);
  const records = run.stdout
    .trim()
    .split('\n')
    .map((line) => {
      const r = logRecord(line);
      assert.ok(r, `not a JSON log record: ${line}`);
      return r;
    });
  const closed = records.find((r) => /connection closed 4000/.test(r.msg));
  assert.ok(closed, run.stdout);
  assert.equal(closed.shardId, 0);
  assert.equal(closed.closeCode, 4000);
  assert.equal(closed.reason, 'unknown error for [redacted]');
  assert.ok(records.some((r) => r.shardId === 0 && r.msg === 'shard 0: connecting -> awaiting-hello'));
  assertNoTokenPiece(run.stdout + run.stderr);
});

test('a REST error body echoing the token fails connect with a clean reason and log record', async (t) => {
  const api = await restServer(t, () => ({ status: 403, body: `{"message":"Missing Access for ${TOKEN}"}` }));
  const run = await connect(api);
  assert.equal(run.code, 1);
  assert.match(
    run.stderr,
    /^shardline connect: GET \/gateway\/bot: HTTP 403: .*Missing Access for \[redacted\]/,
  );
  const fatal = run.stdout
    .trim()
    .split('\n')
    .map((l) => logRecord(l))
    .find((r) => r?.level === 60);
  assert.ok(fatal, run.stdout);
  assert.match(fatal.msg, /HTTP 403/);
  assertNoTokenPiece(run.stdout + run.stderr);
});
