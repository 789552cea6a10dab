/**
 * CPU per event of the receive path's codec work, without sockets: the e2e bench's world events (seed 1,
 * 64 guilds, 20 members each), 4,096 of them, JSON and ETF (atom keys, snowflakes as 64-bit integers, as
 * the simulator sends them), each compressed as one zlib stream with a sync flush per message.
 *
 *   node bench/recv-ab.mjs ROOT_A [ROOT_B] [--rounds N] [--cases etf,full-etf,full-json,inflate-json,inflate-etf]
 *
 * ROOT_A/ROOT_B are checkouts with a build (`dist/`), e.g. main and a branch: both load into this one process
 * and run in alternating rounds (process.cpuUsage), so machine load hits both alike; the paired B/A ratio
 * per round is reported (median). With one root, its figures alone (to compare Node versions, run it with
 * each binary). Decoders are used as the shard's receive path uses them: `transientOutput` (ignored by
 * builds without it, which then use the slab), ETF options passed on every call.
 */
import { cpus, loadavg } from 'node:os';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';

const args = process.argv.slice(2);
const flag = (name, fallback) => {
  const i = args.indexOf(`--${name}`);
  if (i < 0) return fallback;
  const v = args[i + 1];
  args.splice(i, 2);
  return v;
};
const ROUNDS = Number(flag('rounds', '60'));
const CASES = flag('cases', 'etf,full-etf,full-json').split(',');
const roots = args.map((r) => pathToFileURL(resolve(r)).href);
if (roots.length < 1 || roots.length > 2) throw new Error('usage: recv-ab.mjs ROOT_A [ROOT_B] [--rounds N]');

const N = 4096;
const first = roots[0];
const { World } = await import(`${first}/dist/src/simulator/world.js`);
const { snowflakesToBigInt } = await import(`${first}/dist/src/simulator/etf-wire.js`);
const { encodeEtf } = await import(`${first}/dist/src/codec/etf/index.js`);
const { ZlibStreamEncoder } = await import(`${first}/dist/src/codec/zlib-stream.js`);

const world = new World({ seed: 1, guilds: 64, membersPerGuild: 20 });
const json = [];
const etf = [];
for (let i = 0; i < N; i++) {
  const e = world.randomEvent();
  const p = { t: e.t, s: i + 1, op: 0, d: e.d };
  json.push(Buffer.from(JSON.stringify(p)));
  etf.push(encodeEtf(snowflakesToBigInt(p)));
}
/** ETF documents copied into 64 KiB slabs, as an inflate output buffer holds them. */
function slabbed(list) {
  const out = [];
  let slab = null;
  let off = 0;
  for (const b of list) {
    if (slab === null || slab.length - off < b.length) {
      slab = Buffer.allocUnsafeSlow(65536);
      off = 0;
    }
    slab.set(b, off);
    out.push(slab.subarray(off, off + b.length));
    off = (off + b.length + 7) & ~7;
  }
  return out;
}
const etfInSlabs = slabbed(etf);
const compress = (list) => {
  const enc = new ZlibStreamEncoder();
  return list.map((m) => Buffer.from(enc.encode(m)));
};
const zJson = compress(json);
const zEtf = compress(etf);
const mean = (list) => list.reduce((a, b) => a + b.length, 0) / list.length;

const ETF_OPTIONS = { bigint: 'string', maxBytes: 64 * 1024 * 1024 };
const utf8Slice = Buffer.prototype.utf8Slice;

async function cases(root) {
  const { decodeEtf } = await import(`${root}/dist/src/codec/etf/index.js`);
  const { ZlibStreamDecoder } = await import(`${root}/dist/src/codec/zlib-stream.js`);
  let sink = 0;
  const decoder = () => new ZlibStreamDecoder({ transientOutput: true });
  return {
    etf: () => {
      for (const b of etfInSlabs) sink += decodeEtf(b, ETF_OPTIONS).s;
    },
    'inflate-json': () => {
      const d = decoder();
      for (const f of zJson) sink += d.push(f).length;
      d.close();
    },
    'inflate-etf': () => {
      const d = decoder();
      for (const f of zEtf) sink += d.push(f).length;
      d.close();
    },
    'full-etf': () => {
      const d = decoder();
      for (const f of zEtf) sink += decodeEtf(d.push(f), ETF_OPTIONS).s;
      d.close();
    },
    'full-json': () => {
      const d = decoder();
      for (const f of zJson) {
        const m = d.push(f);
        sink += JSON.parse(utf8Slice.call(m, 0, m.length)).s;
      }
      d.close();
    },
    sink: () => sink,
  };
}

const sides = await Promise.all(roots.map(cases));
const cpuPerEvent = (f) => {
  const t = process.cpuUsage();
  f();
  const u = process.cpuUsage(t);
  return (u.user + u.system) / N;
};
const median = (a) => {
  const s = [...a].sort((x, y) => x - y);
  return s[s.length >> 1];
};
const WARM = Math.min(5, ROUNDS >> 2);

console.log(
  `recv-ab: ${process.version}, ${N} events (JSON ${mean(json).toFixed(0)} B, ETF ${mean(etf).toFixed(0)} B; ` +
    `compressed ${mean(zJson).toFixed(0)} / ${mean(zEtf).toFixed(0)} B), ${ROUNDS} rounds, ` +
    `${cpus().length} cores, load ${loadavg()[0].toFixed(1)}, ${new Date().toISOString()}`,
);
for (const name of CASES) {
  const times = sides.map(() => []);
  for (let r = 0; r < ROUNDS; r++) {
    const order = r & 1 ? [...sides.keys()].reverse() : [...sides.keys()];
    for (const i of order) times[i].push(cpuPerEvent(sides[i][name]));
  }
  const kept = times.map((t) => t.slice(WARM));
  const line = kept.map((t, i) => `${'AB'[i]} ${median(t).toFixed(3)} µs`).join(', ');
  const ratio =
    kept.length === 2 ? `, B/A ${median(kept[1].map((b, i) => b / kept[0][i])).toFixed(3)} (paired)` : '';
  console.log(`${name.padEnd(13)} ${line}${ratio}`);
}
