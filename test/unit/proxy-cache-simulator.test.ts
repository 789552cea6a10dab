/**
 * The cache fed from a real simulator connection: what it rebuilds equals what the simulator sent, and
 * after live events it equals what a fresh connection receives (the cache followed the world).
 */
import assert from 'node:assert/strict';
import { type TestContext, test } from 'node:test';
import type { GatewayDispatchPayload } from 'discord-api-types/v10';
import { GatewayCache } from '../../src/proxy/cache/index.js';
import { ALL_INTENTS } from '../../src/util/intents.js';
import type { Payload } from '../support/raw-client.js';
import { identified, simulator, waitFor } from '../support/sim-helpers.js';

type Json = Record<string, unknown>;

async function session(t: TestContext, sim: Parameters<typeof identified>[1], encoding: string) {
  const { client, ready } = await identified(t, sim, { intents: ALL_INTENTS, shard: [0, 1] }, { encoding });
  const guilds = (ready.d as { guilds: unknown[] }).guilds.length;
  await waitFor(() => client.received.filter((p) => p.t === 'GUILD_CREATE').length === guilds, {
    what: 'GUILD_CREATEs',
    timeoutMs: 10_000,
  });
  return { client, ready, creates: client.received.filter((p) => p.t === 'GUILD_CREATE') };
}

/** Presences carry a random activity each time the world renders them: compare who and what status. */
function withoutActivities(d: unknown): Json {
  const g = d as Json;
  return {
    ...g,
    presences: (g.presences as Json[])
      .map((p): Json => ({ ...p, activities: undefined }))
      .sort((a, b) => String((a.user as Json).id).localeCompare(String((b.user as Json).id))),
    members: [...(g.members as Json[])].sort((a, b) =>
      String((a.user as Json).id).localeCompare(String((b.user as Json).id)),
    ),
  };
}

for (const encoding of ['json', 'etf']) {
  test(`rebuilt READY guilds and GUILD_CREATEs equal what the simulator sent (${encoding}), and follow live events`, async (t) => {
    const sim = await simulator(t, { guilds: 8, membersPerGuild: 20, seed: 11, identifyWindowMs: 0 });
    const first = await session(t, sim, encoding);
    const cache = new GatewayCache({ presences: true });
    for (const p of [first.ready, ...first.creates]) cache.apply(p as unknown as GatewayDispatchPayload, 0);
    const readyD = first.ready.d as Json;
    assert.deepEqual(cache.readyGuilds(0), readyD.guilds);
    assert.deepEqual(cache.user(), readyD.user);
    assert.deepEqual(cache.application(), readyD.application);
    for (const p of first.creates) {
      const d = p.d as Json;
      assert.deepEqual(cache.guildCreate(d.id as string), d, `guild ${String(d.id)}`);
      assert.equal(cache.membersComplete(d.id as string), true);
    }

    // Live presence, member, message and reaction events; the cache follows the ones it tracks.
    const before = first.client.received.length;
    const delivered = sim.emitRandomEvents(400);
    await waitFor(() => first.client.received.length >= before + delivered, {
      what: 'live events',
      timeoutMs: 10_000,
    });
    const live: Payload[] = first.client.received.slice(before);
    for (const p of live) cache.apply(p as unknown as GatewayDispatchPayload, 0);
    assert.equal(cache.stats().malformed, 0);

    const second = await session(t, sim, encoding);
    for (const p of second.creates) {
      const d = p.d as Json;
      assert.deepEqual(
        withoutActivities(cache.guildCreate(d.id as string)),
        withoutActivities(d),
        `guild ${String(d.id)}`,
      );
    }
  });
}
