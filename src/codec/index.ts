// Public API of `shardline/codec`: pure codecs, bytes in / values out. Re-exports only.
export type {
  CODEC_ERROR_CODES,
  CodecErrorCode,
  DECOMPRESS_ERROR_CODES,
  DecompressErrorCode,
  ShardlineError,
} from '../errors.js';
export { CodecError, DecompressError } from '../errors.js';
export {
  DEFAULT_ETF_DECODE_OPTIONS,
  DEFAULT_ETF_ENCODE_OPTIONS,
  decodeEtf,
  type EtfDecodeOptions,
  type EtfEncodeOptions,
  encodeEtf,
  MAX_ETF_DECODE_DEPTH,
} from './etf/index.js';
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
  type ZLIB_ENGINES,
  ZLIB_SUFFIX,
  type ZlibEngine,
  ZlibStreamDecoder,
  type ZlibStreamDecoderOptions,
  ZlibStreamEncoder,
  type ZlibStreamEncoderOptions,
} from './zlib-stream.js';
export type { ZstdStreamDecoderOptions, ZstdStreamEncoderOptions } from './zstd-stream.js';
export {
  DEFAULT_ZSTD_DECODER_OPTIONS,
  nativeZstdAvailable,
  ZstdStreamDecoder,
  ZstdStreamEncoder,
} from './zstd-stream.js';
