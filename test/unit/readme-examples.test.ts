import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

// Every ```ts block of README.md and docs/*.md has a compiled copy in test/types/examples/<doc>-<n>.types.ts
// (the build type-checks it; its expectTypeOf lines assert the types). Runs from dist/test/unit.
const root = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const examples = join(root, 'test', 'types', 'examples');

/** The import rewrite of the copies: `shardline` → the root entry source, `shardline/x` → src/x/index.js. */
function rewriteImports(code: string): string {
  return code.replace(/from 'shardline(?:\/([a-z-]+))?'/g, (_m, sub: string | undefined) =>
    sub === undefined ? "from '../../../src/index.js'" : `from '../../../src/${sub}/index.js'`,
  );
}

const normalise = (text: string): string => text.replace(/\s+/g, ' ').trim();

function blocks(markdown: string): string[] {
  return [...markdown.matchAll(/^```ts\n([\s\S]*?)^```/gm)].map((m) => m[1]!);
}

const docs = [
  'README.md',
  ...readdirSync(join(root, 'docs'))
    .filter((f) => f.endsWith('.md'))
    .map((f) => `docs/${f}`),
];

test('every TypeScript example of the README and docs is compiled, verbatim, by the build', () => {
  let checked = 0;
  for (const doc of docs) {
    const name = doc
      .replace(/^docs\//, '')
      .replace(/\.md$/, '')
      .toLowerCase();
    blocks(readFileSync(join(root, doc), 'utf8')).forEach((block, i) => {
      const file = `${name}-${i + 1}.types.ts`;
      let copy: string;
      try {
        copy = readFileSync(join(examples, file), 'utf8');
      } catch {
        assert.fail(`${doc} block ${i + 1} has no compiled copy test/types/examples/${file}`);
      }
      assert.ok(
        normalise(copy).includes(normalise(rewriteImports(block))),
        `test/types/examples/${file} does not contain ${doc} block ${i + 1} verbatim (imports rewritten)`,
      );
      checked++;
    });
  }
  assert.ok(checked >= 6, `only ${checked} examples found`);
});
