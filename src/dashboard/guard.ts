/**
 * Who may talk to the dashboard. It listens on loopback by default, but a page from any other site open in
 * the same browser can still send requests to it: a cross-site POST (CSRF) or, through DNS rebinding, a
 * read of the page under a foreign host name. So every request must name an expected `Host`, and a
 * state-changing POST must also carry the per-server token embedded in the page (a custom header, which a
 * cross-origin page cannot add without a CORS preflight the server never grants) and, when the browser
 * says where it comes from (`Origin`, `Sec-Fetch-Site`), come from this very origin. Pure functions.
 */
import { timingSafeEqual } from 'node:crypto';
import { hostname, networkInterfaces } from 'node:os';

/** Header carrying the page's token on a POST. */
export const TOKEN_HEADER = 'x-shardline-token';

/** Bind addresses that mean every interface. */
export const WILDCARD_HOSTS: ReadonlySet<string> = new Set(['0.0.0.0', '::', '[::]', '']);

/** `host` as it appears in a Host header (IPv6 in brackets), lower case. */
function hostPart(host: string): string {
  const h = host.toLowerCase();
  return h.includes(':') && !h.startsWith('[') ? `[${h}]` : h;
}

/**
 * The `host:port` values a Host header may carry for a server bound to `bindHost:port`: the loopback
 * names, the bound address, and for a wildcard bind every interface address and the machine's name.
 */
export function allowedHosts(bindHost: string, port: number): Set<string> {
  const names = new Set(['localhost', '127.0.0.1', '[::1]']);
  if (WILDCARD_HOSTS.has(bindHost)) {
    for (const list of Object.values(networkInterfaces()))
      for (const a of list ?? []) names.add(hostPart(a.address.replace(/%.*$/, '')));
    names.add(hostname().toLowerCase());
  } else names.add(hostPart(bindHost));
  return new Set([...names].map((n) => `${n}:${port}`));
}

export interface RequestFacts {
  readonly method: string;
  readonly host: string | undefined;
  readonly origin: string | undefined;
  readonly secFetchSite: string | undefined;
  readonly token: string | undefined;
}

export type Verdict =
  | { readonly ok: true }
  | { readonly ok: false; readonly status: 403; readonly reason: string };

function sameToken(given: string, expected: string): boolean {
  const a = Buffer.from(given);
  const b = Buffer.from(expected);
  return a.length === b.length && timingSafeEqual(a, b);
}

/** Whether a request may be served: any method needs a known Host; a POST the token and a same origin. */
export function checkRequest(facts: RequestFacts, allowed: ReadonlySet<string>, token: string): Verdict {
  const host = facts.host?.toLowerCase();
  if (host === undefined || !allowed.has(host))
    return {
      ok: false,
      status: 403,
      reason: 'unexpected Host header (open the dashboard at the address it printed)',
    };
  if (facts.method === 'GET' || facts.method === 'HEAD') return { ok: true };
  if (facts.origin !== undefined && facts.origin.toLowerCase() !== `http://${host}`)
    return { ok: false, status: 403, reason: 'cross-origin request refused' };
  if (facts.secFetchSite !== undefined && facts.secFetchSite !== 'same-origin')
    return { ok: false, status: 403, reason: 'cross-site request refused' };
  if (facts.token === undefined || !sameToken(facts.token, token))
    return { ok: false, status: 403, reason: `missing or wrong ${TOKEN_HEADER} header` };
  return { ok: true };
}
