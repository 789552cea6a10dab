/**
 * The receive side of a WebSocket (RFC 6455 §5): socket bytes in, whole messages and control frames out.
 * Built for the gateway's traffic (many small binary or text messages per socket read): a frame that lies
 * whole inside one socket read is handed out as a view of that read, with nothing copied or allocated; only
 * a frame split across reads is gathered in one buffer (kept for the connection while it is small, see
 * KEEP_HELD_BYTES), and only a fragmented message is assembled in a second one. A message handed out is valid only during the call.
 *
 * Checks and their close codes follow ws' Receiver (the peer this replaces), in the same order, so both
 * refuse the same bytes alike: reserved bits and opcodes 1002, a control frame fragmented or over 125 bytes
 * 1002, masking that does not match the side 1002, a message (all its fragments) over `maxMessageBytes` or
 * a length past 2^53 - 1 1009, invalid UTF-8 in a text message or a close reason 1007, an invalid close code
 * 1002. After an error or a close frame the reader reads nothing more.
 */
import { Buffer, isUtf8 } from 'node:buffer';
import { ProtocolViolationError } from '../errors.js';

/** The reasons a frame is refused, named as ws names them (`err.code` of ws' Receiver). */
export const FRAME_ERROR_REASONS = [
  'WS_ERR_UNEXPECTED_RSV_2_3',
  'WS_ERR_UNEXPECTED_RSV_1',
  'WS_ERR_INVALID_OPCODE',
  'WS_ERR_EXPECTED_FIN',
  'WS_ERR_INVALID_CONTROL_PAYLOAD_LENGTH',
  'WS_ERR_EXPECTED_MASK',
  'WS_ERR_UNEXPECTED_MASK',
  'WS_ERR_UNSUPPORTED_DATA_PAYLOAD_LENGTH',
  'WS_ERR_UNSUPPORTED_MESSAGE_LENGTH',
  'WS_ERR_INVALID_UTF8',
  'WS_ERR_INVALID_CLOSE_CODE',
] as const;
export type FrameErrorReason = (typeof FRAME_ERROR_REASONS)[number];

/** A WebSocket frame the reader refuses; `closeCode` is what the connection is closed with. */
export class FrameError extends ProtocolViolationError {
  readonly reason: FrameErrorReason;
  readonly closeCode: 1002 | 1007 | 1009;
  constructor(reason: FrameErrorReason, closeCode: 1002 | 1007 | 1009, message: string) {
    super('websocket-frame', `invalid WebSocket frame: ${message}`);
    this.reason = reason;
    this.closeCode = closeCode;
  }
}

export interface FrameReaderOptions {
  /** Largest message (the sum of its fragments) accepted, in bytes; 1009 past it. */
  readonly maxMessageBytes: number;
  /** The server side: frames must be masked. Default false (a client: frames must not be). */
  readonly server?: boolean;
  /** Check that text messages and close reasons are UTF-8 (1007 otherwise). Default true. */
  readonly validateUtf8?: boolean;
  /**
   * When paused, report a close frame already received at once, dropping the data messages before it (they
   * die with the connection). Default true; false keeps strict order (a close waits for `resume()`).
   */
  readonly closeWhilePaused?: boolean;
}

export interface FrameReaderHandlers {
  /** One whole data message; `data` is valid only during the call (its memory is reused). */
  message(data: Uint8Array, isBinary: boolean): void;
  /**
   * One control frame, checked: opcode 8 (close; nothing is read after it), 9 (ping) or 10 (pong).
   * `frame` is the whole frame as received (header and unmasked payload), valid only during the call.
   */
  control(opcode: number, payload: Buffer, frame: Buffer): void;
  /** The frame refused; nothing is read after it. */
  error(err: FrameError): void;
}

const OPEN = 0;
const CLOSED = 1;
const FAILED = 2;

