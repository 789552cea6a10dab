import assert from 'node:assert/strict';
import { test } from 'node:test';
import { INTENTS } from '../../src/simulator/intents.js';
import { RawClient } from '../support/raw-client.js';
import { identified, simulator, waitFor } from '../support/sim-helpers.js';

for (const compress of ['none', 'zlib-stream'] as const) {
  test(`with a live stream and repeated drops, resumes deliver every seq exactly once (${compress})`, async (t) => {
    const sim = await simulator(t, { guilds: 4, membersPerGuild: 5, eventsPerSecond: 400, seed: 3 });
    const intents =
      INTENTS.GUILDS | INTENTS.GUILD_MESSAGES | INTENTS.GUILD_MESSAGE_TYPING | INTENTS.DIRECT_MESSAGES;
    const first = await identified(t, sim, { intents }, { compress });
    const seqs: number[] = [];
    const collect = (c: RawClient) => {
      for (const p of c.received) if (p.op === 0 && typeof p.s === 'number') seqs.push(p.s);
    };
    let client = first.client;
    for (let round = 0; round < 4; round++) {
      const target = seqs.length + client.received.length + 20;
      await waitFor(() => seqs.length + client.received.length >= target, {
        what: 'events',
        timeoutMs: 20_000,
      });
      sim.inject({ kind: round % 2 === 0 ? 'drop' : 'close', code: 4000, sessionId: first.sessionId });
      await client.closed;
      // Everything decoded before the close counts; the session keeps numbering while we are away.
      await waitFor(() => sim.stats().sessions[0]?.connected === false, { what: 'condition' });
      collect(client);
      const lastSeq = client.lastSeq;
      client = await RawClient.connect(sim.resumeGatewayUrl, { compress });
      t.after(() => client.terminate());
      await client.nextOp(10);
      client.resume(sim.tokens[0]!, first.sessionId, lastSeq);
      await client.nextOp(0, 'RESUMED');
    }
    sim.setEventsPerSecond(0);
    const last = sim.stats().sessions[0]!.sequence;
    await waitFor(() => client.lastSeq === last, { what: 'the tail', timeoutMs: 20_000 });
    collect(client);
    assert.deepEqual(
      seqs,
      Array.from({ length: last }, (_, i) => i + 1),
    );
    assert.equal(sim.stats().resumes, 4);
  });
}
