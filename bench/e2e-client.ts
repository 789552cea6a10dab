/**
 * Child process of bench/e2e.ts: runs ONE gateway client (Shardline's `ShardManager` or @discordjs/ws's
 * `WebSocketManager`) against the parent's simulator, so `process.cpuUsage()` and RSS are this client's
 * alone. Driven over IPC (see e2e-protocol.ts). The user callback counts dispatches by type; READY and
 * GUILD_CREATE (startup) are counted apart and never part of a burst.
 */
import { writeFileSync } from 'node:fs';
import { Session } from 'node:inspector/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { getHeapSpaceStatistics, writeHeapSnapshot } from 'node:v8';
import { BroadcastChannel } from 'node:worker_threads';
import WebSocket from 'ws';
import { ShardManager } from '../src/manager/manager.js';
import type { ShardManagerOptions } from '../src/manager/options.js';
import {
  type ArmCommand,
  type ChildMessage,
  type ConnectCommand,
  E2E_SHARED,
  type ParentMessage,
} from './e2e-protocol.js';
import {
  type DiscordjsIdentifyThrottler,
  loadDiscordjsRest,
  loadDiscordjsWs,
  loadZlibSync,
  loadZstdNapiBinding,
} from './peers.js';

const send = (m: ChildMessage): void => {
  process.send?.(m);
};

function fault(message: string): void {
  send({ type: 'fault', message });
}

/** Set by e2e.ts's `--heap-snapshot DIR`: snapshots before connecting and after settling (idle only). */
const heapSnapshotDir = process.env.E2E_HEAP_SNAPSHOT_DIR;
let snapshotName = 'client';

function snapshot(stage: 'before' | 'after'): void {
  if (heapSnapshotDir)
    writeHeapSnapshot(join(heapSnapshotDir, `${snapshotName}-${process.pid}-${stage}.heapsnapshot`));
}

/**
 * `E2E_ALLOC_PROFILE=DIR` (e2e.ts `--alloc-profile DIR`): sample every allocation of the settling phase
 * (collected objects included) with V8's sampling heap profiler, written to DIR as a .heapprofile.
 */
const allocProfileDir = process.env.E2E_ALLOC_PROFILE;
/** `E2E_ALLOC_PROFILE_STAGE=connect`: profile the start-up (connect → all GUILD_CREATEs) instead. */
const allocProfileStartup = process.env.E2E_ALLOC_PROFILE_STAGE === 'connect';
let profiler: Session | undefined;

async function startAllocationProfile(): Promise<void> {
  if (!allocProfileDir) return;
  profiler = new Session();
  profiler.connect();
  await profiler.post('HeapProfiler.startSampling', {
    samplingInterval: 256,
    includeObjectsCollectedByMajorGC: true,
    includeObjectsCollectedByMinorGC: true,
  });
}

async function stopAllocationProfile(): Promise<void> {
  if (!profiler || !allocProfileDir) return;
  const { profile } = await profiler.post('HeapProfiler.stopSampling');
  const stage = allocProfileStartup ? 'connect' : 'settle';
  writeFileSync(
    join(allocProfileDir, `${snapshotName}-${process.pid}-${stage}.heapprofile`),
    JSON.stringify(profile),
  );
  profiler.disconnect();
  profiler = undefined;
}

function newSpaceBytes(): number {
  return getHeapSpaceStatistics().find((s) => s.space_name === 'new_space')?.physical_space_size ?? 0;
}

function fullGc(): void {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (!gc) throw new Error('e2e-client needs --expose-gc');
  gc();
  gc();
}

// ── the user callback ───────────────────────────────────────────────────────────────────────────────

let readies = 0;
let guildCreates = 0;
let received = 0;
const byType = new Map<string, number>();
let arm: ArmCommand | undefined;
let startAt = Number.POSITIVE_INFINITY;
let endAt = Number.POSITIVE_INFINITY;
let t0 = 0n;
let cpu0: NodeJS.CpuUsage | undefined;

