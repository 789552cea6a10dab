/**
 * The real `Shard` over real sockets against a hostile gateway (test/support/hostile-gateway.ts): values
 * that would crash a timer, reconnect storms, resume URLs of other schemes and the token echoed back in
 * close reasons and bad payloads. The process must survive each, and nothing may print the token.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type TestContext, test } from 'node:test';
import { inspect } from 'node:util';
import { WebSocketServer } from 'ws';
import type { ShardlineError } from '../../src/errors.js';
import { MemoryIdentifyQueue } from '../../src/shard/identify-queue.js';
import type { ShardOptions } from '../../src/shard/options.js';
import { Shard } from '../../src/shard/shard.js';
import { EtfBignum, type HostileConnection, startHostileGateway } from '../support/hostile-gateway.js';
import { Recorder, waitFor } from '../support/shard-harness.js';

const TOKEN = 'MTA5ODc2NTQzMjEwOTg3NjU0.GhIjKl.hostile-gateway-token-value';
const SESSION = 'hostile-session-1';

function createShard(t: TestContext, url: string, extra: Partial<ShardOptions> = {}): Recorder {
  const shard = new Shard({
    token: TOKEN,
    intents: 513,
    gatewayUrl: url,
    compression: 'none',
    encoding: 'json',
    identifyQueue: new MemoryIdentifyQueue({ windowMs: 1 }),
    reconnectBackoff: { baseMs: 20, maxMs: 200 },
    // The hostile scripts below use short heartbeat intervals so that a timer fires within the test.
    minHeartbeatIntervalMs: 10,
    ...extra,
  } as ShardOptions);
  t.after(() => shard.destroy());
  return new Recorder(shard);
}

/** READY for an identify, RESUMED for a resume; `afterReady` runs after either. */
async function serveSession(
  conn: HostileConnection,
  resumeUrl: string,
  afterReady: (conn: HostileConnection, resumed: boolean) => void = () => {},
): Promise<void> {
  const first = await Promise.race([conn.next(2), conn.next(6)]);
  if (first.op === 2) {
    conn.send({ op: 0, t: 'READY', s: 1, d: { v: 10, session_id: SESSION, resume_gateway_url: resumeUrl } });
    afterReady(conn, false);
  } else {
    conn.send({ op: 0, t: 'RESUMED', s: null, d: {} });
    afterReady(conn, true);
  }
}

/** Every 8-character piece of the token, for leak checks. */
const PIECES = Array.from({ length: TOKEN.length - 7 }, (_, i) => TOKEN.slice(i, i + 8));

function assertNoToken(what: string, value: unknown): void {
  const texts: string[] = [inspect(value, { depth: 10, showHidden: true }), String(value)];
  if (value instanceof Error) {
    texts.push(value.message, value.stack ?? '');
    let cause: unknown = value.cause;
    for (let i = 0; i < 5 && cause instanceof Error; i++, cause = cause.cause) {
      texts.push(cause.message, cause.stack ?? '');
    }
  }
  try {
    texts.push(JSON.stringify(value) ?? '');
  } catch {
    // inspect covers what JSON cannot.
  }
  for (const text of texts) {
    const piece = PIECES.find((p) => text.includes(p));
    assert.equal(piece, undefined, `${what} leaks a piece of the token: ${text}`);
  }
}

for (const [name, bad] of [
  ['a float +Infinity', Number.POSITIVE_INFINITY],
  ['a 300-byte bignum', new EtfBignum(300)],
] as const) {
  test(`ETF: a dispatch whose s is ${name} is a protocol error and a resume from the last valid sequence, not a crash`, async (t) => {
    const gw = await startHostileGateway(t, async (conn) => {
      if (conn.index === 0) {
        conn.hello(20);
        await conn.next(2);
        conn.send({ op: 0, t: 'READY', s: 1, d: { v: 10, session_id: SESSION, resume_gateway_url: gw.url } });
        conn.send({ op: 0, t: 'MESSAGE_CREATE', s: bad, d: { id: '1' } });
        return;
      }
      conn.hello(41_250);
      await serveSession(conn, gw.url);
    });
    const r = createShard(t, gw.url, { encoding: 'etf' });
    await r.shard.connect();
    await waitFor(() => r.resumed === 1, { what: 'the resume after the bad sequence' });
    const violation = r.errors.find((e) => e.code === 'PROTOCOL_VIOLATION');
    assert.ok(violation, `errors: ${r.errors.map((e) => e.code).join(', ')}`);
    assert.equal((violation as ShardlineError & { field?: string }).field, 's');
    const resume = await gw.connections[1]!.next(6);
    assert.equal((resume.d as { seq: number }).seq, 1);
    // Heartbeats on the first connection (every 20 ms) never carried the bad value.
    for (const p of gw.connections[0]!.received.filter((x) => x.op === 1))
      assert.ok(p.d === null || p.d === 1);
    assert.equal(r.shard.sequence, 1);
  });
}

