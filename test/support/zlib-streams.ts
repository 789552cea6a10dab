// Real zlib-stream input for tests: node:zlib's own stream API, one Z_SYNC_FLUSH per message, as the
// simulator recipe of gateway.md §7 (independent of the encoder under test).
import zlib from 'node:zlib';

export interface SyncFlushOptions {
  level?: number;
  windowBits?: number;
  memLevel?: number;
}

/** Compresses `messages` as ONE zlib stream; returns one sync-flushed chunk per message. */
export async function syncFlushChunks(
  messages: readonly Uint8Array[],
  options: SyncFlushOptions = {},
): Promise<Buffer[]> {
  const deflate = zlib.createDeflate(options);
  const out: Buffer[] = [];
  const pieces: Buffer[] = [];
  deflate.on('data', (chunk: Buffer) => pieces.push(chunk));
  for (const message of messages) {
    deflate.write(message);
    await new Promise<void>((resolve) => deflate.flush(zlib.constants.Z_SYNC_FLUSH, () => resolve()));
    // 'data' events of the flush have fired once the callback runs.
    await new Promise<void>((resolve) => setImmediate(resolve));
    out.push(Buffer.concat(pieces.splice(0)));
  }
  deflate.destroy();
  return out;
}

/** A JSON gateway-like message of at least `bytes` bytes, deterministic for a given `seed`. */
export function jsonMessage(bytes: number, seed: number): Buffer {
  const members: unknown[] = [];
  let size = 64;
  for (let i = 0; size < bytes; i++) {
    const id = (BigInt(seed) * 1_000_003n + BigInt(i) * 7_919n + 81_234_567_890_123_456n).toString();
    const member = { user: { id, username: `user${(seed * 31 + i) % 9973}`, avatar: null }, roles: [id] };
    members.push(member);
    size += JSON.stringify(member).length + 1;
  }
  return Buffer.from(JSON.stringify({ op: 0, s: seed, t: 'GUILD_CREATE', d: { id: String(seed), members } }));
}
