import assert from 'node:assert/strict';
import { test } from 'node:test';
import { initialState, transition } from '../../src/shard/machine.js';
import { FrameDecoder } from '../../src/transport/frame-decoder.js';
import { testConfig } from '../support/machine-driver.js';

const decoder = new FrameDecoder({ encoding: 'json', compression: 'none', maxPayloadBytes: 1 << 20 });

for (const [name, raw] of [
  ['a string', '"abc"'],
  ['true', 'true'],
  ['an object', '{}'],
  ['an array', '[1]'],
] as const) {
  test(`a dispatch whose s is ${name} keeps that value, so the machine refuses it instead of delivering it unsequenced`, () => {
    const envelope = decoder.decode(
      new TextEncoder().encode(`{"op":0,"t":"MESSAGE_CREATE","s":${raw},"d":{"id":"1"}}`),
      false,
    )!;
    assert.notEqual(envelope.s, null);
    // In READY on connection 1 with seq 1: the machine must not emit a dispatch for it.
    let state = initialState(testConfig());
    const feed = (input: Parameters<typeof transition>[1]) => {
      const r = transition(state, input);
      state = r.state;
      return r.effects;
    };
    const at = { now: 0, random: 0.5 };
    feed({ type: 'start', session: null, ...at });
    feed({ type: 'socket-open', conn: 1, ...at });
    feed({
      type: 'socket-payload',
      conn: 1,
      payload: { op: 10, d: { heartbeat_interval: 41_250 }, s: null, t: null },
      ...at,
    });
    feed({ type: 'identify-slot', conn: 1, ...at });
    feed({
      type: 'socket-payload',
      conn: 1,
      payload: { op: 0, t: 'READY', s: 1, d: { session_id: 'abc', resume_gateway_url: 'wss://r.test' } },
      ...at,
    });
    assert.equal(state.phase.status, 'ready');
    const effects = feed({ type: 'socket-payload', conn: 1, payload: envelope, ...at });
    const dispatches = effects.filter((e) => e.type === 'emit' && e.event.name === 'dispatch');
    assert.deepEqual(dispatches, []);
    assert.ok(effects.some((e) => e.type === 'emit' && e.event.name === 'error'));
  });
}

test('a dispatch whose s is a string of digits still reads as that number (ETF bignums decode to strings)', () => {
  const envelope = decoder.decode(new TextEncoder().encode('{"op":0,"t":"X","s":"42","d":null}'), false)!;
  assert.equal(envelope.s, 42);
});
