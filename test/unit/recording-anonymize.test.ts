import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Anonymizer } from '../../src/simulator/recording/anonymize.js';
import { snowflake } from '../../src/simulator/world.js';

const STARTED = Date.UTC(2026, 0, 15);
const KEY = new Uint8Array(32).fill(7);
const tsOf = (id: string) => Number(BigInt(id) >> 22n);
// biome-ignore lint/suspicious/noExplicitAny: the tests read nested JSON of known shape
type Json = Record<string, any>;

function seeded(seed: number): () => number {
  let x = seed >>> 0;
  return () => {
    x = (x * 1664525 + 1013904223) >>> 0;
    return x / 2 ** 32;
  };
}

test('an id becomes the same new id everywhere: values, map keys, mentions in text', () => {
  const a = new Anonymizer({ shardCount: 4, startedAtMs: STARTED, key: KEY });
  const user = snowflake(Date.UTC(2019, 3, 1), 77);
  const guild = snowflake(Date.UTC(2020, 5, 2), 5);
  const first = a.payload({ t: 'x', author: { id: user, username: 'alice' }, guild_id: guild }) as Json;
  const second = a.payload({
    user_id: user,
    resolved: { users: { [user]: { id: user } } },
    content: `hi <@${user}> and <@!${user}>`,
  }) as Json;
  const mapped = first.author.id as string;
  assert.notEqual(mapped, user);
  assert.equal(second.user_id, mapped);
  assert.deepEqual(Object.keys(second.resolved.users), [mapped]);
  assert.equal(second.resolved.users[mapped].id, mapped);
  assert.match(second.content, new RegExp(`<@${mapped}> [a-z]{3} <@!${mapped}>$`));
  assert.equal(
    second.content.length - mapped.length * 2,
    `hi <@${user}> and <@!${user}>`.length - user.length * 2,
  );
  // Another anonymizer with the same key agrees; a different key does not.
  assert.equal(new Anonymizer({ shardCount: 4, startedAtMs: STARTED, key: KEY }).snowflake(user), mapped);
  assert.notEqual(new Anonymizer({ shardCount: 4, startedAtMs: STARTED }).snowflake(user), mapped);
});

test('snowflakes: no two ids collide, guilds keep their shard, order holds beyond the shuffle window', () => {
  for (const shardCount of [1, 3, 16, 1000]) {
    const a = new Anonymizer({ shardCount, startedAtMs: STARTED, key: KEY });
    const random = seeded(shardCount);
    const seen = new Map<string, string>();
    // Dense ids: many in the same millisecond and window, the worst case for collisions.
    for (let i = 0; i < 3000; i++) {
      const ms = Date.UTC(2021, 0, 1) + Math.floor(random() * 5_000);
      const id = snowflake(ms, Math.floor(random() * 0x400000));
      const out = a.snowflake(id);
      if (seen.has(id)) {
        assert.equal(seen.get(id), out);
        continue;
      }
      seen.set(id, out);
      assert.equal(tsOf(out) % shardCount, tsOf(id) % shardCount, 'shard kept');
    }
    assert.equal(new Set(seen.values()).size, seen.size, `no collision with ${shardCount} shards`);
    // Old ids move within about 70 minutes; recent ones (messages) within about a second.
    const old = snowflake(Date.UTC(2018, 5, 1), 1);
    assert.ok(
      Math.abs(tsOf(a.snowflake(old)) - tsOf(old)) < Math.max(2 ** 22, shardCount * 2 ** 22) + shardCount,
    );
    const recent = [0, 1500, 3000, 4500].map((d) =>
      snowflake(STARTED + 60_000 + d * Math.max(1, shardCount / 500), 9),
    );
    const mapped = recent.map((id) => a.snowflake(id));
    for (let i = 1; i < mapped.length; i++)
      assert.ok(BigInt(mapped[i]!) > BigInt(mapped[i - 1]!), 'recent order kept');
    const hours = [0, 3, 6].map((h) =>
      snowflake(Date.UTC(2019, 0, 1) + h * 3_600_000 * Math.max(1, shardCount / 1000), 1),
    );
    const oldMapped = hours.map((id) => a.snowflake(id));
    for (let i = 1; i < oldMapped.length; i++)
      assert.ok(BigInt(oldMapped[i]!) > BigInt(oldMapped[i - 1]!), 'old order kept');
  }
});

test('names, texts, hashes, links and secrets are rewritten consistently; enums and bitfields are kept', () => {
  const a = new Anonymizer({ shardCount: 1, startedAtMs: STARTED, key: KEY });
  const out = a.payload({
    user: {
      username: 'alice',
      global_name: 'alice',
      avatar: 'a_0123456789abcdef0123456789abcdef',
      email: 'alice@mail.test',
    },
    member: { nick: 'Al' },
    roles: [
      { name: '@everyone', permissions: '1071698660929' },
      { name: 'mods', permissions: '99999999999999999' },
    ],
    emoji: { name: '👍' },
    status: 'online',
    activities: [{ name: 'Chess', state: 'in a game', type: 0 }],
    content: 'meet me at 5',
    token: 'interaction-token',
    attachments: [{ filename: 'holiday.png', url: 'https://cdn.example/attachments/1/2/holiday.png' }],
    timestamp: '2026-01-15T10:00:00.000Z',
    features: ['COMMUNITY'],
  }) as Json;
  assert.equal(out.user.username, out.user.global_name, 'the same name maps to the same pseudonym');
  assert.match(out.user.username, /^anon_[0-9a-f]{8}$/);
  assert.notEqual(out.member.nick, 'Al');
  assert.match(out.user.avatar, /^a_[0-9a-f]{32}$/);
  assert.notEqual(out.user.avatar, 'a_0123456789abcdef0123456789abcdef');
  assert.match(out.user.email, /@example\.invalid$/);
  assert.equal(out.roles[0].name, '@everyone');
  assert.equal(out.roles[1].permissions, '99999999999999999', 'bitfields are not ids');
  assert.equal(out.emoji.name, '👍');
  assert.equal(out.status, 'online');
  assert.notEqual(out.activities[0].name, 'Chess');
  assert.equal(out.activities[0].type, 0);
  assert.match(out.content, /^[a-z]{4} [a-z]{2} [a-z]{2} [a-z]$/);
  assert.equal(out.token, '[redacted]');
  assert.match(out.attachments[0].filename, /^file_[0-9a-f]{12}\.png$/);
  assert.match(out.attachments[0].url, /^https:\/\/example\.invalid\//);
  assert.equal(out.timestamp, '2026-01-15T10:00:00.000Z');
  assert.deepEqual(out.features, ['COMMUNITY']);
  const again = a.payload({ content: 'meet me at 5', username: 'alice' }) as Record<string, string>;
  assert.equal(again.content, out.content);
  assert.equal(again.username, out.user.username);
});