function onDispatch(t: string): void {
  if (t === 'READY') {
    readies++;
    return;
  }
  if (t === 'GUILD_CREATE') {
    guildCreates++;
    return;
  }
  received++;
  byType.set(t, (byType.get(t) ?? 0) + 1);
  if (received < startAt) return;
  if (received === startAt) {
    cpu0 = process.cpuUsage();
    t0 = process.hrtime.bigint();
    return;
  }
  if (received === endAt && arm) {
    const cpu = process.cpuUsage(cpu0);
    const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
    send({ type: 'burst', seconds, cpu: { user: cpu.user, system: cpu.system }, received });
  }
}

// ── the same callback inside the shard threads (handler mode; see e2e-thread-handler.ts) ────────────────

const HANDLER = new URL('./e2e-thread-handler.js', import.meta.url);
let shared:
  | { counters: Int32Array; times: Float64Array; buffer: SharedArrayBuffer; threads: number }
  | undefined;

const receivedNow = (): number => (shared ? Atomics.load(shared.counters, E2E_SHARED.received) : received);
const guildCreatesNow = (): number =>
  shared ? Atomics.load(shared.counters, E2E_SHARED.guildCreates) : guildCreates;
const readiesNow = (): number => (shared ? Atomics.load(shared.counters, E2E_SHARED.readies) : readies);

function armShared(m: ArmCommand): void {
  const s = shared!;
  s.times.fill(0);
  Atomics.store(s.counters, E2E_SHARED.startAt, m.warm + 1);
  Atomics.store(s.counters, E2E_SHARED.endAt, m.warm + m.burst);
  Atomics.store(s.counters, E2E_SHARED.received, 0);
  const channel = new BroadcastChannel(E2E_SHARED.channel);
  channel.postMessage({ cmd: 'reset' });
  channel.close();
  // The burst ends in whichever thread delivers its last event: wait for that thread's mark.
  void (async () => {
    while (s.times[E2E_SHARED.t1] === 0) await sleep(2);
    const t0 = E2E_SHARED.t0;
    const t1 = E2E_SHARED.t1;
    send({
      type: 'burst',
      seconds: (s.times[t1]! - s.times[t0]!) / 1000,
      cpu: { user: s.times[t1 + 1]! - s.times[t0 + 1]!, system: s.times[t1 + 2]! - s.times[t0 + 2]! },
      received: receivedNow(),
    });
  })();
}

/** Per-type counts summed over every shard thread. */
async function sharedByType(): Promise<Record<string, number>> {
  const s = shared!;
  const channel = new BroadcastChannel(E2E_SHARED.channel);
  const total: Record<string, number> = {};
  const seen = new Set<number>();
  await new Promise<void>((resolve) => {
    channel.onmessage = (e) => {
      const m = (e as MessageEvent).data as { threadIndex?: number; byType?: Record<string, number> };
      if (m.byType === undefined || m.threadIndex === undefined || seen.has(m.threadIndex)) return;
      seen.add(m.threadIndex);
      for (const [t, n] of Object.entries(m.byType)) total[t] = (total[t] ?? 0) + n;
      if (seen.size === s.threads) resolve();
    };
    channel.postMessage({ cmd: 'count' });
  });
  channel.close();
  return total;
}

// ── @discordjs/ws identify throttling scaled to the simulator ───────────────────────────────────────

/**
 * One identify per `shard_id % maxConcurrency` bucket per `windowMs`, every bucket in parallel: the rule
 * @discordjs/ws's SimpleIdentifyThrottler applies with a fixed 5 s window, with the simulator's scaled window.
 */
class WindowIdentifyThrottler implements DiscordjsIdentifyThrottler {
  readonly #maxConcurrency: number;
  readonly #windowMs: number;
  readonly #nextGrant = new Map<number, number>();
  readonly #tail = new Map<number, Promise<void>>();

  constructor(maxConcurrency: number, windowMs: number) {
    this.#maxConcurrency = maxConcurrency;
    this.#windowMs = windowMs;
  }

