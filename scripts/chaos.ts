/**
 * `npm run chaos -- --minutes N --seed N`: 16 shards against the simulator while every fault kind is injected
 * on a seeded schedule; prints a report and exits 1 when any check failed (see test/support/chaos.ts).
 *
 * `npm run chaos -- --hostile [--seed N] [--duration S]` (or `--mode hostile`): standalone Shards of every
 * wire format and a ShardManager against a seeded malicious gateway that mixes valid dispatches with
 * hostile payloads of every class (see test/support/hostile-chaos.ts), at the default limits.
 *
 * `--threads N`: the shards run in N worker threads, and a thread is killed every `--kill-every S` seconds
 * (default 5; terminate and uncaught exception in turn); its shards must RESUME with nothing lost or doubled.
 */
import { parseArgs } from 'node:util';
import { COMPRESSIONS, type Compression, ENCODINGS, type Encoding } from '../src/codec/formats.js';
import { runChaos } from '../test/support/chaos.js';
import { runHostileChaos } from '../test/support/hostile-chaos.js';

const { values } = parseArgs({
  options: {
    minutes: { type: 'string', default: '1' },
    seed: { type: 'string', default: '1' },
    shards: { type: 'string', default: '16' },
    encoding: { type: 'string', default: 'etf' },
    compression: { type: 'string', default: 'zlib-stream' },
    verbose: { type: 'boolean', default: false },
    mode: { type: 'string', default: 'faults' },
    hostile: { type: 'boolean', default: false },
    /** Seconds of attack in hostile mode (default 60). */
    duration: { type: 'string' },
    threads: { type: 'string', default: '0' },
    'kill-every': { type: 'string', default: '5' },
  },
});
const mb = (n: number) => `${(n / 1024 / 1024).toFixed(1)} MiB`;
if (values.hostile || values.mode === 'hostile') {
  const seed = Number(values.seed);
  const seconds = Number(values.duration ?? Number(values.minutes) * 60);
  if (!Number.isInteger(seed) || seed < 0 || !(seconds > 0)) {
    process.stderr.write('usage: chaos --hostile [--seed N] [--duration SECONDS] [--verbose]\n');
    process.exit(2);
  }
  const report = await runHostileChaos({
    seed,
    durationMs: Math.round(seconds * 1000),
    log: (line) => {
      if (values.verbose || line.startsWith('hostile') || line.startsWith('connect failed'))
        process.stdout.write(`${line}\n`);
    },
  });
  process.stdout.write(
    [
      '',
      `hostile chaos report (seed ${seed}, ${seconds} s, ${report.shards} shards): ${report.ok ? 'OK' : 'FAILED'}`,
      `  shards ready          ${report.ready}/${report.shards}`,
      `  hostile payloads      ${JSON.stringify(report.hostileSent)}`,
      `  valid dispatches      ${report.validDelivered} delivered of ${report.validSequenced} sequenced, ${report.sessionsChecked} sessions checked`,
      `  errors by code        ${JSON.stringify(report.errorsByCode)}`,
      `  connections           ${report.connections}; at most ${report.maxConnectionsPerShardMinute} per shard per minute (budget ${report.connectionBudgetPerMinute})`,
      `  unhandled errors      ${report.unhandled.length}`,
      `  token leaks           ${report.tokenLeaks.length}`,
      `  heap used             ${mb(report.heapUsedBefore)} before, peak ${mb(report.heapPeak)}, ${mb(report.heapUsedAfter)} after; RSS peak ${mb(report.rssPeak)}`,
      `  heap peak by class    ${Object.entries(report.heapPeakByClass)
        .sort(([, a], [, b]) => b - a)
        .map(([k, v]) => `${k} ${mb(v)}`)
        .join(', ')}`,
      ...report.failures.map((f) => `  FAIL ${f}`),
      '',
    ].join('\n'),
  );
  process.exit(report.ok ? 0 : 1);
}
const minutes = Number(values.minutes);
const seed = Number(values.seed);
const shards = Number(values.shards);
const encoding = values.encoding as Encoding;
const compression = values.compression as Compression;
const threads = Number(values.threads);
const killEverySeconds = Number(values['kill-every']);
if (
  !Number.isInteger(threads) ||
  threads < 0 ||
  !(killEverySeconds > 0) ||
  !(minutes > 0) ||
  !Number.isInteger(seed) ||
  seed < 0 ||
  !Number.isInteger(shards) ||
  shards < 1 ||
  !ENCODINGS.includes(encoding) ||
  !COMPRESSIONS.includes(compression)
) {
  process.stderr.write(
    'usage: chaos [--minutes N (fractional ok)] [--seed N] [--shards N] [--encoding json|etf] ' +
      '[--compression zlib-stream|zstd-stream|none] [--threads N] [--kill-every SECONDS] [--verbose]\n' +
      '       chaos --hostile [--seed N] [--duration SECONDS] [--verbose]\n',
  );
  process.exit(2);
}
const report = await runChaos({
  shards,
  seed,
  encoding,
  compression,
  durationMs: Math.round(minutes * 60_000),
  heartbeatIntervalMs: 2_000,
  identifyWindowMs: 1_000,
  ...(threads > 0 ? { threads, threadKillEveryMs: Math.round(killEverySeconds * 1000) } : {}),
  log: (line) => {
    if (values.verbose || line.startsWith('chaos') || line.startsWith('fault') || line.startsWith('error'))
      process.stdout.write(`${line}\n`);
  },
});
const { sessions, failures, unhandled: _u, ...counts } = report;
process.stdout.write(
  [
    '',
    `chaos report (seed ${seed}, ${minutes} min, ${shards} shards, ${encoding} + ${compression}` +
      `${threads > 0 ? `, ${threads} threads` : ''}): ${report.ok ? 'OK' : 'FAILED'}`,
    `  shards ready        ${report.ready}/${report.shards}`,
    `  faults injected     ${JSON.stringify(counts.faults)}`,
    `  dispatches          ${report.dispatchesDelivered} delivered, ${report.sessionsChecked} sessions checked, ` +
      `${sessions.filter((s) => s.abandoned).length} abandoned by the client`,
    `  violations          ${JSON.stringify(report.violations)}`,
    `  fatal closes        ${JSON.stringify(report.fatalCloses)}`,
    `  errors by code      ${JSON.stringify(report.errorsByCode)}`,
    `  unhandled errors    ${report.unhandled.length}`,
    `  token in output     ${report.tokenLeaks} of ${report.linesPrinted} lines`,
    `  heap used           ${mb(report.heapUsedBefore)} before, ${mb(report.heapUsedAfter)} after`,
    ...failures.map((f) => `  FAIL ${f}`),
    '',
  ].join('\n'),
);
process.exit(report.ok ? 0 : 1);
