import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { GatewayCloseError, SendError, ShardError, TimeoutError } from '../../src/errors.js';
import { GATEWAY_CLOSE_CODES } from '../../src/shard/close-codes.js';
import {
  type Envelope,
  generalTransition,
  type MachineInput,
  type ShardState,
  transition,
} from '../../src/shard/machine.js';
import { DEFAULT_SEND_LIMIT, reservedSlots } from '../../src/shard/send-limiter.js';
import {
  backoffDelayOf,
  events,
  GATEWAY,
  MachineDriver,
  ofType,
  RESUME,
  testConfig,
} from '../support/machine-driver.js';

describe('shard machine: connecting and identifying', () => {
  test('start without a session opens the gateway URL and goes to connecting', () => {
    const m = new MachineDriver();
    const fx = m.feed({ type: 'start', session: null });
    assert.equal(m.status, 'connecting');
    assert.deepEqual(ofType(fx, 'open'), [{ type: 'open', conn: 1, url: GATEWAY }]);
    assert.deepEqual(events(fx, 'status'), [['connecting', 'idle']]);
    assert.ok(m.timerPending('open'));
  });

  test('walks idle → connecting → awaiting-hello → waiting-identify-slot → identifying → ready', () => {
    const m = new MachineDriver();
    const statuses: string[] = [];
    const fx = m.connectReady();
    for (const [s] of events(fx, 'status')) statuses.push(s);
    assert.deepEqual(statuses, [
      'connecting',
      'awaiting-hello',
      'waiting-identify-slot',
      'identifying',
      'ready',
    ]);
    assert.equal(ofType(fx, 'request-identify-slot').length, 1);
    assert.equal(ofType(fx, 'identify').length, 1);
    assert.equal(events(fx, 'ready').length, 1);
    assert.deepEqual(ofType(fx, 'persist-session').at(-1)?.session, {
      sessionId: 'sess-1',
      sequence: 1,
      resumeUrl: RESUME,
      shardId: 0,
      shardCount: 1,
    });
    assert.equal(events(fx, 'dispatch')[0]?.[0].t, 'READY');
    assert.ok(!m.timerPending('ready'));
  });

  test('identifies only after the identify queue grants a slot', () => {
    const m = new MachineDriver();
    m.feed({ type: 'start', session: null });
    m.feed({ type: 'socket-open', conn: 1 });
    const fx = m.payload({ op: 10, d: { heartbeat_interval: 40_000 } });
    assert.equal(ofType(fx, 'identify').length, 0);
    assert.equal(m.status, 'waiting-identify-slot');
    assert.equal(ofType(m.advance(15_000), 'identify').length, 0);
    assert.equal(ofType(m.feed({ type: 'identify-slot', conn: 1 }), 'identify').length, 1);
  });

  test('a slot granted for an old connection is ignored', () => {
    const m = new MachineDriver();
    m.feed({ type: 'start', session: null });
    m.feed({ type: 'socket-open', conn: 1 });
    m.payload({ op: 10, d: { heartbeat_interval: 40_000 } });
    m.feed({ type: 'socket-close', conn: 1, code: 1006, reason: '' });
    assert.ok(ofType(m.log, 'cancel-identify-slot').length > 0);
    assert.deepEqual(m.feed({ type: 'identify-slot', conn: 1 }), []);
  });

  test('a stored session for this shard resumes on the stored URL', () => {
    const m = new MachineDriver();
    const fx = m.feed({
      type: 'start',
      session: { sessionId: 'old', sequence: 42, resumeUrl: RESUME, shardId: 0, shardCount: 1 },
    });
    assert.equal(ofType(fx, 'open')[0]?.url, RESUME);
    m.feed({ type: 'socket-open', conn: 1 });
    const hello = m.payload({ op: 10, d: { heartbeat_interval: 40_000 } });
    assert.deepEqual(ofType(hello, 'resume'), [{ type: 'resume', conn: 1, sessionId: 'old', seq: 42 }]);
    assert.equal(m.status, 'resuming');
  });

  test('a stored session for another shard is ignored and the shard identifies', () => {
    const m = new MachineDriver();
    const fx = m.feed({
      type: 'start',
      session: { sessionId: 'old', sequence: 42, resumeUrl: RESUME, shardId: 1, shardCount: 2 },
    });
    assert.equal(ofType(fx, 'open')[0]?.url, GATEWAY);
  });

  test('a Hello without a heartbeat interval is a protocol violation that reconnects', () => {
    const m = new MachineDriver();
    m.feed({ type: 'start', session: null });
    m.feed({ type: 'socket-open', conn: 1 });
    const fx = m.payload({ op: 10, d: {} });
    assert.ok(events(fx, 'error')[0]?.[0] instanceof ShardError);
    assert.equal(m.status, 'backoff');
  });
});

