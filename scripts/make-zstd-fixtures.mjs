#!/usr/bin/env node
// Regenerates test/fixtures/zstd/*.bin: Discord-style zstd-stream captures made by the REFERENCE zstd
// (through zstd-napi, a bench-only native peer: `npm --prefix bench install` first). One frame per
// connection, window 256 KiB (windowLog 18, as Discord's Hello shows: 28 b5 2f fd 00 40), each message
// compressed then flushed with ZSTD_e_flush; the frame is never ended.
// File layout: u32 count, then per message: 32-byte SHA-256 of the raw message, u32 raw length,
// u32 compressed length, compressed bytes (all little-endian). Also writes cli-frame.bin: a complete
// frame from the `zstd` CLI (content checksum, last block) with its SHA-256 record, same layout.
// Usage: npm run build && node scripts/make-zstd-fixtures.mjs
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { discordLikeMessages } from '../dist/test/support/zstd-corpus.js';

const root = new URL('..', import.meta.url).pathname;
const outDir = join(root, 'test', 'fixtures', 'zstd');
const require = createRequire(join(root, 'bench', 'package.json'));
let binding;
try {
  binding = require('zstd-napi/binding');
} catch {
  console.error('make-zstd-fixtures: zstd-napi is not installed; run `npm --prefix bench install`');
  process.exit(1);
}

function record(raw, compressed) {
  const head = Buffer.alloc(40);
  createHash('sha256').update(raw).digest().copy(head, 0);
  head.writeUInt32LE(raw.length, 32);
  head.writeUInt32LE(compressed.length, 36);
  return Buffer.concat([head, compressed]);
}

function writeFixture(name, pairs) {
  const count = Buffer.alloc(4);
  count.writeUInt32LE(pairs.length);
  const file = Buffer.concat([count, ...pairs.map(([raw, c]) => record(raw, c))]);
  writeFileSync(join(outDir, name), file);
  console.log(`${name}: ${pairs.length} messages, ${file.length} bytes`);
}

const messages = discordLikeMessages(1);
for (const level of [-5, 3, 19]) {
  const cctx = new binding.CCtx();
  cctx.setParameter(binding.CParameter.compressionLevel, level);
  cctx.setParameter(binding.CParameter.windowLog, 18);
  const out = Buffer.alloc(1 << 21);
  const pairs = messages.map((m) => {
    const [remaining, produced] = cctx.compressStream2(out, m, binding.EndDirective.flush);
    if (remaining !== 0) throw new Error('flush incomplete');
    return [m, Buffer.from(out.subarray(0, produced))];
  });
  writeFixture(`napi-stream-level${level}.bin`, pairs);
}

const cliInput = Buffer.concat(messages.slice(0, 40));
const cli = spawnSync('zstd', ['-q', '-c', '-3', '--check'], { input: cliInput });
if (cli.status === 0) writeFixture('cli-frame.bin', [[cliInput, cli.stdout]]);
else console.error('make-zstd-fixtures: zstd CLI not available; cli-frame.bin not regenerated');
