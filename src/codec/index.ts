// Public API of `shardline/codec`: pure codecs, bytes in / values out. Re-exports only.
export { CodecError, DecompressError } from '../errors.js';
export * from './etf/index.js';
export { decodeJson, encodeJson } from './json.js';
