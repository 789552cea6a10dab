// Public API of `shardline/codec`: pure codecs, bytes in / values out. Re-exports only.
export { CodecError, DecompressError } from '../errors.js';
export * from './etf/index.js';
export { CODEC_FALLBACKS, type CodecFallback, codecFallbackNotice } from './fallbacks.js';
export {
  DEFAULT_JSON_DECODE_OPTIONS,
  decodeJson,
  encodeJson,
  type JsonDecodeOptions,
} from './json.js';
export {
  DEFAULT_ZLIB_STREAM_DECODER_OPTIONS,
  DEFAULT_ZLIB_STREAM_ENCODER_OPTIONS,
  type ResolvedZlibEngine,
  type ResolvedZlibStreamDecoderOptions,
  type ResolvedZlibStreamEncoderOptions,
  resolveZlibStreamDecoderOptions,
  resolveZlibStreamEncoderOptions,
  ZLIB_ENGINES,
  ZLIB_SUFFIX,
  type ZlibEngine,
  ZlibStreamDecoder,
  type ZlibStreamDecoderOptions,
  ZlibStreamEncoder,
  type ZlibStreamEncoderOptions,
} from './zlib-stream.js';
export type { ZstdStreamDecoderOptions, ZstdStreamEncoderOptions } from './zstd-stream.js';
export {
  createZstdStreamEncoder,
  DEFAULT_ZSTD_DECODER_OPTIONS,
  nativeZstdAvailable,
  resolveZstdDecoderOptions,
  ZstdStreamDecoder,
  ZstdStreamEncoder,
  zstdReady,
} from './zstd-stream.js';