  waitForIdentify(shardId: number, signal: AbortSignal): Promise<void> {
    const bucket = shardId % this.#maxConcurrency;
    const previous = this.#tail.get(bucket) ?? Promise.resolve();
    const mine = previous.then(async () => {
      signal.throwIfAborted();
      const wait = (this.#nextGrant.get(bucket) ?? 0) - Date.now();
      if (wait > 0) await sleep(wait, undefined, { signal });
      this.#nextGrant.set(bucket, Date.now() + this.#windowMs);
    });
    this.#tail.set(
      bucket,
      mine.catch(() => undefined),
    );
    return mine;
  }
}

// ── clients ─────────────────────────────────────────────────────────────────────────────────────────

interface RunningClient {
  destroy(): Promise<void>;
}

function threadsOption(c: ConnectCommand): ShardManagerOptions['threads'] {
  const count = c.spec.threads;
  if (!count) return undefined;
  if (c.spec.threadMode !== 'handler') return { count, delivery: c.spec.threadMode ?? 'clone' };
  const buffer = new SharedArrayBuffer(E2E_SHARED.counters * 4 + E2E_SHARED.times * 8);
  shared = {
    buffer,
    counters: new Int32Array(buffer, 0, E2E_SHARED.counters),
    times: new Float64Array(buffer, E2E_SHARED.counters * 4, E2E_SHARED.times),
    threads: count,
  };
  return { count, handler: HANDLER, handlerData: buffer };
}

async function connectShardline(c: ConnectCommand): Promise<RunningClient> {
  const threads = threadsOption(c);
  const manager = new ShardManager({
    ...(threads !== undefined ? { threads } : {}),
    token: c.token,
    intents: c.intents,
    api: c.api,
    shardCount: c.shards,
    encoding: c.spec.encoding,
    compression: c.spec.compression,
    identifyWindowMs: c.identifyWindowMs,
    identifyMarginMs: c.identifyMarginMs,
    // Thousands of sockets open at once against one loaded simulator: its handshakes can take over the
    // default 15 s.
    ...(c.shards > 500 ? { shardOptions: { openTimeoutMs: 120_000 } } : {}),
  });
  manager.on('dispatch', (payload) => onDispatch(payload.t));
  if (process.env.E2E_DEBUG)
    manager.on('debug', (m) => m.includes(process.env.E2E_DEBUG!) && console.error(m));
  manager.on('error', (err, shardId) => fault(`shardline shard ${shardId}: ${err.code} ${err.message}`));
  manager.on('close', (info, shardId) => fault(`shardline shard ${shardId} closed: ${JSON.stringify(info)}`));
  await manager.connect();
  return { destroy: () => manager.destroy({ resumable: false }) };
}

async function connectDiscordjs(c: ConnectCommand): Promise<RunningClient> {
  const ws = loadDiscordjsWs();
  const restPeer = loadDiscordjsRest();
  if (!ws || !restPeer) throw new Error('@discordjs/ws or @discordjs/rest not installed');
  const rest = new restPeer.REST({ api: c.api, version: '10' });
  rest.setToken(c.token);
  const manager = new ws.WebSocketManager({
    token: c.token,
    intents: c.intents,
    rest,
    shardCount: c.shards,
    shardIds: null,
    encoding: 'json',
    compression:
      c.spec.compression === 'none'
        ? null
        : c.spec.inflater === 'zlib-sync'
          ? ws.CompressionMethod.ZlibSync
          : ws.CompressionMethod.ZlibNative,
    // As for Shardline's openTimeoutMs: thousands of sockets against one simulator (defaults 30 s / 60 s).
    ...(c.shards > 500 ? { handshakeTimeout: 120_000, helloTimeout: 120_000 } : {}),
    buildIdentifyThrottler: () =>
      new WindowIdentifyThrottler(c.maxConcurrency, c.identifyWindowMs + c.identifyMarginMs),
  });
  const E = ws.WebSocketShardEvents;
  manager.on(E.Dispatch, ((payload: { t: string }) => onDispatch(payload.t)) as (...a: never[]) => void);
  manager.on(E.Error, ((err: Error, shardId: number) =>
    fault(`@discordjs/ws shard ${shardId}: ${err.message}`)) as (...a: never[]) => void);
  manager.on(E.Closed, ((code: number, shardId: number) =>
    fault(`@discordjs/ws shard ${shardId} closed with ${code}`)) as (...a: never[]) => void);
  await manager.connect();
  return { destroy: () => manager.destroy({ code: 1000 }) };
}

