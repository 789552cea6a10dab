// Public API of the gateway proxy's cache. Re-exports only.
export { GatewayCache } from './cache.js';
export type { GatewayCacheKind, GatewayCacheOptions, ResolvedGatewayCacheOptions } from './options.js';
export { DEFAULT_GATEWAY_CACHE_OPTIONS, GATEWAY_CACHE_KINDS, resolveGatewayCacheOptions } from './options.js';
export type { MemberQuery } from './query-members.js';
export { MEMBER_QUERY_MAX } from './query-members.js';
export type { GatewayCacheSnapshot, GatewayCacheSnapshotShard } from './snapshot.js';
export { GATEWAY_CACHE_SNAPSHOT_VERSION } from './snapshot.js';
export type { GatewayCacheStats } from './stats.js';
