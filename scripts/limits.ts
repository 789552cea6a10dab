/**
 * `npm run build && node --expose-gc dist/scripts/limits.js`: the cost of the worst input at each codec
 * limit's default (time and heap/buffer growth of one decode), for docs/limits.md. One process, one decode
 * per row after a warm-up, a full GC before each; prints a Markdown table and the load average.
 */
import { loadavg } from 'node:os';
import { constants, deflateRawSync, deflateSync } from 'node:zlib';
import { decodeEtf } from '../src/codec/etf/index.js';
import { decodeJson } from '../src/codec/json.js';
import { ZlibStreamDecoder } from '../src/codec/zlib-stream.js';
import { ZstdStreamDecoder } from '../src/codec/zstd-stream.js';

const gc = (globalThis as { gc?: () => void }).gc ?? (() => {});
const MiB = 1024 * 1024;

function measure(name: string, input: string, run: () => unknown): void {
  gc();
  gc();
  const before = process.memoryUsage();
  let peakHeap = before.heapUsed;
  let peakBuffers = before.arrayBuffers;
  const t0 = process.hrtime.bigint();
  let outcome: string;
  try {
    const v = run();
    outcome = v === null ? 'incomplete' : 'decoded';
  } catch (err) {
    outcome = (err as { code?: string }).code ?? String(err);
  }
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  const after = process.memoryUsage();
  peakHeap = Math.max(peakHeap, after.heapUsed);
  peakBuffers = Math.max(peakBuffers, after.arrayBuffers);
  console.log(
    `| ${name} | ${input} | ${outcome} | ${ms.toFixed(0)} ms | +${((peakHeap - before.heapUsed) / MiB).toFixed(0)} MiB heap, +${((peakBuffers - before.arrayBuffers) / MiB).toFixed(0)} MiB buffers |`,
  );
}

function etfList(n: number): Buffer {
  const head = Buffer.alloc(5);
  head[0] = 108;
  head.writeUInt32BE(n, 1);
  return Buffer.concat([head, Buffer.alloc(n, 106), Buffer.of(106)]);
}

function etfCompressed(body: Buffer, declared = body.length): Buffer {
  const size = Buffer.alloc(4);
  size.writeUInt32BE(declared);
  return Buffer.concat([Buffer.of(131, 80), size, deflateSync(body)]);
}

console.log(
  `load average ${loadavg()
    .map((x) => x.toFixed(1))
    .join(' ')}, node ${process.version}`,
);
console.log('| limit (default) | worst input | outcome | time | growth |');
console.log('|---|---|---|---|---|');
// warm-up
decodeEtf(Buffer.concat([Buffer.of(131), etfList(1000)]));
decodeJson('[[],[]]');

const justUnder = etfList(2_499_990);
measure(
  'ETF maxElements (2,500,000)',
  `list of 2,499,990 empty lists, COMPRESSED (${(etfCompressed(justUnder).length / 1024).toFixed(0)} KiB)`,
  () => decodeEtf(etfCompressed(justUnder)),
);
const over = etfList(60 * MiB);
measure(
  'ETF maxElements (2,500,000)',
  `60 M empty lists, COMPRESSED (${(etfCompressed(over).length / 1024).toFixed(0)} KiB)`,
  () => decodeEtf(etfCompressed(over)),
);
measure('ETF maxBytes (64 MiB)', 'COMPRESSED term declaring 4 GiB', () =>
  decodeEtf(etfCompressed(etfList(10), 2 ** 32 - 1)),
);
const deep = Buffer.concat([Buffer.of(131), Buffer.alloc(5 * 256), Buffer.of(106), Buffer.alloc(256, 106)]);
for (let i = 0; i < 256; i++) deep.set([108, 0, 0, 0, 1], 1 + i * 5);
measure('ETF maxDepth (256)', '256 nested lists', () => decodeEtf(deep));
const big = Buffer.concat([Buffer.of(131, 111, 0, 0, 4, 0, 0), Buffer.alloc(1024, 0xff)]);
measure('ETF maxBigBytes (1024)', 'one 1,024-byte bignum', () => decodeEtf(big));

const keys = `{${Array.from({ length: 999_999 }, (_, i) => `"k${i}":0`).join(',')}}`;
measure(
  'JSON maxStructures (1,000,000)',
  `999,999 distinct keys (${(keys.length / MiB).toFixed(1)} MiB)`,
  () => decodeJson(keys),
);
const arrays = `[${'[],'.repeat(499_999)}[]]`;
measure('JSON maxStructures (1,000,000)', '500,000 empty arrays', () => decodeJson(arrays));
measure('JSON maxStructures (1,000,000)', `20 M empty arrays (${(60).toFixed(0)} MiB text)`, () =>
  decodeJson(`[${'[],'.repeat(20_000_000)}[]]`),
);

const zeros60 = deflateRawSync(Buffer.alloc(60 * MiB), { finishFlush: constants.Z_SYNC_FLUSH });
measure(
  'zlib maxMessageBytes (64 MiB)',
  `${(zeros60.length / 1024).toFixed(0)} KiB inflating to 60 MiB`,
  () =>
    new ZlibStreamDecoder({ maxMessageBytes: 64 * MiB }).push(
      Buffer.concat([Buffer.of(0x78, 0x9c), zeros60]),
    ),
);
const zeros80 = deflateRawSync(Buffer.alloc(80 * MiB), { finishFlush: constants.Z_SYNC_FLUSH });
measure(
  'zlib maxMessageBytes (64 MiB)',
  `${(zeros80.length / 1024).toFixed(0)} KiB inflating to 80 MiB`,
  () =>
    new ZlibStreamDecoder({ maxMessageBytes: 64 * MiB }).push(
      Buffer.concat([Buffer.of(0x78, 0x9c), zeros80]),
    ),
);
const rle = Buffer.alloc(Math.ceil((80 * MiB) / (128 * 1024)) * 4);
for (let i = 0; i < rle.length; i += 4) rle.set([0x02, 0x00, 0x10, 0x00], i);
measure('zstd maxMessageBytes (64 MiB)', `${rle.length + 6}-byte RLE frame declaring 80 MiB`, () =>
  new ZstdStreamDecoder({ maxMessageBytes: 64 * MiB }).push(
    Buffer.concat([Buffer.of(0x28, 0xb5, 0x2f, 0xfd, 0x00, 0x40), rle]),
  ),
);
measure('zlib maxPendingFrames (4096)', '4,097 one-byte frames without a message end', () => {
  const d = new ZlibStreamDecoder({ maxMessageBytes: 64 * MiB });
  d.push(Buffer.of(0x78, 0x9c));
  let r: Uint8Array | null = null;
  for (let i = 0; i < 4097; i++) r = d.push(Buffer.of(0x00));
  return r;
});
