/**
 * A small raw gateway client for driving the simulator over real sockets in tests: our codecs + `ws`,
 * nothing of the shard client. It decodes every frame (json/etf, zlib-stream via node:zlib, zstd-stream via
 * the shared decoder) into payloads you wait for with `next()`.
 */
import { constants, createInflate, type Inflate } from 'node:zlib';
import WebSocket from 'ws';
import { decodeClientTerm, encodeClientTerm, newZstdDecoder, type ZstdLike } from './codecs.js';

export interface Payload {
  op: number;
  d: unknown;
  s: number | null;
  t: string | null;
}

export interface RawClientOptions {
  v?: string | number | null;
  encoding?: 'json' | 'etf' | string;
  compress?: 'none' | 'zlib-stream' | 'zstd-stream' | string;
  /** Path appended to the base URL (e.g. `/resume`). */
  path?: string;
  /** Answer server op 1 and send heartbeats every `heartbeatMs` (default: off). */
  heartbeatMs?: number;
}

export interface CloseInfo {
  code: number;
  reason: string;
}

type Waiter = {
  predicate: (p: Payload) => boolean;
  resolve: (p: Payload) => void;
  reject: (e: Error) => void;
};

const SUFFIX = [0x00, 0x00, 0xff, 0xff];

export class RawClient {
  readonly ws: WebSocket;
  readonly encoding: string;
  readonly compress: string;
  /** Every payload received, in order. */
  readonly received: Payload[] = [];
  /** WebSocket messages received. */
  messages = 0;
  /** Decompressed bytes of the last payloads (up to 64), oldest first, for byte-level assertions. */
  readonly rawPayloads: Buffer[] = [];
  /** Decoding failures (corrupt frames and the like). */
  readonly errors: Error[] = [];
  readonly closed: Promise<CloseInfo>;
  lastSeq: number | null = null;
  #unread: Payload[] = [];
  #waiters: Waiter[] = [];
  #zlibBuffer: Buffer[] = [];
  #inflate: Inflate | undefined;
  #zstd: ZstdLike | undefined;
  #chain: Promise<void> = Promise.resolve();
  #heartbeat: NodeJS.Timeout | undefined;
  #isClosed = false;

