/**
 * Messages between bench/e2e.ts (parent: simulator, emission, verification) and bench/e2e-client.ts (child:
 * one gateway client, measured alone). Shared types only.
 */

export type ClientKind = 'shardline' | 'discordjs';

/** One client configuration of the end-to-end bench. */
export interface ClientSpec {
  /** Row label, e.g. `shardline etf + zlib-stream`. */
  readonly name: string;
  readonly kind: ClientKind;
  readonly encoding: 'json' | 'etf';
  readonly compression: 'zlib-stream' | 'zstd-stream' | 'none';
  /** @discordjs/ws only: which inflater its zlib-stream uses. */
  readonly inflater?: 'zlib-sync' | 'node:zlib';
  /** Shardline only: shard threads (`threads.count`) and how dispatches reach the user's callback. */
  readonly threads?: number;
  /** `clone`/`json`: delivered to the main thread that way; `handler`: the callback runs in the threads. */
  readonly threadMode?: 'clone' | 'json' | 'handler';
}

/**
 * Handler mode's shared memory (bench/e2e-thread-handler.ts): Int32 counters, then Float64 marks
 * (wall ms, CPU user µs, CPU system µs) taken in the thread that delivered the first and last burst event.
 */
export const E2E_SHARED = {
  counters: 8,
  received: 0,
  guildCreates: 1,
  readies: 2,
  startAt: 3,
  endAt: 4,
  times: 6,
  t0: 0,
  t1: 3,
  channel: 'shardline-e2e-handler',
} as const;

export interface ConnectCommand {
  readonly cmd: 'connect';
  readonly spec: ClientSpec;
  /** Simulator REST base without version, e.g. `http://127.0.0.1:PORT/api`. */
  readonly api: string;
  readonly token: string;
  readonly intents: number;
  readonly shards: number;
  readonly maxConcurrency: number;
  /** The simulator's identify window; each client waits this plus `identifyMarginMs` per bucket. */
  readonly identifyWindowMs: number;
  readonly identifyMarginMs: number;
  /** GUILD_CREATEs expected across all shards before the client counts as started. */
  readonly guilds: number;
  readonly timeoutMs: number;
}

/** Start counting: `warm` dispatches first (reported as `warmed`), then time the next `burst` ones. */
export interface ArmCommand {
  readonly cmd: 'arm';
  readonly warm: number;
  readonly burst: number;
}

export type ParentMessage = ConnectCommand | ArmCommand | { readonly cmd: 'count' | 'rss' | 'exit' };

export interface CpuTime {
  readonly user: number;
  readonly system: number;
}

export type ChildMessage =
  | {
      readonly type: 'connected';
      /** RSS (bytes) after loading the client library, before connecting, after a full GC. */
      readonly baselineRss: number;
      readonly baselineHeapUsed: number;
      readonly baselineExternal: number;
      /** Physical size of V8's young generation (new space) at the baseline. */
      readonly baselineNewSpace: number;
      readonly connectMs: number;
      readonly readies: number;
      readonly guildCreates: number;
    }
  | { readonly type: 'armed' }
  | { readonly type: 'warmed' }
  | {
      readonly type: 'burst';
      /** From the first to the last burst dispatch delivered to the user callback. */
      readonly seconds: number;
      /** process.cpuUsage() over the same interval, µs. */
      readonly cpu: CpuTime;
      readonly received: number;
    }
  | { readonly type: 'count'; readonly received: number; readonly byType: Record<string, number> }
  | {
      readonly type: 'rss';
      readonly rss: number;
      /** process.memoryUsage() at the same moment, for diagnosis (V8 heap vs native). */
      readonly heapUsed: number;
      readonly external: number;
      /** Physical size of V8's young generation (new space), committed whether used or not. */
      readonly newSpace: number;
    }
  | { readonly type: 'fault'; readonly message: string };
