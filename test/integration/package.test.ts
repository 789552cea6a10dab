/**
 * What `npm pack` ships, checked as a user of the package meets it: the licence file, source maps that
 * resolve without the repository's sources, typings that compile in a strict consumer that installed only
 * our package, and an `import 'shardline'` that does not load prom-client until metrics are collected.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { run, userEnv } from '../support/readme.js';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as {
  license: string;
  dependencies: Record<string, string>;
  devDependencies: Record<string, string>;
};
const INSTALL_TIMEOUT_MS = 240_000;

interface PackedFile {
  path: string;
}

/** The files `npm pack` would ship (no lifecycle scripts: dist is what this test run built). */
function packedFiles(): string[] {
  const out = execFileSync('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], {
    cwd: root,
    env: userEnv(),
    encoding: 'utf8',
  });
  return (JSON.parse(out) as { files: PackedFile[] }[])[0]!.files.map((f) => f.path);
}

test('the package ships the licence package.json names', () => {
  assert.equal(pkg.license, 'MIT');
  assert.ok(packedFiles().includes('LICENSE'));
  const text = readFileSync(join(root, 'LICENSE'), 'utf8');
  assert.match(text, /^MIT License\n\nCopyright \(c\) 2026 Shardline contributors\n/);
  assert.match(text, /THE SOFTWARE IS PROVIDED "AS IS", WITHOUT WARRANTY OF ANY KIND/);
});

test('every shipped source map carries its TypeScript source inline', () => {
  const files = packedFiles();
  const maps = files.filter((f) => f.endsWith('.js.map'));
  assert.ok(maps.length > 10, files.join('\n'));
  // The sources themselves are not shipped: a map is only useful if it carries them.
  assert.ok(!files.some((f) => f.endsWith('.ts') && !f.endsWith('.d.ts')));
  for (const file of maps) {
    const map = JSON.parse(readFileSync(join(root, file), 'utf8')) as {
      sources: string[];
      sourcesContent?: (string | null)[];
    };
    assert.equal(map.sources.length, 1, file);
    const source = resolve(dirname(join(root, file)), map.sources[0]!);
    assert.equal(map.sourcesContent?.[0], readFileSync(source, 'utf8'), `${file}: sourcesContent`);
  }
  for (const js of files.filter((f) => f.endsWith('.js')))
    assert.ok(files.includes(`${js}.map`), `${js} has no map`);
});

test('importing shardline does not load prom-client; collecting metrics does', () => {
  // prom-client is CommonJS: however it is loaded (import or require), it lands in require.cache.
  const script = `
    import { createRequire } from 'node:module';
    const loaded = () => Object.keys(createRequire(import.meta.url).cache).some((k) => k.includes('/prom-client/'));
    const { ShardManager } = await import('shardline');
    const manager = new ShardManager({ token: 't', intents: 1, shardCount: 1 });
    const before = loaded();
    const text = await manager.collectMetrics();
    console.log(JSON.stringify({ before, after: loaded(), metrics: text.includes('shardline_shard_status') }));
    await manager.destroy();
  `;
  const out = execFileSync(process.execPath, ['--input-type=module', '-e', script], {
    cwd: root,
    encoding: 'utf8',
  });
  assert.deepEqual(JSON.parse(out), { before: false, after: true, metrics: true });
});

test('a strict TypeScript consumer that installed only the tarball compiles against every entry point, and stack traces resolve to the TypeScript source', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'shardline-pack-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const env = userEnv();
  const opts = { cwd: dir, env, timeoutMs: INSTALL_TIMEOUT_MS };
  const packed = await run(['npm', 'pack', '--ignore-scripts', '--pack-destination', dir], {
    ...opts,
    cwd: root,
  });
  assert.equal(packed.code, 0, packed.output);
  const tarball = readdirSync(dir).find((f) => f.endsWith('.tgz'));
  assert.ok(tarball, packed.output);
  writeFileSync(
    join(dir, 'package.json'),
    JSON.stringify({ name: 'consumer', version: '1.0.0', private: true, type: 'module' }),
  );
  // A TypeScript bot on Node has @types/node; nothing else is installed but the package.
  const installed = await run(
    [
      'npm',
      'install',
      '--ignore-scripts',
      `./${tarball}`,
      `@types/node@${pkg.devDependencies['@types/node']}`,
    ],
    opts,
  );
  assert.equal(installed.code, 0, installed.output);
  mkdirSync(join(dir, 'src'));
  writeFileSync(
    join(dir, 'src', 'bot.ts'),
    [
      "import { ShardManager, type CloseInfo } from 'shardline';",
      "import { decodeEtf } from 'shardline/codec';",
      "import { startSimulator } from 'shardline/simulator';",
      "import { ShardWorker } from 'shardline/redis';",
      'const sim = await startSimulator({ guilds: 1 });',
      'const manager = new ShardManager({ token: sim.tokens[0]!, intents: 1, api: sim.restUrl, shardCount: 1 });',
      'manager.on("close", (info: CloseInfo, _shardId: number) => info.code);',
      'export const used = [decodeEtf, ShardWorker, manager];',
      'await sim.close();',
    ].join('\n'),
  );
  writeFileSync(
    join(dir, 'tsconfig.json'),
    JSON.stringify({
      compilerOptions: {
        target: 'ES2023',
        module: 'NodeNext',
        moduleResolution: 'NodeNext',
        strict: true,
        skipLibCheck: false,
        noEmit: true,
      },
      include: ['src'],
    }),
  );
  const tsc = await run(
    ['node', join(root, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', 'tsconfig.json'],
    opts,
  );
  assert.equal(tsc.code, 0, `the consumer does not compile:\n${tsc.output}`);

  // An uncaught codec error, from the installed package that has no src/: the trace names the .ts line.
  const thrown = await run(
    [
      'node',
      '--enable-source-maps',
      '--input-type=module',
      '-e',
      "const { decodeEtf } = await import('shardline/codec'); decodeEtf(new Uint8Array([131, 255]));",
    ],
    opts,
  );
  assert.notEqual(thrown.code, 0);
  assert.match(thrown.stderr, /node_modules\/shardline\/src\/codec\/etf\/decode\.ts:\d+:\d+/);
});