/**
 * The floor: what any client must do, nothing more. One `ws` socket per shard, Hello → Identify (the same
 * per-bucket spacing as the other clients) → heartbeats; each message decompressed by one streaming context
 * (zlib-sync, whose message end is the `00 00 ff ff` suffix, or zstd-napi's DCtx) and passed to JSON.parse.
 * No sequence tracking, resume, rate limiting or validation.
 */
async function connectMinimal(c: ConnectCommand): Promise<RunningClient> {
  const sockets: WebSocket[] = [];
  const timers: NodeJS.Timeout[] = [];
  const compress = c.spec.compression === 'none' ? '' : `&compress=${c.spec.compression}`;
  const url = `${c.gatewayUrl}/?v=10&encoding=json${compress}`;
  const spacing = c.identifyWindowMs + c.identifyMarginMs;
  const bucketNext = new Map<number, number>();
  const zlibSync = c.spec.inflater === 'zlib-sync' ? loadZlibSync() : undefined;
  const zstd = c.spec.inflater === 'zstd-napi' ? loadZstdNapiBinding() : undefined;
  if (c.spec.inflater === 'zlib-sync' && !zlibSync) throw new Error('zlib-sync not installed');
  if (c.spec.inflater === 'zstd-napi' && !zstd) throw new Error('zstd-napi not installed');
  const zstdOut = Buffer.allocUnsafe(256 * 1024);

  function decompressor(): (data: Buffer) => string | undefined {
    if (zlibSync) {
      const inflate = new zlibSync.Inflate({ chunkSize: 65_536 });
      return (data) => {
        const n = data.length;
        const flush =
          n >= 4 && data[n - 4] === 0 && data[n - 3] === 0 && data[n - 2] === 0xff && data[n - 1] === 0xff;
        inflate.push(data, flush ? zlibSync.Z_SYNC_FLUSH : false);
        if (!flush) return undefined;
        if (inflate.err < 0) throw new Error(`zlib-sync: ${inflate.msg}`);
        return String(inflate.result);
      };
    }
    if (zstd) {
      const dctx = new zstd.DCtx();
      return (data) => {
        const parts: Buffer[] = [];
        let src: Buffer = data;
        for (;;) {
          const [, produced, consumed] = dctx.decompressStream(zstdOut, src);
          if (produced > 0) parts.push(Buffer.from(zstdOut.subarray(0, produced)));
          src = src.subarray(consumed);
          if (src.length === 0 && produced < zstdOut.length) break;
        }
        return (parts.length === 1 ? parts[0]! : Buffer.concat(parts)).toString('utf8');
      };
    }
    return (data) => data.toString('utf8');
  }

  const shard = (id: number): Promise<void> =>
    new Promise((resolve, reject) => {
      const ws = new WebSocket(url, { perMessageDeflate: false });
      sockets.push(ws);
      const decode = decompressor();
      let seq: number | null = null;
      ws.on('error', (err) => {
        fault(`minimal shard ${id}: ${err.message}`);
        reject(err);
      });
      ws.on('close', (code) => fault(`minimal shard ${id} closed with ${code}`));
      ws.on('message', (data: Buffer) => {
        const text = decode(data);
        if (text === undefined) return;
        const p = JSON.parse(text) as { op: number; t: string | null; s: number | null; d: unknown };
        if (p.s !== null) seq = p.s;
        if (p.op === 0) {
          onDispatch(p.t!);
          if (p.t === 'READY') resolve();
        } else if (p.op === 10) {
          const interval = (p.d as { heartbeat_interval: number }).heartbeat_interval;
          timers.push(setInterval(() => ws.send(JSON.stringify({ op: 1, d: seq })), interval));
          const bucket = id % c.maxConcurrency;
          const at = Math.max(Date.now(), bucketNext.get(bucket) ?? 0);
          bucketNext.set(bucket, at + spacing);
          timers.push(
            setTimeout(() => {
              ws.send(
                JSON.stringify({
                  op: 2,
                  d: {
                    token: c.token,
                    intents: c.intents,
                    shard: [id, c.shards],
                    properties: { os: 'linux', browser: 'minimal', device: 'minimal' },
                  },
                }),
              );
            }, at - Date.now()),
          );
        }
      });
    });
  await Promise.all(Array.from({ length: c.shards }, (_, id) => shard(id)));
  return {
    destroy: async () => {
      for (const t of timers) clearTimeout(t);
      for (const ws of sockets) {
        ws.removeAllListeners('close');
        ws.close(1000);
      }
    },
  };
}

