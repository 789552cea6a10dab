/**
 * Startup of N shards against the simulator, compared with the bound `ceil(N / max_concurrency) × window`
 * of issue #6. One run takes seconds (it is made of identify windows), so this is a plain timed loop, not a
 * tinybench group: it prints each run and the median/min/max ratio to the bound.
 *
 * Flags: --shards 16 --concurrency 4 --window 1000 (ms, the simulator's scaled identify window)
 *        --margin <ms> (default 10 % of the window) --runs 3
 */

import { ShardManager } from '../src/manager/manager.js';
import { startupBoundMs } from '../src/shard/identify-queue.js';
import { startSimulator } from '../src/simulator/index.js';
import { benchFlag } from './harness.js';

const shards = Number(benchFlag('shards') ?? 16);
const concurrency = Number(benchFlag('concurrency') ?? 4);
const windowMs = Number(benchFlag('window') ?? 1000);
const marginMs = Number(benchFlag('margin') ?? windowMs * 0.1);
const runs = Number(benchFlag('runs') ?? 3);
const bound = startupBoundMs(shards, concurrency, windowMs);

console.log(
  `manager startup: ${shards} shards, max_concurrency ${concurrency}, window ${windowMs} ms, margin ${marginMs} ms; ` +
    `bound ceil(${shards}/${concurrency}) × ${windowMs} = ${bound} ms`,
);
const ratios: number[] = [];
for (let run = 1; run <= runs; run++) {
  const sim = await startSimulator({
    shards,
    maxConcurrency: concurrency,
    identifyWindowMs: windowMs,
    guilds: shards * 3,
    heartbeatIntervalMs: 5_000,
  });
  const manager = new ShardManager({
    token: sim.tokens[0]!,
    intents: 1 | 512,
    api: sim.restUrl,
    compression: 'none',
    identifyWindowMs: windowMs,
    identifyMarginMs: marginMs,
  });
  const started = performance.now();
  await manager.connect();
  const elapsed = performance.now() - started;
  const stats = sim.stats();
  await manager.destroy({ resumable: false });
  await sim.close();
  const ratio = elapsed / bound;
  ratios.push(ratio);
  console.log(
    `run ${run}: ${elapsed.toFixed(0)} ms, ratio ${ratio.toFixed(3)}, identifies ${stats.identifies}, ` +
      `identify-concurrency violations ${stats.violations['identify-concurrency']}`,
  );
}
ratios.sort((a, b) => a - b);
console.log(
  `ratio to the bound: median ${ratios[Math.floor(ratios.length / 2)]!.toFixed(3)}, ` +
    `min ${ratios[0]!.toFixed(3)}, max ${ratios.at(-1)!.toFixed(3)} (target ≤ 1.05; shared 2-core machine, noisy)`,
);
