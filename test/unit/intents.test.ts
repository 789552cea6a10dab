import assert from 'node:assert/strict';
import { test } from 'node:test';
import { GatewayIntentBits } from 'discord-api-types/v10';
import { parseIntents as parseCliIntents } from '../../src/cli/commands/connect.js';
import { INTENTS } from '../../src/simulator/intents.js';
import {
  ALL_INTENTS,
  INTENT_NAMES,
  intentBit,
  PRIVILEGED_INTENTS,
  parseIntents,
} from '../../src/util/intents.js';

const orOfAllBits = Object.values(GatewayIntentBits)
  .filter((v): v is number => typeof v === 'number')
  .reduce((a, b) => a | b, 0);

test('every intent is the OR of the GatewayIntentBits values', () => {
  assert.equal(ALL_INTENTS, orOfAllBits);
  assert.equal(ALL_INTENTS, 53_608_447);
  assert.equal(
    PRIVILEGED_INTENTS,
    GatewayIntentBits.GuildMembers | GatewayIntentBits.GuildPresences | GatewayIntentBits.MessageContent,
  );
});

test("the simulator's intent table names every GatewayIntentBits bit with the same value", () => {
  assert.equal(
    Object.values(INTENTS).reduce((a, b) => a | b, 0),
    orOfAllBits,
  );
  for (const [name, bit] of Object.entries(INTENTS)) assert.equal(intentBit(name), bit, name);
});

test('intent names parse in PascalCase, SCREAMING_CASE and snake_case', () => {
  for (const name of INTENT_NAMES) assert.equal(intentBit(name), GatewayIntentBits[name], name);
  assert.equal(intentBit('GUILD_MESSAGES'), GatewayIntentBits.GuildMessages);
  assert.equal(intentBit('guild_messages'), GatewayIntentBits.GuildMessages);
  assert.equal(parseIntents('Guilds, GUILD_MEMBERS,guild_presences'), 1 | 2 | 256);
  assert.equal(parseIntents('513'), 513);
  assert.equal(parseIntents('none'), 0);
  assert.equal(parseIntents('all'), ALL_INTENTS);
  assert.equal(parseIntents('NOPE'), undefined);
  assert.equal(parseIntents('Guilds,'), undefined);
});

test('the CLI --intents parser uses the same names and reports the unknown one', () => {
  assert.equal(parseCliIntents(undefined), GatewayIntentBits.Guilds | GatewayIntentBits.GuildMessages);
  assert.equal(parseCliIntents('GuildMessages,MESSAGE_CONTENT'), (1 << 9) | (1 << 15));
  assert.throws(() => parseCliIntents('Guilds,Nope'), /unknown intent 'Nope'/);
});
