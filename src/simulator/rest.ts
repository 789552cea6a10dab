import type { IncomingMessage, ServerResponse } from 'node:http';
import { ShardlineError } from '../errors.js';
import { FAULT_KINDS } from './faults.js';
import type { SimulatorCore } from './simulator.js';

/** Largest request body the control endpoints read. */
const MAX_BODY_BYTES = 64 * 1024;

/** Writes a JSON response; returns true so route handlers can `return send(…)`. */
function send(res: ServerResponse, status: number, body: unknown): true {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
  return true;
}

function readBody(req: IncomingMessage): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > MAX_BODY_BYTES) {
        reject(new RangeError('body too large'));
        req.destroy();
        return;
      }
      chunks.push(c);
    });
    req.on('end', () => {
      try {
        resolve(JSON.parse(Buffer.concat(chunks).toString('utf8')));
      } catch (err) {
        reject(err);
      }
    });
    req.on('error', reject);
  });
}

/**
 * The HTTP side: Discord's two gateway REST routes (`/api[/vN]/gateway`, `/api[/vN]/gateway/bot`) and the
 * simulator's control routes (`GET /_simulator/stats`, `POST /_simulator/faults`, `POST /_simulator/events`).
 */
export function handleHttp(core: SimulatorCore, req: IncomingMessage, res: ServerResponse): boolean {
  const url = new URL(req.url ?? '/', 'http://simulator.invalid');
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
          if (path === '/_simulator/faults') {
            const hit = core.inject(body as never);
            return send(res, 200, { connections: hit });
          }
          const b = (body ?? {}) as Record<string, unknown>;
          if (typeof b.count === 'number')
            return send(res, 200, { deliveries: core.emitRandomEvents(Math.min(b.count, 100_000)) });
          const target: Record<string, unknown> = {};
          for (const k of ['guildId', 'shard', 'sessionId', 'intent'])
            if (b[k] !== undefined) target[k] = b[k];
          return send(res, 200, { sessions: core.emitEvent(b.t as string, b.d, target) });
        } catch (err) {
          if (err instanceof ShardlineError) {
            const extra = err.code === 'SIMULATOR_FAULT_INVALID' ? { kinds: FAULT_KINDS } : {};
            return send(res, 400, { message: err.message, code: err.code, ...extra });
          }
          return send(res, 500, { message: 'internal error' });
        }
      },
      () => send(res, 400, { message: 'the body must be JSON', kinds: FAULT_KINDS }),
    );
    return true;
  }
  return send(res, 404, { message: '404: Not Found', code: 0 });
}
