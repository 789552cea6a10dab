/**
 * The TypeScript zstd decoder's copy and bit-reading fast paths (8-byte literal and match copies,
 * `copyWithin` for long matches, byte loops for offsets < 8, one 32-bit load per sequence's extra bits and
 * state updates) against the reference zstd inside node:zlib (Node >= 22.15), on streams built to need
 * each path: short-period repeats (offsets 1–15, matches overlapping themselves), matches reaching into
 * earlier messages, repeat offsets, literal runs longer than 256 bytes, 4-stream Huffman literals and RLE
 * literals. Each stream is compressed as Discord does (one frame never ended, windowLog 18, a flush per
 * message), and a small block walker checks that the literal kinds the test is about really occur.
 * Skipped, with the reason, where node:zlib has no zstd.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ZstdStreamDecoder } from '../../src/codec/zstd-stream.js';
import { seededRandom } from '../../src/util/clock.js';
import { nativeZstdStream as nativeStream, nativeZstdSkip as skip } from '../support/native-zstd.js';

interface LiteralKinds {
  raw: number;
  rle: number;
  huffman1: number;
  huffman4: number;
}

/** Walks the blocks of a never-ended frame (the frames concatenated) and counts literal section kinds. */
function literalKinds(frames: readonly Uint8Array[]): LiteralKinds {
  const s = Buffer.concat(frames);
  const kinds: LiteralKinds = { raw: 0, rle: 0, huffman1: 0, huffman4: 0 };
  const fhd = s[4]!;
  const singleSegment = (fhd >>> 5) & 1;
  const dictBytes = [0, 1, 2, 4][fhd & 3]!;
  const fcsBytes = fhd >>> 6 === 0 ? singleSegment : 1 << (fhd >>> 6);
  let p = 5 + (singleSegment ? 0 : 1) + dictBytes + fcsBytes;
  while (p + 3 <= s.length) {
    const h = s[p]! | (s[p + 1]! << 8) | (s[p + 2]! << 16);
    const type = (h >>> 1) & 3;
    const size = h >>> 3;
    p += 3;
    if (type === 2) {
      const litType = s[p]! & 3;
      const sizeFormat = (s[p]! >>> 2) & 3;
      if (litType === 0) kinds.raw++;
      else if (litType === 1) kinds.rle++;
      else if (sizeFormat === 0) kinds.huffman1++;
      else kinds.huffman4++;
    }
    p += type === 1 ? 1 : size;
  }
  return kinds;
}

async function assertDecodes(messages: readonly Uint8Array[], level: number): Promise<LiteralKinds> {
  const frames = await nativeStream(messages, level);
  const compressed = frames.reduce((n, f) => n + f.length, 0);
  const raw = messages.reduce((n, m) => n + m.length, 0);
  assert.ok(compressed < raw / 2, `really compressed (${compressed} of ${raw} bytes)`);
  const d = new ZstdStreamDecoder({ implementation: 'typescript' });
  for (let i = 0; i < frames.length; i++) {
    const out = d.push(frames[i]!);
    assert.ok(out !== null, `message ${i} came out`);
    assert.equal(out.length, messages[i]!.length, `message ${i} length`);
    assert.ok(Buffer.from(out).equals(messages[i]!), `message ${i} byte-equal`);
  }
  return literalKinds(frames);
}

const text = (s: string) => new TextEncoder().encode(s);

