import type { CheckResult, Verdict } from './scenario.js';

/** Counts per verdict. */
export function tally(results: readonly CheckResult[]): Record<Verdict, number> {
  const t: Record<Verdict, number> = { pass: 0, fail: 0, skip: 0 };
  for (const r of results) t[r.verdict]++;
  return t;
}

/** One line of the live table: `scenario  VERDICT  evidence`. */
export function formatRow(r: CheckResult, width = 30): string {
  return `${r.scenario.padEnd(width)} ${r.verdict.toUpperCase().padEnd(4)}  ${r.evidence}`;
}

export function formatHeader(width = 30): string {
  return `${'scenario'.padEnd(width)} ${'verdict'.padEnd(4)} evidence`;
}

/** The closing line (deliberately not in the `N passed, N failed` form test runners print). */
export function formatSummary(results: readonly CheckResult[], elapsedMs: number): string {
  const t = tally(results);
  return `conformance: ${t.pass} pass · ${t.fail} fail · ${t.skip} skip (${(elapsedMs / 1000).toFixed(1)} s)`;
}

/** A Markdown table (README), evidence escaped for table cells. */
export function formatMarkdown(results: readonly CheckResult[]): string {
  const cell = (s: string) => s.replace(/\|/g, '\\|').replace(/\n/g, ' ');
  return [
    '| scenario | verdict | evidence |',
    '| --- | --- | --- |',
    ...results.map((r) => `| ${cell(r.scenario)} | ${r.verdict} | ${cell(r.evidence)} |`),
  ].join('\n');
}
