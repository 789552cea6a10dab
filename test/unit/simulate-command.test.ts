import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseSimulateArgs, runSimulate } from '../../src/cli/commands/simulate.js';

function capture() {
  let out = '';
  let err = '';
  return {
    io: { stdout: { write: (s: string) => (out += s) }, stderr: { write: (s: string) => (err += s) } },
    out: () => out,
    err: () => err,
  };
}

test('simulate parses every documented flag into simulator options', () => {
  assert.deepEqual(
    parseSimulateArgs([
      '--port',
      '0',
      '--host',
      '127.0.0.1',
      '--token',
      'a',
      '--token',
      'b',
      '--guilds',
      '30',
      '--shards',
      '2',
      '--max-concurrency',
      '4',
      '--session-start-total',
      '9',
      '--heartbeat-interval',
      '500',
      '--identify-window',
      '50',
      '--events-per-second',
      '2.5',
      '--seed',
      '7',
      '--privileged-intents',
      'GUILD_MEMBERS,MESSAGE_CONTENT',
    ]),
    {
      port: 0,
      guilds: 30,
      shards: 2,
      maxConcurrency: 4,
      sessionStartTotal: 9,
      heartbeatIntervalMs: 500,
      identifyWindowMs: 50,
      seed: 7,
      host: '127.0.0.1',
      tokens: ['a', 'b'],
      eventsPerSecond: 2.5,
      privilegedIntents: 2 | 32768,
    },
  );
});

for (const [args, reason] of [
  [['--guilds', 'many'], /--guilds expects a non-negative integer/],
  [['--bogus'], /Unknown option '--bogus'/],
  [['--privileged-intents', 'GUILD_EVERYTHING'], /--privileged-intents expects/],
  [['--events-per-second=-1'], /--events-per-second expects/],
  [['--max-concurrency', '0'], /maxConcurrency/],
] as const) {
  test(`simulate ${args.join(' ')} exits with 2 and a one-line reason`, async () => {
    const c = capture();
    assert.equal(await runSimulate(args, c.io), 2);
    const lines = c.err().trim().split('\n');
    assert.match(lines[0]!, reason);
    assert.match(lines[1]!, /^usage: shardline simulate/);
    assert.equal(c.out(), '');
  });
}

test('simulate prints where it listens, then the token, and stops on abort', async () => {
  const c = capture();
  const controller = new AbortController();
  const running = runSimulate(['--guilds', '3', '--seed', '5'], { ...c.io, signal: controller.signal });
  while (!c.out().includes('\n')) await new Promise((r) => setTimeout(r, 5));
  const [first, second] = c.out().split('\n');
  const m = /^simulator listening on (http:\/\/127\.0\.0\.1:\d+)$/.exec(first!);
  assert.ok(m, first);
  while (!c.out().includes('gateway ')) await new Promise((r) => setTimeout(r, 5));
  const token = /^token: (.+)$/.exec(c.out().split('\n')[1]!)?.[1];
  assert.ok(token, second);
  const res = await fetch(`${m[1]}/api/v10/gateway/bot`, { headers: { authorization: `Bot ${token}` } });
  assert.equal(res.status, 200);
  // The printed REST base is what a REST client's `api` option takes: it appends `/v10` + the route itself.
  const rest = / REST base (\S+) /.exec(c.out())?.[1];
  assert.equal(rest, `${m[1]}/api`);
  const viaBase = await fetch(`${rest}/v10/gateway/bot`, { headers: { authorization: `Bot ${token}` } });
  assert.equal(viaBase.status, 200);
  controller.abort();
  assert.equal(await running, 0);
});
