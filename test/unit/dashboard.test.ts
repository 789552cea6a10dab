import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { test } from 'node:test';
import { parseWorkerArgs } from '../../src/cli/commands/worker.js';
import { describeRedis, parseDashboardFlags } from '../../src/cli/dashboard-flags.js';
import { main } from '../../src/cli/main.js';
import { allowedHosts, checkRequest } from '../../src/dashboard/guard.js';
import { SampleHistory } from '../../src/dashboard/history.js';
import { dashboardHtml } from '../../src/dashboard/page.js';
import { parseGroups } from '../../src/redis/fleet.js';
import { parseLeaseValue } from '../../src/redis/leases.js';

test('the chart history keeps the last N samples, oldest first, and never more', () => {
  const h = new SampleHistory(3);
  assert.deepEqual(h.toArray(), []);
  for (let t = 1; t <= 5; t++) h.push({ t, eventsPerSecond: t, latencyMs: null });
  assert.equal(h.size, 3);
  assert.deepEqual(
    h.toArray().map((s) => s.t),
    [3, 4, 5],
  );
  assert.throws(() => new SampleHistory(0), RangeError);
});

test('requests must name a loopback or bound Host; a POST needs the token and a same origin', () => {
  const allowed = allowedHosts('127.0.0.1', 8080);
  assert.ok(allowed.has('127.0.0.1:8080') && allowed.has('localhost:8080') && allowed.has('[::1]:8080'));
  const token = 'ab12'.repeat(12);
  const base = { host: 'localhost:8080', origin: undefined, secFetchSite: undefined, token: undefined };
  assert.deepEqual(checkRequest({ ...base, method: 'GET' }, allowed, token), { ok: true });
  for (const host of ['evil.example:8080', 'localhost:8081', 'localhost', undefined])
    assert.equal(checkRequest({ ...base, method: 'GET', host }, allowed, token).ok, false, String(host));
  const post = { ...base, method: 'POST', token };
  assert.deepEqual(checkRequest(post, allowed, token), { ok: true });
  assert.deepEqual(
    checkRequest({ ...post, origin: 'http://localhost:8080', secFetchSite: 'same-origin' }, allowed, token),
    {
      ok: true,
    },
  );
  assert.equal(checkRequest({ ...post, token: undefined }, allowed, token).ok, false);
  assert.equal(checkRequest({ ...post, token: `${token}0` }, allowed, token).ok, false);
  assert.equal(checkRequest({ ...post, origin: 'http://evil.example' }, allowed, token).ok, false);
  assert.equal(checkRequest({ ...post, origin: 'null' }, allowed, token).ok, false);
  assert.equal(checkRequest({ ...post, secFetchSite: 'same-site' }, allowed, token).ok, false);
  assert.equal(
    checkRequest({ ...post, method: 'PUT' }, allowed, token).ok,
    true,
    'a PUT is held to the POST rules',
  );
  assert.equal(checkRequest({ ...post, method: 'PUT', token: undefined }, allowed, token).ok, false);
  // A wildcard bind admits the machine's own addresses, still no foreign name.
  const wide = allowedHosts('0.0.0.0', 9000);
  assert.ok(wide.has('127.0.0.1:9000') && !wide.has('evil.example:9000'));
});

test('the page embeds only a hex token', () => {
  assert.match(dashboardHtml('00ff'), /content="00ff"/);
  assert.throws(() => dashboardHtml('"><script>'), TypeError);
});

