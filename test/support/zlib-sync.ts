import { createRequire } from 'node:module';

/**
 * Why the native zlib-sync addon (built by `npm ci` for the Node that ran it) does not load under this Node, or
 * null when it does. discord.js 14 and Eris speak zlib-stream only through it; without it they quietly connect
 * uncompressed, so tests of their zlib-stream path self-test it first.
 */
export function zlibSyncUnavailable(): string | null {
  try {
    createRequire(import.meta.url)('zlib-sync');
    return null;
  } catch (err) {
    return `zlib-sync (a native addon) does not load under Node ${process.version} here: ${(err as Error).message.split('\n')[0]}`;
  }
}
