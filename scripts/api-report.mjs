#!/usr/bin/env node
// Writes (with --update) or checks the API report of every package entry point: api/<entry>.api.md.
// The report is the public surface as the compiled .d.ts files show it; a change shows in review.
// Run after the build. Exit 1 when a report differs from the committed one (without --update).
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { CompilerState, Extractor, ExtractorConfig } from '@microsoft/api-extractor';

const root = resolve(new URL('..', import.meta.url).pathname);
const update = process.argv.includes('--update');
const pkg = JSON.parse(readFileSync(resolve(root, 'package.json'), 'utf8'));
/** Entry point name → compiled declaration file, from package.json "exports" (a new subpath cannot be missed). */
const ENTRIES = Object.fromEntries(
  Object.entries(pkg.exports).map(([subpath, target]) => {
    if (typeof target?.types !== 'string')
      throw new Error(`package.json exports["${subpath}"] has no "types"`);
    const name = subpath === '.' ? pkg.name : subpath.replace(/^\.\//, '').replaceAll('/', '-');
    return [name, target.types.replace(/^\.\//, '')];
  }),
);
// Only the entry declarations (and what they import): fast, independent of the test files.
const TSCONFIG = {
  compilerOptions: {
    target: 'ES2023',
    lib: ['ES2023'],
    module: 'NodeNext',
    moduleResolution: 'NodeNext',
    types: ['node'],
    strict: true,
    skipLibCheck: true,
    noEmit: true,
  },
  files: Object.values(ENTRIES).map((dts) => resolve(root, dts)),
};

function configFor(name, dts) {
  return ExtractorConfig.prepare({
    configObject: {
      projectFolder: root,
      mainEntryPointFilePath: resolve(root, dts),
      newlineKind: 'lf',
      compiler: { overrideTsconfig: TSCONFIG },
      apiReport: {
        enabled: true,
        reportFolder: resolve(root, 'api'),
        reportTempFolder: resolve(root, 'dist/api-temp'),
        reportFileName: name,
      },
      docModel: { enabled: false },
      dtsRollup: { enabled: false },
      tsdocMetadata: { enabled: false },
      messages: {
        compilerMessageReporting: { default: { logLevel: 'warning' } },
        extractorMessageReporting: {
          default: { logLevel: 'warning' },
          'ae-missing-release-tag': { logLevel: 'none' },
          'ae-undocumented': { logLevel: 'none' },
          // A type a public signature names but the entry does not export: written into the report.
          'ae-forgotten-export': { logLevel: 'none', addToApiReportFile: true },
        },
        tsdocMessageReporting: { default: { logLevel: 'none' } },
      },
    },
    configObjectFullPath: resolve(root, 'api/api-extractor.json'),
    packageJsonFullPath: resolve(root, 'package.json'),
  });
}

const configs = Object.entries(ENTRIES).map(([name, dts]) => [name, configFor(name, dts)]);
// One TypeScript program for every entry instead of one each.
const compilerState = CompilerState.create(configs[0][1], {
  additionalEntryPoints: configs.map(([, c]) => c.mainEntryPointFilePath),
});
let failed = 0;
for (const [name, config] of configs) {
  const result = Extractor.invoke(config, {
    localBuild: update,
    compilerState,
    messageCallback: (m) => {
      m.handled = true;
      if (m.logLevel === 'error' || m.logLevel === 'warning') console.error(`[${name}] ${m.text}`);
    },
  });
  const changed = result.apiReportChanged;
  if (!result.succeeded || (changed && !update)) failed++;
  console.log(`api/${name}.api.md: ${changed ? (update ? 'updated' : 'DIFFERS') : 'unchanged'}`);
}
if (failed > 0 && !update) {
  console.error(
    'the public API changed: review it, then run `node scripts/api-report.mjs --update` and commit api/',
  );
}
process.exit(failed > 0 ? 1 : 0);
