import assert from 'node:assert/strict';
import { test } from 'node:test';
import { EVENT_RATE_WINDOW_S, EventRate } from '../../src/manager/event-rate.js';
import { ManualClock } from '../../src/util/clock.js';

test('events per second is the mean over the window, on virtual time', () => {
  const clock = new ManualClock(1_000_000);
  const rate = new EventRate(clock.now());
  for (let s = 0; s < EVENT_RATE_WINDOW_S; s++) {
    for (let i = 0; i < 30; i++) rate.count(clock.now());
    clock.advance(1_000);
  }
  // The window now ends one second past the last counted second: 9 full seconds of 30 remain.
  assert.equal(rate.perSecond(clock.now()), (30 * (EVENT_RATE_WINDOW_S - 1)) / EVENT_RATE_WINDOW_S);
});

test('seconds older than the window drop out, and a gap longer than the window empties it', () => {
  const clock = new ManualClock(5_500);
  const rate = new EventRate(clock.now());
  for (let i = 0; i < 100; i++) rate.count(clock.now());
  assert.equal(rate.perSecond(clock.now()), 100 / EVENT_RATE_WINDOW_S);
  clock.advance((EVENT_RATE_WINDOW_S - 1) * 1_000);
  assert.equal(rate.perSecond(clock.now()), 100 / EVENT_RATE_WINDOW_S, 'still inside the window');
  clock.advance(1_000);
  assert.equal(rate.perSecond(clock.now()), 0, 'the second fell out');
  rate.count(clock.now());
  clock.advance(EVENT_RATE_WINDOW_S * 50_000);
  assert.equal(rate.perSecond(clock.now()), 0);
  rate.count(clock.now());
  assert.equal(rate.perSecond(clock.now()), 1 / EVENT_RATE_WINDOW_S);
});

test('an event stamped with an earlier second inside the window counts, and leaves with its second', () => {
  const rate = new EventRate(20_000);
  rate.count(20_000);
  rate.count(15_000);
  assert.equal(rate.perSecond(20_000), 2 / EVENT_RATE_WINDOW_S);
  assert.equal(rate.perSecond(25_000), 1 / EVENT_RATE_WINDOW_S, 'second 15 left the window at 25');
  assert.equal(rate.perSecond(20_000 + EVENT_RATE_WINDOW_S * 1_000), 0);
});
