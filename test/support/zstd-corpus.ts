/**
 * Deterministic Discord-like gateway payloads for the zstd tests and fixtures (not a benchmark corpus):
 * a Hello, a READY, a GUILD_CREATE larger than one zstd block (128 KiB), then many small dispatches, in
 * total more than the 256 KiB window, so decoders must slide their window and reach across messages.
 */
import { readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { seededRandom } from '../../src/util/clock.js';

const encoder = new TextEncoder();

export function discordLikeMessages(seed: number, dispatches = 160): Uint8Array[] {
  const random = seededRandom(seed);
  const int = (n: number) => Math.floor(random() * n);
  const snowflake = () =>
    String(1_000_000_000_000_000n + BigInt(int(2 ** 30)) * 1_000_000n + BigInt(int(1e6)));
  const word = () => ['hello', 'gateway', 'shard', 'ping', 'pong', 'discord', 'zstd', 'window'][int(8)]!;
  const user = () => ({
    id: snowflake(),
    username: `user${int(5000)}`,
    global_name: random() < 0.5 ? null : `Name ${int(100)}`,
    avatar:
      random() < 0.3
        ? null
        : int(2 ** 30)
            .toString(16)
            .padStart(32, 'a'),
    discriminator: '0',
    public_flags: int(4) * 64,
  });
  const out: unknown[] = [];
  out.push({
    op: 10,
    d: { heartbeat_interval: 41250, _trace: ['["gateway-prd-us-east1-b-0568",{"micros":0.0}]'] },
    s: null,
    t: null,
  });
  out.push({
    op: 0,
    s: 1,
    t: 'READY',
    d: {
      v: 10,
      user: user(),
      session_id: int(2 ** 30).toString(16),
      resume_gateway_url: 'wss://gateway-us-east1-b.discord.gg',
      guilds: Array.from({ length: 60 }, () => ({ id: snowflake(), unavailable: true })),
      shard: [0, 1],
      application: { id: snowflake(), flags: 565248 },
    },
  });
  out.push({
    op: 0,
    s: 2,
    t: 'GUILD_CREATE',
    d: {
      id: snowflake(),
      name: 'A big guild',
      member_count: 900,
      members: Array.from({ length: 900 }, () => ({
        user: user(),
        roles: Array.from({ length: int(4) }, snowflake),
        joined_at: `2024-0${1 + int(9)}-1${int(9)}T12:34:56.${int(999_999)}+00:00`,
        deaf: false,
        mute: false,
        flags: 0,
      })),
      channels: Array.from({ length: 80 }, (_, i) => ({
        id: snowflake(),
        type: int(5),
        name: `${word()}-${i}`,
        position: i,
      })),
    },
  });
  for (let i = 0; i < dispatches; i++) {
    const kind = int(3);
    const s = 3 + i;
    if (kind === 0)
      out.push({
        op: 0,
        s,
        t: 'MESSAGE_CREATE',
        d: {
          id: snowflake(),
          channel_id: snowflake(),
          guild_id: snowflake(),
          author: user(),
          content: Array.from({ length: 1 + int(30) }, word).join(' '),
          timestamp: `2026-11-28T04:${10 + int(49)}:00.000000+00:00`,
          mentions: [],
          attachments: [],
          embeds: [],
          tts: false,
        },
      });
    else if (kind === 1)
      out.push({
        op: 0,
        s,
        t: 'PRESENCE_UPDATE',
        d: { user: { id: snowflake() }, status: ['online', 'idle', 'dnd'][int(3)], activities: [] },
      });
    else
      out.push({
        op: 0,
        s,
        t: 'TYPING_START',
        d: { channel_id: snowflake(), user_id: snowflake(), timestamp: 1764300000 + i },
      });
  }
  out.push({ op: 11, d: null, s: null, t: null });
  return out.map((v) => encoder.encode(JSON.stringify(v)));
}

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const fixtureDir = join(root, 'test', 'fixtures', 'zstd');

export interface CapturedZstdMessage {
  readonly sha256: string;
  readonly rawLength: number;
  readonly frame: Uint8Array;
}

/** Reads a capture written by scripts/make-zstd-fixtures.mjs (test/fixtures/zstd/NAME). */
export function readZstdFixture(name: string): CapturedZstdMessage[] {
  const file = readFileSync(join(fixtureDir, name));
  const count = file.readUInt32LE(0);
  const out: CapturedZstdMessage[] = [];
  let p = 4;
  for (let i = 0; i < count; i++) {
    const sha256 = file.subarray(p, p + 32).toString('hex');
    const rawLength = file.readUInt32LE(p + 32);
    const length = file.readUInt32LE(p + 36);
    out.push({ sha256, rawLength, frame: file.subarray(p + 40, p + 40 + length) });
    p += 40 + length;
  }
  return out;
}