test('lease values and XINFO GROUPS replies from Redis are parsed defensively', () => {
  assert.deepEqual(parseLeaseValue('worker-1#0f8fad5b-d9cb-469f-a165-70867728950e:42'), {
    owner: 'worker-1',
    token: 42,
  });
  assert.deepEqual(parseLeaseValue('plain:9'), { owner: 'plain', token: 9 });
  assert.deepEqual(parseLeaseValue('no token'), { owner: 'no token', token: null });
  assert.equal(parseLeaseValue('x'.repeat(10_000)).owner.length, 200);
  assert.deepEqual(
    parseGroups([
      ['name', 'bots', 'consumers', 2, 'pending', 5, 'last-delivered-id', '1-0', 'entries-read', 3, 'lag', 7],
      ['name', Buffer.from('old'), 'consumers', 0, 'pending', 0, 'lag', null],
    ]),
    [
      { name: 'bots', consumers: 2, pending: 5, lag: 7 },
      { name: 'old', consumers: 0, pending: 0, lag: null },
    ],
  );
  assert.equal(parseGroups(Array.from({ length: 100 }, (_, i) => ['name', `g${i}`])).length, 32);
  assert.deepEqual(parseGroups([['name', 'g', 'pending', -3, 'lag', 'many']]), [
    { name: 'g', consumers: 0, pending: 0, lag: null },
  ]);
  assert.throws(() => parseGroups('OK'), { code: 'REDIS_BAD_REPLY' });
  assert.throws(() => parseGroups([['consumers', 1]]), { code: 'REDIS_BAD_REPLY' });
});

test('dashboard flags: a port from 0 to 65535, a host only with a port, names a Redis URL without its password', () => {
  assert.equal(parseDashboardFlags({}), undefined);
  assert.deepEqual(parseDashboardFlags({ 'dashboard-port': '0' }), { port: 0, host: '127.0.0.1' });
  assert.deepEqual(parseDashboardFlags({ 'dashboard-port': '8080', 'dashboard-host': '::1' }), {
    port: 8080,
    host: '::1',
  });
  assert.throws(() => parseDashboardFlags({ 'dashboard-port': '65536' }), { code: 'CLI_USAGE' });
  assert.throws(() => parseDashboardFlags({ 'dashboard-port': 'http' }), { code: 'CLI_USAGE' });
  assert.throws(() => parseDashboardFlags({ 'dashboard-host': '127.0.0.1' }), /needs --dashboard-port/);
  assert.throws(() => parseDashboardFlags({ 'dashboard-port': '1', 'dashboard-host': 'a b' }), {
    code: 'CLI_USAGE',
  });
  assert.equal(
    describeRedis('redis://user:hunter2@db.internal:6380/2', 'bot:'),
    'redis db.internal:6380 (prefix bot:)',
  );
  const worker = ['--redis', 'redis://127.0.0.1:6379', '--shard-ids', '0'];
  assert.deepEqual(parseWorkerArgs([...worker, '--dashboard-port', '0'], {}).dashboard, {
    port: 0,
    host: '127.0.0.1',
  });
  assert.throws(() => parseWorkerArgs([...worker, '--dashboard-port', '-1'], {}), { code: 'CLI_USAGE' });
});

test('bad dashboard flags exit 2 with a one-line reason on every command, and never echo a Redis password', async () => {
  const run = async (argv: string[]) => {
    let err = '';
    const code = await main(argv, {
      stdout: new Writable({ write: (_c, _e, done) => done() }),
      stderr: new Writable({
        write(chunk, _e, done) {
          err += String(chunk);
          done();
        },
      }),
      env: { DISCORD_TOKEN: 'x', SHARDLINE_PROXY_TOKEN: 'y' },
      signal: AbortSignal.abort(),
    });
    return { code, err: err.split('\n')[0]! };
  };
  for (const cmd of ['demo', 'connect', 'proxy']) {
    assert.deepEqual(await run([cmd, '--dashboard-port', '99999']), {
      code: 2,
      err: `shardline ${cmd}: --dashboard-port must be between 0 and 65535, got 99999`,
    });
    assert.equal((await run([cmd, '--dashboard-host', '0.0.0.0'])).code, 2);
  }
  assert.match((await run(['dashboard'])).err, /--redis URL is required/);
  const bad = await run(['dashboard', '--redis', 'http://user:hunter2@host']);
  assert.equal(bad.code, 2);
  assert.doesNotMatch(bad.err, /hunter2/);
  assert.equal((await run(['dashboard', '--redis', 'redis://h', '--port', 'x'])).code, 2);
  assert.equal((await run(['dashboard', '--redis', 'redis://h', '--host', 'a/b'])).code, 2);
  assert.equal((await run(['dashboard', '--redis', 'redis://h', '--partitions', '0'])).code, 2);
});