// ── IPC ─────────────────────────────────────────────────────────────────────────────────────────────

let client: RunningClient | undefined;

async function connect(c: ConnectCommand): Promise<void> {
  // Load everything the client will use before the baseline, so RSS growth is the shards' own.
  if (c.spec.kind === 'discordjs') {
    loadDiscordjsWs();
    loadDiscordjsRest();
    if (c.spec.inflater === 'zlib-sync' && !loadZlibSync()) throw new Error('zlib-sync not installed');
  }
  if (c.spec.kind === 'minimal') {
    if (c.spec.inflater === 'zlib-sync' && !loadZlibSync()) throw new Error('zlib-sync not installed');
    if (c.spec.inflater === 'zstd-napi' && !loadZstdNapiBinding()) throw new Error('zstd-napi not installed');
  }
  fullGc();
  const baseline = process.memoryUsage();
  const baselineNewSpace = newSpaceBytes();
  snapshotName = c.spec.name.replace(/[^a-z0-9]+/gi, '-');
  if (c.shards > 1) snapshot('before');
  if (allocProfileStartup) await startAllocationProfile();
  const started = performance.now();
  client = await (c.spec.kind === 'shardline'
    ? connectShardline(c)
    : c.spec.kind === 'minimal'
      ? connectMinimal(c)
      : connectDiscordjs(c));
  const deadline = started + c.timeoutMs;
  while (guildCreatesNow() < c.guilds) {
    if (performance.now() > deadline) {
      throw new Error(`only ${guildCreatesNow()}/${c.guilds} GUILD_CREATEs after ${c.timeoutMs} ms`);
    }
    await sleep(10);
  }
  if (allocProfileStartup) await stopAllocationProfile();
  else await startAllocationProfile();
  send({
    type: 'connected',
    baselineRss: baseline.rss,
    baselineHeapUsed: baseline.heapUsed,
    baselineExternal: baseline.external,
    baselineNewSpace,
    connectMs: performance.now() - started,
    readies: readiesNow(),
    guildCreates: guildCreatesNow(),
  });
}

process.on('message', (m: ParentMessage) => {
  switch (m.cmd) {
    case 'connect':
      connect(m).catch((err: unknown) => fault(`connect failed: ${String((err as Error)?.stack ?? err)}`));
      break;
    case 'arm':
      arm = m;
      received = 0;
      byType.clear();
      startAt = m.warm + 1;
      endAt = m.warm + m.burst;
      if (shared) armShared(m);
      // `warmed` is sent once the warm-up is in; the parent then sends the burst.
      void (async () => {
        while (receivedNow() < m.warm) await sleep(5);
        send({ type: 'warmed' });
      })();
      send({ type: 'armed' });
      break;
    case 'count':
      if (shared) {
        void sharedByType().then((counts) =>
          send({ type: 'count', received: receivedNow(), byType: counts }),
        );
      } else send({ type: 'count', received, byType: Object.fromEntries(byType) });
      break;
    case 'rss':
      void stopAllocationProfile();
      fullGc();
      {
        const m = process.memoryUsage();
        send({
          type: 'rss',
          rss: m.rss,
          heapUsed: m.heapUsed,
          external: m.external,
          newSpace: newSpaceBytes(),
        });
        snapshot('after');
      }
      break;
    case 'exit':
      void (async () => {
        process.removeAllListeners('message');
        try {
          await Promise.race([client?.destroy(), sleep(5000)]);
        } finally {
          process.exit(0);
        }
      })();
      break;
  }
});
process.on('disconnect', () => process.exit(0));