describe('shard machine: heartbeats', () => {
  test('sends the first heartbeat after interval × random, then every interval', () => {
    const m = new MachineDriver();
    m.random = 0.25;
    m.feed({ type: 'start', session: null });
    m.feed({ type: 'socket-open', conn: 1 });
    m.payload({ op: 10, d: { heartbeat_interval: 40_000 } });
    assert.equal(ofType(m.advance(9_999), 'heartbeat').length, 0);
    assert.deepEqual(ofType(m.advance(1), 'heartbeat'), [{ type: 'heartbeat', conn: 1, seq: null }]);
    m.payload({ op: 11 });
    assert.equal(ofType(m.advance(39_999), 'heartbeat').length, 0);
    assert.equal(ofType(m.advance(1), 'heartbeat').length, 1);
  });

  test('measures latency on each ACK and sends the last sequence', () => {
    const m = new MachineDriver();
    m.random = 0;
    m.connectReady(1_000);
    assert.deepEqual(ofType(m.advance(0), 'heartbeat'), [{ type: 'heartbeat', conn: 1, seq: 1 }]);
    m.payload({ op: 11 });
    m.dispatch('GUILD_CREATE', 2);
    const beat = m.advance(1_000);
    assert.deepEqual(ofType(beat, 'heartbeat'), [{ type: 'heartbeat', conn: 1, seq: 2 }]);
    m.advance(37);
    const ack = m.payload({ op: 11 });
    assert.deepEqual(events(ack, 'heartbeat'), [[{ latencyMs: 37 }]]);
  });

  test('a heartbeat not ACKed by the next beat is a zombie: close non-1000 and resume', () => {
    const m = new MachineDriver();
    m.random = 0;
    m.connectReady(1_000);
    assert.equal(ofType(m.advance(0), 'heartbeat').length, 1); // beat 1, never ACKed
    const fx = m.advance(1_000);
    const closes = ofType(fx, 'close');
    assert.equal(closes.length, 1);
    assert.notEqual(closes[0]!.code, 1000);
    assert.notEqual(closes[0]!.code, 1001);
    assert.equal(ofType(fx, 'heartbeat').length, 0, 'no heartbeat goes to the zombie socket');
    assert.equal(ofType(fx, 'open')[0]?.url, RESUME, 'reconnects to resume');
  });

  test('server op 1 triggers an immediate heartbeat without moving the schedule', () => {
    const m = new MachineDriver();
    m.random = 0.5;
    m.feed({ type: 'start', session: null });
    m.feed({ type: 'socket-open', conn: 1 });
    m.payload({ op: 10, d: { heartbeat_interval: 10_000 } });
    m.advance(1_000);
    assert.equal(ofType(m.payload({ op: 1 }), 'heartbeat').length, 1);
    m.payload({ op: 11 });
    assert.equal(ofType(m.advance(4_000), 'heartbeat').length, 1, 'scheduled beat still at 5 s');
  });

  test('no heartbeat timer survives a closed connection', () => {
    const m = new MachineDriver();
    m.random = 0;
    m.connectReady(1_000);
    m.feed({ type: 'socket-close', conn: 1, code: 4000, reason: '' });
    assert.ok(!m.timerPending('heartbeat'));
    // Nothing reconnects within the backoff; no heartbeat is produced for the dead connection.
    assert.equal(ofType(m.advance(500), 'heartbeat').length, 0);
  });
});

