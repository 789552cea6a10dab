/**
 * Every payload kind the simulator sends, received over a real socket, checked against its type in
 * discord-api-types (read from the declaration files by the TypeScript checker): required keys present,
 * values of the declared kind. Extra keys are allowed only where docs/simulator.md lists them.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ALL_INTENTS } from '../../src/util/intents.js';
import { createShapeChecker } from '../support/api-shape.js';
import type { Payload } from '../support/raw-client.js';
import { RawClient } from '../support/raw-client.js';
import { connect, simulator, waitFor } from '../support/sim-helpers.js';

/** `MESSAGE_REACTION_ADD` → `GatewayMessageReactionAddDispatchData`. */
function dispatchTypeName(t: string): string {
  const pascal = t
    .toLowerCase()
    .split('_')
    .map((w) => w[0]!.toUpperCase() + w.slice(1))
    .join('');
  return `Gateway${pascal}DispatchData`;
}

/** Undocumented keys the simulator sends on purpose (real READY payloads carry them; clients ignore them). */
const ALLOWED_EXTRA: Readonly<Record<string, readonly string[]>> = {
  READY: [
    'd.user_settings',
    'd.session_type',
    'd.relationships',
    'd.private_channels',
    'd.presences',
    'd.guild_join_requests',
    'd.geo_ordered_rtc_regions',
    'd._trace',
  ],
  HELLO: ['d._trace'],
};

test('every payload kind the simulator sends matches its discord-api-types type', async (t) => {
  const shapes = createShapeChecker();
  // The checker itself: a wrong kind and a missing key are caught, an extra key is listed apart.
  assert.deepEqual(
    shapes.check('GatewayVoiceChannelStatusUpdateDispatchData', { id: '1', guild_id: 2, extra: true }),
    { errors: ['d.guild_id: number is not a string', 'd.status: missing'], extra: ['d.extra'] },
  );
  const sim = await simulator(t, { guilds: 4, membersPerGuild: 60, identifyWindowMs: 0 });
  const { client, hello } = await connect(t, sim);
  client.identify(sim.tokens[0]!, { intents: ALL_INTENTS, large_threshold: 50 });
  const ready = await client.nextOp(0, 'READY');
  const sessionId = (ready.d as { session_id: string }).session_id;
  for (let i = 0; i < 4; i++) await client.nextOp(0, 'GUILD_CREATE');
  const [g] = sim.world.guilds;
  const guild = g!;
  const voice = guild.channels.find((c) => c.type === 2)!;
  // Live events: 600 random ones hold every kind of the mix (DMs are about 2 %).
  sim.emitRandomEvents(600);
  // Commands and their answers.
  const someone = guild.members[3]!.user.id;
  client.send({ op: 8, d: { guild_id: guild.id, user_ids: [someone, '1'], presences: true, nonce: 'ids' } });
  client.send({ op: 8, d: { guild_id: guild.id, query: '', limit: 0, presences: true, nonce: 'all' } });
  client.send({ op: 8, d: { guild_id: guild.id, query: '', limit: 0, nonce: 'again' } });
  client.send({ op: 31, d: { guild_ids: [guild.id] } });
  client.send({ op: 43, d: { guild_id: guild.id, fields: ['status', 'voice_start_time'] } });
  client.send({ op: 4, d: { guild_id: guild.id, channel_id: voice.id, self_mute: false, self_deaf: false } });
  for (const e of [
    sim.world.voiceChannelStatusUpdate(guild, voice.id, 'testing'),
    sim.world.voiceChannelStartTimeUpdate(guild, voice.id, 1_780_000_000),
    sim.world.entitlementCreate(),
  ]) {
    sim.emitEvent(e.t, e.d);
  }
  await client.nextOp(0, 'ENTITLEMENT_CREATE');
  // RESUMED, and the replay, on a second connection.
  const seq = client.lastSeq;
  await client.terminate();
  await waitFor(() => sim.stats().sessions[0]?.connected === false, { what: 'the session detached' });
  const again = await RawClient.connect(sim.resumeGatewayUrl);
  t.after(() => again.terminate());
  await again.nextOp(10);
  again.resume(sim.tokens[0]!, sessionId, seq);
  await again.nextOp(0, 'RESUMED');

  const payloads: Payload[] = [hello, ...client.received, ...again.received];
  const seen = new Map<string, number>();
  const problems: string[] = [];
  for (const p of payloads) {
    let name: string;
    let typeName: string;
    if (p.op === 0 && p.t === 'RESUMED') {
      // discord-api-types types RESUMED's d as never; Discord sends {_trace}, as we do.
      seen.set('RESUMED', 1);
      assert.deepEqual(Object.keys(p.d as object), ['_trace']);
      continue;
    } else if (p.op === 0) {
      name = p.t!;
      typeName = dispatchTypeName(name);
    } else if (p.op === 10) {
      name = 'HELLO';
      typeName = 'GatewayHelloData';
    } else if (p.op === 11 || p.op === 1) continue;
    else {
      problems.push(`unexpected op ${p.op}`);
      continue;
    }
    seen.set(name, (seen.get(name) ?? 0) + 1);
    if (!shapes.has(typeName)) {
      problems.push(`${name}: discord-api-types has no ${typeName}`);
      continue;
    }
    const report = shapes.check(typeName, p.d);
    const allowed = ALLOWED_EXTRA[name] ?? [];
    for (const e of report.errors) problems.push(`${name} ${e}`);
    for (const x of report.extra) if (!allowed.includes(x)) problems.push(`${name} ${x}: not in ${typeName}`);
  }
  assert.deepEqual([...new Set(problems)], []);
  assert.deepEqual([...seen.keys()].sort(), [
    'CHANNEL_INFO',
    'ENTITLEMENT_CREATE',
    'GUILD_CREATE',
    'GUILD_MEMBERS_CHUNK',
    'GUILD_MEMBER_UPDATE',
    'HELLO',
    'MESSAGE_CREATE',
    'MESSAGE_DELETE',
    'MESSAGE_REACTION_ADD',
    'MESSAGE_REACTION_REMOVE',
    'MESSAGE_UPDATE',
    'PRESENCE_UPDATE',
    'RATE_LIMITED',
    'READY',
    'RESUMED',
    'SOUNDBOARD_SOUNDS',
    'TYPING_START',
    'VOICE_CHANNEL_START_TIME_UPDATE',
    'VOICE_CHANNEL_STATUS_UPDATE',
    'VOICE_SERVER_UPDATE',
    'VOICE_STATE_UPDATE',
  ]);
});
