import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { GatewayProxy } from '../../src/proxy/index.js';
import type { Simulator } from '../../src/simulator/index.js';
import { shardOf } from '../../src/simulator/world.js';
import { identifiedClient, proxyRig } from '../support/proxy-harness.js';

type Rec = Record<string, unknown>;

let rig: { sim: Simulator; proxy: GatewayProxy };
const closers: (() => unknown)[] = [];
before(async () => {
  // The upstream speaks etf + zlib-stream; each client picks its own wire format.
  rig = await proxyRig(
    { after: (fn) => void closers.push(fn) },
    {},
    { encoding: 'etf', compression: 'zlib-stream' },
  );
});
after(async () => {
  for (const fn of closers.reverse()) await fn();
});

for (const encoding of ['json', 'etf'] as const)
  for (const compress of ['none', 'zlib-stream', 'zstd-stream'] as const)
    test(`${encoding} + ${compress}: READY, every GUILD_CREATE of the shard and live events`, async (t) => {
      const { sim, proxy } = rig;
      const { client, ready } = await identifiedClient(t, proxy, [0, 2], {}, { encoding, compress });
      const guilds = sim.world.guilds.filter((g) => shardOf(g.id, 2) === 0).map((g) => g.id);
      assert.deepEqual(((ready.d as Rec).guilds as Rec[]).map((g) => g.id).sort(), [...guilds].sort());
      const created = new Set<string>();
      while (created.size < guilds.length)
        created.add(((await client.nextOp(0, 'GUILD_CREATE')).d as Rec).id as string);
      const tag = `${encoding}-${compress}`;
      for (let i = 0; i < 3; i++)
        sim.emitEvent('MESSAGE_CREATE', {
          id: `${400 + i}`,
          guild_id: guilds[0]!,
          channel_id: '2',
          content: `${tag}-${i}`,
        });
      const seen: string[] = [];
      while (seen.length < 3) {
        const p = await client.nextOp(0, 'MESSAGE_CREATE');
        if (((p.d as Rec).content as string).startsWith(tag)) seen.push((p.d as Rec).content as string);
      }
      assert.deepEqual(
        seen,
        [0, 1, 2].map((i) => `${tag}-${i}`),
      );
      assert.deepEqual(client.errors, []);
    });