test('JSON: s = 1e999 does not stick the sequence at Infinity; the replayed and later dispatches arrive', async (t) => {
  const gw = await startHostileGateway(t, async (conn) => {
    if (conn.index === 0) {
      conn.hello(41_250);
      await conn.next(2);
      conn.send({ op: 0, t: 'READY', s: 1, d: { v: 10, session_id: SESSION, resume_gateway_url: gw.url } });
      conn.raw('{"op":0,"t":"MESSAGE_CREATE","s":1e999,"d":{"id":"2"}}');
      return;
    }
    conn.hello(41_250);
    const resume = await conn.next(6);
    assert.equal((resume.d as { seq: number }).seq, 1);
    conn.send({ op: 0, t: 'MESSAGE_CREATE', s: 2, d: { id: '2' } });
    conn.send({ op: 0, t: 'RESUMED', s: null, d: {} });
    conn.send({ op: 0, t: 'MESSAGE_CREATE', s: 3, d: { id: '3' } });
  });
  const r = createShard(t, gw.url);
  await r.shard.connect();
  await waitFor(() => r.seqs.includes(3), { what: 'dispatch 3', timeoutMs: 5_000 });
  assert.deepEqual(
    r.seqs.filter((s) => s !== null),
    [1, 2, 3],
  );
  assert.ok(r.errors.some((e) => e.code === 'PROTOCOL_VIOLATION'));
});

test('HELLO with heartbeat_interval 2^31 is refused and reconnects with a growing backoff, not a 1 ms timer', async (t) => {
  const gw = await startHostileGateway(t, (conn) => conn.hello(2 ** 31));
  const r = createShard(t, gw.url, { reconnectBackoff: { baseMs: 50, maxMs: 10_000, jitter: 0 } });
  void r.shard.connect().catch(() => {});
  await waitFor(() => gw.connections.length >= 4, { what: 'four connections', timeoutMs: 5_000 });
  const delays = r.debug
    .map((m) => /reconnecting to \w+ in (\d+) ms/.exec(m)?.[1])
    .filter((d): d is string => d !== undefined)
    .map(Number);
  assert.deepEqual(delays.slice(0, 3), [50, 100, 200]);
  assert.ok(r.errors.every((e) => e.code === 'PROTOCOL_VIOLATION'));
  // No heartbeat was ever sent on a connection with the bad interval.
  assert.equal(gw.connections.flatMap((c) => c.received).filter((p) => p.op === 1).length, 0);
});

test('op 7 right after every RESUMED: each reconnect waits longer (a storm without it)', async (t) => {
  const gw = await startHostileGateway(t, async (conn) => {
    conn.hello(41_250);
    await serveSession(conn, gw.url, (c) => c.send({ op: 7 }));
  });
  const r = createShard(t, gw.url, { reconnectBackoff: { baseMs: 50, maxMs: 10_000, jitter: 0 } });
  await r.shard.connect();
  await waitFor(() => gw.connections.length >= 6, { what: 'six connections', timeoutMs: 10_000 });
  const delays = r.debug
    .map((m) => /reconnecting to resume in (\d+) ms/.exec(m)?.[1])
    .filter((d): d is string => d !== undefined)
    .map(Number);
  // The first op 7 follows a fresh READY (attempt 0): immediate. Every later one comes at once after
  // RESUMED, so the connection never became stable and the backoff grows.
  assert.deepEqual(delays.slice(0, 5), [0, 100, 200, 400, 800]);
});

