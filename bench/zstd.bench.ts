/**
 * zstd-stream: per-message decompression of a realistic gateway session compressed as ONE never-ending
 * zstd frame (windowLog 18, a ZSTD_e_flush after every message, as Discord sends it), decoded message by
 * message with one context. Ours (pure TypeScript) side by side with zstd-napi (native reference zstd,
 * optional peer) and fzstd (pure JS, optional peer). Also: memory per context, and our encoder against
 * zstd-napi's compressor (time and ratio).
 * Run: npm run bench -- zstd   (or node dist/bench/zstd.bench.js after a build; --time <ms> per task)
 */
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { nativeZstdAvailable, ZstdStreamDecoder, ZstdStreamEncoder } from '../src/codec/zstd-stream.js';
import { createCorpus } from './corpus.js';
import { type BenchTask, runGroup } from './harness.js';
import { loadFzstd } from './peers.js';

// zstd-napi's low-level binding (CCtx/DCtx with compressStream2/decompressStream) from bench/node_modules.
interface NapiBinding {
  CCtx: new () => {
    setParameter(param: number, value: number): void;
    compressStream2(out: Uint8Array, input: Uint8Array, end: number): [number, number, number];
  };
  DCtx: new () => {
    decompressStream(out: Uint8Array, input: Uint8Array): [number, number, number];
  };
  CParameter: Record<string, number>;
  EndDirective: Record<string, number>;
}
const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
let napi: NapiBinding | undefined;
try {
  napi = createRequire(join(root, 'bench', 'package.json'))('zstd-napi/binding') as NapiBinding;
} catch {
  console.log(
    'peer zstd-napi not installed: run npm --prefix bench install (the stream falls back to our encoder)',
  );
}
const fzstd = loadFzstd();

const corpus = createCorpus();
const messages = [corpus.ready, corpus.guildCreateSmall, corpus.guildCreateLarge, ...corpus.events].map((p) =>
  Buffer.from(JSON.stringify(p)),
);
const rawBytes = messages.reduce((n, m) => n + m.length, 0);
const maxMessage = messages.reduce((n, m) => Math.max(n, m.length), 0);

function napiCompress(level: number): Uint8Array[] {
  const cctx = new napi!.CCtx();
  cctx.setParameter(napi!.CParameter.compressionLevel!, level);
  cctx.setParameter(napi!.CParameter.windowLog!, 18);
  const out = Buffer.alloc(maxMessage + 65536);
  return messages.map((m) => {
    const [remaining, produced] = cctx.compressStream2(out, m, napi!.EndDirective.flush!);
    if (remaining !== 0) throw new Error('zstd-napi: flush incomplete');
    return Buffer.from(out.subarray(0, produced));
  });
}

const frames = napi
  ? napiCompress(3)
  : (() => {
      const e = new ZstdStreamEncoder();
      return messages.map((m) => e.encode(m));
    })();
const compressedBytes = frames.reduce((n, f) => n + f.length, 0);
console.log(
  `corpus: ${messages.length} messages, ${rawBytes} bytes raw, ${compressedBytes} bytes as one zstd-stream ` +
    `(${napi ? 'reference zstd level 3 via zstd-napi' : 'our encoder'}), ratio ${(compressedBytes / rawBytes).toFixed(3)}`,
);

// ---- decoders: one "session" = a fresh context decoding every message in order.
type SessionDecoder = () => (frame: Uint8Array) => Uint8Array;

const ours: SessionDecoder = () => {
  const d = new ZstdStreamDecoder({ implementation: 'typescript' });
  return (frame) => d.push(frame)!;
};
const oursNative: SessionDecoder | undefined = nativeZstdAvailable
  ? () => {
      const d = new ZstdStreamDecoder({ implementation: 'native' });
      return (frame) => d.push(frame)!;
    }
  : undefined;
console.log(
  `Node ${process.versions.node}: node:zlib zstd ${nativeZstdAvailable ? 'available (ZstdStreamDecoder default)' : 'absent (ZstdStreamDecoder uses the TypeScript decoder)'}`,
);

const napiDecoder: SessionDecoder | undefined = napi
  ? () => {
      const dctx = new napi!.DCtx();
      const out = Buffer.alloc(128 * 1024);
      return (frame) => {
        const parts: Uint8Array[] = [];
        let input: Uint8Array = frame;
        for (;;) {
          const [, produced, consumed] = dctx.decompressStream(out, input);
          if (produced > 0) parts.push(Buffer.from(out.subarray(0, produced)));
          input = input.subarray(consumed);
          if (input.length === 0 && produced < out.length) break;
        }
        return parts.length === 1 ? parts[0]! : Buffer.concat(parts);
      };
    }
  : undefined;

const fzstdDecoder: SessionDecoder | undefined = fzstd
  ? () => {
      let parts: Uint8Array[] = [];
      const d = new fzstd.Decompress((chunk) => parts.push(chunk));
      return (frame) => {
        parts = [];
        d.push(frame);
        return parts.length === 1 ? parts[0]! : Buffer.concat(parts);
      };
    }
  : undefined;

// Outputs agree?
for (const [name, make] of [
  ['shardline', ours],
  ['shardline native', oursNative],
  ['zstd-napi', napiDecoder],
  ['fzstd', fzstdDecoder],
] as const) {
  if (!make) continue;
  const push = make();
  let bad = -1;
  for (let i = 0; i < frames.length && bad < 0; i++)
    if (!Buffer.from(push(frames[i]!)).equals(messages[i]!)) bad = i;
  console.log(
    bad < 0 ? `${name}: all ${frames.length} messages byte-equal` : `${name}: WRONG at message ${bad}`,
  );
}