describe('shard machine: reconnect, resume and invalid session', () => {
  test('op 7 closes with a non-1000 code and resumes to resume_gateway_url', () => {
    const m = new MachineDriver();
    m.connectReady();
    m.dispatch('MESSAGE_CREATE', 2);
    const fx = m.payload({ op: 7 });
    assert.equal(ofType(fx, 'close')[0]?.code, 4000);
    assert.equal(m.status, 'backoff');
    const open = m.advance(0);
    assert.equal(ofType(open, 'open')[0]?.url, RESUME);
    m.feed({ type: 'socket-open', conn: 2 });
    const hello = m.payload({ op: 10, d: { heartbeat_interval: 40_000 } });
    assert.deepEqual(ofType(hello, 'resume'), [{ type: 'resume', conn: 2, sessionId: 'sess-1', seq: 2 }]);
  });

  test('replayed duplicates are dropped and RESUMED reports the replay count', () => {
    const m = new MachineDriver();
    m.connectReady();
    m.dispatch('MESSAGE_CREATE', 2);
    m.payload({ op: 7 });
    m.advance(0);
    m.feed({ type: 'socket-open', conn: 2 });
    m.payload({ op: 10, d: { heartbeat_interval: 40_000 } });
    const dup = m.dispatch('MESSAGE_CREATE', 2);
    assert.equal(events(dup, 'dispatch').length, 0);
    const fresh = m.dispatch('MESSAGE_CREATE', 3);
    assert.equal(events(fresh, 'dispatch').length, 1);
    const resumed = m.dispatch('RESUMED', 4);
    assert.equal(m.status, 'ready');
    assert.deepEqual(events(resumed, 'resumed'), [[{ replayed: 1 }]]);
  });

  test('a sequence gap is reported as an error event and delivery continues', () => {
    const m = new MachineDriver();
    m.connectReady();
    const fx = m.dispatch('MESSAGE_CREATE', 5);
    const err = events(fx, 'error')[0]?.[0];
    assert.ok(err instanceof ShardError);
    assert.equal(err.code, 'SEQUENCE_GAP');
    assert.equal(events(fx, 'dispatch').length, 1);
    assert.equal(m.state.ctx.seq, 5);
  });

  test('op 9 d:true resumes', () => {
    const m = new MachineDriver();
    m.connectReady();
    m.payload({ op: 9, d: true });
    assert.equal(m.state.phase.status === 'backoff' && m.state.phase.mode, 'resume');
    assert.equal(ofType(m.advance(0), 'open')[0]?.url, RESUME);
  });

  test('op 9 d:false forgets the session, waits 1–5 s and identifies on the gateway URL', () => {
    const m = new MachineDriver();
    m.connectReady();
    m.random = 0.5;
    const fx = m.payload({ op: 9, d: false });
    assert.deepEqual(ofType(fx, 'persist-session').at(-1)?.session, null);
    assert.equal(m.state.phase.status === 'backoff' && m.state.phase.delayMs, 3_000);
    assert.equal(ofType(m.advance(2_999), 'open').length, 0);
    assert.equal(ofType(m.advance(1), 'open')[0]?.url, GATEWAY);
    m.feed({ type: 'socket-open', conn: 2 });
    const hello = m.payload({ op: 10, d: { heartbeat_interval: 40_000 } });
    assert.equal(ofType(hello, 'request-identify-slot').length, 1);
    assert.equal(ofType(hello, 'resume').length, 0);
  });

  test('op 9 wait spans exactly the configured range for random 0 and ~1', () => {
    for (const [random, expected] of [
      [0, 1_000],
      [0.999999, 5_000],
    ] as const) {
      const m = new MachineDriver();
      m.connectReady();
      m.random = random;
      m.payload({ op: 9, d: false });
      assert.equal(m.state.phase.status === 'backoff' && m.state.phase.delayMs, expected);
    }
  });

  test('op 9 during a resume falls back to identify on the main gateway URL', () => {
    const m = new MachineDriver();
    m.connectReady();
    m.payload({ op: 7 });
    m.advance(0);
    m.feed({ type: 'socket-open', conn: 2 });
    m.payload({ op: 10, d: { heartbeat_interval: 40_000 } });
    m.payload({ op: 9, d: false });
    assert.equal(ofType(m.advance(5_000), 'open')[0]?.url, GATEWAY);
  });

  test('a resume that fails twice identifies instead of looping', () => {
    const m = new MachineDriver();
    m.connectReady();
    m.payload({ op: 7 });
    m.advance(0);
    // Resume attempt 1: the socket drops before RESUMED.
    m.feed({ type: 'socket-open', conn: 2 });
    m.payload({ op: 10, d: { heartbeat_interval: 40_000 } });
    m.feed({ type: 'socket-close', conn: 2, code: 1006, reason: '' });
    assert.equal(m.state.phase.status === 'backoff' && m.state.phase.mode, 'resume');
    m.advance(backoffDelayOf(m));
    // Resume attempt 2 fails too: identify on the gateway URL.
    m.feed({ type: 'socket-open', conn: 3 });
    m.payload({ op: 10, d: { heartbeat_interval: 40_000 } });
    const fx = m.feed({ type: 'socket-close', conn: 3, code: 1006, reason: '' });
    assert.equal(m.state.phase.status === 'backoff' && m.state.phase.mode, 'identify');
    assert.deepEqual(ofType(fx, 'persist-session').at(-1)?.session, null);
    assert.equal(ofType(m.advance(backoffDelayOf(m)), 'open')[0]?.url, GATEWAY);
  });

  test('inputs from a stale connection are ignored', () => {
    const m = new MachineDriver();
    m.connectReady();
    m.payload({ op: 7 });
    m.advance(0);
    const before = m.state;
    assert.deepEqual(m.feed({ type: 'socket-close', conn: 1, code: 4004, reason: '' }), []);
    assert.deepEqual(
      m.feed({ type: 'socket-payload', conn: 1, payload: { op: 7, d: null, s: null, t: null } }),
      [],
    );
    assert.equal(m.state, before);
  });
});

