import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { startSimulator } from '../../src/simulator/index.js';
import { logMessage, logMessages } from '../support/log-lines.js';

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
      if (onLine)
        for (const line of stdout.slice(before).split('\n')) if (line) onLine(logMessage(line), child);
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
    '--shard-count',
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
  const run = await cli(['demo', '--shard-count', 'many']);
  assert.equal(run.code, 2);
  assert.match(
    run.stderr,
    /^shardline demo: --shard-count must be a whole number, got 'many'\nusage: shardline demo/,
  );
  const subset = await cli(['connect', '--shard-ids', '0-1']);
  assert.equal(subset.code, 2);
  assert.match(subset.stderr, /^shardline connect: --shard-ids needs --shard-count N/);
  const outside = await cli(['connect', '--shard-ids', '0-2', '--shard-count', '2']);
  assert.equal(outside.code, 2);
  assert.match(outside.stderr, /--shard-ids: shard 2 does not exist with --shard-count 2/);
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
    ['connect', '--api', sim.restUrl, '--shard-count', '1', '--events', '--duration', '3'],
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
      '--shard-count',
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

test('connect says an empty token variable is empty, not unset', async () => {
  const run = await cli(['connect', '--duration', '1'], 30_000, undefined, { DISCORD_TOKEN: '' });
  assert.equal(run.code, 2);
  assert.match(run.stderr, /^shardline connect: environment variable DISCORD_TOKEN is empty: /);
  const blank = await cli(['connect', '--duration', '1'], 30_000, undefined, { DISCORD_TOKEN: '  ' });
  assert.match(blank.stderr, /DISCORD_TOKEN is empty/);
});

test('a bad flag value names the flag, the value and what is allowed (exit 2)', async () => {
  const run = await cli(['demo', '--duration', '-1']);
  assert.equal(run.code, 2);
  assert.equal(run.stderr.split('\n')[0], 'shardline demo: --duration must be between 1 and 86400, got -1');
});

test('connect restarted inside the identify window says why the gateway refused its identify', async (t) => {
  const sim = await startSimulator({ guilds: 2, identifyWindowMs: 60_000 });
  t.after(() => sim.close());
  const env = { DISCORD_TOKEN: sim.tokens[0]! };
  const args = ['connect', '--api', sim.restUrl, '--shard-count', '1', '--plain'];
  const first = await cli([...args, '--duration', '1'], 60_000, undefined, env);
  assert.equal(first.code, 0, first.stderr);
  // The first run's identify opened the bucket's window; the restart identifies inside it.
  const lines: string[] = [];
  const again = await cli(
    [...args, '--duration', '30'],
    60_000,
    (line, child) => {
      lines.push(line);
      if (/connection closed/.test(line)) child.kill('SIGINT');
    },
    env,
  );
  assert.equal(again.code, 0, again.stderr);
  const closed = lines.find((l) => l.includes('connection closed'));
  assert.match(
    closed ?? logMessages(again.stdout),
    /^shard 0: connection closed 4000 \(reidentify\): the gateway refused the identify \(op 9\): .*identify window/,
  );
});

test('a session file from another gateway is explained once and the shard identifies at once', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'shardline-cli-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const file = join(dir, 'sessions.json');
  const run = async (restUrl: string, token: string) =>
    cli(
      [
        'connect',
        '--api',
        restUrl,
        '--shard-count',
        '1',
        '--session-file',
        file,
        '--duration',
        '2',
        '--plain',
      ],
      60_000,
      undefined,
      { DISCORD_TOKEN: token },
    );
  const old = await startSimulator({ guilds: 2, identifyWindowMs: 100 });
  const first = await run(old.restUrl, old.tokens[0]!);
  assert.equal(first.code, 0, first.stderr);
  assert.match(readFileSync(file, 'utf8'), /"resumeUrl"/);
  await old.close();
  const sim = await startSimulator({ guilds: 2, identifyWindowMs: 100 });
  t.after(() => sim.close());
  const second = await run(sim.restUrl, sim.tokens[0]!);
  assert.equal(second.code, 0, second.stderr);
  const output = logMessages(second.stdout + second.stderr);
  assert.doesNotMatch(output, /SOCKET_ERROR/);
  assert.equal(output.match(/ECONNREFUSED/g)?.length, 1, output);
  const notes = output.split('\n').filter((l) => l.includes('saved session'));
  assert.equal(notes.length, 1, output);
  assert.match(
    notes[0]!,
    /^session file: the saved session of shard 0 points at ws:\/\/127\.0\.0\.1:\d+, which does not answer \(ECONNREFUSED\): .*identifying instead$/,
  );
  assert.match(logMessages(second.stdout), /^shard 0: identifying -> ready$/m);
  assert.equal(sim.stats().identifies, 1);
});
