#!/usr/bin/env node
// Runs `shardline conformance` (every scenario) against Shardline's own client and the third-party clients
// in scripts/conformance-peers/, one after the other, and prints a Markdown table (scenario × client) and the
// evidence of every failure and skip. Usage:
//   npm run conformance:peers [-- --only eris,oceanic] [--json FILE] [--zstd-node PATH]
// Clients run on this Node. --zstd-node runs the zstd-stream-split scenario on another Node binary (zstd is in
// node:zlib from 22.15; the native zlib-sync the zlib-stream scenarios use is built for the default Node).
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';

const root = new URL('..', import.meta.url).pathname;
const CLIENTS = [
  { id: 'shardline', label: 'Shardline `ShardManager`', script: 'dist/scripts/conformance-client.js' },
  { id: 'discordjs-ws', label: '`@discordjs/ws`', script: 'scripts/conformance-peers/discordjs-ws.mjs' },
  {
    id: 'discordjs-client',
    label: 'discord.js `Client`',
    script: 'scripts/conformance-peers/discordjs-client.mjs',
  },
  { id: 'eris', label: 'Eris', script: 'scripts/conformance-peers/eris.mjs' },
  { id: 'oceanic', label: 'Oceanic.js', script: 'scripts/conformance-peers/oceanic.mjs' },
];

const args = process.argv.slice(2);
const flag = (name) => (args.includes(name) ? args[args.indexOf(name) + 1] : undefined);
const only = flag('--only')?.split(',');
const jsonOut = flag('--json');
const zstdNode = flag('--zstd-node');

/** One `shardline conformance --json` run; its parsed report, or undefined (reported on stderr). */
function conformance(client, node, extra) {
  const r = spawnSync(
    process.execPath,
    ['dist/src/cli/main.js', 'conformance', '--json', ...extra, '--', node, client.script],
    { cwd: root, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 },
  );
  try {
    return JSON.parse(r.stdout.trim().split('\n').at(-1) ?? '');
  } catch {
    process.stderr.write(`${client.id}: no JSON report (exit ${r.status}): ${r.stderr.slice(-500)}\n`);
    process.exitCode = 1;
    return undefined;
  }
}

const loads = [loadavg()[0]];
const runs = [];
for (const c of CLIENTS.filter((x) => !only || only.includes(x.id))) {
  process.stderr.write(`conformance: ${c.id} …\n`);
  const report = conformance(c, process.execPath, []);
  if (!report) continue;
  if (zstdNode) {
    const zstd = conformance(c, zstdNode, ['--scenario', 'zstd-stream-split']);
    const i = report.results.findIndex((r) => r.scenario === 'zstd-stream-split');
    if (zstd?.results[0] && i >= 0) {
      const v = spawnSync(zstdNode, ['--version'], { encoding: 'utf8' }).stdout.trim();
      report.results[i] = { ...zstd.results[0], evidence: `(Node ${v}) ${zstd.results[0].evidence}` };
    }
  }
  runs.push({ client: c, report });
  loads.push(loadavg()[0]);
  process.stderr.write(`conformance: ${c.id} done in ${(report.elapsedMs / 1000).toFixed(1)} s\n`);
}
if (jsonOut) writeFileSync(jsonOut, JSON.stringify(runs, null, 2));

const scenarios = [];
for (const { report } of runs)
  for (const r of report.results) if (!scenarios.includes(r.scenario)) scenarios.push(r.scenario);
const mark = { pass: 'pass', fail: '**FAIL**', skip: 'skip' };
const out = [
  `Run ${new Date().toISOString().slice(0, 10)} by the conformance:peers script${zstdNode ? ' (zstd row with --zstd-node: see its evidence)' : ''}, Node ${process.version}, heartbeat interval 1000 ms, load average ${Math.min(...loads).toFixed(1)}–${Math.max(...loads).toFixed(1)} (shared 2-core machine).`,
  '',
  `| scenario | ${runs.map((r) => r.client.label).join(' | ')} |`,
  `| --- | ${runs.map(() => '---').join(' | ')} |`,
];
for (const s of scenarios) {
  const cells = runs.map(({ report }) => {
    const r = report.results.find((x) => x.scenario === s);
    return r ? mark[r.verdict] : '—';
  });
  out.push(`| ${s} | ${cells.join(' | ')} |`);
}
out.push('', 'Evidence of each failure and skip (what the simulator saw):', '');
for (const { client, report } of runs)
  for (const r of report.results)
    if (r.verdict !== 'pass')
      out.push(`- ${client.label}, \`${r.scenario}\` (${r.verdict}): ${r.evidence.replace(/\|/g, '\\|')}`);
process.stdout.write(`${out.join('\n')}\n`);
