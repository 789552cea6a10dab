import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { CliIo } from '../../src/cli/args.js';
import { LiveView } from '../../src/cli/live-view.js';
import { codecFallbackNotice } from '../../src/codec/fallbacks.js';
import { ShardManager } from '../../src/manager/manager.js';

// The fast paths' self-tests decide per Node binary (Node 20 has no built-in zstd), so the expectation is the
// verdict itself: the status output carries the notice exactly when this run decodes through a fallback.
for (const compression of ['zlib-stream', 'zstd-stream', 'none'] as const) {
  test(`the status view says once when ${compression} decodes through a slower fallback`, () => {
    let out = '';
    const io = {
      stdout: {
        write: (s: string) => {
          out += s;
          return true;
        },
        isTTY: false,
      },
      stderr: { write: () => true },
      env: {},
      signal: new AbortController().signal,
    } as unknown as CliIo;
    const manager = new ShardManager({ token: 'a.b.c', intents: 1, shardCount: 1, compression });
    new LiveView(manager, io, { title: 't', expectedShards: 1, startupEta: () => null, tty: false });
    const expected = codecFallbackNotice(compression);
    const lines = out.split('\n').filter((l) => l.includes('(slower)'));
    assert.deepEqual(lines, expected === null ? [] : [expected]);
  });
}
