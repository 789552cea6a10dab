/**
 * Codec CPU time under load: on a shared, loaded machine wall-clock medians swing 2× between runs, so this
 * bench measures CPU time of the process (process.cpuUsage) and interleaves ours and the peer round by round
 * (5 rounds, median), so both see the same load.
 * - zstd-stream decode of the bench corpus compressed for real as Discord does (one frame never ended,
 *   windowLog 18, ZSTD_e_flush per message; reference zstd level 3 via zstd-napi): our TypeScript decoder,
 *   node:zlib's zstd (Node >= 22.15) and zstd-napi's DCtx, each a fresh context per session.
 * - ETF encode of identify / presence update / request guild members: encodeEtf vs erlpack.pack, first with
 *   an encoder that has seen only client payloads, then after it encoded the corpus (as etf.bench.ts does).
 * Run: npm run bench -- cpu-codecs   (peers: npm --prefix bench install)
 */
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { encodeEtf } from '../src/codec/index.js';
import { nativeZstdAvailable, ZstdStreamDecoder } from '../src/codec/zstd-stream.js';
import { createCorpus, toEtfForm } from './corpus.js';
import { loadErlpack } from './peers.js';

interface NapiBinding {
  CCtx: new () => {
    setParameter(param: number, value: number): void;
    compressStream2(out: Uint8Array, input: Uint8Array, end: number): [number, number, number];
  };
  DCtx: new () => { decompressStream(out: Uint8Array, input: Uint8Array): [number, number, number] };
  CParameter: Record<string, number>;
  EndDirective: Record<string, number>;
}
const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
let napi: NapiBinding | undefined;
try {
  napi = createRequire(join(root, 'bench', 'package.json'))('zstd-napi/binding') as NapiBinding;
} catch {
  console.log('peer zstd-napi not installed: run npm --prefix bench install (zstd rows skipped)');
}
const erlpack = loadErlpack();
const corpus = createCorpus();

/** CPU nanoseconds per call of `fn` over `n` calls. */
function cpuNs(fn: () => unknown, n: number): number {
  const t = process.cpuUsage();
  for (let i = 0; i < n; i++) fn();
  const u = process.cpuUsage(t);
  return ((u.user + u.system) * 1000) / n;
}
const median = (xs: number[]) => xs.sort((a, b) => a - b)[xs.length >> 1]!;

/** Runs the tasks interleaved for `rounds` rounds; returns the median CPU ns per call of each. */
function interleaved(tasks: readonly (readonly [string, () => unknown])[], n: number, rounds = 5): number[] {
  for (const [, fn] of tasks) cpuNs(fn, Math.max(1, n >> 2));
  const samples = tasks.map(() => [] as number[]);
  for (let r = 0; r < rounds; r++)
    tasks.forEach(([, fn], i) => {
      samples[i]!.push(cpuNs(fn, n));
    });
  return samples.map(median);
}

console.log(`node ${process.versions.node}, load average ${(await import('node:os')).loadavg().join(' ')}`);

if (napi) {
  const messages = [corpus.ready, corpus.guildCreateSmall, corpus.guildCreateLarge, ...corpus.events].map(
    (p) => Buffer.from(JSON.stringify(p)),
  );
  const cctx = new napi.CCtx();
  cctx.setParameter(napi.CParameter.compressionLevel!, 3);
  cctx.setParameter(napi.CParameter.windowLog!, 18);
  const scratch = Buffer.alloc(messages.reduce((n, m) => Math.max(n, m.length), 0) + 65536);
  const frames = messages.map((m) => {
    const [, produced] = cctx.compressStream2(scratch, m, napi!.EndDirective.flush!);
    return Buffer.from(scratch.subarray(0, produced));
  });
  const raw = messages.reduce((n, m) => n + m.length, 0);
  const comp = frames.reduce((n, f) => n + f.length, 0);
  console.log(
    `\nzstd-stream decode, ${messages.length} messages, ${raw} bytes → ${comp} (ratio ${(comp / raw).toFixed(3)}), one session per op`,
  );
  const session = (impl: 'typescript' | 'native') => () => {
    const d = new ZstdStreamDecoder({ implementation: impl });
    for (const f of frames) d.push(f);
  };
  const napiSession = () => {
    const dctx = new napi!.DCtx();
    const out = Buffer.alloc(256 * 1024);
    for (const f of frames) {
      let input: Uint8Array = f;
      for (;;) {
        const [, produced, consumed] = dctx.decompressStream(out, input);
        Buffer.from(out.subarray(0, produced)); // a copy per message, as a client keeps it
        input = input.subarray(consumed);
        if (input.length === 0 && produced < out.length) break;
      }
    }
  };
  const tasks: [string, () => unknown][] = [
    ['shardline TypeScript decoder', session('typescript')],
    ['zstd-napi DCtx', napiSession],
  ];
  if (nativeZstdAvailable) tasks.push(['shardline node:zlib zstd', session('native')]);
  const ns = interleaved(tasks, 3);
  console.log('| decoder | CPU µs / message | × of zstd-napi |');
  console.log('|:--|--:|--:|');
  tasks.forEach(([name], i) => {
    console.log(
      `| ${name} | ${(ns[i]! / messages.length / 1000).toFixed(2)} | ${(ns[i]! / ns[1]!).toFixed(2)} |`,
    );
  });
}

if (erlpack) {
  const payloads = [
    ['identify', corpus.client.identify],
    ['presence update', corpus.client.presenceUpdate],
    ['request guild members', corpus.client.requestGuildMembers],
  ] as const;
  const encodeTable = (title: string) => {
    console.log(`\nETF encode, CPU ns per call (erlpack / ours = how many times faster ours is), ${title}`);
    console.log('| payload | encodeEtf ns | erlpack.pack ns | × erlpack |');
    console.log('|:--|--:|--:|--:|');
    for (const [name, value] of payloads) {
      const [ours, theirs] = interleaved(
        [
          ['encodeEtf', () => encodeEtf(value)],
          ['erlpack', () => erlpack.pack(value)],
        ],
        100_000,
      );
      console.log(
        `| ${name} | ${ours!.toFixed(0)} | ${theirs!.toFixed(0)} | ${(theirs! / ours!).toFixed(2)}× |`,
      );
    }
  };
  encodeTable('encoder fresh (only client payloads so far)');
  // As etf.bench does before its encode groups: the corpus events in the ETF form Discord sends (many shapes,
  // some objects in V8 dictionary mode), then READY and both GUILD_CREATEs.
  for (const p of [...corpus.events, corpus.ready, corpus.guildCreateSmall, corpus.guildCreateLarge])
    encodeEtf(toEtfForm(p));
  encodeTable(`after encoding the ${corpus.events.length}-event corpus, READY and GUILD_CREATEs`);
}
