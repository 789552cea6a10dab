/**
 * The shard's receive path end to end, without the socket: WebSocket message bytes → stream decompression →
 * decode → envelope, exactly as `Transport` runs it (`FrameDecoder`). Compares the two encodings (this is
 * what picks the default `encoding`) and the JSON dispatch filter (skipping `d` of unwanted events) against
 * full decoding. One operation = a fresh connection context decoding the whole stream.
 *
 * Run: npm run bench -- shard-receive   (or node dist/bench/shard-receive.bench.js after a build)
 */

import type { Compression, Encoding } from '../src/codec/formats.js';
import { encodeEtf, encodeJson, ZlibStreamEncoder, ZstdStreamEncoder } from '../src/codec/index.js';
import { FrameDecoder } from '../src/transport/frame-decoder.js';
import { createCorpus, type GatewayEnvelope, toEtfForm } from './corpus.js';
import { type BenchTask, runGroup } from './harness.js';

const corpus = createCorpus({ eventCount: 2_000 });
const MAX = 64 * 1024 * 1024;

/** The bytes the gateway would send for `payloads` on one connection. */
function frames(
  payloads: readonly GatewayEnvelope[],
  encoding: Encoding,
  compression: Compression,
): Uint8Array[] {
  const raw = payloads.map((p) =>
    // Discord's ETF: atom envelope keys, snowflakes as 64-bit integers.
    encoding === 'etf' ? encodeEtf(toEtfForm(p), { atomKeys: true }) : Buffer.from(encodeJson(p)),
  );
  if (compression === 'zlib-stream') {
    const enc = new ZlibStreamEncoder();
    return raw.map((m) => enc.encode(m).slice());
  }
  if (compression === 'zstd-stream') {
    const enc = new ZstdStreamEncoder();
    return raw.map((m) => enc.encode(m).slice());
  }
  return raw;
}

function task(
  name: string,
  payloads: readonly GatewayEnvelope[],
  encoding: Encoding,
  compression: Compression,
  wantDispatch?: (t: string) => boolean,
): BenchTask {
  const input = frames(payloads, encoding, compression);
  const binary = encoding === 'etf' || compression !== 'none';
  return {
    name,
    fn: () => {
      const decoder = new FrameDecoder({ encoding, compression, maxPayloadBytes: MAX, wantDispatch });
      let n = 0;
      for (const f of input) if (decoder.decode(f, binary)) n++;
      decoder.close();
      return n;
    },
  };
}

const onlyMessages = (t: string): boolean => t === 'MESSAGE_CREATE' || t === 'READY' || t === 'RESUMED';

for (const compression of ['zlib-stream', 'none', 'zstd-stream'] as const) {
  runGroup(
    `receive path: ${corpus.events.length} mixed dispatches, ${compression} (one op = whole stream)`,
    [
      task('json', corpus.events, 'json', compression),
      task('etf', corpus.events, 'etf', compression),
      task('json + filter (MESSAGE_CREATE only)', corpus.events, 'json', compression, onlyMessages),
      task('etf + filter (MESSAGE_CREATE only)', corpus.events, 'etf', compression, onlyMessages),
    ],
    { baseline: 'json' },
  );
}

runGroup(
  'receive path: READY + GUILD_CREATE (2,000 members), zlib-stream',
  [
    task('json', [corpus.ready, corpus.guildCreateLarge], 'json', 'zlib-stream'),
    task('etf', [corpus.ready, corpus.guildCreateLarge], 'etf', 'zlib-stream'),
  ],
  { baseline: 'json' },
);
