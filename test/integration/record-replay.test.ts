import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { gunzipSync } from 'node:zlib';
import type { CliIo } from '../../src/cli/args.js';
import { runRecord } from '../../src/cli/commands/record.js';
import { ShardManager } from '../../src/manager/manager.js';
import { openRecording, type RecordedPayload, startSimulator } from '../../src/simulator/index.js';
import { RawClient } from '../support/raw-client.js';
import { simulator, waitFor } from '../support/sim-helpers.js';

const MAIN = resolve(dirname(fileURLToPath(import.meta.url)), '../../src/cli/main.js');
const TOKEN = 'MTIzNDU2Nzg5MDEyMzQ1Njc4.recorder.token-under-test';
/** Guilds, GuildMessages and MessageContent: message contents arrive whole. */
const INTENTS = 1 | 512 | 32768;

function tempDir(t: { after(fn: () => void): void }): string {
  const dir = mkdtempSync(join(tmpdir(), 'shardline-rr-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

function sink(): NodeJS.WritableStream & { text: string } {
  const s = {
    text: '',
    write(chunk: string) {
      s.text += chunk;
      return true;
    },
  };
  return s as unknown as NodeJS.WritableStream & { text: string };
}

async function entriesOf(path: string): Promise<RecordedPayload[]> {
  const out: RecordedPayload[] = [];
  const { entries } = await openRecording(path);
  for await (const { entry } of entries) if (entry.kind === 'payload') out.push(entry);
  return out;
}

/** What a client must see of a dispatch: READY without the fields a new session changes. */
function comparable(t: string, d: unknown): string {
  if (t !== 'READY') return `${t} ${JSON.stringify(d)}`;
  const { session_id: _s, resume_gateway_url: _r, ...rest } = d as Record<string, unknown>;
  return `${t} ${JSON.stringify(Object.fromEntries(Object.entries(rest).sort(([a], [b]) => (a < b ? -1 : 1))))}`;
}

test('a session recorded from the simulator replays the same dispatches to a ShardManager and to a raw client', async (t) => {
  const dir = tempDir(t);
  const out = join(dir, 'session.ndjson');
  const source = await simulator(t, {
    tokens: [TOKEN],
    guilds: 6,
    membersPerGuild: 4,
    shards: 2,
    maxConcurrency: 2,
  });
  const stop = new AbortController();
  const io: CliIo = { stdout: sink(), stderr: sink(), env: { DISCORD_TOKEN: TOKEN }, signal: stop.signal };
  const recording = runRecord(
    [
      ...['--out', out, '--api', source.restUrl, '--shard-count', '2', '--encoding', 'json'],
      ...['--compression', 'none', '--intents', String(INTENTS)],
    ],
    io,
  );
  await waitFor(() => source.stats().sessions.filter((s) => s.connected).length === 2, {
    what: 'both recorded shards identified',
  });
  source.emitRandomEvents(40);
  // A gateway that echoes the token (in a field called token, and inside a text) must not get it written.
  const guildId = source.world.guilds[0]!.id;
  source.emitEvent('INTERACTION_CREATE', {
    id: source.world.nextId(),
    guild_id: guildId,
    token: 'interaction-secret-token',
  });
  source.emitEvent('MESSAGE_CREATE', {
    id: source.world.nextId(),
    guild_id: guildId,
    content: `look: ${TOKEN} and ${TOKEN.slice(5, 20)}`,
  });
  for (const shardId of [0, 1]) source.emitEvent('END_MARK', { shard: shardId }, { shardId, intent: 0 });
  await waitFor(() => (readFileSync(out, 'utf8').match(/"END_MARK"/g) ?? []).length === 2, {
    what: 'both end marks in the file',
  });
  stop.abort();
  assert.equal(await recording, 0);
  const text = readFileSync(out, 'utf8');
  assert.ok(!text.includes(TOKEN.slice(0, 8)) && !text.includes(TOKEN.slice(5, 20)), 'token absent');
  assert.ok(!text.includes('interaction-secret-token'));
  const recorded = await entriesOf(out);
  const dispatches = recorded.filter((e) => e.op === 0);
  assert.ok(
    recorded.some((e) => e.op === 10),
    'HELLO recorded',
  );
  assert.deepEqual(new Set(dispatches.map((e) => e.shard)), new Set([0, 1]));

  // Per shard: READY, its GUILD_CREATEs, then the live events, as recorded.
  const expected = (shard: number) =>
    dispatches.filter((e) => e.shard === shard).map((e) => comparable(e.t!, e.d));

  const replayed = await startSimulator({
    tokens: [TOKEN],
    maxConcurrency: 2,
    replay: { path: out, asFastAsPossible: true },
  });
  t.after(() => replayed.close());
  assert.equal(replayed.stats().replay?.state, 'waiting');
  const manager = new ShardManager({
    token: TOKEN,
    intents: INTENTS,
    api: replayed.restUrl,
    encoding: 'etf',
  });
  t.after(() => manager.destroy());
  const got: Record<number, string[]> = { 0: [], 1: [] };
  manager.on('dispatch', (p, shardId) => got[shardId]!.push(comparable(p.t, p.d)));
  await manager.connect();
  assert.equal(manager.shardCount, 2, 'the recommended shard count is the recording’s');
  await waitFor(() => got[0]!.length + got[1]!.length >= dispatches.length, {
    what: () => `all ${dispatches.length} dispatches (got ${got[0]!.length}+${got[1]!.length})`,
  });
  assert.deepEqual(got[0], expected(0));
  assert.deepEqual(got[1], expected(1));
  await waitFor(() => replayed.stats().replay?.state === 'finished', { what: 'replay finished' });
  await manager.destroy();

  // A raw client with one shard gets every guild (Discord's formula) and every event, in recorded order.
  const single = await startSimulator({ tokens: [TOKEN], replay: { path: out, speed: 50 } });
  t.after(() => single.close());
  const raw = await RawClient.connect(single.gatewayUrl);
  t.after(() => raw.terminate());
  await raw.nextOp(10);
  raw.identify(TOKEN, { intents: INTENTS });
  await raw.nextOp(0, 'END_MARK');
  await raw.nextOp(0, 'END_MARK');
  const rawDispatches = raw.received.filter((p) => p.op === 0);
  assert.deepEqual(
    rawDispatches.map((p) => p.s),
    rawDispatches.map((_, i) => i + 1),
    'sequences renumbered from 1 for the new session',
  );
  const guildCount = dispatches.filter((e) => e.t === 'GUILD_CREATE').length;
  const rawGuilds = rawDispatches.slice(1, 1 + guildCount).map((p) => comparable(p.t!, p.d));
  assert.deepEqual(
    [...rawGuilds].sort(),
    dispatches
      .filter((e) => e.t === 'GUILD_CREATE')
      .map((e) => comparable(e.t!, e.d))
      .sort(),
  );
  const readyGuilds = (rawDispatches[0]!.d as { guilds: unknown[] }).guilds;
  assert.equal(readyGuilds.length, guildCount);
  const liveExpected = dispatches
    .filter((e) => e.t !== 'READY' && e.t !== 'GUILD_CREATE')
    .map((e) => comparable(e.t!, e.d));
  assert.deepEqual(
    rawDispatches.slice(1 + guildCount).map((p) => comparable(p.t!, p.d)),
    liveExpected,
  );
});

/** Writes a small recording by hand: one shard, one guild, `events` MESSAGE_CREATEs 20 ms apart. */
function handMade(path: string, events: number, extraLines: string[] = [], firstSeq = 3): void {
  const guild = '1000000000000000000';
  const lines = [
    JSON.stringify({
      format: 'shardline-recording',
      version: 1,
      shardCount: 1,
      encoding: 'json',
      compression: 'none',
      startedAt: new Date().toISOString(),
      intents: 513,
      anonymized: false,
    }),
    JSON.stringify({ at: 0, shard: 0, op: 10, s: null, t: null, d: { heartbeat_interval: 41250 } }),
    JSON.stringify({
      at: 5,
      shard: 0,
      op: 0,
      s: 1,
      t: 'READY',
      d: {
        v: 10,
        user: { id: '42', username: 'bot', bot: true },
        guilds: [{ id: guild, unavailable: true }],
        session_id: 'old',
        resume_gateway_url: 'wss://old',
        application: { id: '42', flags: 0 },
      },
    }),
    JSON.stringify({
      at: 6,
      shard: 0,
      op: 0,
      s: 2,
      t: 'GUILD_CREATE',
      d: { id: guild, name: 'g', channels: [], members: [], roles: [] },
    }),
    ...extraLines,
  ];
  for (let i = 0; i < events; i++) {
    lines.push(
      JSON.stringify({
        at: 100 + i * 20,
        shard: 0,
        op: 0,
        s: firstSeq + i,
        t: 'MESSAGE_CREATE',
        d: { id: String(2000 + i), guild_id: guild, channel_id: '7', content: `m${i}` },
      }),
    );
  }
  writeFileSync(path, `${lines.join('\n')}\n`);
}

test('replay: --loop plays the events again, RESUME replays what was missed, faults still apply', async (t) => {
  const dir = tempDir(t);
  const path = join(dir, 'small.ndjson');
  // A replay after RESUME in the recording (s 3 again) and the recorded client's RESUMED are not events.
  handMade(
    path,
    3,
    [
      JSON.stringify({ at: 50, shard: 0, close: 1006 }),
      JSON.stringify({ at: 60, shard: 0, op: 0, s: 2, t: 'GUILD_CREATE', d: { id: '1000000000000000000' } }),
      JSON.stringify({ at: 61, shard: 0, op: 0, s: 3, t: 'RESUMED', d: {} }),
    ],
    4,
  );
  const sim = await simulator(t, { replay: { path, asFastAsPossible: true, loop: true } });
  const raw = await RawClient.connect(sim.gatewayUrl);
  t.after(() => raw.terminate());
  await raw.nextOp(10);
  raw.identify(sim.tokens[0]!, { intents: 513 | 32768 });
  const ready = await raw.nextOp(0, 'READY');
  const sessionId = (ready.d as { session_id: string }).session_id;
  assert.notEqual(sessionId, 'old');
  assert.equal((ready.d as { resume_gateway_url: string }).resume_gateway_url, sim.resumeGatewayUrl);
  await waitFor(() => (sim.stats().replay?.loops ?? 0) >= 2, { what: 'two loops' });
  const contents = raw.received
    .filter((p) => p.t === 'MESSAGE_CREATE')
    .map((p) => (p.d as { content: string }).content);
  assert.deepEqual(contents.slice(0, 6), ['m0', 'm1', 'm2', 'm0', 'm1', 'm2']);
  assert.equal(
    raw.received.filter((p) => p.t === 'GUILD_CREATE').length,
    1,
    'the re-sent guild is not an event',
  );

  // Faults of the simulator apply to a replay as to any session.
  assert.equal(sim.inject({ kind: 'reconnect' }), 1);
  await raw.nextOp(7);
  await raw.terminate();
  const seenSeq = 2;
  const again = await RawClient.connect(sim.resumeGatewayUrl);
  t.after(() => again.terminate());
  await again.nextOp(10);
  again.resume(sim.tokens[0]!, sessionId, seenSeq);
  await again.nextOp(0, 'RESUMED');
  const replayedSeqs = again.received.filter((p) => p.op === 0 && p.t !== 'RESUMED').map((p) => p.s);
  assert.equal(replayedSeqs[0], seenSeq + 1, 'RESUME replays from the next sequence');
  for (let i = 1; i < replayedSeqs.length; i++) assert.equal(replayedSeqs[i], replayedSeqs[i - 1]! + 1);
});

test('record CLI: gzip file complete after SIGINT, token absent, and it replays', async (t) => {
  const dir = tempDir(t);
  const out = join(dir, 'cli.ndjson.gz');
  const source = await simulator(t, { tokens: [TOKEN], guilds: 3, membersPerGuild: 2, shards: 1 });
  const child = spawn(
    process.execPath,
    [MAIN, 'record', '--out', out, '--api', source.restUrl, '--anonymize', '--encoding', 'etf'],
    { stdio: ['ignore', 'pipe', 'pipe'], env: { PATH: process.env.PATH, DISCORD_TOKEN: TOKEN } },
  );
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
  child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
  const exited = new Promise<number | null>((res) => child.on('close', (code) => res(code)));
  t.after(() => child.kill('SIGKILL'));
  await waitFor(() => source.stats().sessions.some((s) => s.connected), {
    what: 'recorder identified',
    timeoutMs: 30_000,
  });
  await waitFor(() => source.stats().sessions[0]!.sequence >= 4, { what: 'guilds sent' });
  const delivered = source.emitRandomEvents(10);
  await waitFor(() => source.stats().sessions[0]!.sequence >= 4 + delivered, { what: 'events sent' });
  await new Promise((r) => setTimeout(r, 200));
  child.kill('SIGINT');
  assert.equal(await exited, 0, stderr);
  assert.match(stdout, /recorded \d+ payloads/);
  const text = gunzipSync(readFileSync(out)).toString('utf8');
  assert.ok(!text.includes(TOKEN.slice(0, 8)));
  assert.match(text.split('\n')[0]!, /"anonymized":true/);
  for (const g of source.world.guilds)
    assert.ok(!text.includes(g.id) && !text.includes(g.name), 'guild anonymized');

  const sim = await simulator(t, { replay: { path: out, asFastAsPossible: true } });
  const raw = await RawClient.connect(sim.gatewayUrl);
  t.after(() => raw.terminate());
  await raw.nextOp(10);
  raw.identify(sim.tokens[0]!);
  await raw.nextOp(0, 'READY');
  await waitFor(() => sim.stats().replay?.state === 'finished', { what: 'replay finished' });
  assert.equal(raw.received.filter((p) => p.t === 'GUILD_CREATE').length, 3);
});
