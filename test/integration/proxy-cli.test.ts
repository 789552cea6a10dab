import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { dirname, join, resolve } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { startSimulator } from '../../src/simulator/index.js';
import { logMessages, logRecord } from '../support/log-lines.js';
import { RawClient } from '../support/raw-client.js';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const MAIN = join(root, 'dist', 'src', 'cli', 'main.js');

function run(args: string[], env: NodeJS.ProcessEnv) {
  const child = spawn(process.execPath, [MAIN, 'proxy', ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { PATH: process.env.PATH, ...env },
  });
  let stdout = '';
  let stderr = '';
  const lines: ((line: string) => void)[] = [];
  child.stdout.on('data', (chunk: Buffer) => {
    stdout += chunk.toString();
    for (const l of lines) l(stdout);
  });
  child.stderr.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  const exited = new Promise<number | null>((r) => child.on('close', (code) => r(code)));
  const waitFor = (re: RegExp) =>
    new Promise<RegExpExecArray>((resolvePromise, reject) => {
      const check = (text: string) => {
        const m = re.exec(logMessages(text));
        if (m) resolvePromise(m);
      };
      lines.push(check);
      check(stdout);
      void exited.then(() => reject(new Error(`exited before ${re}: ${stdout} ${stderr}`)));
    });
  return { child, exited, waitFor, output: () => ({ stdout, stderr }) };
}

test('shardline proxy prints where it listens first, serves /gateway/bot and READY, and stops on SIGTERM', async (t) => {
  const sim = await startSimulator({ guilds: 3, shards: 1 });
  t.after(() => sim.close());
  const token = sim.tokens[0]!;
  const p = run(
    [
      '--api',
      sim.restUrl,
      '--port',
      '0',
      '--shard-count',
      '1',
      '--encoding',
      'json',
      '--compression',
      'none',
    ],
    {
      DISCORD_TOKEN: token,
      SHARDLINE_PROXY_TOKEN: 'client-a,client-b',
    },
  );
  t.after(() => p.child.kill('SIGKILL'));
  const [, base] = await p.waitFor(/^proxy listening on (http:\/\/127\.0\.0\.1:\d+)\n/);
  await p.waitFor(/upstream ready: 1 shards/);
  const res = await fetch(`${base}/api/v10/gateway/bot`);
  const body = (await res.json()) as { url: string; shards: number };
  assert.equal(body.shards, 1);
  const client = await RawClient.connect(body.url);
  t.after(() => client.terminate());
  await client.nextOp(10);
  client.identify('client-b', { shard: [0, 1], intents: 1 });
  await client.nextOp(0, 'READY');
  p.child.kill('SIGTERM');
  assert.equal(await p.exited, 0);
  const { stdout, stderr } = p.output();
  assert.ok(!stdout.includes(token) && !stderr.includes(token), 'the token never appears');
  // stdout is a pipe: JSON log records, the first one saying where the proxy listens
  const first = logRecord(stdout.split('\n')[0]!);
  assert.ok(first, stdout);
  assert.equal(first.msg, `proxy listening on ${base}`);
  assert.equal(first.url, base);
  assert.equal(first.level, 30);
  assert.match(first.time, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
});

for (const [args, env, reason] of [
  [['--port', 'abc'], { DISCORD_TOKEN: 'x', SHARDLINE_PROXY_TOKEN: 'y' }, /--port must be a whole number/],
  [
    ['--compression', 'gzip'],
    { DISCORD_TOKEN: 'x', SHARDLINE_PROXY_TOKEN: 'y' },
    /--compression must be one of/,
  ],
  [[], { SHARDLINE_PROXY_TOKEN: 'y' }, /DISCORD_TOKEN is not set/],
  [[], { DISCORD_TOKEN: 'x' }, /SHARDLINE_PROXY_TOKEN is not set/],
  [[], { DISCORD_TOKEN: '', SHARDLINE_PROXY_TOKEN: 'y' }, /DISCORD_TOKEN is empty/],
  [[], { DISCORD_TOKEN: 'x', SHARDLINE_PROXY_TOKEN: ' , ' }, /SHARDLINE_PROXY_TOKEN holds no token/],
  [['--bogus'], { DISCORD_TOKEN: 'x', SHARDLINE_PROXY_TOKEN: 'y' }, /bogus/],
] as const) {
  test(`shardline proxy ${args.join(' ') || `with only ${Object.keys(env).join(', ')}`} exits 2 with a one-line reason`, async () => {
    const p = run([...args], env);
    assert.equal(await p.exited, 2);
    const first = p.output().stderr.split('\n')[0]!;
    assert.match(first, reason);
  });
}

test('shardline proxy --help prints its usage', async () => {
  const p = run(['--help'], {});
  assert.equal(await p.exited, 0);
  assert.match(p.output().stdout, /--client-token-env/);
});
