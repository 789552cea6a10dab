import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

// Runs from dist/test/unit; the sources live in <root>/src.
const root = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const srcDir = join(root, 'src');

function walk(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const full = join(dir, name);
    return statSync(full).isDirectory() ? walk(full) : full.endsWith('.ts') ? [full] : [];
  });
}

/** Top-level area of a file under src/: `codec`, `shard`, … or `.` for files directly in src/. */
function areaOf(file: string): string {
  const rel = relative(srcDir, file).split(/[\\/]/);
  if (rel.length === 1) return rel[0] === 'index.ts' ? 'index' : '.';
  return rel[0]!;
}

const IMPORT_RE =
  /(?:^|\n)\s*(?:import|export)\s[^'"]*?from\s*['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]\s*\)/g;

export function importsOf(source: string): string[] {
  const out: string[] = [];
  for (const m of source.matchAll(IMPORT_RE)) out.push((m[1] ?? m[2])!);
  return out;
}

/** Which areas of src/ each area may import (besides itself). `.` is src/errors.ts and friends. */
const ALLOWED_AREAS: Record<string, readonly string[]> = {
  index: ['.', 'util', 'codec', 'transport', 'shard', 'manager', 'simulator'],
  '.': ['.', 'util'],
  util: ['.'],
  codec: ['.'],
  transport: ['.', 'util', 'codec'],
  shard: ['.', 'util', 'codec', 'transport'],
  manager: ['.', 'util', 'codec', 'transport', 'shard'],
  simulator: ['.', 'util', 'codec'],
  redis: ['.', 'util', 'codec', 'shard', 'manager'],
  metrics: ['manager'],
  otel: ['redis'],
  proxy: ['.', 'util', 'codec', 'transport', 'shard', 'manager', 'redis'],
  // Grades clients from the gateway's side: like the simulator, it never imports the client it could mirror.
  conformance: ['.', 'util', 'simulator'],
  discordjs: ['.', 'util', 'codec', 'transport', 'shard', 'manager', 'redis'],
  dashboard: ['.', 'util', 'shard', 'manager', 'redis'],
  cli: [
    '.',
    'util',
    'codec',
    'transport',
    'shard',
    'manager',
    'simulator',
    'redis',
    'proxy',
    'dashboard',
    'conformance',
  ],
};

/** Which areas may import each third-party package; a package not listed may be imported anywhere. */
const PACKAGE_OWNERS: Record<string, readonly string[]> = {
  ws: ['transport', 'simulator', 'proxy'],
  ioredis: ['redis'],
  'prom-client': ['manager', 'cli', 'redis'],
  // optional peer dependencies: each only in its adapter
  '@discordjs/core': ['discordjs'],
  '@opentelemetry/api': ['otel'],
  pino: ['cli'],
  'pino-pretty': ['cli'],
};

/** Packages `codec` may use beyond node built-ins (well-kept decoders the codec falls back on). */
const CODEC_PACKAGES = ['fzstd'];

test('src/ obeys the dependency rule of STYLE.md', () => {
  const violations: string[] = [];
  for (const file of walk(srcDir)) {
    const area = areaOf(file);
    const rel = relative(root, file);
    for (const spec of importsOf(readFileSync(file, 'utf8'))) {
      if (spec.startsWith('.')) {
        const target = resolve(dirname(file), spec);
        if (!target.startsWith(srcDir)) {
          violations.push(`${rel} imports ${spec} outside src/`);
          continue;
        }
        const targetArea = areaOf(target.replace(/\.js$/, '.ts'));
        const allowed = ALLOWED_AREAS[area];
        if (!allowed) violations.push(`${rel}: area '${area}' has no rule; add it to ALLOWED_AREAS`);
        else if (targetArea !== area && !allowed.includes(targetArea))
          violations.push(`${rel} (${area}) imports ${spec} (${targetArea})`);
      } else if (!spec.startsWith('node:')) {
        const pkg = spec.startsWith('@') ? spec.split('/').slice(0, 2).join('/') : spec.split('/')[0]!;
        const owners = PACKAGE_OWNERS[pkg];
        if (owners && !owners.includes(area)) violations.push(`${rel} (${area}) imports package ${pkg}`);
        if (area === 'codec' && !CODEC_PACKAGES.includes(pkg))
          violations.push(`${rel} (codec) imports package ${pkg}; codec depends on nothing`);
      }
    }
  }
  assert.deepEqual(violations, []);
});

test('the import scanner sees static, re-export and dynamic imports', () => {
  const src = `import { a } from './a.js';\nexport { b } from "../shard/b.js";\nconst c = await import('ws');\nimport type { D } from 'ioredis';`;
  assert.deepEqual(new Set(importsOf(src)), new Set(['./a.js', '../shard/b.js', 'ws', 'ioredis']));
});
