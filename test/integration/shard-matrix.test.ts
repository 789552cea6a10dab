import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { Compression, Encoding } from '../../src/codec/formats.js';
import {
  consecutive,
  createShard,
  simLastSeq,
  startSim,
  violations,
  waitFor,
} from '../support/shard-harness.js';

const ENCODINGS: Encoding[] = ['json', 'etf'];
const COMPRESSIONS: Compression[] = ['none', 'zlib-stream', 'zstd-stream'];

describe('shard over every encoding × compression', () => {
  for (const encoding of ENCODINGS) {
    for (const compression of COMPRESSIONS) {
      test(`${encoding} + ${compression}: READY, RESUMED after op 7, every dispatch once and in order`, async (t) => {
        const sim = await startSim(t);
        const rec = createShard(t, sim, { encoding, compression });
        const latencies: number[] = [];
        rec.shard.on('heartbeat', (h) => latencies.push(h.latencyMs));
        await rec.shard.connect();
        assert.equal(rec.shard.status, 'ready');
        sim.emitRandomEvents(20);
        const resumed = rec.next('resumed');
        sim.inject({ kind: 'reconnect', shardId: 0 });
        sim.emitRandomEvents(20);
        await resumed;
        sim.emitRandomEvents(20);
        await waitFor(() => rec.shard.sequence === simLastSeq(sim), { what: 'every dispatch' });
        await waitFor(() => latencies.length >= 2, { what: 'heartbeat ACKs' });
        assert.ok(consecutive(rec.seqs), `sequence ${rec.seqs.join(',')}`);
        const guildCreate = rec.dispatches.find((d) => d.t === 'GUILD_CREATE');
        assert.equal(
          typeof (guildCreate?.d as { id?: unknown } | undefined)?.id,
          'string',
          'snowflakes decode as strings',
        );
        assert.equal(rec.errors.length, 0, rec.errors.map((e) => e.message).join('; '));
        assert.deepEqual(violations(sim), []);
      });
    }
  }
});
