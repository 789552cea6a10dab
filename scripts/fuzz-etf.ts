/**
 * Long ETF fuzz run: node dist/scripts/fuzz-etf.js [--seconds 60] [--seed 1]
 * (`npm run fuzz:etf` builds first.) Exits 1 on the first error that is not a CodecError.
 */
import { seededRandom } from '../src/util/clock.js';
import { type FuzzStats, fuzzEtf } from '../test/support/fuzz-etf.js';

function flag(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  const v = i >= 0 ? Number(process.argv[i + 1]) : Number.NaN;
  return Number.isFinite(v) ? v : fallback;
}

const seconds = flag('seconds', 60);
const seed = flag('seed', Date.now() % 2 ** 31);
const rand = seededRandom(seed);
const stats: FuzzStats = { cases: 0, decoded: 0, errors: {} };
const stopAt = Date.now() + seconds * 1000;
console.log(`fuzz-etf: seed ${seed}, ${seconds} s`);
try {
  while (Date.now() < stopAt) fuzzEtf(rand, 2000, stats);
} catch (err) {
  console.error(`fuzz-etf: FAILED after ${stats.cases} cases (seed ${seed}):`, err);
  process.exit(1);
}
console.log(`fuzz-etf: ${stats.cases} cases, ${stats.decoded} decoded, errors by code:`, stats.errors);
