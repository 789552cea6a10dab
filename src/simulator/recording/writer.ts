import { createWriteStream, type WriteStream } from 'node:fs';
import type { Writable } from 'node:stream';
import { createGzip, type Gzip } from 'node:zlib';
import { RecordingError } from '../../errors.js';

export interface RecordingWriterOptions {
  readonly path: string;
  /** Gzip the file. Default: when `path` ends with `.gz`. */
  readonly gzip?: boolean;
}

/**
 * Appends lines to a recording file as a stream (gzip when asked): nothing but the stream's own buffers is
 * held, and `bufferedBytes` tells the caller when to slow its producers down. `close()` ends the stream and
 * resolves once everything, the gzip trailer included, is on disk.
 */
export class RecordingWriter {
  readonly path: string;
  readonly gzip: boolean;
  readonly #file: WriteStream;
  readonly #gzip: Gzip | undefined;
  readonly #head: Writable;
  readonly #done: Promise<void>;
  #failure: Error | undefined;
  #closed = false;
  /** Uncompressed bytes written so far. */
  bytes = 0;
  lines = 0;

  private constructor(options: RecordingWriterOptions, file: WriteStream) {
    this.path = options.path;
    this.gzip = options.gzip ?? options.path.endsWith('.gz');
    this.#file = file;
    this.#gzip = this.gzip ? createGzip() : undefined;
    this.#head = this.#gzip ?? file;
    if (this.#gzip) {
      this.#gzip.pipe(file);
      this.#gzip.on('error', (err) => this.#fail(err));
    }
    this.#done = new Promise((resolve) => {
      file.once('close', () => resolve());
    });
    file.on('error', (err) => this.#fail(err));
  }

  /** Opens (creates or truncates) the file. Throws `RecordingError` when it cannot be written. */
  static async open(options: RecordingWriterOptions): Promise<RecordingWriter> {
    const file = createWriteStream(options.path);
    await new Promise<void>((resolve, reject) => {
      file.once('open', () => resolve());
      file.once('error', (err) =>
        reject(
          new RecordingError('RECORDING_UNWRITABLE', `cannot write ${options.path}: ${err.message}`, 0, {
            cause: err,
          }),
        ),
      );
    });
    return new RecordingWriter(options, file);
  }

  #fail(err: Error): void {
    this.#failure ??= err;
    this.#file.destroy();
  }

  /** The first write error, if any (the file is then closed and later lines are dropped). */
  get failure(): Error | undefined {
    return this.#failure;
  }

  /** Bytes accepted but not yet handed to the operating system. */
  get bufferedBytes(): number {
    return this.#head.writableLength + (this.#gzip ? this.#file.writableLength : 0);
  }

  /** Appends one line (a newline is added). */
  writeLine(text: string): void {
    if (this.#closed || this.#failure) return;
    const line = `${text}\n`;
    this.bytes += Buffer.byteLength(line);
    this.lines++;
    this.#head.write(line);
  }

  /** Resolves once fewer than `bytes` are buffered (or the file failed), checking every few ms. */
  async drainedBelow(bytes: number): Promise<void> {
    while (this.bufferedBytes >= bytes && !this.#failure && !this.#file.destroyed) {
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
  }

  /** Ends the file (writing the gzip trailer) and resolves once it is closed; rejects on a write error. */
  async close(): Promise<void> {
    if (!this.#closed) {
      this.#closed = true;
      if (!this.#failure) this.#head.end();
    }
    await this.#done;
    if (this.#failure) {
      throw new RecordingError(
        'RECORDING_UNWRITABLE',
        `writing ${this.path} failed: ${this.#failure.message}`,
        0,
        {
          cause: this.#failure,
        },
      );
    }
  }
}
