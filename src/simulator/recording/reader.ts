import { createReadStream } from 'node:fs';
import { open } from 'node:fs/promises';
import { createGunzip } from 'node:zlib';
import { RecordingError } from '../../errors.js';
import { parseEntry, parseHeader, type RecordingEntry, type RecordingHeader } from './format.js';

/** Default longest line read (a GUILD_CREATE of a very large guild is tens of MB). */
export const DEFAULT_MAX_LINE_BYTES = 64 * 1024 * 1024;

export interface RecordingReadOptions {
  /** Longest line accepted, in bytes; a longer one is a `RECORDING_LINE_TOO_LONG` error. Default 64 MiB. */
  readonly maxLineBytes?: number;
}

export interface RecordingLine {
  /** 1-based line number in the (decompressed) file. */
  readonly line: number;
  readonly text: string;
}

/** Whether the file starts with the gzip magic bytes. */
async function isGzip(path: string): Promise<boolean> {
  let handle: Awaited<ReturnType<typeof open>>;
  try {
    handle = await open(path, 'r');
  } catch (err) {
    throw new RecordingError('RECORDING_UNREADABLE', `cannot open ${path}: ${(err as Error).message}`, 0, {
      cause: err,
    });
  }
  try {
    const head = Buffer.alloc(2);
    const { bytesRead } = await handle.read(head, 0, 2, 0);
    return bytesRead === 2 && head[0] === 0x1f && head[1] === 0x8b;
  } finally {
    await handle.close();
  }
}

/**
 * The non-empty lines of a recording, streamed: only the current line is held in memory, and a line longer
 * than `maxLineBytes` is refused before it is buffered further. Gzip is detected from the content.
 */
export async function* recordingLines(
  path: string,
  options: RecordingReadOptions = {},
): AsyncGenerator<RecordingLine, void, undefined> {
  const maxLineBytes = options.maxLineBytes ?? DEFAULT_MAX_LINE_BYTES;
  const gzip = await isGzip(path);
  const file = createReadStream(path, { highWaterMark: 256 * 1024 });
  const stream = gzip ? file.pipe(createGunzip({ chunkSize: 256 * 1024 })) : file;
  if (gzip) file.on('error', (err) => stream.destroy(err));
  let line = 1;
  let pieces: Buffer[] = [];
  let size = 0;
  const finish = (end: Buffer): string | undefined => {
    const bytes = pieces.length === 0 ? end : Buffer.concat([...pieces, end]);
    pieces = [];
    size = 0;
    let text = bytes.toString('utf8');
    if (text.endsWith('\r')) text = text.slice(0, -1);
    return text.trim() === '' ? undefined : text;
  };
  try {
    const chunks = stream[Symbol.asyncIterator]();
    while (true) {
      let next: IteratorResult<Buffer>;
      try {
        next = await chunks.next();
      } catch (err) {
        throw new RecordingError(
          'RECORDING_UNREADABLE',
          `cannot read ${gzip ? 'gzip ' : ''}recording: ${(err as Error).message}`,
          line,
          { cause: err },
        );
      }
      if (next.done) break;
      const chunk = next.value;
      let from = 0;
      while (from < chunk.length) {
        const nl = chunk.indexOf(0x0a, from);
        const end = nl === -1 ? chunk.length : nl;
        if (size + (end - from) > maxLineBytes) {
          throw new RecordingError(
            'RECORDING_LINE_TOO_LONG',
            `line longer than ${maxLineBytes} bytes (raise maxLineBytes / --max-line-bytes if it is genuine)`,
            line,
          );
        }
        if (nl === -1) {
          pieces.push(chunk.subarray(from));
          size += chunk.length - from;
          break;
        }
        const text = finish(chunk.subarray(from, nl));
        if (text !== undefined) yield { line, text };
        line++;
        from = nl + 1;
      }
    }
    const last = finish(Buffer.alloc(0));
    if (last !== undefined) yield { line, text: last };
  } finally {
    stream.destroy();
    file.destroy();
  }
}

export interface OpenRecording {
  readonly header: RecordingHeader;
  /** The entries after the header, streamed and checked; iterate once. */
  readonly entries: AsyncGenerator<
    { readonly line: number; readonly entry: RecordingEntry },
    void,
    undefined
  >;
}

/** Opens a recording: reads and checks its header, then streams its entries. Throws `RecordingError`. */
export async function openRecording(
  path: string,
  options: RecordingReadOptions = {},
): Promise<OpenRecording> {
  const lines = recordingLines(path, options);
  const first = await lines.next();
  if (first.done) {
    throw new RecordingError('RECORDING_BAD_HEADER', 'the recording is empty (no header line)', 1);
  }
  let header: RecordingHeader;
  try {
    header = parseHeader(first.value.text, first.value.line);
  } catch (err) {
    await lines.return();
    throw err;
  }
  async function* entries(): AsyncGenerator<{ line: number; entry: RecordingEntry }, void, undefined> {
    try {
      for await (const { line, text } of lines) {
        yield { line, entry: parseEntry(text, line, header.shardCount) };
      }
    } finally {
      await lines.return();
    }
  }
  return { header, entries: entries() };
}