test('a ws+unix: resume_gateway_url is not followed: the shard resumes on the gateway URL and the socket gets nothing', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'shardline-hostile-'));
  const socketPath = join(dir, 'gw.sock');
  const http = createServer();
  const unix = new WebSocketServer({ server: http });
  let unixConnections = 0;
  unix.on('connection', (ws) => {
    unixConnections++;
    ws.close(4000);
  });
  await new Promise<void>((resolve) => http.listen(socketPath, resolve));
  t.after(async () => {
    unix.close();
    await new Promise((resolve) => http.close(resolve));
    rmSync(dir, { recursive: true, force: true });
  });
  const resumeUrl = `ws+unix://${socketPath}:/`;
  const gw = await startHostileGateway(t, async (conn) => {
    conn.hello(41_250);
    await serveSession(conn, resumeUrl, (c, resumed) => {
      if (!resumed) c.send({ op: 7 });
    });
  });
  const r = createShard(t, gw.url);
  await r.shard.connect();
  await waitFor(() => r.resumed === 1, { what: 'the resume', timeoutMs: 5_000 });
  assert.equal(unixConnections, 0);
  const resume = await gw.connections[1]!.next(6);
  assert.equal((resume.d as { session_id: string }).session_id, SESSION);
  const violation = r.errors.find((e) => e.code === 'PROTOCOL_VIOLATION');
  assert.equal(
    (violation as (ShardlineError & { field?: string }) | undefined)?.field,
    'd.resume_gateway_url',
  );
});

test('a fatal close whose reason echoes the token: neither the rejection nor any event shows the token', async (t) => {
  const gw = await startHostileGateway(t, async (conn) => {
    conn.hello(41_250);
    await conn.next(2);
    conn.close(4004, `Authentication failed: ${TOKEN}`);
  });
  const r = createShard(t, gw.url);
  const reasons: string[] = [];
  r.shard.on('close', (c) => reasons.push(c.reason));
  const rejection = await r.shard.connect().then(
    () => null,
    (e: unknown) => e,
  );
  assert.ok(rejection instanceof Error);
  assert.equal((rejection as ShardlineError).code, 'GATEWAY_CLOSED');
  assert.match(rejection.message, /\[redacted\]/);
  assertNoToken('the connect() rejection', rejection);
  for (const e of r.errors) assertNoToken(`error ${e.code}`, e);
  for (const reason of reasons) assertNoToken('a close reason', reason);
  for (const line of r.debug) assertNoToken('a debug line', line);
});

test('token pieces in a resumable close reason and in an undecodable payload never reach an event', async (t) => {
  const gw = await startHostileGateway(t, async (conn) => {
    conn.hello(41_250);
    if (conn.index === 0) {
      await conn.next(2);
      conn.send({ op: 0, t: 'READY', s: 1, d: { v: 10, session_id: SESSION, resume_gateway_url: gw.url } });
      // JSON.parse puts an excerpt of the bad text in its message.
      conn.raw(`{"op":0,"t":"X","s":2,"d":"${TOKEN}"x}`);
      return;
    }
    if (conn.index === 1) {
      await conn.next(6);
      // A reason with a piece of the token, cut in the middle.
      conn.close(4000, `oops ${TOKEN.slice(3, 40)}`);
      return;
    }
    await serveSession(conn, gw.url);
  });
  const r = createShard(t, gw.url);
  const reasons: string[] = [];
  r.shard.on('close', (c) => reasons.push(c.reason));
  await r.shard.connect();
  await waitFor(() => r.resumed === 1, { what: 'the resume on the third connection', timeoutMs: 5_000 });
  assert.ok(r.errors.length >= 1);
  for (const e of r.errors) assertNoToken(`error ${e.code}`, e);
  assert.ok(
    reasons.some((x) => x.startsWith('oops [redacted]')),
    reasons.join(' | '),
  );
  for (const reason of reasons) assertNoToken('a close reason', reason);
  for (const line of r.debug) assertNoToken('a debug line', line);
});
