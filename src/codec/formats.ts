/**
 * The client's gateway formats, defined once: the `encoding` and `compress` query values a client may
 * ask for. Everything on the client side (transport, shard, manager, redis, proxy, cli) imports these.
 */

/** A payload encoding. */
export type Encoding = 'json' | 'etf';

/** A transport compression. */
export type Compression = 'zlib-stream' | 'zstd-stream' | 'none';

/** Every encoding, in the order option errors list them. */
export const ENCODINGS = ['json', 'etf'] as const satisfies readonly Encoding[];

/** Every compression, in the order option errors list them. */
export const COMPRESSIONS = ['zlib-stream', 'zstd-stream', 'none'] as const satisfies readonly Compression[];
