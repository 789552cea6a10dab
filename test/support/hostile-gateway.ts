/**
 * A small scripted gateway on `ws` for testing the `Shard` against a malicious or broken server: each
 * connection is handed to a script that may send anything — well-formed payloads, hand-built ETF terms
 * with values our encoder refuses to write (±Infinity floats, 300-byte bignums), raw JSON text such as
 * `1e999` — and close with any code and reason. Uncompressed only; what the client sends is decoded and
 * kept per connection.
 */
import type { AddressInfo } from 'node:net';
import type { TestContext } from 'node:test';
import WebSocket, { WebSocketServer } from 'ws';
import { decodeEtf } from '../../src/codec/etf/index.js';

export interface ClientPayload {
  readonly op: number;
  readonly d: unknown;
}

export class HostileConnection {
  readonly index: number;
  readonly encoding: 'json' | 'etf';
  readonly received: ClientPayload[] = [];
  readonly #ws: WebSocket;
  readonly #waiters: { op: number; resolve: (p: ClientPayload) => void }[] = [];

  constructor(index: number, ws: WebSocket, encoding: 'json' | 'etf') {
    this.index = index;
    this.#ws = ws;
    this.encoding = encoding;
    ws.on('error', () => {});
    ws.on('message', (data: Buffer, isBinary) => {
      let payload: ClientPayload;
      try {
        payload = (isBinary ? decodeEtf(data) : JSON.parse(data.toString('utf8'))) as ClientPayload;
      } catch {
        return;
      }
      this.received.push(payload);
      for (let i = this.#waiters.length - 1; i >= 0; i--) {
        const w = this.#waiters[i]!;
        if (w.op === payload.op) {
          this.#waiters.splice(i, 1);
          w.resolve(payload);
        }
      }
    });
  }

  get open(): boolean {
    return this.#ws.readyState === WebSocket.OPEN;
  }

  /** The first payload with `op` the client sent on this connection (now or later). */
  next(op: number): Promise<ClientPayload> {
    const seen = this.received.find((p) => p.op === op);
    if (seen) return Promise.resolve(seen);
    return new Promise((resolve) => this.#waiters.push({ op, resolve }));
  }

  /** Sends a payload in the connection's encoding (ETF via `etfTerm`, so any value can be written). */
  send(payload: { op: number; d?: unknown; s?: unknown; t?: string | null }): void {
    const full = { op: payload.op, d: payload.d ?? null, s: payload.s ?? null, t: payload.t ?? null };
    if (this.encoding === 'etf') this.raw(etfTerm(full));
    else this.raw(JSON.stringify(full));
  }

  /** Sends raw bytes (binary frame) or text (text frame) as they are. */
  raw(data: string | Uint8Array): void {
    if (this.open) this.#ws.send(data, { binary: typeof data !== 'string' });
  }

  hello(intervalMs: unknown = 41_250): void {
    this.send({ op: 10, d: { heartbeat_interval: intervalMs } });
  }

  close(code: number, reason = ''): void {
    if (this.open) this.#ws.close(code, reason);
  }
}

export type Script = (conn: HostileConnection) => void | Promise<void>;

export interface HostileGateway {
  readonly url: string;
  readonly connections: HostileConnection[];
}

/** Starts a hostile gateway on port 0; `script` runs for every connection. Closed after the test. */
export async function startHostileGateway(t: TestContext, script: Script): Promise<HostileGateway> {
  const wss = new WebSocketServer({ host: '127.0.0.1', port: 0 });
  await new Promise<void>((resolve) => wss.once('listening', resolve));
  const connections: HostileConnection[] = [];
  wss.on('connection', (ws, request) => {
    const encoding =
      new URL(request.url ?? '/', 'ws://x').searchParams.get('encoding') === 'etf' ? 'etf' : 'json';
    const conn = new HostileConnection(connections.length, ws, encoding);
    connections.push(conn);
    void Promise.resolve(script(conn)).catch(() => conn.close(1011));
  });
  t.after(
    () =>
      new Promise<void>((resolve) => {
        for (const client of wss.clients) client.terminate();
        wss.close(() => resolve());
      }),
  );
  return { url: `ws://127.0.0.1:${(wss.address() as AddressInfo).port}`, connections };
}

// ------------------------------------------------------------------------------------------- ETF terms

/** A bignum of `bytes` bytes (all 0xff): a number far beyond 2^53 that decodes to a decimal string. */
export class EtfBignum {
  readonly bytes: number;
  constructor(bytes: number) {
    this.bytes = bytes;
  }
}

/**
 * Writes an ETF term by hand, without the project's encoder (which rightly refuses ±Infinity and NaN):
 * maps with atom keys, strings as binaries, integers, floats (NEW_FLOAT_EXT, any double), null as `nil`,
 * booleans, arrays as lists and `EtfBignum`s.
 */
export function etfTerm(value: unknown): Uint8Array {
  const out: number[] = [131];
  write(value, out);
  return Uint8Array.from(out);
}

function u32(n: number, out: number[]): void {
  out.push((n >>> 24) & 0xff, (n >>> 16) & 0xff, (n >>> 8) & 0xff, n & 0xff);
}

function atom(name: string, out: number[]): void {
  const bytes = Buffer.from(name, 'utf8');
  out.push(119, bytes.length, ...bytes);
}

function write(value: unknown, out: number[]): void {
  if (value === null || value === undefined) {
    atom('nil', out);
    return;
  }
  if (typeof value === 'boolean') {
    atom(String(value), out);
    return;
  }
  if (value instanceof EtfBignum) {
    out.push(111);
    u32(value.bytes, out);
    out.push(0);
    for (let i = 0; i < value.bytes; i++) out.push(0xff);
    return;
  }
  if (typeof value === 'number') {
    if (Number.isInteger(value) && value >= -(2 ** 31) && value < 2 ** 31) {
      out.push(98);
      u32(value >>> 0, out);
      return;
    }
    const buf = Buffer.alloc(8);
    buf.writeDoubleBE(value);
    out.push(70, ...buf);
    return;
  }
  if (typeof value === 'string') {
    const bytes = Buffer.from(value, 'utf8');
    out.push(109);
    u32(bytes.length, out);
    out.push(...bytes);
    return;
  }
  if (Array.isArray(value)) {
    if (value.length === 0) {
      out.push(106);
      return;
    }
    out.push(108);
    u32(value.length, out);
    for (const item of value) write(item, out);
    out.push(106);
    return;
  }
  const entries = Object.entries(value as Record<string, unknown>);
  out.push(116);
  u32(entries.length, out);
  for (const [k, v] of entries) {
    atom(k, out);
    write(v, out);
  }
}
