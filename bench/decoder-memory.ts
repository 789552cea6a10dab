/**
 * Memory one idle decompression context keeps: `--contexts N` decoders of one kind each take the same two
 * messages of a stream (a READY-sized payload twice, the second referring back into the first), then RSS,
 * heap and external growth after a full GC are divided by N. Kinds: zlib (node:zlib handle), zstd-typescript,
 * zstd-native (node:zlib zstd, Node >= 22.15). One kind per process (`--kind`), as allocations of one kind
 * would otherwise be reused by the next.
 *
 * Run: node --expose-gc dist/bench/decoder-memory.js --kind zstd-native [--contexts 500]
 */
import { ZlibStreamDecoder, ZlibStreamEncoder } from '../src/codec/zlib-stream.js';
import { nativeZstdAvailable, ZstdStreamDecoder, ZstdStreamEncoder } from '../src/codec/zstd-stream.js';
import { benchFlag } from './harness.js';

const kind = benchFlag('kind') ?? 'zlib';
const contexts = Number(benchFlag('contexts') ?? 500);
const gc = (globalThis as { gc?: () => void }).gc;
if (!gc) throw new Error('run with node --expose-gc');
if (kind === 'zstd-native' && !nativeZstdAvailable) {
  console.log(`zstd-native: node:zlib has no usable zstd in Node ${process.versions.node}`);
  process.exit(0);
}

const message = new TextEncoder().encode(
  JSON.stringify({
    op: 0,
    t: 'READY',
    d: { text: 'y'.repeat(3000), guilds: Array.from({ length: 100 }, (_, i) => ({ id: String(1e17 + i) })) },
  }),
);
const encoder = kind === 'zlib' ? new ZlibStreamEncoder() : new ZstdStreamEncoder();
const first = encoder.encode(message);
const second = encoder.encode(message);

gc();
gc();
const before = process.memoryUsage();
const keep: { push(frame: Uint8Array): Uint8Array | null }[] = [];
for (let i = 0; i < contexts; i++) {
  const d =
    kind === 'zlib'
      ? new ZlibStreamDecoder()
      : new ZstdStreamDecoder({ implementation: kind === 'zstd-native' ? 'native' : 'typescript' });
  d.push(first);
  d.push(second);
  keep.push(d);
}
gc();
gc();
const after = process.memoryUsage();
const per = (k: 'rss' | 'heapUsed' | 'external') => ((after[k] - before[k]) / 1024 / contexts).toFixed(1);
console.log(
  `${kind} on Node ${process.versions.node}: per context RSS ${per('rss')} KiB, heap ${per('heapUsed')} KiB, ` +
    `external ${per('external')} KiB (${contexts} contexts, ${message.length}-byte messages, kept ${keep.length})`,
);