const session = (make: SessionDecoder | undefined) =>
  make
    ? () => {
        const push = make();
        for (const f of frames) push(f);
      }
    : undefined;

const tasks: BenchTask[] = [
  { name: 'shardline ZstdStreamDecoder (TS)', fn: session(ours) },
  { name: 'shardline ZstdStreamDecoder (node:zlib)', fn: session(oursNative) },
  { name: 'zstd-napi DCtx (native)', fn: session(napiDecoder) },
  { name: 'fzstd Decompress (JS)', fn: session(fzstdDecoder) },
];
const result = runGroup(`zstd-stream decode: whole session, ${messages.length} messages per op`, tasks, {
  baseline: napiDecoder ? 'zstd-napi DCtx (native)' : 'shardline ZstdStreamDecoder (TS)',
});
console.log('\nper message (median session time / messages):');
console.log('| task | µs/message | MB/s out | × vs baseline |');
console.log('|:--|--:|--:|--:|');
for (const r of result.rows) {
  if (r.error) continue;
  const perMsg = r.medianUs / messages.length;
  const mbs = rawBytes / (r.medianUs / 1e6) / 1e6;
  console.log(`| ${r.name} | ${perMsg.toFixed(2)} | ${mbs.toFixed(0)} | ${r.speedup?.toFixed(2) ?? '-'}× |`);
}

// Small messages alone (the common case: dispatch events after READY), per message.
const eventFrames = frames.slice(3);
const eventTasks: BenchTask[] = [];
{
  // Prime each context with the first three messages so the window is warm, then time 1,000 events.
  const primed = (make: SessionDecoder | undefined) => {
    if (!make) return undefined;
    return () => {
      const push = make();
      for (let i = 0; i < 3; i++) push(frames[i]!);
      for (let i = 0; i < 1000; i++) push(eventFrames[i]!);
    };
  };
  eventTasks.push(
    { name: 'shardline (TS)', fn: primed(ours) },
    { name: 'shardline (node:zlib)', fn: primed(oursNative) },
    { name: 'zstd-napi', fn: primed(napiDecoder) },
    { name: 'fzstd', fn: primed(fzstdDecoder) },
  );
}
runGroup('zstd-stream decode: fresh context + READY/GUILD_CREATEs + 1,000 small events per op', eventTasks, {
  baseline: napiDecoder ? 'zstd-napi' : 'shardline',
});

// ---- memory per context: N live contexts, each after the first 200 messages of the session.
function memoryPerContext(name: string, make: SessionDecoder | undefined): void {
  if (!make) return;
  const n = 200;
  globalThis.gc?.();
  const before = process.memoryUsage();
  const live: ((f: Uint8Array) => Uint8Array)[] = [];
  for (let k = 0; k < n; k++) {
    const push = make();
    for (let i = 0; i < 200; i++) push(frames[i]!);
    live.push(push);
  }
  globalThis.gc?.();
  const after = process.memoryUsage();
  console.log(`| ${name} | ${((after.rss - before.rss) / n / 1024).toFixed(0)} |`);
  live.length = 0;
}
console.log(
  `\nmemory per live context (RSS growth over 200 contexts, each after 200 messages; ${globalThis.gc ? 'after gc()' : 'WITHOUT --expose-gc'}; noisy, run alone for a clean figure):`,
);
console.log('| decoder | KiB RSS / context |');
console.log('|:--|--:|');
memoryPerContext('shardline (TS)', ours);
memoryPerContext('shardline (node:zlib)', oursNative);
memoryPerContext('zstd-napi', napiDecoder);
memoryPerContext('fzstd', fzstdDecoder);
{
  const d = new ZstdStreamDecoder({ implementation: 'typescript' });
  for (const f of frames) d.push(f);
  console.log(`shardline retainedBytes after the whole session: ${(d.retainedBytes / 1024).toFixed(0)} KiB`);
}

// ---- compression (the simulator side): our encoder vs zstd-napi with flushes, whole session per op.
const ourEncoded = (() => {
  const e = new ZstdStreamEncoder();
  return messages.map((m) => e.encode(m)).reduce((n, c) => n + c.length, 0);
})();
const ratios = [`shardline encoder ${(ourEncoded / rawBytes).toFixed(3)}`];
if (napi)
  for (const level of [1, 3]) {
    const bytes = napiCompress(level).reduce((n, c) => n + c.length, 0);
    ratios.push(`zstd-napi level ${level} ${(bytes / rawBytes).toFixed(3)}`);
  }
console.log(`\ncompressed/raw: ${ratios.join(', ')}`);
runGroup(
  `zstd-stream encode: whole session, ${messages.length} messages per op`,
  [
    {
      name: 'shardline ZstdStreamEncoder (TS)',
      fn: () => {
        const e = new ZstdStreamEncoder();
        for (const m of messages) e.encode(m);
      },
    },
    { name: 'zstd-napi level 1', fn: napi ? () => napiCompress(1) : undefined },
    { name: 'zstd-napi level 3', fn: napi ? () => napiCompress(3) : undefined },
  ],
  { baseline: napi ? 'zstd-napi level 3' : 'shardline ZstdStreamEncoder (TS)' },
);
