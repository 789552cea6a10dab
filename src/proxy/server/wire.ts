/**
 * One client connection's wire format: `encoding` (json text or ETF with atom keys, as Discord sends) and
 * transport compression (`zlib-stream`, `zstd-stream` or none), using the project's codecs.
 */
import { decodeEtf, encodeEtf } from '../../codec/etf/index.js';
import type { Compression, Encoding } from '../../codec/formats.js';
import { decodeJson, encodeJson } from '../../codec/json.js';
import { ZlibStreamEncoder } from '../../codec/zlib-stream.js';
import { ZstdStreamEncoder } from '../../codec/zstd-stream.js';
import type { OutboundEvent } from './outbound-event.js';

const utf8 = new TextEncoder();
/** A client payload is at most a few KiB: a few thousand structures is plenty. */
const MAX_CLIENT_STRUCTURES = 4096;
const ETF_DECODE = { maxDepth: 32 } as const;
const ETF_ENCODE = { atomKeys: true } as const;

export class Wire {
  readonly encoding: Encoding;
  readonly compression: Compression;
  readonly #zlib: ZlibStreamEncoder | undefined;
  readonly #zstd: ZstdStreamEncoder | undefined;

  constructor(encoding: Encoding, compression: Compression) {
    this.encoding = encoding;
    this.compression = compression;
    if (compression === 'zlib-stream') this.#zlib = new ZlibStreamEncoder();
    else if (compression === 'zstd-stream') this.#zstd = new ZstdStreamEncoder();
  }

  /** A non-dispatch payload (`s` and `t` null). */
  payload(op: number, d: unknown): string | Uint8Array {
    if (this.encoding === 'json') return this.#text(encodeJson({ op, d, s: null, t: null }));
    return this.#bytes(encodeEtf({ op, d, s: null, t: null }, ETF_ENCODE));
  }

  /** A dispatch with this session's sequence number; the JSON of `d` is shared by every session. */
  dispatch(event: OutboundEvent, s: number): string | Uint8Array {
    if (this.encoding === 'json')
      return this.#text(`{"op":0,"t":${JSON.stringify(event.t)},"s":${s},"d":${event.json()}}`);
    return this.#bytes(encodeEtf({ op: 0, t: event.t, s, d: event.d }, ETF_ENCODE));
  }

  /** Decodes one client frame; throws a CodecError when it is not one payload of this encoding. */
  decode(data: Buffer, isBinary: boolean): unknown {
    if (this.encoding === 'json') return decodeJson(data, { maxStructures: MAX_CLIENT_STRUCTURES });
    if (!isBinary) throw new TypeError('text frame on an etf connection');
    return decodeEtf(data, ETF_DECODE);
  }

  #text(text: string): string | Uint8Array {
    if (this.#zlib) return this.#zlib.encode(utf8.encode(text));
    if (this.#zstd) return this.#zstd.encode(utf8.encode(text));
    return text;
  }

  #bytes(bytes: Uint8Array): Uint8Array {
    if (this.#zlib) return this.#zlib.encode(bytes);
    if (this.#zstd) return this.#zstd.encode(bytes);
    // encodeEtf returns a view into a shared slab: copy before it is reused.
    return Uint8Array.prototype.slice.call(bytes);
  }

  close(): void {
    this.#zlib?.close();
    this.#zstd?.close();
  }
}
