import assert from 'node:assert/strict';
import { dirname, join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { shardOf } from '../../src/simulator/world.js';
import { killed, startNdjsonChild } from '../support/ndjson-child.js';
import { CLIENT_TOKEN, proxyRig } from '../support/proxy-harness.js';
import { waitFor } from '../support/sim-helpers.js';
import { zlibSyncUnavailable } from '../support/zlib-sync.js';

const CHILD = join(
  dirname(fileURLToPath(import.meta.url)),
  '..',
  'support',
  'proxy-discordjs-client-child.js',
);
const SHARDS = 2;

interface Line {
  kind: 'ready' | 'message' | 'compression';
  guilds?: string[];
  shards?: number;
  content?: string;
  guildId?: string;
  shardId?: number;
  value?: string;
}

const startChild = (env: NodeJS.ProcessEnv) => startNdjsonChild<Line>(CHILD, env);

for (const compression of ['none', 'zlib-stream'] as const) {
  test(`discord.js Client (json, ${compression}) in a child process: ready with every guild cached and live messageCreate; after SIGKILL it identifies again against the proxy while the upstream never reconnects`, async (t) => {
    const missing = compression === 'zlib-stream' ? zlibSyncUnavailable() : null;
    if (missing !== null) {
      t.skip(missing);
      return;
    }
    const { sim, proxy } = await proxyRig(t, { guilds: 10, shards: SHARDS });
    const env = { PROXY_REST: proxy.restUrl, PROXY_TOKEN: CLIENT_TOKEN, COMPRESSION: compression };
    const allGuilds = sim.world.guilds.map((g) => g.id).sort();
    // One text channel per shard, in a guild of that shard, so discord.js has the channel cached.
    const targets = Array.from({ length: SHARDS }, (_, shard) => {
      const guild = sim.world.guilds.find((g) => shardOf(g.id, SHARDS) === shard)!;
      return { guild, channel: guild.channels.find((c) => c.type === 0)!, author: guild.members[1]!.user };
    });
    let n = 0;
    const emit = (count: number): string[] => {
      const sent: string[] = [];
      for (let i = 0; i < count; i++)
        for (const { guild, channel, author } of targets) {
          const content = `message ${n++}`;
          sim.emitEvent('MESSAGE_CREATE', {
            id: `${1_000_000 + n}`,
            channel_id: channel.id,
            guild_id: guild.id,
            author,
            content,
            timestamp: new Date(0).toISOString(),
            edited_timestamp: null,
            tts: false,
            mention_everyone: false,
            mentions: [],
            mention_roles: [],
            attachments: [],
            embeds: [],
            pinned: false,
            type: 0,
          });
          sent.push(content);
        }
      return sent;
    };
    const messages = (lines: Line[]) => lines.filter((l) => l.kind === 'message').map((l) => l.content!);

    const run = async (label: string) => {
      const started = startChild(env);
      t.after(() => killed(started.child));
      await waitFor(() => started.lines.some((l) => l.kind === 'ready'), {
        what: `${label}: discord.js ready (${started.stderr()})`,
        timeoutMs: 30_000,
      });
      const ready = started.lines.find((l) => l.kind === 'ready')!;
      assert.equal(ready.shards, SHARDS, `${label}: one connection per upstream shard`);
      assert.deepEqual([...ready.guilds!].sort(), allGuilds, `${label}: every guild of the simulator cached`);
      assert.deepEqual(
        started.lines.filter((l) => l.kind === 'compression').map((l) => l.value),
        Array.from({ length: SHARDS }, () => compression),
        `${label}: transport compression`,
      );
      const sent = emit(5);
      await waitFor(() => messages(started.lines).length >= sent.length, {
        what: `${label}: live messageCreate (${started.stderr()})`,
        timeoutMs: 10_000,
      });
      assert.deepEqual([...messages(started.lines)].sort(), [...sent].sort(), `${label}: every message once`);
      return started;
    };

    const first = await run('first run');
    const upstreamBefore = sim.stats();
    await killed(first.child);
    emit(3); // while the bot is down: discord.js keeps no session, so these are not replayed to it
    await run('after SIGKILL');
    const upstreamAfter = sim.stats();
    assert.equal(upstreamAfter.identifies, upstreamBefore.identifies, 'the upstream never identified again');
    assert.equal(upstreamAfter.resumes, upstreamBefore.resumes, 'the upstream never resumed');
    assert.equal(
      upstreamAfter.connectionsTotal,
      upstreamBefore.connectionsTotal,
      'the upstream never reconnected',
    );
    assert.equal(upstreamAfter.identifies, SHARDS, 'each upstream shard identified once in the whole test');
  });
}
