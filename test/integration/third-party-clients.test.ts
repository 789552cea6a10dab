/**
 * Unmodified third-party clients against the simulator: discord.js `Client`, `@discordjs/ws`, Eris and
 * Oceanic.js, each in json and json + zlib-stream, through READY, every guild, live events and the faults
 * op 7, op 9, drop and zombie, with no simulator rule violation. One simulator per client, all clients at once.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { ClientProcess } from '../../src/conformance/client-process.js';
import { ConnectionRecorder } from '../../src/conformance/recorder.js';
import { type Simulator, startSimulator } from '../../src/simulator/index.js';
import { waitFor } from '../support/wait.js';
import { zlibSyncUnavailable } from '../support/zlib-sync.js';

const root = fileURLToPath(new URL('../../..', import.meta.url));
const PEERS = ['discordjs-client', 'discordjs-ws', 'eris', 'oceanic'] as const;
const INTERVAL = 1000;
/** Peers whose zlib-stream goes through the native zlib-sync addon (without it they quietly connect uncompressed). */
const NEEDS_ZLIB_SYNC = new Set(['discordjs-client', 'eris']);

async function matrixRun(peer: string, compress: 'zlib-stream' | undefined): Promise<void> {
  const label = `${peer} ${compress ?? 'json'}`;
  const rec = new ConnectionRecorder();
  const sim: Simulator = await startSimulator({
    guilds: 3,
    membersPerGuild: 5,
    heartbeatIntervalMs: INTERVAL,
    identifyWindowMs: 200,
    observer: rec,
  });
  const env: NodeJS.ProcessEnv = {
    PATH: process.env.PATH,
    SHARDLINE_API: sim.restUrl,
    SHARDLINE_GATEWAY_URL: sim.gatewayUrl,
    DISCORD_TOKEN: sim.tokens[0]!,
    SHARDLINE_SHARD_COUNT: '1',
    ...(compress ? { SHARDLINE_COMPRESS: compress } : {}),
  };
  const now = () => sim.options.clock.now();
  const client = new ClientProcess(
    ['node', join(root, 'scripts', 'conformance-peers', `${peer}.mjs`)],
    env,
    [],
    now,
  );
  const what = (step: string) => () =>
    `${label}: ${step}; connections: ${rec.connections
      .map((c) => `${c.compression}/${c.close ? `${c.close.by} ${c.close.code}` : 'open'}`)
      .join(', ')}; reported ${client.reported.length}; ${client.stderrTail()}`;
  const wait = (check: () => boolean, step: string) =>
    waitFor(check, { what: what(step), timeoutMs: 30_000 });
  const sessionId = () => rec.readies().at(-1)!.sessionId;
  const reported = (t: string) => client.reported.filter((r) => r.t === t).length;
  try {
    await wait(() => reported('GUILD_CREATE') >= 3, 'READY and 3 GUILD_CREATEs');
    assert.equal(rec.connections[0]!.compression, compress ?? 'none', label);
    const live = () => {
      for (let i = 0; i < 3; i++) {
        const e = sim.world.randomEvent();
        sim.emitEvent(e.t, e.d, { ...(e.guildId ? { guildId: e.guildId } : {}), intent: 0 });
      }
      return Math.max(...sim.stats().sessions.map((s) => s.sequence));
    };
    let seq = live();
    await wait(() => client.reported.some((r) => r.s >= seq), 'live events');
    const faults = [
      { kind: 'reconnect' as const, expect: 'RESUMED' },
      { kind: 'drop' as const, expect: 'RESUMED' },
      { kind: 'zombie' as const, expect: 'RESUMED' },
      { kind: 'invalid-session' as const, expect: 'READY' },
    ];
    for (const f of faults) {
      const before = reported(f.expect);
      sim.inject({ kind: f.kind, sessionId: sessionId() });
      await wait(() => reported(f.expect) > before, `${f.expect} after ${f.kind}`);
      seq = live();
      await wait(() => client.reported.some((r) => r.s >= seq), `live events after ${f.kind}`);
    }
    const violations = Object.entries(sim.stats().violations).filter(([, n]) => n > 0);
    assert.deepEqual(violations, [], label);
  } finally {
    await client.stop();
    await sim.close();
  }
}

test('discord.js Client, @discordjs/ws, Eris and Oceanic.js (json, json + zlib-stream) through READY, guilds, events, op 7, drop, zombie and op 9 with no rule violation', async (t) => {
  const noZlibSync = zlibSyncUnavailable();
  if (noZlibSync) t.diagnostic(`discord.js Client and Eris run json only: ${noZlibSync}`);
  const runs = PEERS.flatMap((peer) => [
    matrixRun(peer, undefined),
    ...(noZlibSync && NEEDS_ZLIB_SYNC.has(peer) ? [] : [matrixRun(peer, 'zlib-stream' as const)]),
  ]);
  const outcomes = await Promise.allSettled(runs);
  const failures = outcomes.filter((o): o is PromiseRejectedResult => o.status === 'rejected');
  assert.deepEqual(
    failures.map((f) => String((f.reason as Error).message)),
    [],
  );
});
