/**
 * The proxy's REST surface: `GET /api[/v9|/v10]/gateway[/bot]` with the proxy's own ws URL, the upstream
 * shard count and a session-start limit that lets a client identify every shard at once. Every other route
 * is a JSON 404: a bot points its REST client at Discord (or a REST proxy) for those.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';

export interface GatewayRoutesSource {
  gatewayUrl(): string;
  /** Upstream shard count; 0 while unknown. */
  shardCount(): number;
}

/** Identifies a client may start per window: plenty, the proxy starts no upstream session for them. */
const SESSION_STARTS = 1_000_000;
const RESET_AFTER_MS = 86_400_000;

const ROUTE = /^\/api(?:\/v(?:9|10))?\/gateway(\/bot)?\/?$/;

function json(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(text),
    'cache-control': 'no-store',
  });
  res.end(text);
}

export function handleHttp(source: GatewayRoutesSource, req: IncomingMessage, res: ServerResponse): void {
  let path: string;
  try {
    path = new URL(req.url ?? '/', 'http://proxy').pathname;
  } catch {
    json(res, 400, { message: 'bad request target', code: 0 });
    return;
  }
  const match = ROUTE.exec(path);
  if (!match) {
    json(res, 404, {
      message:
        'Not Found: this gateway proxy serves only GET /api/v10/gateway and /api/v10/gateway/bot; send other REST requests to Discord or a REST proxy',
      code: 0,
    });
    return;
  }
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    res.setHeader('allow', 'GET, HEAD');
    json(res, 405, { message: '405: Method Not Allowed', code: 0 });
    return;
  }
  const url = source.gatewayUrl();
  if (!match[1]) {
    json(res, 200, { url });
    return;
  }
  const shards = source.shardCount();
  if (shards === 0) {
    res.setHeader('retry-after', '1');
    json(res, 503, {
      message: 'the proxy is still connecting its upstream shards; retry shortly',
      code: 0,
      retry_after: 1,
    });
    return;
  }
  json(res, 200, {
    url,
    shards,
    session_start_limit: {
      total: SESSION_STARTS,
      remaining: SESSION_STARTS,
      reset_after: RESET_AFTER_MS,
      max_concurrency: shards,
    },
  });
}
