import assert from 'node:assert/strict';
import { type TestContext, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import zlib from 'node:zlib';
import { WebSocket } from 'ws';
import type { Compression } from '../../src/codec/formats.js';
import { ZstdStreamDecoder } from '../../src/codec/zstd-stream.js';
import { nativeZstdCompressUnavailable } from '../../src/simulator/compression.js';
import type { Simulator, SimulatorOptions, ZstdEncoder } from '../../src/simulator/index.js';
import { ALL_INTENTS } from '../../src/util/intents.js';
import { createShard, startSim as startHarnessSim, waitFor } from '../support/shard-harness.js';

/** The harness' scaled simulator, with heartbeats slow enough that raw sessions need not send any. */
const startSim = (t: TestContext, extra: SimulatorOptions = {}) =>
  startHarnessSim(t, { heartbeatIntervalMs: 60_000, ...extra });

const nativeMissing = nativeZstdCompressUnavailable();
const EVENTS = 300;

/** Every WebSocket message of one connection, as sent, plus the identify that starts its session. */
async function rawSession(
  t: { after(fn: () => unknown): void },
  sim: Simulator,
  compress: Compression,
): Promise<{ messages: Buffer[]; ws: WebSocket }> {
  const q = compress === 'none' ? '' : `&compress=${compress}`;
  const ws = new WebSocket(`${sim.gatewayUrl}/?v=10&encoding=json${q}`, { perMessageDeflate: false });
  t.after(() => ws.terminate());
  const messages: Buffer[] = [];
  ws.on('message', (data: Buffer) => messages.push(data));
  await new Promise<void>((resolve, reject) => {
    ws.once('open', resolve);
    ws.once('error', reject);
  });
  await waitFor(() => messages.length >= 1, { what: 'Hello' });
  ws.send(JSON.stringify({ op: 2, d: { token: sim.tokens[0], intents: ALL_INTENTS, properties: {} } }));
  return { messages, ws };
}

/**
 * Decodes a connection's messages with one node:zlib stream (inflate or zstd decompress) kept for the whole
 * connection, flushed after each message, as a client of the public API would: one text per message.
 */
async function nodeStreamDecode(
  stream: zlib.Inflate | NodeJS.ReadWriteStream,
  messages: readonly Buffer[],
): Promise<string[]> {
  const z = stream as zlib.Inflate;
  const out: string[] = [];
  let parts: Buffer[] = [];
  z.on('data', (b: Buffer) => parts.push(b));
  for (const m of messages) {
    await new Promise<void>((resolve, reject) => {
      z.once('error', reject);
      z.write(m);
      z.flush(() => {
        z.off('error', reject);
        resolve();
      });
    });
    out.push(Buffer.concat(parts).toString('utf8'));
    parts = [];
  }
  z.close();
  return out;
}

function oursZstd(messages: readonly Buffer[]): string[] {
  const d = new ZstdStreamDecoder({ implementation: 'typescript' });
  return messages.map((m) => Buffer.from(d.push(m)!).toString('utf8'));
}

/** Sends the same events to an uncompressed and a compressed connection; returns both payload lists. */
async function sameEvents(
  t: { after(fn: () => unknown): void },
  sim: Simulator,
  compress: Compression,
  decode: (messages: readonly Buffer[]) => string[] | Promise<string[]>,
): Promise<{ plain: string[]; decoded: string[] }> {
  const startup = 2 + sim.world.guilds.length; // Hello, READY, GUILD_CREATEs
  const plain = await rawSession(t, sim, 'none');
  await waitFor(() => plain.messages.length >= startup, { what: 'READY and GUILD_CREATEs' });
  // Both sessions are shard [0, 1]: the second identify waits out the identify window.
  await sleep(sim.options.identifyWindowMs + 150);
  const packed = await rawSession(t, sim, compress);
  await waitFor(() => packed.messages.length >= startup, { what: 'READY and GUILD_CREATEs' });
  const each = sim.emitRandomEvents(EVENTS) / 2;
  await waitFor(() => plain.messages.length >= startup + each && packed.messages.length >= startup + each, {
    what: 'every event on both connections',
  });
  assert.equal(sim.stats().violations['identify-concurrency'], 0);
  const strip = (texts: string[]) => texts.slice(startup);
  return {
    plain: strip(plain.messages.map((m) => m.toString('utf8'))),
    decoded: strip(await decode(packed.messages)),
  };
}

function ratioOf(sim: Simulator, mode: 'zlib-stream' | 'zstd-stream'): number {
  const c = sim.stats().compression[mode];
  return c.payloadBytes / c.wireBytes;
}

test('zlib-stream: one deflate stream per connection whose window spans messages; node:zlib inflates it', async (t) => {
  const sim = await startSim(t, { guilds: 4 });
  const { plain, decoded } = await sameEvents(t, sim, 'zlib-stream', (m) =>
    nodeStreamDecode(zlib.createInflate(), m),
  );
  assert.deepEqual(decoded, plain);
  const ratio = ratioOf(sim, 'zlib-stream');
  assert.ok(ratio > 3, `zlib-stream sent ratio ${ratio.toFixed(2)}, expected > 3 on world events`);
});

test('zlib-stream: a payload repeated on the next message refers back into the first', async (t) => {
  const sim = await startSim(t, { guilds: 1 });
  const { messages } = await rawSession(t, sim, 'zlib-stream');
  await waitFor(() => messages.length >= 3, { what: 'READY and GUILD_CREATE' });
  const text = Array.from({ length: 60 }, (_, i) => `word${(i * 7919) % 1000}`).join(' ');
  sim.emitEvent('BIG_TEXT', { text });
  sim.emitEvent('BIG_TEXT', { text });
  await waitFor(() => messages.length >= 5, { what: 'both events' });
  const [first, second] = messages.slice(-2) as [Buffer, Buffer];
  assert.ok(second.length * 3 < first.length, `second ${second.length} B vs first ${first.length} B`);
});

for (const encoder of ['native', 'typescript'] as const satisfies ZstdEncoder[]) {
  const skip = encoder === 'native' && nativeMissing !== null ? nativeMissing : false;

  test(`zstd-stream (${encoder} encoder): the same payloads as uncompressed, really compressed`, {
    skip,
  }, async (t) => {
    const sim = await startSim(t, { guilds: 4, zstdEncoder: encoder });
    assert.equal(sim.stats().compression.zstdEncoder, encoder);
    const { plain, decoded } = await sameEvents(t, sim, 'zstd-stream', oursZstd);
    assert.deepEqual(decoded, plain);
    const ratio = ratioOf(sim, 'zstd-stream');
    assert.ok(ratio > 3, `zstd-stream sent ratio ${ratio.toFixed(2)}, expected > 3 on world events`);
  });

  test(`zstd-stream (${encoder} encoder): the project's Shard gets every dispatch intact`, {
    skip,
  }, async (t) => {
    const sim = await startSim(t, { guilds: 3, zstdEncoder: encoder });
    const rec = createShard(t, sim, { encoding: 'json', compression: 'zstd-stream' });
    await rec.shard.connect();
    const text = 'héllo gateway ✓ '.repeat(200);
    sim.emitEvent('BIG_TEXT', { text });
    const delivered = 1 + sim.emitRandomEvents(50);
    const events = () => rec.dispatches.filter((d) => d.t !== 'GUILD_CREATE' && d.t !== 'READY');
    await waitFor(() => events().length >= delivered, { what: 'every event' });
    assert.equal(events().length, delivered);
    const big = rec.dispatches.find((d) => (d.t as string) === 'BIG_TEXT');
    assert.equal((big?.d as { text?: string } | undefined)?.text, text);
    assert.deepEqual(rec.errors, []);
  });
}

test('zstd-stream by default: node:zlib’s own zstd decompressor reads the same payloads', {
  skip: nativeMissing ?? false,
}, async (t) => {
  const sim = await startSim(t, { guilds: 2 });
  assert.equal(sim.stats().compression.zstdEncoder, 'native', 'auto picks node:zlib zstd where Node has it');
  const create = (zlib as unknown as { createZstdDecompress(): NodeJS.ReadWriteStream }).createZstdDecompress;
  const { plain, decoded } = await sameEvents(t, sim, 'zstd-stream', (m) => nodeStreamDecode(create(), m));
  assert.deepEqual(decoded, plain);
});

test('zstd-stream without node:zlib zstd falls back to raw blocks and says so', {
  skip: nativeMissing === null ? 'this Node compresses zstd natively' : false,
}, async (t) => {
  const sim = await startSim(t, { guilds: 1 });
  const c = sim.stats().compression;
  assert.equal(c.zstdEncoder, 'raw-blocks');
  assert.match(c.notice ?? '', /raw blocks/);
});