describe('shard machine: close codes', () => {
  const cases: [number, 'resume' | 'reidentify' | 'fatal'][] = [
    ...Object.entries(GATEWAY_CLOSE_CODES).map(
      ([code, info]) => [Number(code), info.action] as [number, typeof info.action],
    ),
    [1000, 'resume'],
    [1001, 'resume'],
    [1006, 'resume'],
    [1011, 'resume'],
    [3000, 'resume'],
    [4006, 'resume'],
    [4015, 'resume'],
    [4999, 'resume'],
  ];
  for (const [code, action] of cases) {
    test(`close ${code} while ready → ${action}`, () => {
      const m = new MachineDriver();
      m.connectReady();
      const fx = m.feed({ type: 'socket-close', conn: 1, code, reason: 'bye' });
      assert.equal(events(fx, 'close')[0]?.[0].action, action);
      if (action === 'fatal') {
        assert.equal(m.status, 'closed');
        const err = events(fx, 'error')[0]?.[0];
        assert.ok(err instanceof GatewayCloseError);
        assert.equal(err.closeCode, code);
        assert.equal(err.kind, 'fatal');
        assert.deepEqual(ofType(fx, 'stopped'), [{ type: 'stopped', error: err }]);
        assert.equal(ofType(m.advance(10 * 60_000), 'open').length, 0, 'never reconnects');
      } else {
        assert.equal(m.status, 'backoff');
        const open = ofType(m.advance(backoffDelayOf(m)), 'open');
        assert.equal(open.length, 1);
        assert.equal(open[0]!.url, action === 'resume' ? RESUME : GATEWAY);
      }
    });
  }

  test('fatal codes also stop a shard that is still identifying', () => {
    const m = new MachineDriver();
    m.feed({ type: 'start', session: null });
    m.feed({ type: 'socket-open', conn: 1 });
    m.payload({ op: 10, d: { heartbeat_interval: 40_000 } });
    m.feed({ type: 'identify-slot', conn: 1 });
    m.feed({ type: 'socket-close', conn: 1, code: 4004, reason: 'Authentication failed.' });
    assert.equal(m.status, 'closed');
    assert.equal(m.state.phase.status === 'closed' && m.state.phase.error?.code, 'GATEWAY_CLOSED');
  });
});

