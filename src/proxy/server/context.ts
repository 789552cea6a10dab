/** What a client connection reaches of the proxy: options, upstream, cache, sessions and member routing. */
import type { ProxyCacheView } from '../cache-view.js';
import type { ResolvedGatewayProxyOptions } from '../options.js';
import type { SharedSessions } from '../shared-sessions.js';
import type { ProxyUpstream } from '../upstream.js';
import type { MemberRequestRouter } from './member-requests.js';
import type { SessionRegistry } from './sessions.js';

export interface ProxyContext {
  readonly options: ResolvedGatewayProxyOptions;
  readonly upstream: ProxyUpstream;
  readonly cache: ProxyCacheView;
  readonly sessions: SessionRegistry;
  readonly members: MemberRequestRouter;
  /** Redis mode: sessions stored in Redis, resumable on any replica. */
  shared: SharedSessions | undefined;
  /** The ws URL clients are given (bootstrap and `resume_gateway_url`). */
  gatewayUrl(): string;
  /** Runs `fn` once upstream shard `shardId` is ready (at once if it is); returns a canceller. */
  whenReady(shardId: number, fn: () => void): () => void;
  debug(message: string): void;
}
