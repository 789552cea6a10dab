// Public API of `shardline/proxy`: the gateway proxy and its cache. Re-exports only.
export type { GatewayCacheOptions, GatewayCacheStats } from './cache/index.js';
export { GatewayCache } from './cache/index.js';
export type { GatewayProxyOptions, ResolvedGatewayProxyOptions } from './options.js';
export { DEFAULT_GATEWAY_PROXY_OPTIONS, resolveGatewayProxyOptions } from './options.js';
export type { GatewayProxyEventMap, GatewayProxyStatus } from './proxy.js';
export { GatewayProxy } from './proxy.js';
export type { RedisUpstreamOptions, RedisUpstreamStats } from './redis-upstream.js';
export { DEFAULT_REDIS_UPSTREAM_OPTIONS } from './redis-upstream.js';
export type { ProxyUpstream, ProxyUpstreamEvents } from './upstream.js';