describe('shard machine: backoff', () => {
  test('delays grow exponentially, are capped, and reset after a READY that stayed up one heartbeat interval', () => {
    const m = new MachineDriver(testConfig({ backoff: { baseMs: 100, maxMs: 1_000, factor: 2, jitter: 0 } }));
    m.feed({ type: 'start', session: null });
    const delays: number[] = [];
    for (let i = 0; i < 6; i++) {
      m.feed({ type: 'socket-close', conn: m.conn, code: 1006, reason: '' });
      assert.equal(m.status, 'backoff');
      delays.push(m.state.phase.status === 'backoff' ? m.state.phase.delayMs : -1);
      m.advance(backoffDelayOf(m));
    }
    assert.deepEqual(delays, [100, 200, 400, 800, 1_000, 1_000]);
    // Reach READY on the current connection, then drop: back to the base delay.
    m.feed({ type: 'socket-open', conn: m.conn });
    m.payload({ op: 10, d: { heartbeat_interval: 40_000 } });
    m.feed({ type: 'identify-slot', conn: m.conn });
    m.dispatch('READY', 1, { session_id: 's', resume_gateway_url: RESUME });
    m.advance(40_000);
    m.feed({ type: 'socket-close', conn: m.conn, code: 1006, reason: '' });
    assert.equal(m.state.phase.status === 'backoff' && m.state.phase.delayMs, 100);
  });

  test('jitter scales the delay with the injected random value', () => {
    const m = new MachineDriver(
      testConfig({ backoff: { baseMs: 1_000, maxMs: 10_000, factor: 2, jitter: 0.5 } }),
    );
    m.feed({ type: 'start', session: null });
    m.random = 0;
    m.feed({ type: 'socket-close', conn: 1, code: 1006, reason: '' });
    assert.equal(m.state.phase.status === 'backoff' && m.state.phase.delayMs, 500);
  });

  test('the first orderly reconnect (op 7) is immediate', () => {
    const m = new MachineDriver();
    m.connectReady();
    m.payload({ op: 7 });
    assert.equal(m.state.phase.status === 'backoff' && m.state.phase.delayMs, 0);
  });
});

describe('shard machine: timeouts', () => {
  test('open, hello and ready timeouts emit TimeoutError and reconnect', () => {
    const m = new MachineDriver(testConfig({ openTimeoutMs: 100, helloTimeoutMs: 200, readyTimeoutMs: 300 }));
    m.feed({ type: 'start', session: null });
    let fx = m.advance(100);
    assert.equal((events(fx, 'error')[0]![0] as TimeoutError).code, 'OPEN_TIMEOUT');
    assert.equal(ofType(fx, 'close').length, 1);
    m.advance(backoffDelayOf(m));
    m.feed({ type: 'socket-open', conn: m.conn });
    fx = m.advance(200);
    assert.equal((events(fx, 'error')[0]![0] as TimeoutError).code, 'HELLO_TIMEOUT');
    m.advance(backoffDelayOf(m));
    m.feed({ type: 'socket-open', conn: m.conn });
    m.payload({ op: 10, d: { heartbeat_interval: 40_000 } });
    m.feed({ type: 'identify-slot', conn: m.conn });
    fx = m.advance(300);
    const err = events(fx, 'error')[0]?.[0];
    assert.ok(err instanceof TimeoutError);
    assert.equal(err.code, 'READY_TIMEOUT');
    assert.equal(m.status, 'backoff');
  });
});

describe('shard machine: sends', () => {
  test('sends made before READY are queued and delivered after READY', () => {
    const m = new MachineDriver();
    m.feed({ type: 'send', id: 1, data: 'a' });
    m.feed({ type: 'start', session: null });
    m.feed({ type: 'send', id: 2, data: 'b' });
    const fx = m.connectReadyFromStarted();
    assert.deepEqual(
      ofType(fx, 'send').map((s) => s.id),
      [1, 2],
    );
  });

  test('a full queue rejects with SEND_QUEUE_FULL instead of dropping', () => {
    const m = new MachineDriver(testConfig({ maxQueuedSends: 2 }));
    m.feed({ type: 'send', id: 1, data: 'a' });
    m.feed({ type: 'send', id: 2, data: 'b' });
    const fx = m.feed({ type: 'send', id: 3, data: 'c' });
    const rejected = ofType(fx, 'reject-send');
    assert.equal(rejected.length, 1);
    assert.equal(rejected[0]!.id, 3);
    assert.ok(rejected[0]!.error instanceof SendError);
    assert.equal(rejected[0]!.error.code, 'SEND_QUEUE_FULL');
  });

  test('a burst never exceeds the window and keeps slots for heartbeats', () => {
    const limit = DEFAULT_SEND_LIMIT;
    const m = new MachineDriver(testConfig({ maxQueuedSends: 1_000 }));
    m.random = 0;
    m.connectReady(40_000);
    const sentAt: number[] = [];
    const record = (fx: readonly { type: string }[]) => {
      let beat = false;
      for (const e of fx) {
        if (e.type === 'send' || e.type === 'heartbeat') sentAt.push(m.clock.now());
        if (e.type === 'heartbeat') beat = true;
      }
      if (beat) m.payload({ op: 11 });
    };
    // The identify already used one slot of this connection's window.
    sentAt.push(0);
    for (let i = 0; i < 1_000; i++) record(m.feed({ type: 'send', id: i, data: 'x' }));
    const reserved = reservedSlots(40_000, limit);
    assert.equal(ofType(m.log, 'send').length, limit.perWindow - reserved - 1, 'identify used one slot');
    for (let t = 0; t < 12 * 60_000; t += 500) record(m.advance(500));
    const sends = ofType(m.log, 'send').length;
    assert.equal(sends, 1_000, 'every queued payload is eventually sent');
    // Sliding check over every send: never more than perWindow within windowMs.
    sentAt.sort((a, b) => a - b);
    for (let i = 0; i + limit.perWindow < sentAt.length; i++) {
      assert.ok(
        sentAt[i + limit.perWindow]! - sentAt[i]! > limit.windowMs,
        `window violated at ${sentAt[i]}`,
      );
    }
    // Heartbeats always went out on time (no zombie, never queued behind caller sends).
    assert.equal(m.status, 'ready');
  });

  test('destroy rejects queued sends with SHARD_DESTROYED', () => {
    const m = new MachineDriver();
    m.feed({ type: 'send', id: 7, data: 'x' });
    const fx = m.feed({ type: 'destroy', code: 1000, reason: '' });
    assert.equal(ofType(fx, 'reject-send')[0]?.error.code, 'SHARD_DESTROYED');
    assert.equal(m.status, 'closed');
    const after = m.feed({ type: 'send', id: 8, data: 'y' });
    assert.equal(ofType(after, 'reject-send')[0]?.error.code, 'SHARD_DESTROYED');
  });
});