/** The buffer of a reader holding nothing: one for every reader (most never gather a frame). */
const EMPTY = Buffer.alloc(0);
/**
 * A gathering buffer up to this size is kept for the connection's next split frame; a larger one is let go
 * once its frame is handed out, so an idle connection does not keep the size of its largest frame.
 */
const KEEP_HELD_BYTES = 1024;

/** 2^53 - 1 as the high 32 bits of a 64-bit length allow it (ws' limit). */
const MAX_HIGH_WORD = 2 ** 21 - 1;

export function isValidCloseCode(code: number): boolean {
  return (
    (code >= 1000 && code <= 1014 && code !== 1004 && code !== 1005 && code !== 1006) ||
    (code >= 3000 && code <= 4999)
  );
}

export class WsFrameReader {
  readonly #handlers: FrameReaderHandlers;
  readonly #max: number;
  readonly #server: boolean;
  readonly #utf8: boolean;
  readonly #closeWhilePaused: boolean;
  #state = OPEN;
  #paused = false;
  /** A frame split across reads: its first `#heldLen` bytes; `#need` is what the next step needs in total. */
  #held: Buffer = EMPTY;
  #heldLen = 0;
  #need = 0;
  /** A fragmented message: opcode of its first frame (0: none), payload so far in `#msg[0, #msgLen)`. */
  #msgOpcode = 0;
  #msg: Buffer = EMPTY;
  #msgLen = 0;
  /** Reads not yet parsed because reading was paused: `#rest` from `#restOff`, then `#queue`. */
  #rest: Buffer | null = null;
  #restOff = 0;
  #queue: Buffer[] = [];

  constructor(options: FrameReaderOptions, handlers: FrameReaderHandlers) {
    this.#handlers = handlers;
    this.#max = options.maxMessageBytes;
    this.#server = options.server ?? false;
    this.#utf8 = options.validateUtf8 ?? true;
    this.#closeWhilePaused = options.closeWhilePaused ?? true;
  }

  /** Whether frames may still come (no close frame, no error, not stopped). */
  get isOpen(): boolean {
    return this.#state === OPEN;
  }

  get isPaused(): boolean {
    return this.#paused;
  }

