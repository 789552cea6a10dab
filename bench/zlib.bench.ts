/**
 * zlib-stream decompression: ZlibStreamDecoder (both engines) side by side with zlib-sync's native
 * `Inflate` (optional peer) and node:zlib's async stream API (`createInflate`, awaiting every message), on
 * realistic corpora compressed as ONE stream with a Z_SYNC_FLUSH per message (JSON, string snowflakes).
 * One operation = a fresh context decoding the whole stream; per-message figures divide by its length.
 * Also prints the memory one context costs (1,000 contexts that each decoded a few messages, measured in a
 * fresh child process per peer).
 *
 * Run: npm run bench -- zlib   (or node --expose-gc dist/bench/zlib.bench.js [--time ms] after a build)
 */
import { spawnSync } from 'node:child_process';
import { appendFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import zlib from 'node:zlib';
import { Bench } from 'tinybench';
import { ZlibStreamDecoder } from '../src/codec/zlib-stream.js';
import { createCorpus } from './corpus.js';
import { type BenchGroupResult, type BenchRow, benchFlag, printGroup } from './harness.js';
import { loadZlibSync } from './peers.js';

const zlibSync = loadZlibSync();

/** Compresses the messages as one stream with node:zlib's stream API, one sync-flushed chunk each. */
async function syncFlushChunks(messages: readonly Buffer[]): Promise<Buffer[]> {
  const deflate = zlib.createDeflate({ level: 6 });
  const pieces: Buffer[] = [];
  deflate.on('data', (b: Buffer) => pieces.push(b));
  const out: Buffer[] = [];
  for (const m of messages) {
    deflate.write(m);
    await new Promise<void>((resolve) => deflate.flush(zlib.constants.Z_SYNC_FLUSH, () => resolve()));
    await new Promise<void>((resolve) => setImmediate(resolve));
    out.push(Buffer.concat(pieces.splice(0)));
  }
  deflate.destroy();
  return out;
}

/** A decoder under test: a fresh context per stream, fed one message chunk at a time. */
interface Peer {
  readonly name: string;
  /** Opens a context; `undefined` when the peer is not installed. */
  readonly open: (() => Context) | undefined;
}
interface Context {
  push(chunk: Buffer): Uint8Array | Promise<Uint8Array>;
  close(): void;
}

const ours = (engine: 'handle' | 'portable'): Peer => ({
  name: `ZlibStreamDecoder (${engine})`,
  open: () => {
    const decoder = new ZlibStreamDecoder({ engine });
    return { push: (c) => decoder.push(c)!, close: () => decoder.close() };
  },
});

const zlibSyncPeer: Peer = {
  name: 'zlib-sync Inflate',
  open: zlibSync
    ? () => {
        const inflate = new zlibSync.Inflate({ chunkSize: 64 * 1024 });
        return {
          push: (c) => {
            inflate.push(c, zlibSync.Z_SYNC_FLUSH);
            if (inflate.err) throw new Error(`zlib-sync: ${inflate.msg}`);
            return inflate.result as Buffer;
          },
          close: () => {},
        };
      }
    : undefined,
};

/** node:zlib async stream: write each message's chunk and await its output before the next one. */
const nodeStreamPeer: Peer = {
  name: 'node:zlib createInflate (async)',
  open: () => {
    const inflate = zlib.createInflate();
    const pieces: Buffer[] = [];
    inflate.on('data', (b: Buffer) => pieces.push(b));
    return {
      push: (c) =>
        new Promise<Uint8Array>((resolve, reject) =>
          inflate.write(c, (err) => {
            if (err) return reject(err);
            const out = pieces.length === 1 ? pieces[0]! : Buffer.concat(pieces);
            pieces.length = 0;
            resolve(out);
          }),
        ),
      close: () => inflate.destroy(),
    };
  },
};

const PEERS: readonly Peer[] = [ours('handle'), ours('portable'), zlibSyncPeer, nodeStreamPeer];

/**
 * Side by side with tinybench. One operation decodes the next `perOp` messages of the stream through a
 * context kept across operations (a fresh one each time the stream wraps around), so there are many short
 * samples and the median resists the noise of a shared machine. Prints µs/message and MB/s out.
 */
async function compare(
  title: string,
  messages: readonly Buffer[],
  perOp: number,
  baseline: string,
): Promise<void> {
  const chunks = await syncFlushChunks(messages);
  const inBytes = chunks.reduce((n, c) => n + c.length, 0);
  const outBytes = messages.reduce((n, m) => n + m.length, 0);
  const flagTime = Number(benchFlag('time'));
  const time = Number.isFinite(flagTime) && flagTime > 0 ? flagTime : 2000;
  const bench = new Bench({ name: title, time, warmupTime: Math.min(300, time), iterations: 16 });
  for (const peer of PEERS) {
    const open = peer.open;
    if (!open) continue;
    // Correctness first: a full pass must reproduce every message.
    const check = open();
    for (let i = 0; i < chunks.length; i++) {
      const got = await check.push(chunks[i]!);
      if (!Buffer.from(got).equals(messages[i]!)) throw new Error(`${peer.name} decoded message ${i} wrong`);
    }
    check.close();
    let ctx = open();
    let next = 0;
    const advance = () => {
      if (next === chunks.length) {
        ctx.close();
        ctx = open();
        next = 0;
      }
      return chunks[next++]!;
    };
    const isAsync = peer === nodeStreamPeer;
    bench.add(
      peer.name,
      isAsync
        ? async () => {
            for (let k = 0; k < perOp; k++) {
              const chunk = advance(); // may replace ctx: read it after
              await ctx.push(chunk);
            }
          }
        : () => {
            for (let k = 0; k < perOp; k++) {
              const chunk = advance();
              ctx.push(chunk);
            }
          },
    );
  }
  await bench.run();

  const raw = new Map<string, BenchRow>();
  for (const task of bench.tasks) {
    const r = task.result;
    if (!('latency' in r)) {
      console.log(`${task.name}: ${r.state} ${String((r as { error?: unknown }).error)}`);
      continue;
    }
    const us = (ms: number) => (ms * 1000) / perOp;
    raw.set(task.name, {
      name: task.name,
      medianUs: us(r.latency.p50),
      minUs: us(r.latency.min),
      maxUs: us(r.latency.max),
      opsPerSec: 1e6 / us(r.latency.p50),
      samples: r.latency.samplesCount,
      speedup: undefined,
    });
  }
  const base = raw.get(baseline);
  const rows: BenchRow[] = PEERS.map((peer) => {
    const row = raw.get(peer.name);
    if (!row) {
      return {
        name: peer.name,
        medianUs: Number.NaN,
        minUs: Number.NaN,
        maxUs: Number.NaN,
        opsPerSec: Number.NaN,
        samples: 0,
        speedup: undefined,
        error: peer.open ? 'failed' : 'skipped (peer not installed)',
      };
    }
    return { ...row, speedup: base ? base.medianUs / row.medianUs : undefined };
  });
  const result: BenchGroupResult = {
    title:
      `${title}: µs per message (${messages.length} messages, ${(outBytes / 1e6).toFixed(2)} MB out, ` +
      `${(inBytes / 1e6).toFixed(2)} MB compressed; ${perOp} per op; ops/s = messages/s)`,
    baseline: base ? baseline : undefined,
    rows,
  };
  printGroup(result);
  const avg = outBytes / messages.length;
  console.log(
    `MB/s out (median): ${rows
      .filter((r) => Number.isFinite(r.medianUs))
      .map((r) => `${r.name} ${(avg / r.medianUs).toFixed(1)}`)
      .join(' · ')}`,
  );
  await cpuCrossCheck(chunks, base ? baseline : undefined);
  const jsonPath = benchFlag('json');
  if (jsonPath) appendFileSync(jsonPath, `${JSON.stringify(result)}\n`);
}

/**
 * Cross-check less sensitive to a loaded machine: CPU time (process.cpuUsage, all threads) of whole-stream
 * passes with a fresh context, min and median over up to 15 passes (at least 3, about 2 s per peer).
 */
async function cpuCrossCheck(chunks: readonly Buffer[], baseline: string | undefined): Promise<void> {
  const figures = new Map<string, { min: number; median: number }>();
  for (const peer of PEERS) {
    const open = peer.open;
    if (!open) continue;
    const runs: number[] = [];
    const started = Date.now();
    while (runs.length < 15 && (runs.length < 3 || Date.now() - started < 2000)) {
      const t0 = process.cpuUsage();
      const ctx = open();
      for (const c of chunks) await ctx.push(c);
      ctx.close();
      const used = process.cpuUsage(t0);
      runs.push((used.user + used.system) / chunks.length);
    }
    runs.sort((a, b) => a - b);
    figures.set(peer.name, { min: runs[0]!, median: runs[runs.length >> 1]! });
  }
  const base = baseline === undefined ? undefined : figures.get(baseline);
  const parts = [...figures].map(([name, f]) => {
    const ratio = base ? ` (${(base.min / f.min).toFixed(2)}× by min)` : '';
    return `${name} ${f.min.toFixed(2)}/${f.median.toFixed(2)}${ratio}`;
  });
  console.log(`CPU µs per message, min/median of whole-stream passes: ${parts.join(' · ')}`);
}

const MEMORY_CONTEXTS = 1000;

/** Child-process probe: memory held by 1,000 contexts of one peer that each decoded `chunks`. */
async function memoryProbe(peer: Peer, chunks: readonly Buffer[]): Promise<void> {
  const gc = (globalThis as { gc?: () => void }).gc;
  const open = peer.open;
  if (!gc || !open) return;
  const settle = async () => {
    for (let i = 0; i < 3; i++) {
      gc();
      await new Promise<void>((resolve) => setImmediate(resolve));
    }
  };
  // Warm up code paths and pools outside the measurement.
  const warm = open();
  for (const c of chunks) await warm.push(c);
  warm.close();
  await settle();
  const before = process.memoryUsage();
  const keep: Context[] = [];
  for (let i = 0; i < MEMORY_CONTEXTS; i++) {
    const ctx = open();
    for (const c of chunks) await ctx.push(c);
    keep.push(ctx);
  }
  await settle();
  const after = process.memoryUsage();
  const per = (a: number, b: number) => (a - b) / MEMORY_CONTEXTS / 1024;
  console.log(
    JSON.stringify({
      rssKiB: per(after.rss, before.rss),
      heapKiB: per(after.heapUsed, before.heapUsed),
      externalKiB: per(after.external, before.external),
      alive: keep.length,
    }),
  );
  for (const k of keep) k.close();
}

/** Runs `memoryProbe` for each peer in a fresh process (RSS of a busy process says little) and prints a table. */
function memoryTable(messageCount: number): void {
  console.log(
    `\n### memory per context (${MEMORY_CONTEXTS} contexts, each decoded ${messageCount} messages)`,
  );
  console.log('| context | RSS KiB | JS heap KiB | external KiB |');
  console.log('|:--|--:|--:|--:|');
  PEERS.forEach((peer, i) => {
    if (!peer.open) {
      console.log(`| ${peer.name} | skipped (peer not installed) | | |`);
      return;
    }
    const r = spawnSync(
      process.execPath,
      ['--expose-gc', fileURLToPath(import.meta.url), '--memory-probe', String(i)],
      {
        encoding: 'utf8',
      },
    );
    const line = r.stdout.trim().split('\n').pop() ?? '';
    try {
      const m = JSON.parse(line) as { rssKiB: number; heapKiB: number; externalKiB: number };
      console.log(
        `| ${peer.name} | ${m.rssKiB.toFixed(1)} | ${m.heapKiB.toFixed(1)} | ${m.externalKiB.toFixed(1)} |`,
      );
    } catch {
      console.log(`| ${peer.name} | probe failed: ${(r.stderr || line).slice(0, 80)} | | |`);
    }
  });
  console.log(
    '(zlib-sync allocates with malloc, invisible to V8: only its RSS counts; RSS includes allocator slack)',
  );
}

const corpus = createCorpus();
const events = corpus.events.map((e) => Buffer.from(JSON.stringify(e)));
const probeMessages = [
  Buffer.from(JSON.stringify({ op: 10, d: { heartbeat_interval: 41250 }, s: null, t: null })),
  Buffer.from(JSON.stringify(corpus.ready)),
  ...events.slice(0, 8),
];

const probe = benchFlag('memory-probe');
if (probe !== undefined) {
  await memoryProbe(PEERS[Number(probe)]!, await syncFlushChunks(probeMessages));
} else {
  await compare('10,000 mixed events (JSON)', events, 100, 'zlib-sync Inflate');
  // ~2 MB GUILD_CREATEs: three different large guilds in one stream.
  const bigGuilds = [11, 12, 13].map((seed) =>
    Buffer.from(
      JSON.stringify(createCorpus({ seed, eventCount: 1, largeGuildMembers: 3500 }).guildCreateLarge),
    ),
  );
  await compare('~2 MB GUILD_CREATE (JSON)', bigGuilds, 1, 'zlib-sync Inflate');
  memoryTable(probeMessages.length);
}