describe('shard machine: destroy and filtering', () => {
  test('destroy with 1000 closes cleanly and forgets the session', () => {
    const m = new MachineDriver();
    m.connectReady();
    const fx = m.feed({ type: 'destroy', code: 1000, reason: 'bye' });
    assert.deepEqual(ofType(fx, 'close'), [{ type: 'close', conn: 1, code: 1000, reason: 'bye' }]);
    assert.deepEqual(ofType(fx, 'persist-session').at(-1)?.session, null);
    assert.deepEqual(ofType(fx, 'stopped'), [{ type: 'stopped', error: null }]);
    assert.ok(!m.timerPending('heartbeat'));
    assert.equal(m.clock.pending, 0, 'no timer left behind');
  });

  test('destroy with a resumable code keeps the session for a later process', () => {
    const m = new MachineDriver();
    m.connectReady();
    m.dispatch('MESSAGE_CREATE', 2);
    const fx = m.feed({ type: 'destroy', code: 4000, reason: 'restart' });
    assert.deepEqual(ofType(fx, 'persist-session').at(-1)?.session, {
      sessionId: 'sess-1',
      sequence: 2,
      resumeUrl: RESUME,
      shardId: 0,
      shardCount: 1,
    });
  });

  test('a dispatch filter skips unwanted types but still tracks their sequence', () => {
    const m = new MachineDriver(testConfig({ dispatchFilter: new Set(['MESSAGE_CREATE']) }));
    const ready = m.connectReady();
    assert.equal(events(ready, 'ready').length, 1, 'READY is always processed');
    assert.equal(events(m.dispatch('TYPING_START', 2), 'dispatch').length, 0);
    assert.equal(
      events(m.payload({ op: 0, t: 'PRESENCE_UPDATE', s: 3, d: undefined, skipped: true }), 'dispatch')
        .length,
      0,
    );
    const fx = m.dispatch('MESSAGE_CREATE', 4);
    assert.equal(events(fx, 'dispatch').length, 1);
    assert.equal(events(fx, 'error').length, 0, 'no gap: skipped sequences were counted');
  });
});

