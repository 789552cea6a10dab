/**
 * Optional native peers for benchmarks, installed separately with `npm --prefix bench install` so the
 * library itself never needs a compiler. Each loader returns undefined (and says so once) when missing.
 */
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

// Compiled to dist/bench/peers.js; the peers live in <root>/bench/node_modules.
const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
/**
 * `SHARDLINE_BENCH_PEERS_DIR`: another directory holding the peers' package.json and node_modules, e.g. peers
 * built for another Node major (native addons are per ABI) when the clients run on it.
 */
const peersDir = process.env.SHARDLINE_BENCH_PEERS_DIR ?? join(root, 'bench');
const requireFromBench = createRequire(join(peersDir, 'package.json'));

const cache = new Map<string, unknown>();

function load<T>(name: string): T | undefined {
  if (cache.has(name)) return cache.get(name) as T | undefined;
  let mod: T | undefined;
  try {
    mod = requireFromBench(name) as T;
  } catch (err) {
    const reason = (err as { code?: string }).code ?? String(err);
    console.log(`peer ${name} not installed (${reason}): run npm --prefix bench install`);
    mod = undefined;
  }
  cache.set(name, mod);
  return mod;
}

/** discord/erlpack: `pack(value) → Buffer`, `unpack(buffer) → value`. */
export interface ErlpackPeer {
  pack(value: unknown): Buffer;
  unpack(data: Uint8Array): unknown;
}

/** zlib-sync: a streaming `Inflate` like pako's. */
export interface ZlibSyncInflate {
  push(data: Uint8Array, flush?: number | boolean): boolean;
  readonly result: Buffer | string | undefined;
  readonly err: number;
  readonly msg: string | undefined;
}
export interface ZlibSyncPeer {
  Inflate: new (options?: { chunkSize?: number; windowBits?: number; to?: string }) => ZlibSyncInflate;
  Z_SYNC_FLUSH: number;
}

/** zstd-napi: streaming `Compressor` / `Decompressor` and one-shot helpers. */
export interface ZstdNapiPeer {
  compress(data: Uint8Array, params?: Record<string, number>): Buffer;
  decompress(data: Uint8Array): Buffer;
  Compressor: new () => {
    setParameters(params: Record<string, number>): void;
    compressStream(input: Uint8Array): Buffer;
    flushStream?(): Buffer;
  };
  Decompressor: new () => {
    decompressStream?(input: Uint8Array): Buffer;
  };
  [key: string]: unknown;
}

/** fzstd (pure JS): `decompress` and a streaming `Decompress` class. */
export interface FzstdPeer {
  decompress(data: Uint8Array, out?: Uint8Array): Uint8Array;
  Decompress: new (
    ondata?: (data: Uint8Array, final: boolean) => void,
  ) => {
    push(chunk: Uint8Array, final?: boolean): void;
    ondata: (data: Uint8Array, final: boolean) => void;
  };
}

/** Whether a peer is installed, without loading it (a native peer may be built for another Node). */
export function peerInstalled(name: string): boolean {
  try {
    requireFromBench.resolve(name);
    return true;
  } catch {
    return false;
  }
}

export const loadErlpack = (): ErlpackPeer | undefined => load<ErlpackPeer>('erlpack');
export const loadZlibSync = (): ZlibSyncPeer | undefined => load<ZlibSyncPeer>('zlib-sync');
export const loadZstdNapi = (): ZstdNapiPeer | undefined => load<ZstdNapiPeer>('zstd-napi');
/** zstd-napi's raw binding: one streaming decompression context (`ZSTD_DCtx`). */
export interface ZstdNapiBinding {
  DCtx: new () => {
    /** Returns [hint, produced, consumed], like ZSTD_decompressStream. */
    decompressStream(dst: Uint8Array, src: Uint8Array): [number, number, number];
  };
}
export const loadZstdNapiBinding = (): ZstdNapiBinding | undefined =>
  load<ZstdNapiBinding>('zstd-napi/binding');
export const loadFzstd = (): FzstdPeer | undefined => load<FzstdPeer>('fzstd');

/** The subset of `@discordjs/ws` 2.x the end-to-end bench drives (typed here so the build needs no peer). */
export interface DiscordjsWsManager {
  connect(): Promise<void>;
  destroy(options?: { code?: number; reason?: string }): Promise<void>;
  on(event: string, listener: (...args: never[]) => void): unknown;
}
export interface DiscordjsIdentifyThrottler {
  waitForIdentify(shardId: number, signal: AbortSignal): Promise<void>;
}
export interface DiscordjsWsPeer {
  WebSocketManager: new (options: Record<string, unknown>) => DiscordjsWsManager;
  CompressionMethod: { readonly ZlibNative: number; readonly ZlibSync: number };
  WebSocketShardEvents: {
    readonly Dispatch: string;
    readonly Ready: string;
    readonly Error: string;
    readonly Closed: string;
  };
  version: string;
}
/** `@discordjs/rest` 2.x: only the constructor (`api` = REST base without version) and `setToken`. */
export interface DiscordjsRestPeer {
  REST: new (options: { api?: string; version?: string }) => { setToken(token: string): unknown };
}

export const loadDiscordjsWs = (): DiscordjsWsPeer | undefined => load<DiscordjsWsPeer>('@discordjs/ws');
export const loadDiscordjsRest = (): DiscordjsRestPeer | undefined =>
  load<DiscordjsRestPeer>('@discordjs/rest');
