import assert from 'node:assert/strict';
import { test } from 'node:test';
import { decodeEtf } from '../../src/codec/etf/index.js';
import { RawClient } from '../support/raw-client.js';
import { data, identified, simulator, waitFor } from '../support/sim-helpers.js';

const SMALL_ATOM_EXT = 115;

for (const encoding of ['json', 'etf'] as const) {
  for (const compress of ['none', 'zlib-stream', 'zstd-stream'] as const) {
    test(`${encoding} with compress=${compress}: identify, events, heartbeat, split frames and resume`, async (t) => {
      const sim = await simulator(t, { guilds: 3 });
      const options = { encoding, compress };
      const first = await identified(t, sim, {}, options);
      assert.equal(first.ready.s, 1);
      assert.match(first.sessionId, /^[0-9a-f]{32}$/);
      const guilds = sim.world.guilds;
      for (let i = 0; i < guilds.length; i++) {
        const gc = await first.client.nextOp(0, 'GUILD_CREATE');
        assert.equal(data(gc).id, guilds[i]!.id);
        assert.equal(gc.s, 2 + i);
      }
      first.client.heartbeat();
      await first.client.nextOp(11);

      const g = guilds[1]!;
      const channel = g.channels[1]!.id;
      sim.emitEvent('MESSAGE_CREATE', { id: g.id, channel_id: channel, guild_id: g.id, content: 'héllo ✓' });
      const msg = await first.client.nextOp(0, 'MESSAGE_CREATE');
      assert.equal(msg.s, 5);
      assert.equal(data(msg).guild_id, g.id);
      assert.equal(data(msg).content, '', 'no MESSAGE_CONTENT intent: content stripped');
      if (encoding === 'etf') {
        const raw = first.client.rawPayloads.at(-1)!;
        assert.equal(raw[0], 131);
        assert.equal(raw[6], SMALL_ATOM_EXT, 'envelope keys are atoms');
        const big = decodeEtf(raw, { bigint: 'bigint' }) as { d: { guild_id: unknown } };
        assert.equal(big.d.guild_id, BigInt(g.id), 'snowflakes are 64-bit integers');
      }

      sim.inject({ kind: 'split', parts: 4 });
      sim.emitEvent('TYPING_START', { channel_id: channel, guild_id: g.id, user_id: g.id, timestamp: 1 });
      sim.emitEvent('GUILD_UPDATE', { id: g.id, guild_id: g.id, name: 'x'.repeat(300) });
      const update = await first.client.nextOp(0, 'GUILD_UPDATE');
      assert.equal(
        update.s,
        6,
        'TYPING_START is filtered by intents; GUILD_UPDATE arrives whole after the split',
      );
      assert.equal(data(update).name, 'x'.repeat(300));

      await first.client.terminate();
      await waitFor(() => sim.stats().sessions[0]?.connected === false, { what: 'condition' });
      sim.emitEvent('GUILD_UPDATE', { id: g.id, guild_id: g.id, name: 'while away' });
      const second = await RawClient.connect(sim.resumeGatewayUrl, options);
      t.after(() => second.terminate());
      await second.nextOp(10);
      second.resume(sim.tokens[0]!, first.sessionId, 6);
      const replay = await second.nextOp(0);
      assert.deepEqual([replay.t, replay.s, data(replay).name], ['GUILD_UPDATE', 7, 'while away']);
      assert.equal((await second.nextOp(0)).t, 'RESUMED');
      assert.deepEqual(first.client.errors, []);
      assert.deepEqual(second.errors, []);
    });
  }
}

test('etf connections close with 4002 on text frames and undecodable terms, and accept string snowflakes', async (t) => {
  const sim = await simulator(t, { guilds: 1 });
  for (const bad of [
    '{"op":1,"d":null}',
    Uint8Array.of(131, 0xff),
    Uint8Array.of(130, 106),
    Uint8Array.of(131, 116, 0, 0, 0, 9),
  ]) {
    const c = await RawClient.connect(sim.gatewayUrl, { encoding: 'etf' });
    t.after(() => c.terminate());
    await c.nextOp(10);
    c.sendRaw(bad);
    assert.equal((await c.closed).code, 4002);
  }
  const ok = await identified(t, sim, {}, { encoding: 'etf' });
  ok.client.send({ op: 8, d: { guild_id: sim.world.guilds[0]!.id, user_ids: [sim.world.bot.id] } });
  const chunk = data(await ok.client.nextOp(0, 'GUILD_MEMBERS_CHUNK'));
  assert.equal((chunk.members as unknown[]).length, 1);
  assert.equal(sim.stats().violations.decode, 4);
});

test('ETF output can use binary envelope keys and string snowflakes when configured', async (t) => {
  const sim = await simulator(t, { guilds: 1, etfAtomKeys: false, etfBigintSnowflakes: false });
  const { client } = await identified(t, sim, {}, { encoding: 'etf' });
  await client.nextOp(0, 'GUILD_CREATE');
  const raw = client.rawPayloads.at(-1)!;
  assert.equal(raw[6], 109, 'BINARY_EXT key');
  const big = decodeEtf(raw, { bigint: 'bigint' }) as { d: { id: unknown } };
  assert.equal(big.d.id, sim.world.guilds[0]!.id);
});

for (const encoding of ['json', 'etf'] as const) {
  test(`${encoding} zstd-stream through the shared zstd encoder decodes and compresses`, async (t) => {
    const sim = await simulator(t, { guilds: 2, zstdEncoder: 'typescript' });
    const { client, sessionId } = await identified(t, sim, {}, { encoding, compress: 'zstd-stream' });
    await client.nextOp(0, 'GUILD_CREATE');
    await client.nextOp(0, 'GUILD_CREATE');
    const text = 'gateway '.repeat(400);
    const before = client.messages;
    sim.emitEvent('BIG_TEXT', { text }, { sessionId });
    assert.equal(data(await client.nextOp(0, 'BIG_TEXT')).text, text);
    assert.equal(client.messages - before, 1);
    client.heartbeat();
    await client.nextOp(11);
    assert.deepEqual(client.errors, []);
  });
}