describe('shard machine: paused reading', () => {
  test('pausing reading emits set-reading for the live connection and is remembered', () => {
    const m = new MachineDriver();
    m.connectReady();
    const fx = m.feed({ type: 'reading', paused: true });
    assert.deepEqual(ofType(fx, 'set-reading'), [{ type: 'set-reading', conn: 1, paused: true }]);
    assert.equal(m.state.ctx.readsPaused, true);
    assert.deepEqual(m.feed({ type: 'reading', paused: true }), [], 'pausing twice is a no-op');
    const back = m.feed({ type: 'reading', paused: false });
    assert.deepEqual(ofType(back, 'set-reading'), [{ type: 'set-reading', conn: 1, paused: false }]);
    assert.equal(m.state.ctx.readsPaused, false);
  });

  test('while reading is paused an unACKed heartbeat is not a zombie: heartbeats keep going out', () => {
    const m = new MachineDriver();
    m.random = 0;
    m.connectReady(1_000);
    assert.equal(ofType(m.advance(0), 'heartbeat').length, 1); // beat 1; its ACK stays unread
    m.feed({ type: 'reading', paused: true });
    const fx = m.advance(5_000);
    assert.equal(ofType(fx, 'close').length, 0, 'no zombie close while paused');
    assert.equal(ofType(fx, 'heartbeat').length, 5, 'one heartbeat per interval');
    assert.equal(m.status, 'ready');
  });

  test('after reading resumes, the held ACK is read and a later missing ACK is a zombie again', () => {
    const m = new MachineDriver();
    m.random = 0;
    m.connectReady(1_000);
    m.advance(0);
    m.feed({ type: 'reading', paused: true });
    m.advance(2_000);
    m.feed({ type: 'reading', paused: false });
    m.payload({ op: 11 }); // the ACK that waited in the socket
    assert.equal(ofType(m.advance(1_000), 'close').length, 0, 'ACKed: the next beat goes out');
    const fx = m.advance(1_000); // that beat was never ACKed and reading is not paused
    assert.equal(ofType(fx, 'close').length, 1);
    assert.notEqual(ofType(fx, 'close')[0]!.code, 1000);
  });

  test('Hello and READY timeouts wait while reading is paused', () => {
    const m = new MachineDriver();
    m.feed({ type: 'reading', paused: true });
    const started = m.feed({ type: 'start', session: null });
    assert.equal(ofType(started, 'set-reading').length, 0, 'the transport is opened paused instead');
    m.feed({ type: 'socket-open', conn: 1 });
    const idle = m.advance(30_000);
    assert.equal(ofType(idle, 'close').length, 0, 'no hello timeout while paused');
    assert.equal(m.status, 'awaiting-hello');
    m.feed({ type: 'reading', paused: false });
    m.payload({ op: 10, d: { heartbeat_interval: 40_000 } });
    m.feed({ type: 'identify-slot', conn: 1 });
    m.feed({ type: 'reading', paused: true });
    assert.equal(ofType(m.advance(30_000), 'close').length, 0, 'no ready timeout while paused');
    assert.equal(m.status, 'identifying');
    m.feed({ type: 'reading', paused: false });
    const timeout = m.advance(10_000);
    assert.equal(events(timeout, 'error')[0]?.[0].code, 'READY_TIMEOUT');
  });

  test('a close during a pause resumes the session; the new connection stays paused', () => {
    const m = new MachineDriver();
    m.connectReady();
    m.dispatch('MESSAGE_CREATE', 2);
    m.feed({ type: 'reading', paused: true });
    m.feed({ type: 'socket-close', conn: 1, code: 1006, reason: '' });
    assert.equal(m.status, 'backoff');
    const fx = m.advance(backoffDelayOf(m));
    assert.equal(ofType(fx, 'open')[0]?.url, RESUME);
    assert.equal(m.state.ctx.readsPaused, true);
    m.feed({ type: 'socket-open', conn: 2 });
    m.feed({ type: 'reading', paused: false });
    const hello = m.payload({ op: 10, d: { heartbeat_interval: 40_000 } });
    assert.deepEqual(ofType(hello, 'resume'), [{ type: 'resume', conn: 2, sessionId: 'sess-1', seq: 2 }]);
  });
});