  /** Bytes received but not yet parsed (paused, or a frame still incomplete). */
  get bufferedBytes(): number {
    let n = this.#heldLen + (this.#rest === null ? 0 : this.#rest.length - this.#restOff);
    for (const b of this.#queue) n += b.length;
    return n;
  }

  /** Parses one socket read; the reader keeps a reference to `chunk` only while paused. */
  push(chunk: Buffer): void {
    if (this.#state !== OPEN || chunk.length === 0) return;
    if (this.#paused || this.#rest !== null) {
      this.#queue.push(chunk);
      return;
    }
    this.#run(chunk, 0);
  }

  /** Stops handing out frames (after the current one) until `resume()`. */
  pause(): void {
    this.#paused = true;
  }

  /** Hands out what was held back since `pause()`, in order (until paused again). */
  resume(): void {
    if (!this.#paused) return;
    this.#paused = false;
    while (!this.#paused && this.#state === OPEN) {
      const rest = this.#rest;
      if (rest !== null) {
        this.#rest = null;
        this.#run(rest, this.#restOff);
        continue;
      }
      const next = this.#queue.shift();
      if (next === undefined) return;
      this.#run(next, 0);
    }
  }

  /** Reads nothing more and lets go of every buffer. */
  stop(): void {
    if (this.#state === OPEN) this.#state = CLOSED;
    this.#release();
  }

  /**
   * While paused: finds a close frame among the frames already received and not handed out, and reports it
   * (data frames before it are dropped with the connection). Used when the socket ends while paused, so the
   * peer's close code is not lost behind unread data.
   */
  takeClose(): void {
    if (this.#state !== OPEN) return;
    const parts: Buffer[] = [];
    if (this.#rest !== null) parts.push(this.#rest.subarray(this.#restOff));
    parts.push(...this.#queue);
    if (parts.length === 0) return;
    const bytes = parts.length === 1 ? parts[0]! : Buffer.concat(parts);
    // Parse from a clean frame boundary: the held partial frame (if any) comes first.
    this.#rest = null;
    this.#queue = [];
    this.#paused = false;
    this.#dropData = true;
    this.#run(bytes, 0);
    this.#dropData = false;
    this.#paused = true;
  }

  #dropData = false;

  /**
   * Whether the bytes held back by a pause hold a whole close frame, at a frame boundary, behind frames that
   * pass the header checks (a frame that would be refused stops the search: its error comes first).
   */
  #closeAhead(): boolean {
    const buf = this.#rest;
    if (buf === null) return false;
    let off = this.#restOff;
    while (off + 2 <= buf.length) {
      const b0 = buf[off]!;
      const b1 = buf[off + 1]!;
      const opcode = b0 & 0x0f;
      let len = b1 & 0x7f;
      if ((b0 & 0x70) !== 0 || (opcode > 2 && opcode < 8) || opcode > 10) return false;
      if (opcode >= 8 && ((b0 & 0x80) === 0 || len > 125 || (opcode === 8 && len === 1))) return false;
      if (((b1 & 0x80) !== 0) !== this.#server) return false;
      let head = 2;
      if (len === 126) {
        if (off + 4 > buf.length) return false;
        len = buf.readUInt16BE(off + 2);
        head = 4;
      } else if (len === 127) {
        if (off + 10 > buf.length) return false;
        const high = buf.readUInt32BE(off + 2);
        if (high > MAX_HIGH_WORD) return false;
        len = high * 2 ** 32 + buf.readUInt32BE(off + 6);
        head = 10;
      }
      if ((b1 & 0x80) !== 0) head += 4;
      if (opcode === 8) return off + head + len <= buf.length;
      off += head + len;
    }
    return false;
  }

  #release(): void {
    this.#held = EMPTY;
    this.#heldLen = 0;
    this.#msg = EMPTY;
    this.#msgLen = 0;
    this.#rest = null;
    this.#queue = [];
  }

  #run(chunk: Buffer, off: number): void {
    const end = chunk.length;
    if (this.#heldLen > 0) {
      off = this.#fill(chunk, off);
      if (off < 0) return;
    }
    while (off < end) {
      if (this.#state !== OPEN) return;
      if (this.#paused) {
        this.#rest = chunk;
        this.#restOff = off;
        // A close frame already received is not kept waiting behind a pause (ws' receiver did not either).
        if (this.#closeWhilePaused && this.#closeAhead()) this.takeClose();
        return;
      }
      const used = this.#frame(chunk, off, end - off);
      if (used < 0) return;
      if (used === 0) {
        this.#hold(chunk, off, end);
        return;
      }
      off += used;
    }
  }

  /** Keeps `chunk[off, end)`, the start of a frame, in the held buffer. */
  #hold(chunk: Buffer, off: number, end: number): void {
    const n = end - off;
    // allocUnsafeSlow: a buffer of its own, not a slice that keeps an 8 KiB pool slab alive with it.
    if (this.#held.length < Math.max(n, this.#need))
      this.#held = Buffer.allocUnsafeSlow(Math.max(this.#need, n, 256));
    chunk.copy(this.#held, 0, off, end);
    this.#heldLen = n;
  }

  /**
   * Completes the held frame from `chunk` and handles it. Returns the offset in `chunk` after the bytes it
   * took, or -1 when `chunk` is used up (or the reader stopped).
   */
  #fill(chunk: Buffer, off: number): number {
    for (;;) {
      const need = this.#need;
      const take = Math.min(need - this.#heldLen, chunk.length - off);
      if (this.#held.length < need) {
        const grown = Buffer.allocUnsafeSlow(Math.max(need, 2 * this.#held.length));
        this.#held.copy(grown, 0, 0, this.#heldLen);
        this.#held = grown;
      }
      chunk.copy(this.#held, this.#heldLen, off, off + take);
      this.#heldLen += take;
      off += take;
      if (this.#heldLen < need) return -1;
      const used = this.#frame(this.#held, 0, this.#heldLen);
      if (used < 0) {
        this.#heldLen = 0;
        return -1;
      }
      if (used > 0) {
        this.#heldLen = 0;
        if (this.#held.length > KEEP_HELD_BYTES) this.#held = EMPTY;
        return this.#state === OPEN ? off : -1;
      }
    }
  }

  /**
   * Handles the frame at `buf[off]` if all `avail` bytes of it are there. Returns the bytes it took, 0 when
   * the frame is incomplete (`#need` then says how many bytes the next attempt needs), or -1 after an error
   * or a close frame.
   */
  #frame(buf: Buffer, off: number, avail: number): number {
    if (avail < 2) {
      this.#need = 2;
      return 0;
    }
    const b0 = buf[off]!;
    const b1 = buf[off + 1]!;
    if ((b0 & 0x30) !== 0)
      return this.#fail('WS_ERR_UNEXPECTED_RSV_2_3', 1002, 'RSV2 and RSV3 must be clear');
    if ((b0 & 0x40) !== 0) return this.#fail('WS_ERR_UNEXPECTED_RSV_1', 1002, 'RSV1 must be clear');
    const fin = (b0 & 0x80) !== 0;
    let opcode = b0 & 0x0f;
    let len = b1 & 0x7f;
    if (opcode === 0) {
      if (this.#msgOpcode === 0) return this.#fail('WS_ERR_INVALID_OPCODE', 1002, 'invalid opcode 0');
      opcode = this.#msgOpcode;
    } else if (opcode === 1 || opcode === 2) {
      if (this.#msgOpcode !== 0) return this.#fail('WS_ERR_INVALID_OPCODE', 1002, `invalid opcode ${opcode}`);
    } else if (opcode >= 8 && opcode <= 10) {
      if (!fin) return this.#fail('WS_ERR_EXPECTED_FIN', 1002, 'FIN must be set');
      if (len > 125 || (opcode === 8 && len === 1)) {
        return this.#fail('WS_ERR_INVALID_CONTROL_PAYLOAD_LENGTH', 1002, `invalid payload length ${len}`);
      }
    } else return this.#fail('WS_ERR_INVALID_OPCODE', 1002, `invalid opcode ${opcode}`);
    const masked = (b1 & 0x80) !== 0;
    if (this.#server && !masked) return this.#fail('WS_ERR_EXPECTED_MASK', 1002, 'MASK must be set');
    if (!this.#server && masked) return this.#fail('WS_ERR_UNEXPECTED_MASK', 1002, 'MASK must be clear');
    let head = 2;
    if (len === 126) {
      if (avail < 4) {
        this.#need = 4;
        return 0;
      }
      len = (buf[off + 2]! << 8) | buf[off + 3]!;
      head = 4;
    } else if (len === 127) {
      if (avail < 10) {
        this.#need = 10;
        return 0;
      }
      const high = buf.readUInt32BE(off + 2);
      if (high > MAX_HIGH_WORD) {
        return this.#fail('WS_ERR_UNSUPPORTED_DATA_PAYLOAD_LENGTH', 1009, 'payload length > 2^53 - 1');
      }
      len = high * 2 ** 32 + buf.readUInt32BE(off + 6);
      head = 10;
    }
    if (len > 0 && opcode < 8 && this.#msgLen + len > this.#max) {
      return this.#fail('WS_ERR_UNSUPPORTED_MESSAGE_LENGTH', 1009, 'max payload size exceeded');
    }
    const maskAt = off + head;
    if (masked) head += 4;
    const total = head + len;
    if (avail < total) {
      this.#need = total;
      return 0;
    }
    const start = off + head;
    const stop = start + len;
    if (masked) unmask(buf, start, stop, maskAt);
    if (opcode >= 8) {
      if (!this.#control(opcode, buf, off, start, stop)) return -1;
      return total;
    }
    if (this.#dropData) {
      this.#msgOpcode = fin ? 0 : opcode;
      return total;
    }
    if (fin && this.#msgOpcode === 0) {
      // The common case: a whole message in one frame, handed out in place (a plain Uint8Array view: about
      // half the cost of Buffer#subarray on Node 20, and the receive path needs no Buffer methods).
      const data = new Uint8Array(buf.buffer, buf.byteOffset + start, len);
      if (opcode === 1 && this.#utf8 && !isUtf8(data)) {
        return this.#fail('WS_ERR_INVALID_UTF8', 1007, 'invalid UTF-8 sequence');
      }
      this.#handlers.message(data, opcode === 2);
      return total;
    }
    // A fragment: gather it.
    if (this.#msgOpcode === 0) this.#msgOpcode = opcode;
    const need = this.#msgLen + len;
    if (this.#msg.length < need) {
      const grown = Buffer.allocUnsafe(Math.min(Math.max(need, 2 * this.#msg.length, 1024), this.#max));
      this.#msg.copy(grown, 0, 0, this.#msgLen);
      this.#msg = grown;
    }
    buf.copy(this.#msg, this.#msgLen, start, stop);
    this.#msgLen = need;
    if (!fin) return total;
    const data = this.#msg.subarray(0, need);
    this.#msgOpcode = 0;
    this.#msgLen = 0;
    if (opcode === 1 && this.#utf8 && !isUtf8(data)) {
      return this.#fail('WS_ERR_INVALID_UTF8', 1007, 'invalid UTF-8 sequence');
    }
    this.#handlers.message(data, opcode === 2);
    // A large assembled message's buffer is not kept for the rest of the connection.
    if (this.#msg.length > 64 * 1024) this.#msg = EMPTY;
    return total;
  }

  /** Handles a control frame; false when reading stops (a close frame or an error). */
  #control(opcode: number, buf: Buffer, off: number, start: number, stop: number): boolean {
    const payload = buf.subarray(start, stop);
    if (opcode === 8) {
      if (payload.length >= 2) {
        const code = payload.readUInt16BE(0);
        if (!isValidCloseCode(code)) {
          this.#fail('WS_ERR_INVALID_CLOSE_CODE', 1002, `invalid status code ${code}`);
          return false;
        }
        if (this.#utf8 && !isUtf8(payload.subarray(2))) {
          this.#fail('WS_ERR_INVALID_UTF8', 1007, 'invalid UTF-8 sequence');
          return false;
        }
      }
      this.#state = CLOSED;
      this.#handlers.control(8, payload, buf.subarray(off, stop));
      this.#release();
      return false;
    }
    this.#handlers.control(opcode, payload, buf.subarray(off, stop));
    return true;
  }

  #fail(reason: FrameErrorReason, closeCode: 1002 | 1007 | 1009, message: string): -1 {
    this.#state = FAILED;
    this.#release();
    this.#handlers.error(new FrameError(reason, closeCode, message));
    return -1;
  }
}

/** XORs `buf[start, stop)` with the 4-byte mask at `buf[maskAt]`, in place. */
function unmask(buf: Buffer, start: number, stop: number, maskAt: number): void {
  const m0 = buf[maskAt]!;
  const m1 = buf[maskAt + 1]!;
  const m2 = buf[maskAt + 2]!;
  const m3 = buf[maskAt + 3]!;
  if ((m0 | m1 | m2 | m3) === 0) return;
  let i = start;
  for (; i + 4 <= stop; i += 4) {
    buf[i] = buf[i]! ^ m0;
    buf[i + 1] = buf[i + 1]! ^ m1;
    buf[i + 2] = buf[i + 2]! ^ m2;
    buf[i + 3] = buf[i + 3]! ^ m3;
  }
  const mask = [m0, m1, m2, m3];
  for (let k = 0; i < stop; i++, k++) buf[i] = buf[i]! ^ mask[k]!;
}
