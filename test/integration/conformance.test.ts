import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { main } from '../../src/cli/main.js';
import type { CheckResult } from '../../src/conformance/scenario.js';

// Runs from dist/test/integration.
const dist = fileURLToPath(new URL('../..', import.meta.url));

/** Runs `shardline conformance --json …` in this process; returns the exit code and the parsed results. */
async function conformance(
  argv: string[],
): Promise<{ code: number; results: CheckResult[]; stderr: string }> {
  let out = '';
  let err = '';
  const code = await main(['conformance', '--json', ...argv], {
    stdout: {
      write: (s: string) => {
        out += s;
        return true;
      },
    } as unknown as NodeJS.WritableStream,
    stderr: {
      write: (s: string) => {
        err += s;
        return true;
      },
    } as unknown as NodeJS.WritableStream,
    env: { PATH: process.env.PATH },
    signal: new AbortController().signal,
  });
  const last = out.trim().split('\n').at(-1) || '{}';
  return { code, results: (JSON.parse(last) as { results?: CheckResult[] }).results ?? [], stderr: err };
}

const summary = (results: readonly CheckResult[]) =>
  results.map((r) => `${r.scenario}: ${r.verdict} — ${r.evidence}`).join('\n');

test("Shardline's own ShardManager passes the conformance scenarios (a subset; npm run conformance runs all)", async () => {
  const scenarios = ['startup', 'zombie', 'reconnect', 'replay', 'close-4004', 'reconnect-before-hello'];
  const { code, results } = await conformance([
    ...scenarios.flatMap((s) => ['--scenario', s]),
    '--',
    process.execPath,
    join(dist, 'scripts', 'conformance-client.js'),
  ]);
  assert.equal(results.length, scenarios.length + 3, summary(results)); // startup reports four checks
  assert.deepEqual(
    results.filter((r) => r.verdict !== 'pass'),
    [],
    summary(results),
  );
  assert.equal(code, 0);
});

test('a client that never heartbeats fails the heartbeat and zombie scenarios', async () => {
  const { code, results } = await conformance([
    '--scenario',
    'startup.first-heartbeat',
    '--scenario',
    'zombie',
    '--heartbeat-interval',
    '300',
    '--boot-timeout',
    '5',
    '--',
    process.execPath,
    join(dist, 'test', 'support', 'conformance-broken-client.js'),
  ]);
  assert.equal(code, 1);
  const verdicts = Object.fromEntries(results.map((r) => [r.scenario, r.verdict]));
  assert.deepEqual(verdicts, { 'startup.first-heartbeat': 'fail', zombie: 'fail' }, summary(results));
  const first = results.find((r) => r.scenario === 'startup.first-heartbeat')!;
  assert.match(first.evidence, /no heartbeat/);
  // The simulator's token never appears in evidence.
  assert.doesNotMatch(JSON.stringify(results), /\.sim\./);
});

test('conformance refuses bad flags with a usage error (exit 2)', async () => {
  for (const argv of [
    [],
    ['--env', 'lower-case=DISCORD_TOKEN', '--', 'node'],
    ['--env', 'BOT_TOKEN=NOT_A_VAR', '--', 'node'],
    ['--scenario', 'nope', '--', 'node'],
    ['--heartbeat-interval', '5', '--', 'node'],
  ]) {
    const { code, stderr } = await conformance(argv);
    assert.equal(code, 2, argv.join(' '));
    assert.match(stderr, /shardline conformance: /);
  }
});
