/**
 * Discord `zstd-stream` transport compression. The server keeps ONE zstd frame open for the whole
 * connection and flushes it after every payload, so each WebSocket message is a run of complete blocks
 * of a frame that never ends; back-references reach into earlier messages (the window spans messages).
 *
 * `ZstdStreamDecoder` decodes with node:zlib's zstd where Node has it (≥ 22.15, driven synchronously, see
 * ./zstd/native.ts), otherwise with our own TypeScript zstd decoder (./zstd/decoder.ts): no native addon,
 * no WebAssembly, synchronous, one context per connection. `ZstdStreamEncoder` (used by the simulator)
 * produces such a stream. docs/zstd-stream.md has the evaluated alternatives and measured figures.
 */
import { CodecError, ConfigError, DecompressError, ShardlineError } from '../errors.js';
import { ZstdDecoderCore } from './zstd/decoder.js';
import { ZstdEncoderCore } from './zstd/encoder.js';
import { NativeZstdDecoder, nativeZstdAvailable } from './zstd/native.js';

export { nativeZstdAvailable };

export interface ZstdStreamDecoderOptions {
  /** Largest decompressed message accepted; a larger one fails with `PAYLOAD_TOO_LARGE`. */
  maxMessageBytes?: number;
  /** Largest window a frame may declare (bounds memory per connection); larger → `ZSTD_UNSUPPORTED`. */
  maxWindowBytes?: number;
  /**
   * Largest compressed input one message may arrive in before it ends on a block boundary
   * (`PAYLOAD_TOO_LARGE` past it). Default: `maxMessageBytes`.
   */
  maxPendingBytes?: number;
  /** Most frames one message may wait in before it ends (`TOO_MANY_FRAGMENTS` past it). Default 4096. */
  maxPendingFrames?: number;
  /**
   * `'auto'` (default): node:zlib's zstd when this Node has it (≥ 22.15) and its synchronous path passed
   * the load-time self-test, else our TypeScript decoder. `'typescript'` forces ours; `'native'` requires
   * node:zlib (ConfigError otherwise).
   */
  implementation?: 'auto' | 'native' | 'typescript';
}

export const DEFAULT_ZSTD_DECODER_OPTIONS = {
  maxMessageBytes: 16 * 1024 * 1024,
  maxWindowBytes: 8 * 1024 * 1024,
  maxPendingFrames: 4096,
  implementation: 'auto',
} as const satisfies Required<Omit<ZstdStreamDecoderOptions, 'maxPendingBytes'>>;

function positiveInteger(option: string, value: number): number {
  if (!Number.isSafeInteger(value) || value < 1)
    throw new ConfigError(option, `must be a positive integer, got ${String(value)}`);
  return value;
}

export function resolveZstdDecoderOptions(
  options: ZstdStreamDecoderOptions = {},
): Readonly<Required<ZstdStreamDecoderOptions>> {
  const maxMessageBytes = positiveInteger(
    'maxMessageBytes',
    options.maxMessageBytes ?? DEFAULT_ZSTD_DECODER_OPTIONS.maxMessageBytes,
  );
  return Object.freeze({
    maxMessageBytes,
    maxPendingBytes: positiveInteger('maxPendingBytes', options.maxPendingBytes ?? maxMessageBytes),
    maxPendingFrames: positiveInteger(
      'maxPendingFrames',
      options.maxPendingFrames ?? DEFAULT_ZSTD_DECODER_OPTIONS.maxPendingFrames,
    ),
    maxWindowBytes: positiveInteger(
      'maxWindowBytes',
      options.maxWindowBytes ?? DEFAULT_ZSTD_DECODER_OPTIONS.maxWindowBytes,
    ),
    implementation: resolveImplementation(options.implementation),
  });
}

function resolveImplementation(
  value: ZstdStreamDecoderOptions['implementation'],
): 'auto' | 'native' | 'typescript' {
  const v = value ?? DEFAULT_ZSTD_DECODER_OPTIONS.implementation;
  if (v !== 'auto' && v !== 'native' && v !== 'typescript')
    throw new ConfigError('implementation', `must be 'auto', 'native' or 'typescript', got ${String(v)}`);
  if (v === 'native' && !nativeZstdAvailable)
    throw new ConfigError(
      'implementation',
      `'native' needs zstd in node:zlib (Node >= 22.15); this is Node ${process.versions.node}`,
    );
  return v;
}

type DecoderStatus = 'open' | 'failed' | 'closed';

/**
 * One zstd decompression context for one connection. `push()` takes each WebSocket message and returns
 * the decompressed payload, or `null` when the message ended inside a header or block (more input
 * needed; Discord never does this, but a split is handled). After any error the context is unusable
 * until `reset()`; `reset()` for each new connection; `close()` releases the window.
 */
