/**
 * ETF codec: our pure-TS decodeEtf/encodeEtf side by side with discord/erlpack (native, optional peer) and
 * JSON on the same documents. Run: npm run bench -- etf   (or node dist/bench/etf.bench.js after a build)
 */
import { decodeEtf, encodeEtf } from '../src/codec/index.js';
import { createCorpus, type GatewayEnvelope, toEtfForm } from './corpus.js';
import { type BenchTask, runGroup } from './harness.js';
import { loadErlpack } from './peers.js';

const corpus = createCorpus();
const erlpack = loadErlpack();

interface Doc {
  readonly name: string;
  readonly json: Buffer[];
  readonly etf: Uint8Array[];
}

function doc(name: string, payloads: readonly GatewayEnvelope[]): Doc {
  return {
    name,
    json: payloads.map((p) => Buffer.from(JSON.stringify(p))),
    // The ETF form Discord sends: snowflakes as 64-bit integers, string (binary) keys.
    etf: payloads.map((p) => encodeEtf(toEtfForm(p))),
  };
}

const docs: Doc[] = [
  doc(`event stream (${corpus.events.length} events, one op = all)`, corpus.events),
  doc('READY (100 guilds)', [corpus.ready]),
  doc('GUILD_CREATE (20 members)', [corpus.guildCreateSmall]),
  doc('GUILD_CREATE (2,000 members)', [corpus.guildCreateLarge]),
];

// ---- outputs agree? (erlpack turns every 5–8 byte bignum into a decimal string; we keep safe ones numbers)
function agree(ours: unknown, theirs: unknown, path: string): string | undefined {
  if (typeof ours === 'number' && typeof theirs === 'string')
    return String(ours) === theirs ? undefined : path;
  if (Array.isArray(ours) && Array.isArray(theirs)) {
    if (ours.length !== theirs.length) return path;
    for (let i = 0; i < ours.length; i++) {
      const bad = agree(ours[i], theirs[i], `${path}[${i}]`);
      if (bad) return bad;
    }
    return undefined;
  }
  if (ours !== null && theirs !== null && typeof ours === 'object' && typeof theirs === 'object') {
    const a = ours as Record<string, unknown>;
    const b = theirs as Record<string, unknown>;
    const ka = Object.keys(a);
    if (ka.length !== Object.keys(b).length) return path;
    for (const k of ka) {
      const bad = agree(a[k], b[k], `${path}.${k}`);
      if (bad) return bad;
    }
    return undefined;
  }
  return Object.is(ours, theirs) ? undefined : path;
}

if (erlpack) {
  let mismatch: string | undefined;
  let checked = 0;
  for (const d of docs) {
    for (const bytes of d.etf) {
      mismatch ??= agree(decodeEtf(bytes), erlpack.unpack(bytes), d.name);
      checked++;
    }
  }
  console.log(
    mismatch
      ? `outputs DISAGREE at ${mismatch}`
      : `outputs agree: decodeEtf and erlpack.unpack on ${checked} documents (modulo erlpack's strings for ints ≥ 2^32)`,
  );
}

const sizeOf = (list: readonly Uint8Array[]) => list.reduce((n, b) => n + b.length, 0);

for (const d of docs) {
  const { json, etf } = d;
  const tasks: BenchTask[] = [
    {
      name: 'decodeEtf',
      fn: () => {
        let last: unknown;
        for (let i = 0; i < etf.length; i++) last = decodeEtf(etf[i]!);
        return last;
      },
    },
    {
      name: 'erlpack.unpack',
      fn: erlpack
        ? () => {
            let last: unknown;
            for (let i = 0; i < etf.length; i++) last = erlpack.unpack(etf[i]!);
            return last;
          }
        : undefined,
    },
    {
      name: 'JSON.parse(buf.toString())',
      fn: () => {
        let last: unknown;
        for (let i = 0; i < json.length; i++) last = JSON.parse(json[i]!.toString());
        return last;
      },
    },
  ];
  runGroup(
    `decode: ${d.name} — ETF ${(sizeOf(etf) / 1024).toFixed(1)} KiB, JSON ${(sizeOf(json) / 1024).toFixed(1)} KiB`,
    tasks,
    { baseline: erlpack ? 'erlpack.unpack' : 'JSON.parse(buf.toString())' },
  );
}

const encodeCases: [string, unknown][] = [
  ['heartbeat', corpus.client.heartbeat],
  ['identify', corpus.client.identify],
  ['presence update', corpus.client.presenceUpdate],
  ['request guild members', corpus.client.requestGuildMembers],
  ['GUILD_CREATE (20 members, JSON form)', corpus.guildCreateSmall],
];

for (const [name, value] of encodeCases) {
  runGroup(
    `encode: ${name}`,
    [
      { name: 'encodeEtf', fn: () => encodeEtf(value) },
      { name: 'erlpack.pack', fn: erlpack ? () => erlpack.pack(value) : undefined },
      { name: 'Buffer.from(JSON.stringify())', fn: () => Buffer.from(JSON.stringify(value)) },
    ],
    { baseline: erlpack ? 'erlpack.pack' : 'Buffer.from(JSON.stringify())' },
  );
}
