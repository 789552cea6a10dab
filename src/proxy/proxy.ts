/**
 * `GatewayProxy`: holds the real shards (a `ShardManager` in this process) and serves any unmodified bot
 * the plain Discord gateway protocol, with READY and GUILD_CREATE rebuilt from the cache, per-client
 * sequence numbers and a replay buffer per client session, so a bot restarts and RESUMEs against the proxy
 * while the upstream shards never notice.
 */
import { EventEmitter } from 'node:events';
import { ShardManager } from '../manager/manager.js';
import { redact } from '../util/redact.js';
import { GatewayCache } from './cache/index.js';
import { ManagerUpstream } from './manager-upstream.js';
import {
  type GatewayProxyOptions,
  type ResolvedGatewayProxyOptions,
  resolveGatewayProxyOptions,
} from './options.js';
import { DEFAULT_REDIS_UPSTREAM_OPTIONS, RedisUpstream, type RedisUpstreamStats } from './redis-upstream.js';
import { ProxyServer } from './server/server.js';
import { SharedSessions } from './shared-sessions.js';
import type { ProxyUpstream } from './upstream.js';

export interface GatewayProxyEventMap {
  /** Upstream shard `shardId` is ready; clients identifying on it get their READY now. */
  ready: [shardId: number];
  debug: [message: string];
}

export interface GatewayProxyStatus {
  readonly shardCount: number;
  readonly connections: number;
  readonly sessions: number;
}

export class GatewayProxy extends EventEmitter<GatewayProxyEventMap> {
  readonly options: ResolvedGatewayProxyOptions;
  readonly cache: GatewayCache;
  /** The upstream `ShardManager` (for status views and metrics); undefined with the `redis` upstream. */
  readonly manager: ShardManager | undefined;
  readonly #upstream: ProxyUpstream;
  readonly #server: ProxyServer;
  readonly #shared: SharedSessions | undefined;

  constructor(options: GatewayProxyOptions) {
    super();
    this.options = resolveGatewayProxyOptions(options);
    const o = this.options;
    this.cache = new GatewayCache(o.cache);
    const debug = (m: string) => this.#debug(m);
    if (o.redis !== undefined) {
      this.manager = undefined;
      this.#upstream = new RedisUpstream(o.redis, this.cache, o.intents, debug);
    } else {
      const manager = new ShardManager({
        ...o.upstream,
        // resolveGatewayProxyOptions requires a token unless `redis` is given
        token: o.token?.reveal() ?? '',
        intents: o.intents,
        shardCount: o.shardCount,
        ...(o.api !== undefined ? { api: o.api } : {}),
        ...(o.encoding !== undefined ? { encoding: o.encoding } : {}),
        ...(o.compression !== undefined ? { compression: o.compression } : {}),
      });
      manager.on('error', (err, shardId) =>
        this.#debug(`upstream shard ${shardId ?? '-'}: ${err.message} [${err.code}]`),
      );
      this.manager = manager;
      this.#upstream = new ManagerUpstream(manager, o.intents);
    }
    this.#server = new ProxyServer(o, this.#upstream, this.cache, (m) => this.#debug(m));
    if (o.redis !== undefined && this.#upstream instanceof RedisUpstream) {
      const d = DEFAULT_REDIS_UPSTREAM_OPTIONS;
      this.#shared = new SharedSessions(
        {
          redis: o.redis.redis,
          prefix: o.redis.prefix,
          syncMs: o.redis.sessionSyncMs ?? d.sessionSyncMs,
          maxRecordBytes: o.redis.maxSessionRecordBytes ?? d.maxSessionRecordBytes,
          maxResumeScan: o.redis.maxResumeScan ?? d.maxResumeScan,
          resumeWaitMs: o.redis.resumeWaitMs ?? d.resumeWaitMs,
        },
        {
          upstream: this.#upstream,
          sessions: this.#server.sessions,
          members: this.#server.members,
          cache: this.cache,
          clock: o.clock,
          replay: { maxEvents: o.replayEvents, maxAgeMs: o.replayMs },
          debug,
        },
      );
      this.#server.shared = this.#shared;
    }
    this.#upstream.listen({
      dispatch: (payload, shardId, position) => {
        this.cache.apply(payload, shardId);
        this.#server.dispatch(payload, shardId, position);
      },
      ready: (shardId) => {
        this.#server.sessions.endOtherCounts(this.#upstream.shardCount);
        this.#server.shardReady(shardId);
        this.emit('ready', shardId);
      },
    });
  }

  /** `ws://HOST:PORT`: what a bot connects to (also its `resume_gateway_url`). */
  get gatewayUrl(): string {
    return this.#server.gatewayUrl;
  }

  /** `http://HOST:PORT/api`: the REST base to give a bot (it serves only the gateway routes). */
  get restUrl(): string {
    return `${this.#server.httpUrl}/api`;
  }

  get httpUrl(): string {
    return this.#server.httpUrl;
  }

  /** Starts listening for clients (they may connect before the upstream is ready; READY waits for it). */
  listen(): Promise<void> {
    return this.#server.listen();
  }

  /**
   * Connects the upstream shards; resolves once every shard is READY with its guilds. With `redis`:
   * resolves once the cache is rebuilt (snapshot and the stream after it) and the live read has begun.
   */
  async connect(): Promise<void> {
    await this.#shared?.start();
    await this.#upstream.start();
  }

  async start(): Promise<void> {
    await this.listen();
    await this.connect();
  }

  /** How the `redis` upstream rebuilt its cache and what it read since; undefined for the in-process upstream. */
  redisStats(): RedisUpstreamStats | undefined {
    return this.#upstream instanceof RedisUpstream ? this.#upstream.stats() : undefined;
  }

  status(): GatewayProxyStatus {
    return {
      shardCount: this.#upstream.shardCount,
      connections: this.#server.connections,
      sessions: this.#server.sessions.size,
    };
  }

  /** Closes every client connection and the upstream shards. */
  async destroy(): Promise<void> {
    // the sessions' last anchors are stored first: other replicas resume them from there
    await this.#shared?.close();
    await this.#server.close();
    await this.#upstream.stop();
  }

  #debug(message: string): void {
    this.emit('debug', redact(message, this.options.token));
  }
}
