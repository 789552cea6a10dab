/**
 * Nothing thrown while the shard runs an effect — here an Identify whose presence stopped being encodable
 * after the options were checked — may escape into the timer or promise callback that ran it (the process
 * would exit). It becomes an `error` event and a reconnect.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createShard, startSim, waitFor } from '../support/shard-harness.js';

test('an exception inside an effect becomes an INTERNAL_ERROR event and a reconnect, not a crash', async (t) => {
  const sim = await startSim(t);
  let broken = false;
  const presence = {
    status: 'online',
    since: null,
    afk: false,
    get activities(): unknown[] {
      // Broken for the first Identify only (the options check before it passed).
      if (broken) {
        broken = false;
        throw new Error('presence went bad');
      }
      return [];
    },
  };
  const r = createShard(t, sim, { encoding: 'json', presence: presence as never });
  broken = true;
  await r.shard.connect();
  assert.equal(broken, false, 'the Identify read the presence');
  const internal = r.errors.find((e) => e.code === 'INTERNAL_ERROR');
  assert.ok(internal, `errors: ${r.errors.map((e) => e.code).join(', ')}`);
  assert.match((internal.cause as Error).message, /presence went bad/);
  assert.equal(r.ready, 1);
  await waitFor(() => r.shard.status === 'ready', { what: 'ready' });
});