describe('shard machine: the in-order dispatch fast path', () => {
  /** `transition` (fast path when it applies) and `generalTransition` must agree exactly. */
  function assertSame(state: ShardState, payload: Partial<Envelope> & { op: number }, conn = state.ctx.conn) {
    const input: MachineInput = {
      type: 'socket-payload',
      conn,
      payload: { d: null, s: null, t: null, ...payload },
      now: 1234,
      random: 0.5,
    };
    const fast = transition(state, input);
    const general = generalTransition(state, input);
    assert.deepEqual(fast.state, general.state);
    assert.deepEqual([...fast.effects], [...general.effects]);
    return fast;
  }

  function readyDriver(filter: ReadonlySet<string> | null = null): MachineDriver {
    const m = new MachineDriver(testConfig({ dispatchFilter: filter }));
    m.connectReady();
    return m;
  }

  test('an in-order dispatch in ready: same state and effects as the general path', () => {
    const m = readyDriver();
    const fx = assertSame(m.state, { op: 0, t: 'MESSAGE_CREATE', s: 2, d: { id: '1' } });
    assert.equal(fx.state.ctx.seq, 2);
    assert.deepEqual(events([...fx.effects], 'dispatch'), [
      [{ op: 0, t: 'MESSAGE_CREATE', s: 2, d: { id: '1' } }],
    ]);
  });

  test('a run of in-order dispatches matches the general path step by step', () => {
    const m = readyDriver();
    for (let s = 2; s < 50; s++) {
      assertSame(m.state, { op: 0, t: s % 3 === 0 ? 'TYPING_START' : 'MESSAGE_CREATE', s, d: { s } });
      m.dispatch('MESSAGE_CREATE', s, { s });
    }
    assert.equal(m.state.ctx.seq, 49);
  });

  test('a gap, a duplicate and a dispatch without a sequence agree with the general path', () => {
    const m = readyDriver();
    m.dispatch('MESSAGE_CREATE', 2);
    const gap = assertSame(m.state, { op: 0, t: 'MESSAGE_CREATE', s: 9, d: {} });
    assert.equal(events([...gap.effects], 'error')[0]?.[0].code, 'SEQUENCE_GAP');
    const dup = assertSame(m.state, { op: 0, t: 'MESSAGE_CREATE', s: 2, d: {} });
    assert.equal(events([...dup.effects], 'dispatch').length, 0);
    assertSame(m.state, { op: 0, t: 'MESSAGE_CREATE', s: 1, d: {} });
    assertSame(m.state, { op: 0, t: 'MESSAGE_CREATE', s: null, d: {} });
  });

  test('filtered and skipped in-order dispatches advance the sequence without an emit', () => {
    const m = readyDriver(new Set(['MESSAGE_CREATE']));
    const filtered = assertSame(m.state, { op: 0, t: 'TYPING_START', s: 2, d: {} });
    assert.equal(filtered.state.ctx.seq, 2);
    assert.equal(filtered.effects.length, 0);
    m.dispatch('TYPING_START', 2);
    const skipped = assertSame(m.state, { op: 0, t: 'PRESENCE_UPDATE', s: 3, d: undefined, skipped: true });
    assert.equal(skipped.state.ctx.seq, 3);
    assert.equal(skipped.effects.length, 0);
    assertSame(m.state, { op: 0, t: null, s: 3 });
  });

  test('while resuming, at RESUMED and after it: same outputs as the general path', () => {
    const m = readyDriver();
    m.dispatch('MESSAGE_CREATE', 2);
    m.payload({ op: 7 });
    m.advance(0);
    m.feed({ type: 'socket-open', conn: 2 });
    m.payload({ op: 10, d: { heartbeat_interval: 40_000 } });
    assert.equal(m.status, 'resuming');
    const replayed = assertSame(m.state, { op: 0, t: 'MESSAGE_CREATE', s: 3, d: {} });
    assert.deepEqual(replayed.state.phase, { status: 'resuming', replayed: 1 });
    m.dispatch('MESSAGE_CREATE', 3);
    const resumed = assertSame(m.state, { op: 0, t: 'RESUMED', s: 4, d: {} });
    assert.deepEqual(events([...resumed.effects], 'resumed'), [[{ replayed: 1 }]]);
    m.dispatch('RESUMED', 4);
    assert.equal(m.status, 'ready');
    assertSame(m.state, { op: 0, t: 'MESSAGE_CREATE', s: 5, d: {} });
    assertSame(m.state, { op: 0, t: 'RESUMED', s: 5, d: {} });
  });

  test('a stale connection, a READY in ready and a dispatch before READY agree with the general path', () => {
    const m = readyDriver();
    const stale = assertSame(m.state, { op: 0, t: 'MESSAGE_CREATE', s: 2, d: {} }, m.conn - 1);
    assert.equal(stale.effects.length, 0);
    assertSame(m.state, { op: 0, t: 'READY', s: 2, d: { session_id: 'x' } });
    const early = new MachineDriver();
    early.feed({ type: 'start', session: null });
    early.feed({ type: 'socket-open', conn: 1 });
    early.payload({ op: 10, d: { heartbeat_interval: 40_000 } });
    early.feed({ type: 'identify-slot', conn: 1 });
    assertSame(early.state, { op: 0, t: 'MESSAGE_CREATE', s: 1, d: {} });
  });
});
