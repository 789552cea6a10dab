import assert from 'node:assert/strict';
import { test } from 'node:test';
import { SHARD_STATUSES, type ShardStatus } from '../../src/shard/events.js';
import type { Phase } from '../../src/shard/machine.js';

// Compile-time: the machine's phases and SHARD_STATUSES name exactly the same statuses (the union is
// written twice — once as data for users, once as the machine's discriminant — and must not drift).
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
const phasesMatchStatuses: Same<Phase['status'], ShardStatus> = true;

test("the machine's phases are exactly SHARD_STATUSES", () => {
  assert.equal(phasesMatchStatuses, true);
  assert.equal(new Set(SHARD_STATUSES).size, SHARD_STATUSES.length);
});
