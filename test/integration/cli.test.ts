import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { dirname, join, resolve } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { startSimulator } from '../../src/simulator/index.js';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const MAIN = join(root, 'dist', 'src', 'cli', 'main.js');

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs the CLI as a user would (stdout is a pipe, not a TTY); kills it after `timeoutMs`. */
function cli(
  args: string[],
  timeoutMs = 60_000,
  onLine?: (line: string, child: ReturnType<typeof spawn>) => void,
  env: NodeJS.ProcessEnv = {},
) {
  return new Promise<Run>((resolvePromise) => {
    const child = spawn(process.execPath, [MAIN, ...args], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { PATH: process.env.PATH, ...env },
    });
    let stdout = '';
    let stderr = '';
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.stdout.on('data', (chunk: Buffer) => {
      const before = stdout.length;
      stdout += chunk.toString();
      if (onLine) for (const line of stdout.slice(before).split('\n')) if (line) onLine(line, child);
    });
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      resolvePromise({ code, stdout, stderr });
    });
  });
}

test('demo --duration runs shards on the embedded simulator and prints a clean summary', async () => {
  const run = await cli([
    'demo',
    '--duration',
    '4',
    '--shards',
    '2',
    '--guilds',
    '30',
    '--events-per-second',
    '50',
  ]);
  assert.equal(run.code, 0, run.stderr);
  const summary = run.stdout.split('\n').find((l) => l.startsWith('summary:'));
  assert.ok(summary, run.stdout);
  assert.match(summary, /^summary: 2\/2 shards ready · \d+ dispatches delivered/);
  assert.match(summary, / 0 rule violations /);
  const sessions = /(\d+)\/(\d+) sessions delivered every sequenced dispatch exactly once/.exec(summary);
  assert.ok(sessions && sessions[1] === sessions[2] && Number(sessions[2]) >= 2, summary);
  // Not a terminal: plain lines, no screen redraws.
  assert.ok(!run.stdout.includes('\x1b['));
  assert.match(run.stdout, /^status up=\d+s ready=\d\/2 /m);
});

test('bad flags exit 2 with a one-line reason and the usage', async () => {
  const run = await cli(['demo', '--shards', 'many']);
  assert.equal(run.code, 2);
  assert.match(
    run.stderr,
    /^shardline demo: --shards must be a whole number, got 'many'\nusage: shardline demo/,
  );
  const unknown = await cli(['frobnicate']);
  assert.equal(unknown.code, 2);
  assert.match(unknown.stderr, /unknown command 'frobnicate'/);
  const help = await cli(['demo', '--help']);
  assert.equal(help.code, 0);
  assert.match(help.stdout, /^usage: shardline demo/);
});

test('simulate prints its URL first, then the token, and stops on SIGINT', async () => {
  const lines: string[] = [];
  const run = await cli(['simulate', '--guilds', '3'], 30_000, (line, child) => {
    lines.push(line);
    if (lines.length === 2) child.kill('SIGINT');
  });
  assert.equal(run.code, 0, run.stderr);
  assert.match(lines[0]!, /^simulator listening on http:\/\/127\.0\.0\.1:\d+$/);
  assert.match(lines[1]!, /^token: \S+$/);
});

test('connect --api runs a bot against the simulator, prints NDJSON events and never the token', async (t) => {
  const sim = await startSimulator({ guilds: 6, identifyWindowMs: 100, heartbeatIntervalMs: 1_000 });
  t.after(() => sim.close());
  const token = sim.tokens[0]!;
  const run = await cli(
    ['connect', '--api', sim.restUrl, '--shards', '1', '--events', '--duration', '3'],
    60_000,
    undefined,
    { BOT_TOKEN: token },
  );
  // --token-env names another variable; DISCORD_TOKEN is absent here.
  assert.equal(run.code, 2);
  assert.match(run.stderr, /environment variable DISCORD_TOKEN is not set/);
  const ok = await cli(
    [
      'connect',
      '--token-env',
      'BOT_TOKEN',
      '--api',
      sim.restUrl,
      '--shards',
      '1',
      '--events',
      '--duration',
      '3',
    ],
    60_000,
    undefined,
    { BOT_TOKEN: token },
  );
  assert.equal(ok.code, 0, ok.stderr);
  const events = ok.stdout
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as { shard: number; s: number; t: string });
  assert.equal(events[0]?.t, 'READY');
  assert.equal(events.filter((e) => e.t === 'GUILD_CREATE').length, 6);
  assert.deepEqual(
    events.map((e) => e.s),
    events.map((_, i) => i + 1),
  );
  assert.ok(!ok.stdout.includes(token) && !ok.stderr.includes(token));
  assert.equal(sim.stats().identifies, 1);
});

test('connect explains a rejected token and an unreachable API, without echoing the token', async (t) => {
  const sim = await startSimulator({ guilds: 1 });
  t.after(() => sim.close());
  const bad = 'not-the-token.at.all';
  const run = await cli(['connect', '--api', sim.restUrl, '--duration', '5'], 60_000, undefined, {
    DISCORD_TOKEN: bad,
  });
  assert.equal(run.code, 1);
  assert.match(run.stderr, /the token was rejected .*\(401\)/);
  assert.ok(!run.stderr.includes(bad) && !run.stdout.includes(bad));
  const down = await cli(
    ['connect', '--api', 'http://127.0.0.1:9/api', '--duration', '5'],
    60_000,
    undefined,
    {
      DISCORD_TOKEN: bad,
    },
  );
  assert.equal(down.code, 1);
  assert.match(down.stderr, /cannot reach http:\/\/127\.0\.0\.1:9\/api/);
});

test('a reader that closes the pipe early ends a command cleanly instead of an EPIPE crash', async () => {
  for (const args of [['--help'], ['simulate', '--port', '0']]) {
    const result = await new Promise<Run>((resolvePromise) => {
      const child = spawn(process.execPath, [MAIN, ...args], {
        stdio: ['ignore', 'pipe', 'pipe'],
        env: { PATH: process.env.PATH },
      });
      // Closed before the child can write its first line, as `… | head -0` would.
      child.stdout.destroy();
      let stderr = '';
      const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
      child.stderr.on('data', (chunk: Buffer) => {
        stderr += chunk.toString();
      });
      child.on('close', (code) => {
        clearTimeout(timer);
        resolvePromise({ code, stdout: '', stderr });
      });
    });
    assert.equal(result.code, 0, `${args.join(' ')}: ${result.stderr}`);
    assert.doesNotMatch(result.stderr, /EPIPE|Unhandled/, args.join(' '));
  }
});
