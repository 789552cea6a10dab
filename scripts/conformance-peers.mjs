#!/usr/bin/env node
// Runs `shardline conformance` (every scenario) against Shardline's own client and the third-party clients
// in scripts/conformance-peers/, one after the other, and prints a Markdown table (scenario × client) and the
// evidence of every failure. Usage: npm run conformance:peers [-- --only eris,oceanic] [--json FILE]
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';

const root = new URL('..', import.meta.url).pathname;
const CLIENTS = [
  {
    id: 'shardline',
    label: 'Shardline `ShardManager`',
    command: ['node', 'dist/scripts/conformance-client.js'],
  },
  {
    id: 'discordjs-ws',
    label: '`@discordjs/ws`',
    command: ['node', 'scripts/conformance-peers/discordjs-ws.mjs'],
  },
  {
    id: 'discordjs-client',
    label: 'discord.js `Client`',
    command: ['node', 'scripts/conformance-peers/discordjs-client.mjs'],
  },
  { id: 'eris', label: 'Eris', command: ['node', 'scripts/conformance-peers/eris.mjs'] },
  { id: 'oceanic', label: 'Oceanic.js', command: ['node', 'scripts/conformance-peers/oceanic.mjs'] },
];

const args = process.argv.slice(2);
const only = args.includes('--only') ? args[args.indexOf('--only') + 1].split(',') : undefined;
const jsonOut = args.includes('--json') ? args[args.indexOf('--json') + 1] : undefined;
const clients = CLIENTS.filter((c) => !only || only.includes(c.id));
const load = loadavg()[0].toFixed(1);
const runs = [];
for (const c of clients) {
  process.stderr.write(`conformance: ${c.id} …\n`);
  const r = spawnSync(
    process.execPath,
    ['dist/src/cli/main.js', 'conformance', '--json', '--', ...c.command],
    {
      cwd: root,
      encoding: 'utf8',
      maxBuffer: 64 * 1024 * 1024,
    },
  );
  const line = r.stdout.trim().split('\n').at(-1) ?? '';
  let report;
  try {
    report = JSON.parse(line);
  } catch {
    process.stderr.write(`${c.id}: no JSON report (exit ${r.status}): ${r.stderr.slice(-500)}\n`);
    process.exitCode = 1;
    continue;
  }
  runs.push({ client: c, report });
  process.stderr.write(`conformance: ${c.id} done in ${(report.elapsedMs / 1000).toFixed(1)} s\n`);
}
if (jsonOut) writeFileSync(jsonOut, JSON.stringify(runs, null, 2));

const scenarios = [];
for (const { report } of runs)
  for (const r of report.results) if (!scenarios.includes(r.scenario)) scenarios.push(r.scenario);
const mark = { pass: 'pass', fail: '**FAIL**', skip: 'skip' };
const out = [];
out.push(
  `Run ${new Date().toISOString().slice(0, 10)}, \`npm run conformance:peers\`, Node ${process.version}, heartbeat interval 1000 ms, load average ${load} (shared 2-core machine).`,
  '',
  `| scenario | ${runs.map((r) => r.client.label).join(' | ')} |`,
  `| --- | ${runs.map(() => '---').join(' | ')} |`,
);
for (const s of scenarios) {
  const cells = runs.map(({ report }) => {
    const r = report.results.find((x) => x.scenario === s);
    return r ? mark[r.verdict] : '—';
  });
  out.push(`| ${s} | ${cells.join(' | ')} |`);
}
out.push('', 'Evidence of each failure and skip (what the simulator saw):', '');
for (const { client, report } of runs) {
  for (const r of report.results) {
    if (r.verdict === 'pass') continue;
    out.push(`- ${client.label}, \`${r.scenario}\` (${r.verdict}): ${r.evidence.replace(/\|/g, '\\|')}`);
  }
}
process.stdout.write(`${out.join('\n')}\n`);