export class ZstdStreamDecoder {
  readonly options: Readonly<Required<ZstdStreamDecoderOptions>>;
  /** Which decoder this context runs: node:zlib's zstd or our TypeScript one. */
  readonly implementation: 'native' | 'typescript';
  #core: ZstdDecoderCore | NativeZstdDecoder;
  #status: DecoderStatus = 'open';
  /** Frames and compressed bytes taken since the last message came out. */
  #pendingFrames = 0;
  #pendingBytes = 0;

  constructor(options: ZstdStreamDecoderOptions = {}) {
    this.options = resolveZstdDecoderOptions(options);
    this.implementation =
      this.options.implementation === 'typescript' || !nativeZstdAvailable ? 'typescript' : 'native';
    this.#core = this.#create();
  }

  #create(): ZstdDecoderCore | NativeZstdDecoder {
    return this.implementation === 'native'
      ? new NativeZstdDecoder(this.options)
      : new ZstdDecoderCore(this.options);
  }

  /** Bytes this context keeps between messages (window buffer, tables, buffered input). */
  get retainedBytes(): number {
    return this.#core.retainedBytes;
  }

  push(frame: Uint8Array): Uint8Array | null {
    if (this.#status !== 'open')
      throw new DecompressError(
        'DECOMPRESSOR_FAILED',
        this.#status === 'closed'
          ? 'zstd: decoder is closed'
          : 'zstd: decoder failed earlier; reset() it for a new connection',
      );
    try {
      const message = this.#core.push(frame);
      if (message !== null) {
        this.#pendingFrames = 0;
        this.#pendingBytes = 0;
        return message;
      }
      // The core's own buffers are bounded (one block of input, maxMessageBytes of output); these bound
      // the time and input an endless message may take.
      const { maxPendingFrames, maxPendingBytes } = this.options;
      this.#pendingBytes += frame.byteLength;
      if (this.#pendingBytes > maxPendingBytes)
        throw new DecompressError(
          'PAYLOAD_TOO_LARGE',
          `zstd: message still unfinished after maxPendingBytes (${maxPendingBytes}) compressed bytes`,
        );
      if (++this.#pendingFrames > maxPendingFrames)
        throw new DecompressError(
          'TOO_MANY_FRAGMENTS',
          `zstd: message still unfinished after maxPendingFrames (${maxPendingFrames}) frames`,
        );
      return null;
    } catch (err) {
      this.#status = 'failed';
      if (err instanceof ShardlineError) throw err;
      // Anything else is a bug in the decoder met by hostile input: still a typed error.
      throw new DecompressError('DECOMPRESSOR_FAILED', 'zstd: decoder failed unexpectedly', {
        cause: err,
      });
    }
  }

  reset(): void {
    this.#pendingFrames = 0;
    this.#pendingBytes = 0;
    if (this.#core instanceof ZstdDecoderCore) this.#core.reset();
    else {
      this.#core.close();
      this.#core = this.#create();
    }
    this.#status = 'open';
  }

  close(): void {
    if (this.#core instanceof ZstdDecoderCore) this.#core.release();
    else this.#core.close();
    this.#status = 'closed';
  }
}

export interface ZstdStreamEncoderOptions {
  /** log2 of the window the frame declares and the matcher uses (10..23). Discord uses 18 (256 KiB). */
  windowLog?: number;
}

/**
 * Produces a `zstd-stream`: the first `encode()` starts a frame (no content size, no checksum) and every
 * call returns complete blocks ending at the message boundary, never the last block, so the frame stays
 * open and later messages may refer back into earlier ones. Synchronous; no async init is needed.
 */
export class ZstdStreamEncoder {
  readonly #windowLog: number;
  #core: ZstdEncoderCore;
  #closed = false;

  constructor(options: ZstdStreamEncoderOptions = {}) {
    const windowLog = options.windowLog ?? 18;
    if (!Number.isInteger(windowLog) || windowLog < 10 || windowLog > 23)
      throw new ConfigError('windowLog', `must be an integer in 10..23, got ${String(windowLog)}`);
    this.#windowLog = windowLog;
    this.#core = new ZstdEncoderCore(windowLog);
  }

  encode(message: Uint8Array): Uint8Array {
    if (this.#closed) throw new CodecError('CODEC_CLOSED', 'zstd: encoder is closed');
    return this.#core.encode(message);
  }

  /** Starts a new frame on the next `encode()` (a new connection). */
  reset(): void {
    this.#core = new ZstdEncoderCore(this.#windowLog);
    this.#closed = false;
  }

  close(): void {
    this.#closed = true;
  }
}
