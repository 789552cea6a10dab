/**
 * ETF decoder under shape churn: documents whose maps have never-seen key sets (each shape three times, so each
 * would earn a compiled factory), against the same document decoded again and again (every factory hot) and
 * against the generic path (no factories at all). The per-second compile budget must keep churn near the
 * generic cost; the per-document budget alone did not.
 * Run: npm run bench -- etf-shape-churn   (or node dist/bench/etf-shape-churn.bench.js after a build)
 */
import {
  configureEtfShapeCompiler,
  DEFAULT_FACTORIES_PER_SECOND,
  decodeEtf,
} from '../src/codec/etf/decode.js';
import { encodeEtf } from '../src/codec/etf/encode.js';
import { runGroup } from './harness.js';

const SHAPES_PER_DOCUMENT = 64;
const POOL = 4000;

/** 64 never-seen shapes (2 keys each), each map three times. */
function churnDocument(serial: number): Uint8Array {
  const maps: Record<string, number>[] = [];
  for (let i = 0; i < SHAPES_PER_DOCUMENT; i++) {
    const m: Record<string, number> = {};
    for (let k = 0; k < 2; k++) m[`f${serial.toString(36)}_${i}_${k}`] = k;
    maps.push(m, m, m);
  }
  return encodeEtf(maps);
}

const pool = Array.from({ length: POOL }, (_, i) => churnDocument(i));
let next = 0;
const steady = churnDocument(-1);

type Mode = 'default' | 'per-document only' | 'generic';
let mode: Mode | undefined;
function use(m: Mode): void {
  if (mode === m) return;
  mode = m;
  configureEtfShapeCompiler({
    factoriesPerSecond: m === 'default' ? DEFAULT_FACTORIES_PER_SECOND : m === 'generic' ? 0 : 1e9,
  });
}

const churn = () => decodeEtf(pool[next++ % POOL]!);

runGroup(
  `decode: ${SHAPES_PER_DOCUMENT} new shapes per document (${(pool[0]!.length / 1024).toFixed(1)} KiB each, ${POOL} documents in turn)`,
  [
    {
      name: 'same document again (factories hot)',
      fn: () => {
        use('default');
        return decodeEtf(steady);
      },
    },
    {
      name: 'generic path (no factories)',
      fn: () => {
        use('generic');
        return churn();
      },
    },
    {
      name: `new shapes, budget ${DEFAULT_FACTORIES_PER_SECOND}/s + 64/document`,
      fn: () => {
        use('default');
        return churn();
      },
    },
    {
      name: 'new shapes, budget 64/document only',
      fn: () => {
        use('per-document only');
        return churn();
      },
    },
  ],
  { baseline: 'generic path (no factories)' },
);
