import type { IncomingMessage, ServerResponse } from 'node:http';
import { ShardlineError } from '../errors.js';
import { FAULT_KINDS } from './faults.js';
import type { SimulatorCore } from './simulator.js';

/** Largest request body the control endpoints read; a larger one is answered 413. */
const MAX_BODY_BYTES = 64 * 1024;
/** Past this many bytes of an oversize body the connection is cut instead of drained. */
const MAX_DRAIN_BYTES = 16 * MAX_BODY_BYTES;
/** Deepest nesting a control body may have (an event `d` deeper than 256 is refused later, by the encoders). */
const MAX_BODY_DEPTH = 1024;
/** Most random events one `POST /_simulator/events {count}` emits. */
const MAX_RANDOM_EVENTS = 100_000;

/** The request target as a URL, or undefined when it is not one (`//[`, say). */
export function parseRequestTarget(target: string | undefined, scheme: 'http' | 'ws'): URL | undefined {
  try {
    return new URL(target ?? '/', `${scheme}://simulator.invalid`);
  } catch {
    return undefined;
  }
}

/** Writes a JSON response; returns true so route handlers can `return send(…)`. */
function send(res: ServerResponse, status: number, body: unknown, close = false): true {
  const text = JSON.stringify(body);
  const headers: Record<string, string | number> = {
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(text),
  };
  if (close) headers.connection = 'close';
  res.writeHead(status, headers);
  res.end(text);
  return true;
}

class BodyError extends Error {
  readonly status: number;
  constructor(status: number, message: string) {
    super(message);
    this.status = status;
  }
}

/** Deepest nesting of arrays and objects in a parsed JSON value, counted without recursion. */
function depthOf(value: unknown, limit: number): number {
  let max = 0;
  const stack: Array<[unknown, number]> = [[value, 0]];
  while (stack.length > 0) {
    const [v, depth] = stack.pop()!;
    if (typeof v !== 'object' || v === null) continue;
    const d = depth + 1;
    if (d > max) max = d;
    if (max > limit) return max;
    for (const x of Array.isArray(v) ? v : Object.values(v)) stack.push([x, d]);
  }
  return max;
}

function readBody(req: IncomingMessage): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      // An oversize body is drained (so the client reads the 413) up to a bound, then cut.
      if (size > MAX_DRAIN_BYTES) req.destroy();
      else if (size <= MAX_BODY_BYTES) chunks.push(c);
    });
    req.on('end', () => {
      if (size > MAX_BODY_BYTES) {
        reject(new BodyError(413, `the body is larger than ${MAX_BODY_BYTES} bytes`));
        return;
      }
      let value: unknown;
      try {
        value = JSON.parse(Buffer.concat(chunks).toString('utf8'));
      } catch {
        reject(new BodyError(400, 'the body must be JSON'));
        return;
      }
      if (depthOf(value, MAX_BODY_DEPTH) > MAX_BODY_DEPTH) {
        reject(new BodyError(400, `the body nests deeper than ${MAX_BODY_DEPTH}`));
        return;
      }
      resolve(value);
    });
    req.on('error', reject);
  });
}

const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

/** `POST /_simulator/events`: `{t, d, guildId?, shardId?, sessionId?, intent?}` or `{count}`. */
function postEvents(core: SimulatorCore, body: unknown, res: ServerResponse): true {
  if (!isObject(body)) return send(res, 400, { message: 'the body must be a JSON object' });
  if (body.count !== undefined) {
    const n = body.count;
    if (typeof n !== 'number' || !Number.isInteger(n) || n < 0) {
      return send(res, 400, { message: `count must be an integer ≥ 0, got ${JSON.stringify(n)}` });
    }
    return send(res, 200, { deliveries: core.emitRandomEvents(Math.min(n, MAX_RANDOM_EVENTS)) });
  }
  const target: Record<string, unknown> = {};
  for (const k of ['guildId', 'shardId', 'sessionId', 'intent'])
    if (body[k] !== undefined) target[k] = body[k];
  return send(res, 200, { sessions: core.emitEvent(body.t as string, body.d, target) });
}

/**
 * The HTTP side: Discord's two gateway REST routes (`/api[/vN]/gateway`, `/api[/vN]/gateway/bot`) and the
 * simulator's control routes (`GET /_simulator/stats`, `POST /_simulator/faults`, `POST /_simulator/events`).
 */
export function handleHttp(core: SimulatorCore, req: IncomingMessage, res: ServerResponse): boolean {
  const url = parseRequestTarget(req.url, 'http');
  if (url === undefined) return send(res, 400, { message: '400: Bad Request', code: 0 }, true);
  const path = url.pathname.replace(/\/+$/, '');
  const route = /^\/api(?:\/v\d+)?(\/gateway(?:\/bot)?)$/.exec(path)?.[1];
  if (route !== undefined) {
    if (req.method !== 'GET') return send(res, 405, { message: '405: Method Not Allowed', code: 0 });
    if (route === '/gateway') return send(res, 200, { url: core.gatewayUrl });
    const auth = req.headers.authorization ?? '';
    const token = auth.startsWith('Bot ') ? auth.slice(4) : undefined;
    if (token === undefined || !core.options.tokens.includes(token)) {
      return send(res, 401, { message: '401: Unauthorized', code: 0 });
    }
    return send(res, 200, {
      url: core.gatewayUrl,
      shards: core.options.shards,
      session_start_limit: core.sessionStartLimit(),
    });
  }
  if (path === '/_simulator/stats' && req.method === 'GET') return send(res, 200, core.stats());
  if ((path === '/_simulator/faults' || path === '/_simulator/events') && req.method === 'POST') {
    readBody(req).then(
      (body) => {
        try {
          if (path === '/_simulator/faults')
            return send(res, 200, { connections: core.inject(body as never) });
          return postEvents(core, body, res);
        } catch (err) {
          if (err instanceof ShardlineError) {
            const extra = err.code === 'SIMULATOR_FAULT_INVALID' ? { kinds: FAULT_KINDS } : {};
            return send(res, 400, { message: err.message, code: err.code, ...extra });
          }
          core.countInternalError();
          return send(res, 500, { message: 'internal error' });
        }
      },
      (err: unknown) => {
        if (res.headersSent || res.destroyed) return;
        const status = err instanceof BodyError ? err.status : 400;
        const message = err instanceof BodyError ? err.message : 'the body could not be read';
        const extra = path === '/_simulator/faults' ? { kinds: FAULT_KINDS } : {};
        send(res, status, { message, ...extra }, status === 413);
      },
    );
    return true;
  }
  return send(res, 404, { message: '404: Not Found', code: 0 });
}
