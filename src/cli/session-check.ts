/**
 * Checks a session file before `connect` resumes from it. A session saved against another gateway (an
 * earlier simulator, Discord when `--api` now points at a simulator, or the reverse) cannot be resumed: the
 * shard would try its resume URL, fail with a socket error per attempt and only then identify, or hand the
 * token to the wrong host. Such sessions are dropped with one line saying why, so the shards identify at once.
 */
import { connect } from 'node:net';
import type { FileSessionStore } from '../manager/session-store.js';

/** How long a saved resume URL may take to accept a TCP connection. */
export const RESUME_PROBE_TIMEOUT_MS = 3_000;

function isLoopback(hostname: string): boolean {
  const h = hostname.replace(/^\[|\]$/g, '');
  return h === 'localhost' || h === '::1' || /^127\.\d+\.\d+\.\d+$/.test(h);
}

/** Resolves to `undefined` when host:port accepts a TCP connection, else to the reason it did not. */
function probe(host: string, port: number, timeoutMs: number): Promise<string | undefined> {
  return new Promise((resolve) => {
    const socket = connect({ host: host.replace(/^\[|\]$/g, ''), port });
    const done = (reason: string | undefined) => {
      socket.destroy();
      resolve(reason);
    };
    socket.setTimeout(timeoutMs, () => done(`no answer in ${timeoutMs} ms`));
    socket.once('connect', () => done(undefined));
    socket.once('error', (err: NodeJS.ErrnoException) => done(err.code ?? err.message));
  });
}

/**
 * Drops the sessions in `store` that cannot belong to the gateway behind `api`, and returns one line per
 * resume URL dropped (none when every session looks resumable).
 */
export async function dropForeignSessions(
  store: FileSessionStore,
  api: string,
  timeoutMs = RESUME_PROBE_TIMEOUT_MS,
): Promise<string[]> {
  await store.ready();
  const byUrl = new Map<string, number[]>();
  for (const s of store.entries()) byUrl.set(s.resumeUrl, [...(byUrl.get(s.resumeUrl) ?? []), s.shardId]);
  let apiHost = '';
  try {
    apiHost = new URL(api).hostname;
  } catch {
    // An API base that is not a URL fails later with its own message; compare against no host.
  }
  const notes: string[] = [];
  for (const [resumeUrl, shardIds] of byUrl) {
    let why: string | undefined;
    let url: URL | undefined;
    try {
      url = new URL(resumeUrl);
    } catch {
      why = 'which is not a URL';
    }
    if (url !== undefined) {
      if (url.protocol !== 'ws:' && url.protocol !== 'wss:') why = 'which is not a ws:// or wss:// URL';
      else if (isLoopback(url.hostname) !== isLoopback(apiHost))
        why = `another gateway than the one behind ${api}`;
      else {
        const port = Number(url.port || (url.protocol === 'wss:' ? 443 : 80));
        const failed = await probe(url.hostname, port, timeoutMs);
        if (failed !== undefined) why = `which does not answer (${failed})`;
      }
    }
    if (why === undefined) continue;
    for (const id of shardIds) await store.save(id, null);
    const whose =
      shardIds.length === 1
        ? `the saved session of shard ${shardIds[0]} points`
        : `the saved sessions of shards ${shardIds.join(', ')} point`;
    const shown = url ? `${url.protocol}//${url.host}` : 'an invalid resume URL';
    notes.push(
      `session file: ${whose} at ${shown}, ${why}: saved by another gateway or an old run; identifying instead`,
    );
  }
  return notes;
}
