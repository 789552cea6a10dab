/**
 * The pure machine against a hostile gateway: every number, id and URL it sends that would feed a timer,
 * an outgoing payload or a connection is checked; a bad one is a protocol violation and a reconnect, and
 * a gateway that keeps sending the shard away gets a growing backoff, not a storm.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { ShardlineError } from '../../src/errors.js';
import type { MachineConfig } from '../../src/shard/machine.js';
import {
  backoffDelayOf,
  events,
  GATEWAY,
  MachineDriver,
  ofType,
  RESUME,
  testConfig,
} from '../support/machine-driver.js';

const BAD_SEQUENCES: readonly unknown[] = [
  Number.POSITIVE_INFINITY,
  Number.NEGATIVE_INFINITY,
  Number.NaN,
  1e300,
  2 ** 53,
  -1,
  1.5,
  '7',
  {},
  true,
];

function errorsOf(fx: Parameters<typeof events>[0]): ShardlineError[] {
  return events(fx, 'error').map(([e]) => e);
}

function fieldOf(err: ShardlineError | undefined): string | undefined {
  return (err as { field?: string } | undefined)?.field;
}

function config(overrides: Record<string, unknown>): MachineConfig {
  return testConfig(overrides as Partial<MachineConfig>);
}

describe('hostile gateway: dispatch sequence', () => {
  for (const bad of BAD_SEQUENCES) {
    test(`a dispatch with s = ${String(bad)} is a protocol violation and the shard resumes from the last valid sequence`, () => {
      const m = new MachineDriver();
      m.connectReady();
      m.dispatch('MESSAGE_CREATE', 2);
      const fx = m.payload({ op: 0, t: 'MESSAGE_CREATE', s: bad as number, d: {} });
      const err = errorsOf(fx)[0];
      assert.equal(err?.code, 'PROTOCOL_VIOLATION');
      assert.equal(fieldOf(err), 's');
      assert.equal(events(fx, 'dispatch').length, 0, 'the bad dispatch is not delivered');
      assert.equal(ofType(fx, 'close')[0]?.code, 4000);
      assert.equal(m.state.ctx.seq, 2, 'the sequence is never replaced by the bad value');
      assert.equal(m.status, 'backoff');
      const open = ofType(m.advance(backoffDelayOf(m)), 'open')[0];
      assert.equal(open?.url, RESUME);
      m.feed({ type: 'socket-open', conn: m.conn });
      const hello = m.payload({ op: 10, d: { heartbeat_interval: 40_000 } });
      assert.equal(ofType(hello, 'resume')[0]?.seq, 2);
      m.dispatch('RESUMED', 2);
      // Heartbeats carry the last valid sequence too.
      const beats = ofType(m.advance(30_000), 'heartbeat');
      assert.ok(beats.length > 0 && beats.every((b) => b.seq === 2));
    });
  }

  test('a later dispatch is still delivered after a bad sequence (the sequence is not stuck)', () => {
    const m = new MachineDriver();
    m.connectReady();
    m.payload({ op: 0, t: 'MESSAGE_CREATE', s: Number.POSITIVE_INFINITY, d: {} });
    m.advance(backoffDelayOf(m));
    m.feed({ type: 'socket-open', conn: m.conn });
    m.payload({ op: 10, d: { heartbeat_interval: 40_000 } });
    const fx = [...m.dispatch('MESSAGE_CREATE', 2), ...m.dispatch('RESUMED', 3)];
    assert.deepEqual(
      events(fx, 'dispatch').map(([p]) => p.s),
      [2, 3],
    );
    assert.equal(m.status, 'ready');
  });

  test('a session whose resumes keep hitting a bad sequence falls back to identify', () => {
    const m = new MachineDriver();
    m.connectReady();
    m.payload({ op: 0, t: 'MESSAGE_CREATE', s: Number.POSITIVE_INFINITY, d: {} });
    for (let i = 0; i < 2; i++) {
      m.advance(backoffDelayOf(m));
      m.feed({ type: 'socket-open', conn: m.conn });
      m.payload({ op: 10, d: { heartbeat_interval: 40_000 } });
      m.payload({ op: 0, t: 'MESSAGE_CREATE', s: Number.POSITIVE_INFINITY, d: {} });
    }
    assert.equal(m.state.phase.status === 'backoff' && m.state.phase.mode, 'identify');
    assert.equal(ofType(m.advance(backoffDelayOf(m)), 'open')[0]?.url, GATEWAY);
  });

  test('READY with a bad sequence is refused and the shard identifies again', () => {
    const m = new MachineDriver();
    m.feed({ type: 'start', session: null });
    m.feed({ type: 'socket-open', conn: 1 });
    m.payload({ op: 10, d: { heartbeat_interval: 40_000 } });
    m.feed({ type: 'identify-slot', conn: 1 });
    const fx = m.dispatch('READY', Number.POSITIVE_INFINITY, {
      session_id: 'abc',
      resume_gateway_url: RESUME,
    });
    assert.equal(errorsOf(fx)[0]?.code, 'PROTOCOL_VIOLATION');
    assert.equal(events(fx, 'ready').length, 0);
    assert.equal(m.state.ctx.session, null);
    assert.equal(m.state.phase.status === 'backoff' && m.state.phase.mode, 'identify');
  });

  test('the in-order fast path never stores a sequence beyond 2^53 − 1', () => {
    const m = new MachineDriver();
    m.feed({
      type: 'start',
      session: {
        sessionId: 'abc',
        sequence: Number.MAX_SAFE_INTEGER,
        resumeUrl: RESUME,
        shardId: 0,
        shardCount: 1,
      },
    });
    m.feed({ type: 'socket-open', conn: 1 });
    m.payload({ op: 10, d: { heartbeat_interval: 40_000 } });
    m.dispatch('RESUMED', Number.MAX_SAFE_INTEGER);
    assert.equal(m.status, 'ready');
    const fx = m.dispatch('MESSAGE_CREATE', Number.MAX_SAFE_INTEGER + 1);
    assert.equal(errorsOf(fx)[0]?.code, 'PROTOCOL_VIOLATION');
    assert.equal(m.state.ctx.seq, Number.MAX_SAFE_INTEGER);
  });
});

describe('hostile gateway: READY fields', () => {
  const BAD_IDS: readonly unknown[] = [
    undefined,
    null,
    42,
    '',
    'x'.repeat(257),
    'has space',
    'tab\there',
    {},
  ];
  for (const id of BAD_IDS) {
    test(`READY with session_id ${JSON.stringify(id)?.slice(0, 20)} is refused and the shard identifies again`, () => {
      const m = new MachineDriver();
      m.feed({ type: 'start', session: null });
      m.feed({ type: 'socket-open', conn: 1 });
      m.payload({ op: 10, d: { heartbeat_interval: 40_000 } });
      m.feed({ type: 'identify-slot', conn: 1 });
      const fx = m.dispatch('READY', 1, { session_id: id, resume_gateway_url: RESUME });
      assert.equal(errorsOf(fx)[0]?.code, 'PROTOCOL_VIOLATION');
      assert.equal(fieldOf(errorsOf(fx)[0]), 'd.session_id');
      assert.equal(events(fx, 'ready').length, 0);
      assert.equal(m.state.phase.status === 'backoff' && m.state.phase.mode, 'identify');
    });
  }

  const BAD_URLS: readonly unknown[] = [
    'ws+unix:///tmp/gateway.sock',
    'http://evil.test',
    'https://evil.test',
    'file:///etc/passwd',
    'javascript:alert(1)',
    'not a url',
    'wss://user:pass@evil.test',
    `wss://${'a'.repeat(3000)}.test`,
    42,
    {},
  ];
  for (const url of BAD_URLS) {
    test(`READY with resume_gateway_url ${JSON.stringify(url)?.slice(0, 40)} keeps the session but resumes on the gateway URL`, () => {
      const m = new MachineDriver();
      m.feed({ type: 'start', session: null });
      m.feed({ type: 'socket-open', conn: 1 });
      m.payload({ op: 10, d: { heartbeat_interval: 40_000 } });
      m.feed({ type: 'identify-slot', conn: 1 });
      const fx = m.dispatch('READY', 1, { session_id: 'abc', resume_gateway_url: url });
      assert.equal(events(fx, 'ready').length, 1);
      assert.equal(fieldOf(errorsOf(fx)[0]), 'd.resume_gateway_url');
      assert.equal(m.state.ctx.session?.resumeUrl, GATEWAY);
      m.payload({ op: 7 });
      assert.equal(ofType(m.advance(backoffDelayOf(m)), 'open')[0]?.url, GATEWAY);
    });
  }

  test('a ws: or wss: resume_gateway_url is followed', () => {
    for (const url of ['ws://127.0.0.1:1234', 'wss://gateway-us-east1-c.discord.gg']) {
      const m = new MachineDriver();
      m.feed({ type: 'start', session: null });
      m.feed({ type: 'socket-open', conn: 1 });
      m.payload({ op: 10, d: { heartbeat_interval: 40_000 } });
      m.feed({ type: 'identify-slot', conn: 1 });
      const fx = m.dispatch('READY', 1, { session_id: 'abc', resume_gateway_url: url });
      assert.deepEqual(errorsOf(fx), []);
      assert.equal(m.state.ctx.session?.resumeUrl, url);
    }
  });

  test('a stored session with a bad sequence, id or resume URL is not trusted', () => {
    const base = { sessionId: 'abc', sequence: 5, resumeUrl: RESUME, shardId: 0, shardCount: 1 };
    for (const bad of [
      { sequence: 3e9 + 0.5 },
      { sequence: -1 },
      { sequence: Number.NaN },
      { sessionId: '' },
    ]) {
      const m = new MachineDriver();
      const fx = m.feed({ type: 'start', session: { ...base, ...bad } });
      assert.equal(ofType(fx, 'open')[0]?.url, GATEWAY, JSON.stringify(bad));
      assert.equal(m.state.ctx.session, null);
    }
    // A large but valid sequence is kept exactly (no 32-bit truncation).
    const big = new MachineDriver();
    big.feed({ type: 'start', session: { ...base, sequence: 3_000_000_000 } });
    assert.equal(big.state.ctx.seq, 3_000_000_000);
    // A stored resume URL of another scheme resumes on the gateway URL.
    const unix = new MachineDriver();
    const fx = unix.feed({ type: 'start', session: { ...base, resumeUrl: 'ws+unix:///tmp/x.sock' } });
    assert.equal(ofType(fx, 'open')[0]?.url, GATEWAY);
    assert.equal(unix.state.phase.status === 'connecting' && unix.state.phase.mode, 'resume');
  });
});

describe('hostile gateway: Hello heartbeat_interval', () => {
  const BAD: readonly unknown[] = [
    2 ** 31,
    2 ** 31 - 1,
    600_001,
    1e-9,
    1,
    999,
    0,
    -5,
    Number.NaN,
    Number.POSITIVE_INFINITY,
    '41250',
    null,
    undefined,
  ];
  for (const interval of BAD) {
    test(`heartbeat_interval ${String(interval)} is a protocol violation with backoff`, () => {
      const m = new MachineDriver();
      m.feed({ type: 'start', session: null });
      m.feed({ type: 'socket-open', conn: 1 });
      const fx = m.payload({ op: 10, d: { heartbeat_interval: interval } });
      assert.equal(errorsOf(fx)[0]?.code, 'PROTOCOL_VIOLATION');
      assert.equal(fieldOf(errorsOf(fx)[0]), 'd.heartbeat_interval');
      assert.equal(ofType(fx, 'start-timer').filter((e) => e.name === 'heartbeat').length, 0);
      assert.equal(ofType(fx, 'request-identify-slot').length, 0);
      assert.equal(m.status, 'backoff');
    });
  }

  test('a gateway that keeps sending a bad interval gets a growing backoff', () => {
    const m = new MachineDriver();
    m.feed({ type: 'start', session: null });
    const delays: number[] = [];
    for (let i = 0; i < 6; i++) {
      m.feed({ type: 'socket-open', conn: m.conn });
      m.payload({ op: 10, d: { heartbeat_interval: 2 ** 31 } });
      delays.push(backoffDelayOf(m));
      m.advance(backoffDelayOf(m));
    }
    assert.deepEqual(delays, [1_000, 2_000, 4_000, 8_000, 16_000, 30_000]);
  });

  test('the bounds are the configured ones, inclusive', () => {
    const m = new MachineDriver(config({ minHeartbeatIntervalMs: 5, maxHeartbeatIntervalMs: 50 }));
    m.feed({ type: 'start', session: null });
    m.feed({ type: 'socket-open', conn: 1 });
    let fx = m.payload({ op: 10, d: { heartbeat_interval: 5 } });
    assert.deepEqual(errorsOf(fx), []);
    assert.equal(m.status, 'waiting-identify-slot');
    const n = new MachineDriver(config({ minHeartbeatIntervalMs: 5, maxHeartbeatIntervalMs: 50 }));
    n.feed({ type: 'start', session: null });
    n.feed({ type: 'socket-open', conn: 1 });
    fx = n.payload({ op: 10, d: { heartbeat_interval: 51 } });
    assert.equal(errorsOf(fx)[0]?.code, 'PROTOCOL_VIOLATION');
  });

  test('no timer the machine starts is ever above 2^31 − 1 ms', () => {
    const m = new MachineDriver(config({ backoff: { baseMs: 1_000, maxMs: 2 ** 40, factor: 2, jitter: 0 } }));
    m.feed({ type: 'start', session: null });
    for (let i = 0; i < 40; i++) {
      m.feed({ type: 'socket-close', conn: m.conn, code: 1006, reason: '' });
      m.advance(backoffDelayOf(m));
    }
    for (const e of ofType(m.log, 'start-timer')) assert.ok(e.ms <= 2 ** 31 - 1, `${e.name} ${e.ms}`);
  });
});

describe('hostile gateway: reconnect storms', () => {
  /** Plays a gateway that answers every RESUME with RESUMED and then `after` at once. */
  function storm(
    after: { op: number; d?: unknown },
    virtualMs: number,
  ): { connections: number; delays: number[] } {
    const m = new MachineDriver();
    m.connectReady();
    // The first connection was healthy for a while: the first reconnect is the immediate orderly one.
    m.advance(30_000);
    m.payload({ op: 11 });
    m.advance(30_000);
    m.payload({ op: 11 });
    const start = m.clock.now();
    let connections = 0;
    const delays: number[] = [];
    m.payload(after);
    while (m.clock.now() - start < virtualMs && connections < 500) {
      const delay = backoffDelayOf(m);
      delays.push(delay);
      m.advance(delay);
      connections++;
      m.feed({ type: 'socket-open', conn: m.conn });
      m.payload({ op: 10, d: { heartbeat_interval: 40_000 } });
      const seq = m.state.ctx.seq;
      m.dispatch('RESUMED', seq + 1);
      m.payload(after);
    }
    return { connections, delays };
  }

  test('op 7 right after every RESUMED gets a growing backoff, not a storm', () => {
    const { connections, delays } = storm({ op: 7 }, 40_000);
    assert.deepEqual(delays.slice(0, 5), [0, 2_000, 4_000, 8_000, 16_000]);
    assert.ok(connections <= 6, `${connections} connections in 40 s of virtual time`);
  });

  test('op 9 (resumable) right after every RESUMED gets a growing backoff, not a storm', () => {
    const { connections, delays } = storm({ op: 9, d: true }, 40_000);
    assert.deepEqual(delays.slice(0, 5), [0, 2_000, 4_000, 8_000, 16_000]);
    assert.ok(connections <= 6, `${connections} connections in 40 s of virtual time`);
  });

  test('a connection that stayed up one heartbeat interval resets the backoff', () => {
    const m = new MachineDriver();
    m.connectReady();
    m.payload({ op: 7 });
    m.advance(backoffDelayOf(m));
    m.feed({ type: 'socket-open', conn: m.conn });
    m.payload({ op: 10, d: { heartbeat_interval: 40_000 } });
    m.dispatch('RESUMED', 2);
    m.payload({ op: 7 });
    assert.equal(backoffDelayOf(m), 2_000, 'told to go away at once: a failed attempt');
    m.advance(backoffDelayOf(m));
    m.feed({ type: 'socket-open', conn: m.conn });
    m.payload({ op: 10, d: { heartbeat_interval: 40_000 } });
    m.dispatch('RESUMED', 2);
    m.advance(40_000);
    m.payload({ op: 11 });
    m.payload({ op: 7 });
    assert.equal(backoffDelayOf(m), 0, 'stable for one interval: the orderly reconnect is immediate again');
  });

  test('stableConnectionMs overrides the one-interval default', () => {
    const m = new MachineDriver(config({ stableConnectionMs: 100_000 }));
    m.connectReady();
    m.payload({ op: 7 });
    m.advance(backoffDelayOf(m));
    m.feed({ type: 'socket-open', conn: m.conn });
    m.payload({ op: 10, d: { heartbeat_interval: 40_000 } });
    m.dispatch('RESUMED', 2);
    m.advance(30_000);
    m.payload({ op: 11 });
    m.advance(20_000);
    m.payload({ op: 7 });
    assert.equal(backoffDelayOf(m), 2_000);
  });

  test('op 9 d:false after every READY waits longer each time instead of identifying every 1–5 s', () => {
    const m = new MachineDriver();
    m.connectReady();
    m.random = 0;
    const delays: number[] = [];
    m.payload({ op: 9, d: false });
    for (let i = 0; i < 5; i++) {
      delays.push(backoffDelayOf(m));
      m.advance(backoffDelayOf(m));
      m.feed({ type: 'socket-open', conn: m.conn });
      m.payload({ op: 10, d: { heartbeat_interval: 40_000 } });
      m.feed({ type: 'identify-slot', conn: m.conn });
      m.dispatch('READY', 1, { session_id: `s${i}`, resume_gateway_url: RESUME });
      m.payload({ op: 9, d: false });
    }
    assert.deepEqual(delays, [1_000, 2_000, 4_000, 8_000, 16_000]);
  });

  test('op 9 with a d that is not a boolean is treated as not resumable', () => {
    const m = new MachineDriver();
    m.connectReady();
    m.payload({ op: 9, d: 'true' });
    assert.equal(m.state.ctx.session, null);
    assert.equal(m.state.phase.status === 'backoff' && m.state.phase.mode, 'identify');
  });
});

describe('hostile gateway: heartbeat requests', () => {
  test('a flood of op 1 is answered only while the send limit allows', () => {
    const m = new MachineDriver();
    m.connectReady();
    let beats = 0;
    for (let i = 0; i < 500; i++) beats += ofType(m.payload({ op: 1 }), 'heartbeat').length;
    assert.ok(beats > 0 && beats < 120, `${beats} heartbeats answered`);
    // The next scheduled beat still goes out.
    m.payload({ op: 11 });
    assert.equal(ofType(m.advance(20_000), 'heartbeat').length, 1);
  });
});
