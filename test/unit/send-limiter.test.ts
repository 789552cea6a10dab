import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  available,
  DEFAULT_SEND_LIMIT,
  emptyWindow,
  nextSlotAt,
  pruneWindow,
  recordSend,
  reservedSlots,
  type SendLimit,
} from '../../src/shard/send-limiter.js';
import { ManualClock } from '../../src/util/clock.js';

const limit: SendLimit = { perWindow: 10, windowMs: 1_000, marginMs: 100 };

test('reserves one slot per possible heartbeat plus a requested beat and an identify', () => {
  // Discord's 41.25 s interval: ceil(61 s / 41.25 s) + 1 = 3 beats, + 2 = 5 reserved, 115 for the caller.
  assert.equal(reservedSlots(41_250, DEFAULT_SEND_LIMIT), 5);
  assert.equal(reservedSlots(45_000, DEFAULT_SEND_LIMIT), 5);
  assert.equal(reservedSlots(1_000, DEFAULT_SEND_LIMIT), 64);
});

test('the reserve never takes the whole window', () => {
  assert.equal(reservedSlots(1, DEFAULT_SEND_LIMIT), DEFAULT_SEND_LIMIT.perWindow - 1);
});

test('caller sends stop at perWindow minus the reserve; system sends may use the rest', () => {
  const clock = new ManualClock(0);
  let w = emptyWindow(3);
  for (let i = 0; i < 7; i++) {
    assert.equal(available(w, clock.now(), 'user', limit), 7 - i);
    w = recordSend(w, clock.now(), limit);
  }
  assert.equal(available(w, clock.now(), 'user', limit), 0);
  assert.equal(available(w, clock.now(), 'system', limit), 3);
});

test('a send leaves the window after windowMs + marginMs, not before', () => {
  const clock = new ManualClock(0);
  let w = emptyWindow(0);
  for (let i = 0; i < 10; i++) {
    w = recordSend(w, clock.now(), limit);
    clock.advance(10);
  }
  // stamps at 0,10,…,90; now = 100
  assert.equal(available(w, clock.now(), 'user', limit), 0);
  assert.equal(nextSlotAt(w, clock.now(), 'user', limit), 1_100);
  clock.advance(999); // 1099
  assert.equal(available(w, clock.now(), 'user', limit), 0);
  clock.advance(1); // 1100: stamp 0 left
  assert.equal(available(w, clock.now(), 'user', limit), 1);
  assert.equal(pruneWindow(w, clock.now(), limit).stamps.length, 9);
});

test('nextSlotAt is now while there is room', () => {
  assert.equal(nextSlotAt(emptyWindow(2), 5, 'user', limit), 5);
});

test('sending at every nextSlotAt never puts more than perWindow sends in any window', () => {
  const clock = new ManualClock(0);
  let w = emptyWindow(2);
  const stamps: number[] = [];
  while (stamps.length < 100) {
    const at = nextSlotAt(w, clock.now(), 'user', limit);
    clock.advance(at - clock.now());
    w = recordSend(w, clock.now(), limit);
    stamps.push(clock.now());
  }
  for (let i = 0; i + limit.perWindow < stamps.length; i++) {
    assert.ok(stamps[i + limit.perWindow]! - stamps[i]! >= limit.windowMs + limit.marginMs);
  }
});