  private constructor(ws: WebSocket, options: RawClientOptions) {
    this.ws = ws;
    this.encoding = options.encoding ?? 'json';
    this.compress = options.compress ?? 'none';
    if (this.compress === 'zlib-stream') this.#inflate = createInflate();
    this.#inflate?.on('error', (err) => this.errors.push(err));
    this.closed = new Promise((resolve) => {
      ws.on('close', (code, reason) => {
        this.#isClosed = true;
        if (this.#heartbeat) clearInterval(this.#heartbeat);
        this.#inflate?.close();
        resolve({ code, reason: reason.toString() });
        const err = new Error(`connection closed with ${code} ${reason.toString()}`);
        for (const w of this.#waiters) w.reject(err);
        this.#waiters = [];
      });
    });
    ws.on('message', (data: Buffer, isBinary) => {
      this.messages++;
      this.#chain = this.#chain
        .then(() => this.#onFrame(data, isBinary))
        .catch((err: Error) => {
          this.errors.push(err);
        });
    });
    if (options.heartbeatMs !== undefined) {
      this.#heartbeat = setInterval(() => this.heartbeat(), options.heartbeatMs);
      this.#heartbeat.unref();
    }
  }

  /** Opens a connection to `baseUrl` with the query built from `options`. */
  static async connect(baseUrl: string, options: RawClientOptions = {}): Promise<RawClient> {
    const q = new URLSearchParams();
    const v = options.v === undefined ? '10' : options.v;
    if (v !== null) q.set('v', String(v));
    q.set('encoding', options.encoding ?? 'json');
    if (options.compress && options.compress !== 'none') q.set('compress', options.compress);
    const ws = new WebSocket(`${baseUrl}${options.path ?? ''}?${q}`, { perMessageDeflate: false });
    ws.on('error', () => {});
    const client = new RawClient(ws, options);
    if (options.compress === 'zstd-stream') client.#zstd = await newZstdDecoder();
    await new Promise<void>((resolve, reject) => {
      ws.once('open', () => resolve());
      ws.once('close', () => resolve());
      ws.once('error', reject);
    });
    return client;
  }

  async #onFrame(data: Buffer, isBinary: boolean): Promise<void> {
    if (this.compress === 'zlib-stream') {
      this.#zlibBuffer.push(data);
      const tail = data.subarray(-4);
      if (tail.length < 4 || !SUFFIX.every((b, i) => tail[i] === b)) return;
      const whole = Buffer.concat(this.#zlibBuffer);
      this.#zlibBuffer = [];
      const out = await this.#inflateChunk(whole);
      this.#decode(out, this.encoding === 'etf');
      return;
    }
    if (this.compress === 'zstd-stream') {
      const out = this.#zstd!.push(new Uint8Array(data));
      if (out) this.#decode(Buffer.from(out), this.encoding === 'etf');
      return;
    }
    this.#decode(data, isBinary);
  }

  #inflateChunk(chunk: Buffer): Promise<Buffer> {
    const inflate = this.#inflate!;
    return new Promise((resolve, reject) => {
      const parts: Buffer[] = [];
      const onData = (b: Buffer) => parts.push(b);
      const onError = (e: Error) => {
        inflate.off('data', onData);
        reject(e);
      };
      inflate.on('data', onData);
      inflate.once('error', onError);
      inflate.write(chunk);
      inflate.flush(constants.Z_SYNC_FLUSH, () => {
        inflate.off('data', onData);
        inflate.off('error', onError);
        resolve(Buffer.concat(parts));
      });
    });
  }

  #decode(bytes: Buffer, binary: boolean): void {
    this.rawPayloads.push(bytes);
    if (this.rawPayloads.length > 64) this.rawPayloads.shift();
    let value: unknown;
    if (this.encoding === 'etf') {
      if (!binary && this.compress === 'none') throw new Error('text frame on an etf connection');
      value = decodeClientTerm(bytes);
    } else {
      value = JSON.parse(bytes.toString('utf8'));
    }
    const p = value as Payload;
    if (p.op === 0 && typeof p.s === 'number') this.lastSeq = p.s;
    if (p.op === 1) this.heartbeat();
    this.received.push(p);
    const i = this.#waiters.findIndex((w) => w.predicate(p));
    if (i >= 0) {
      const [w] = this.#waiters.splice(i, 1);
      w!.resolve(p);
    } else {
      this.#unread.push(p);
    }
  }

  /** The first unread payload matching `predicate` (consumed), waiting up to `timeoutMs`. */
  next(predicate: (p: Payload) => boolean = () => true, timeoutMs = 10_000): Promise<Payload> {
    const i = this.#unread.findIndex(predicate);
    if (i >= 0) return Promise.resolve(this.#unread.splice(i, 1)[0]!);
    if (this.#isClosed) return Promise.reject(new Error('connection closed'));
    return new Promise((resolve, reject) => {
      const waiter: Waiter = {
        predicate,
        resolve: (p) => {
          clearTimeout(timer);
          resolve(p);
        },
        reject: (e) => {
          clearTimeout(timer);
          reject(e);
        },
      };
      const timer = setTimeout(() => {
        this.#waiters = this.#waiters.filter((w) => w !== waiter);
        reject(new Error(`timed out after ${timeoutMs} ms waiting for a payload`));
      }, timeoutMs);
      this.#waiters.push(waiter);
    });
  }

  /** Waits for op `op` (and dispatch name `t` when given). */
  nextOp(op: number, t?: string, timeoutMs?: number): Promise<Payload> {
    return this.next((p) => p.op === op && (t === undefined || p.t === t), timeoutMs);
  }

  /** Sends a payload in the connection's encoding. */
  send(payload: { op: number; d: unknown }): void {
    if (this.encoding === 'etf') this.ws.send(encodeClientTerm(payload), { binary: true });
    else this.ws.send(JSON.stringify(payload));
  }

  sendRaw(data: string | Uint8Array): void {
    this.ws.send(data, { binary: typeof data !== 'string' });
  }

  heartbeat(): void {
    if (this.ws.readyState === WebSocket.OPEN) this.send({ op: 1, d: this.lastSeq });
  }

  identify(token: string, extra: Record<string, unknown> = {}): void {
    this.send({
      op: 2,
      d: {
        token,
        intents: 513,
        properties: { os: 'linux', browser: 'raw-client', device: 'raw-client' },
        ...extra,
      },
    });
  }

  resume(token: string, sessionId: string, seq: number | null): void {
    this.send({ op: 6, d: { token, session_id: sessionId, seq } });
  }

  /** Resolves once the connection is closed. */
  close(code = 1000): Promise<CloseInfo> {
    if (this.#heartbeat) clearInterval(this.#heartbeat);
    if (this.ws.readyState === WebSocket.OPEN || this.ws.readyState === WebSocket.CONNECTING) {
      try {
        this.ws.close(code);
      } catch {
        this.ws.terminate();
      }
    }
    return this.closed;
  }

  terminate(): Promise<CloseInfo> {
    this.ws.terminate();
    return this.closed;
  }
}
