import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { shardOf } from '../../src/simulator/world.js';
import { killed, startNdjsonChild } from '../support/ndjson-child.js';
import { CLIENT_TOKEN, proxyRig } from '../support/proxy-harness.js';
import { waitFor } from '../support/sim-helpers.js';

const CHILD = join(dirname(fileURLToPath(import.meta.url)), '..', 'support', 'proxy-djs-child.js');

interface Line {
  kind: string;
  shardId: number;
  t?: string;
  s?: number;
  content?: string;
  id?: string;
  guilds?: number;
}

const startChild = (env: NodeJS.ProcessEnv) => startNdjsonChild<Line>(CHILD, env);

for (const compression of ['none', 'zlib-stream'] as const) {
  test(`@discordjs/ws (json, ${compression}) in a child process: READY on every shard, every guild, live events; after SIGKILL it resumes and misses nothing while the upstream never reconnects`, async (t) => {
    const { sim, proxy } = await proxyRig(t, { guilds: 8, shards: 2 });
    const dir = mkdtempSync(join(tmpdir(), 'proxy-djs-'));
    t.after(() => rmSync(dir, { recursive: true, force: true }));
    const env = {
      PROXY_REST: proxy.restUrl,
      PROXY_TOKEN: CLIENT_TOKEN,
      SESSION_FILE: join(dir, 'sessions.json'),
      COMPRESSION: compression,
    };
    const upstreamBefore = sim.stats();
    const guildsByShard = [0, 1].map((s) => sim.world.guilds.filter((g) => shardOf(g.id, 2) === s));
    const emitted: string[][] = [[], []];
    let n = 0;
    const emit = (count: number) => {
      for (let i = 0; i < count; i++)
        for (const shard of [0, 1]) {
          const content = `e${n++}`;
          sim.emitEvent('MESSAGE_CREATE', {
            id: `${9000 + n}`,
            guild_id: guildsByShard[shard]![0]!.id,
            channel_id: '1',
            content,
          });
          emitted[shard]!.push(content);
        }
    };
    const messages = (lines: Line[], shard: number) =>
      lines
        .filter((l) => l.kind === 'dispatch' && l.t === 'MESSAGE_CREATE' && l.shardId === shard)
        .map((l) => l.content!);

    const first = startChild(env);
    t.after(() => killed(first.child));
    await waitFor(() => first.lines.some((l) => l.kind === 'connected'), {
      what: `first run connected (${first.stderr()})`,
      timeoutMs: 20_000,
    });
    for (const shard of [0, 1]) {
      assert.equal(first.lines.filter((l) => l.kind === 'ready' && l.shardId === shard).length, 1);
      const created = () =>
        first.lines
          .filter((l) => l.kind === 'dispatch' && l.t === 'GUILD_CREATE' && l.shardId === shard)
          .map((l) => l.id)
          .sort();
      await waitFor(() => created().length >= guildsByShard[shard]!.length, {
        what: 'every GUILD_CREATE',
        timeoutMs: 10_000,
      });
      assert.deepEqual(created(), guildsByShard[shard]!.map((g) => g.id).sort());
    }
    emit(5);
    await waitFor(() => [0, 1].every((s) => messages(first.lines, s).length === emitted[s]!.length), {
      what: 'live events, first run',
      timeoutMs: 10_000,
    });
    await killed(first.child);

    emit(5); // while the bot is down
    const second = startChild(env);
    t.after(() => killed(second.child));
    await waitFor(
      () => [0, 1].every((s) => second.lines.some((l) => l.kind === 'resumed' && l.shardId === s)),
      { what: `resumed (${second.stderr()})`, timeoutMs: 20_000 },
    );
    assert.equal(second.lines.filter((l) => l.kind === 'ready').length, 0, 'no new session: it resumed');
    emit(5);
    await waitFor(
      () =>
        [0, 1].every(
          (s) => messages(first.lines, s).length + messages(second.lines, s).length >= emitted[s]!.length,
        ),
      { what: 'live events, second run', timeoutMs: 10_000 },
    );
    for (const shard of [0, 1])
      assert.deepEqual(
        [...messages(first.lines, shard), ...messages(second.lines, shard)],
        emitted[shard],
        `shard ${shard}: nothing missing or doubled`,
      );
    // The sequence numbers the bot saw continue without a gap or a repeat across the restart.
    for (const shard of [0, 1]) {
      const seqs = [...first.lines, ...second.lines]
        .filter((l) => l.kind === 'dispatch' && l.shardId === shard)
        .map((l) => l.s!);
      assert.deepEqual(
        seqs,
        seqs.map((_, i) => seqs[0]! + i),
      );
    }
    const upstreamAfter = sim.stats();
    assert.equal(upstreamAfter.identifies, upstreamBefore.identifies, 'the upstream never identified again');
    assert.equal(upstreamAfter.resumes, upstreamBefore.resumes, 'the upstream never resumed');
    assert.equal(
      upstreamAfter.connectionsTotal,
      upstreamBefore.connectionsTotal,
      'the upstream never reconnected',
    );
  });
}
