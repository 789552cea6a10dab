import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  dispatchFingerprint,
  guildOfDispatch,
  planReshard,
  SwitchoverDeduper,
} from '../../src/manager/reshard.js';
import { ManualClock } from '../../src/util/clock.js';

test('guildOfDispatch reads guild_id, or id for guild events', () => {
  assert.equal(guildOfDispatch('MESSAGE_CREATE', { guild_id: '5' }), '5');
  assert.equal(guildOfDispatch('GUILD_CREATE', { id: '6' }), '6');
  assert.equal(guildOfDispatch('MESSAGE_CREATE', { id: '6' }), undefined);
  assert.equal(guildOfDispatch('X', null), undefined);
});

test('planReshard validates the new count and the shard ids', () => {
  assert.deepEqual(planReshard(4, 8).shardIds, [0, 1, 2, 3, 4, 5, 6, 7]);
  assert.deepEqual(planReshard(4, 8, { shardIds: [5, 1] }).shardIds, [1, 5]);
  assert.throws(() => planReshard(4, 4), { code: 'CONFIG_INVALID' });
  assert.throws(() => planReshard(4, 0), { code: 'CONFIG_INVALID' });
  assert.throws(() => planReshard(4, 8, { shardIds: [8] }), { option: 'shardIds' });
  assert.throws(() => planReshard(4, 8, { shardIds: [1, 1] }), { option: 'shardIds' });
});

const ev = (n: number, guild = '1') => ({ t: 'MESSAGE_CREATE', d: { guild_id: guild, id: String(n) } });

test('the switch emits every event once when the new set runs ahead of the old one', () => {
  const clock = new ManualClock();
  const dedupe = new SwitchoverDeduper<ReturnType<typeof ev>>({ windowMs: 1000, clock });
  const emitted: number[] = [];
  const id = (e: ReturnType<typeof ev>) => Number(e.d.id);
  // Old set has delivered 1..5; the new set, ahead, has delivered 3..7.
  for (let n = 1; n <= 5; n++) if (dedupe.fromOld(ev(n))) emitted.push(n);
  for (let n = 3; n <= 7; n++) assert.equal(dedupe.fromNew(ev(n)), false);
  emitted.push(...dedupe.switch().map(id));
  // The old set keeps delivering 6..8 after the switch: dropped. The new set delivers 8, 9.
  for (let n = 6; n <= 8; n++) assert.equal(dedupe.fromOld(ev(n)), false);
  for (let n = 8; n <= 9; n++) if (dedupe.fromNew(ev(n))) emitted.push(n);
  assert.deepEqual(emitted, [1, 2, 3, 4, 5, 6, 7, 8, 9]);
  assert.equal(dedupe.duplicatesDropped, 3);
});

test('the switch emits every event once when the new set lags the old one', () => {
  const clock = new ManualClock();
  const dedupe = new SwitchoverDeduper<ReturnType<typeof ev>>({ windowMs: 1000, clock });
  const emitted: number[] = [];
  for (let n = 1; n <= 6; n++) if (dedupe.fromOld(ev(n))) emitted.push(n);
  for (let n = 2; n <= 4; n++) dedupe.fromNew(ev(n));
  emitted.push(...dedupe.switch().map((e) => Number(e.d.id)));
  for (let n = 5; n <= 8; n++) if (dedupe.fromNew(ev(n))) emitted.push(n);
  assert.deepEqual(emitted, [1, 2, 3, 4, 5, 6, 7, 8]);
});

test('identical payloads are matched as a multiset, not collapsed', () => {
  const clock = new ManualClock();
  const dedupe = new SwitchoverDeduper({ windowMs: 1000, clock });
  const typing = { t: 'TYPING_START', d: { guild_id: '1', user_id: '2' } };
  assert.equal(dedupe.fromOld(typing), true);
  assert.deepEqual(dedupe.switch(), []);
  assert.equal(dedupe.fromNew(typing), false, 'the copy of the old emission');
  assert.equal(dedupe.fromNew(typing), true, 'a second, genuine event with the same payload');
});

test('after the window, new events pass without lookup and old fingerprints expire', () => {
  const clock = new ManualClock();
  const dedupe = new SwitchoverDeduper({ windowMs: 1000, clock });
  dedupe.fromOld(ev(1));
  clock.advance(2500);
  dedupe.fromOld(ev(2));
  dedupe.fromNew(ev(0));
  clock.advance(1500);
  assert.deepEqual(dedupe.switch(), [], 'new events older than the window are not replayed');
  assert.equal(dedupe.fromNew(ev(1)), true, 'old emissions older than 2 windows are forgotten');
  assert.equal(dedupe.fromNew(ev(2)), false);
  clock.advance(1000);
  assert.equal(dedupe.settled, true);
  assert.equal(dedupe.fromNew(ev(2)), true);
});

test('fingerprints tell guilds, types and payloads apart and accept bigints', () => {
  assert.notEqual(dispatchFingerprint('A', { guild_id: '1' }), dispatchFingerprint('B', { guild_id: '1' }));
  assert.notEqual(dispatchFingerprint('A', { guild_id: '1' }), dispatchFingerprint('A', { guild_id: '2' }));
  assert.equal(dispatchFingerprint('A', { x: 1n }), dispatchFingerprint('A', { x: 1n }));
});
