export {
  DEFAULT_ETF_DECODE_OPTIONS,
  decodeEtf,
  type EtfDecodeOptions,
  MAX_ETF_DECODE_DEPTH,
} from './decode.js';
export { DEFAULT_ETF_ENCODE_OPTIONS, type EtfEncodeOptions, encodeEtf } from './encode.js';
export { ETF_VERSION, Tag, type TagByte, type TagName } from './tags.js';