for (const level of [1, 3, 19]) {
  test(`short periods: offsets 1–15 overlapping their matches, byte loop and 8-byte copies (level ${level})`, {
    skip,
  }, async () => {
    const random = seededRandom(150 + level);
    const messages: Uint8Array[] = [];
    const letters = (n: number, from: number) =>
      Array.from({ length: n }, () => String.fromCharCode(from + Math.floor(random() * 26))).join('');
    for (let period = 1; period <= 24; period++) {
      // Runs of a fresh unit (a match at offset `period` overlapping itself, shorter and longer than the
      // 64 bytes from which matches go to copyWithin), each followed by a random tail.
      const runs = [3, 5, 12, 20, 31, 40, 63, 64, 65, 100, 300].map((length) => {
        const unit = letters(period, 97);
        return unit.repeat(Math.ceil(length / period) + 1).slice(0, period + length) + letters(6, 65);
      });
      messages.push(text(`{"p":${period},"runs":"${runs.join('')}"}`));
    }
    await assertDecodes(messages, level);
  });

  test(`matches reaching into earlier messages, repeat offsets, long literal runs and 4-stream Huffman literals (level ${level})`, {
    skip,
  }, async () => {
    const random = seededRandom(250 + level);
    const word = () =>
      Array.from({ length: 3 + Math.floor(random() * 6) }, () =>
        String.fromCharCode(97 + Math.floor(random() * 12)),
      ).join('');
    // Records with the same field spacing (repeat offsets), values repeating earlier messages' values
    // (matches into the window's history), and every few messages a run of fresh text over a small
    // alphabet (literal runs > 256 bytes, which zstd codes as 4-stream Huffman literals).
    const values = Array.from({ length: 64 }, word);
    const messages: Uint8Array[] = [];
    for (let i = 0; i < 300; i++) {
      const fields = Array.from(
        { length: 4 + (i % 9) },
        (_, k) => `"f${k}":"${values[Math.floor(random() * values.length)]}"`,
      );
      const fresh = i % 5 === 0 ? Array.from({ length: 60 + (i % 7) * 20 }, word).join(' ') : '';
      messages.push(text(`{"op":0,"s":${i},"d":{${fields.join(',')}},"x":"${fresh}"}`));
    }
    const kinds = await assertDecodes(messages, level);
    assert.ok(kinds.huffman4 > 0, `4-stream Huffman literals occur (${JSON.stringify(kinds)})`);
  });
}

test('RLE literals: each literal of a block the same byte, between matches into the window', {
  skip,
}, async () => {
  const random = seededRandom(350);
  const chunk = () =>
    Array.from({ length: 24 }, () => String.fromCharCode(33 + Math.floor(random() * 90))).join('');
  const pieces = Array.from({ length: 256 }, chunk);
  const messages: Uint8Array[] = [text(pieces.join('#'))];
  for (let i = 1; i < 31; i++) {
    // A one-byte separator no earlier message has (control characters; the pieces are printable): the
    // only literals are ≥ 64 copies of it (zstd codes literals only from 64 bytes on at level 3).
    const sep = String.fromCharCode(i);
    const picked = Array.from({ length: 200 }, () => pieces[Math.floor(random() * pieces.length)]!);
    messages.push(text(`${sep}${picked.join(sep)}${sep}`));
  }
  const kinds = await assertDecodes(messages, 3);
  assert.ok(kinds.rle > 0, `RLE literals occur (${JSON.stringify(kinds)})`);
});

test('random binary with long matches (copyWithin) and matches longer than their offset ≥ 8', {
  skip,
}, async () => {
  const random = seededRandom(450);
  const base = Uint8Array.from({ length: 4096 }, () => Math.floor(random() * 256));
  const messages: Uint8Array[] = [base];
  for (let i = 0; i < 60; i++) {
    const out = new Uint8Array(600 + i * 37);
    let o = 0;
    while (o < out.length) {
      const kind = Math.floor(random() * 3);
      const len = Math.min(out.length - o, 8 + Math.floor(random() * 300));
      if (kind === 0) {
        const from = Math.floor(random() * (base.length - len));
        out.set(base.subarray(from, from + len), o); // a match into the first message
      } else if (kind === 1) {
        const period = 8 + Math.floor(random() * 24);
        for (let k = 0; k < len; k++)
          out[o + k] = k < period ? Math.floor(random() * 256) : out[o + k - period]!;
      } else {
        for (let k = 0; k < len; k++) out[o + k] = Math.floor(random() * 4) + 200; // compressible literals
      }
      o += len;
    }
    messages.push(out);
  }
  await assertDecodes(messages, 3);
});
