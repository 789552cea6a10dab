/**
 * Every command README.md tells a reader to run works on a fresh clone. The README's commands are
 * extracted (```sh fences and inline `npm …` / `node dist/…` / `shardline …` code); each must have a case
 * below, else the first test fails naming it, so a README edit cannot go untested. The second test makes a
 * fresh copy of the repository, runs `npm install` and `npm start` there exactly as a new user would, then
 * every other case in that copy, with short durations. Cases that cannot run inside the suite say why and
 * check what they can instead (the npm script exists, the file the command names was built).
 *
 * Adding a case is one entry in CASES: the README command as written, how it is run, what is asserted, and
 * `check`. A case that needs Redis says `needs: ['redis']` (127.0.0.1:6379, which CI provides).
 */
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { type TestContext, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { RedisEventPublisher } from '../../src/redis/index.js';
import { logMessages } from '../support/log-lines.js';
import {
  extractReadmeCommands,
  type Finished,
  freshCopy,
  killLeftovers,
  type Running,
  redisAnswers,
  run,
  start,
  usageCommandNames,
  userEnv,
  waitFor,
} from '../support/readme.js';
import { redisFixture } from '../support/redis.js';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const README = readFileSync(join(root, 'README.md'), 'utf8');
const MAIN = 'dist/src/cli/main.js';

/** Generous limits, only so a hung command fails the test instead of hanging it; never asserted. */
const INSTALL_TIMEOUT_MS = 240_000;
const COMMAND_TIMEOUT_MS = 120_000;

interface Ctx {
  /** The fresh copy every case runs in. */
  dir: string;
  env: NodeJS.ProcessEnv;
  t: TestContext;
  /** What earlier cases left for later ones (e.g. the output of `npm start`). */
  notes: Map<string, Finished>;
}

interface Case {
  /**
   * The command exactly as README.md writes it (whitespace collapsed, trailing `# comment` cut); several
   * when they only work together (a script whose lines depend on each other).
   */
  readme: string | readonly string[];
  /** How the test runs it; for commands it cannot run, why not (and what it checks instead). */
  runs: string;
  asserts: string;
  /** Set when the command itself is not run inside the suite: the justification. */
  notRun?: string;
  needs?: readonly 'redis'[];
  check(ctx: Ctx): Promise<void>;
}

const opts = (ctx: Ctx, timeoutMs = COMMAND_TIMEOUT_MS) => ({ cwd: ctx.dir, env: ctx.env, timeoutMs });

function ok(r: Finished, what: string): void {
  assert.equal(r.code, 0, `${what} exited ${r.code ?? r.signal}\n${r.output.slice(-4000)}`);
}

function packageScripts(ctx: Ctx): Record<string, string> {
  return (
    JSON.parse(readFileSync(join(ctx.dir, 'package.json'), 'utf8')) as { scripts: Record<string, string> }
  ).scripts;
}

/** The demo's plain-line output: every shard went READY and the summary reports no loss. */
function assertCleanDemo(r: Finished, shards: number, { faults }: { faults: boolean }): void {
  for (let id = 0; id < shards; id++)
    assert.match(r.stdout, new RegExp(`^shard ${id}: \\S+ -> ready$`, 'm'), `shard ${id} never READY`);
  const summary = r.stdout.split('\n').find((l) => l.startsWith('summary: '));
  assert.ok(summary, `no summary line:\n${r.output.slice(-4000)}`);
  assert.match(
    summary,
    new RegExp(`^summary: ${shards}/${shards} shards ready · [1-9]\\d* dispatches delivered`),
  );
  assert.match(summary, / · 0 rule violations · /);
  const sessions = /(\d+)\/(\d+) sessions delivered every sequenced dispatch exactly once$/.exec(summary);
  assert.ok(sessions, summary);
  assert.equal(sessions[1], sessions[2], summary);
  assert.ok(Number(sessions[2]) >= shards, summary);
  assert.doesNotMatch(r.stdout, /delivered \d+, sequenced \d+/);
  assert.doesNotMatch(r.stdout, /^(violations|errors): /m);
  if (faults) {
    assert.match(r.stdout, /^fault: \S+ -> shard \d+$/m);
    assert.doesNotMatch(summary, / · 0 faults injected · /);
  }
  assert.ok(!r.stdout.includes('\x1b['), 'not a terminal: plain lines, no screen redraws');
}

/** Starts `simulate` from the fresh copy and reads the URL (and the token, unless `--token` was given). */
async function simulate(ctx: Ctx, args: readonly string[], printsToken = true) {
  const sim = start(['node', MAIN, 'simulate', ...args], opts(ctx));
  ctx.t.after(() => sim.kill('SIGKILL'));
  const url = /^simulator listening on (http:\/\/127\.0\.0\.1:\d+)$/.exec(
    await sim.line(/^simulator listening on /),
  )?.[1];
  assert.ok(url, 'simulate printed its URL first');
  if (!printsToken) return { ...sim, url, token: '' };
  const token = /^token: (\S+)$/.exec(await sim.line(/^token: /))?.[1];
  assert.ok(token, 'simulate printed its token after its URL');
  return { ...sim, url, token };
}

/** The "Scale out on Redis" lines (see its case). */
const SCALE_OUT = [
  'node dist/src/cli/main.js simulate --port 4100 --shards 4 --identify-window 1000 --events-per-second 20 --token sim-token &',
  'export DISCORD_TOKEN=sim-token',
  'node dist/src/cli/main.js worker --redis redis://127.0.0.1:6379 --api http://127.0.0.1:4100/api --shard-ids auto --identify-window 1000 &',
  'node dist/src/cli/main.js tail --redis redis://127.0.0.1:6379 --from 0 --count 20',
] as const;

/** The "Restart a bot behind the gateway proxy" lines (see its case). */
const PROXY_RESTART = [
  'node dist/src/cli/main.js simulate --port 4200 --shards 2 --events-per-second 20 --token proxy-demo-token &',
  'export DISCORD_TOKEN=proxy-demo-token',
  'node dist/src/cli/main.js proxy --port 4300 --api http://127.0.0.1:4200/api --client-token-env DISCORD_TOKEN &',
  'node dist/src/cli/main.js connect --api http://127.0.0.1:4300/api --session-file bot.json --duration 5',
  'curl -s http://127.0.0.1:4200/_simulator/stats',
] as const;

/** A README command line as argv (README commands use no quoting), without a trailing `&`. */
function argvOf(line: string): string[] {
  return line.replace(/\s*&$/, '').split(' ');
}

/** Shards a worker's log says are READY (or resumed) and not taken again or given up since. */
function readyShards(log: string): Set<number> {
  const ready = new Set<number>();
  for (const line of logMessages(log).split('\n')) {
    const taken = /^owns shard (\d+) /.exec(line);
    const up = /^shard (\d+) (?:ready|resumed) /.exec(line);
    const lost = /^(?:released|gave up) shard (\d+)/.exec(line);
    if (taken || lost) ready.delete(Number((taken ?? lost)![1]));
    if (up) ready.add(Number(up[1]));
  }
  return ready;
}

/** The union of the workers' READY shards. */
function readyAcross(workers: readonly Running[]): Set<number> {
  return new Set(workers.flatMap((w) => [...readyShards(w.stdout())]));
}

/** `npm run bench -- NAME` / `node … dist/bench/FILE`: not run; the bench the command names was built. */
function benchCase(readme: string): Case {
  const named = /dist\/bench\/(\S+\.bench\.js)/.exec(readme)?.[1];
  const filter = /^npm run bench -- (\S+)$/.exec(readme)?.[1];
  return {
    readme,
    runs: 'not run',
    notRun:
      'a benchmark: minutes of CPU on a shared 2-core machine, and its numbers mean nothing inside a test run',
    asserts: named
      ? `dist/bench/${named} exists after the build and reads the flags the README passes`
      : `the bench script exists and a dist/bench/*.bench.js matches '${filter}'`,
    async check(ctx) {
      if (named) {
        const file = join(ctx.dir, 'dist', 'bench', named);
        assert.ok(existsSync(file), `dist/bench/${named} was not built`);
        // The flags the README passes are ones the bench reads (bench/harness.ts `benchFlag`).
        const source = readFileSync(file, 'utf8');
        const after = readme.slice(readme.indexOf(named) + named.length);
        for (const [, flag] of after.matchAll(/ --([\w-]+)/g))
          assert.ok(source.includes(`benchFlag('${flag}')`), `${named} does not read --${flag}`);
        return;
      }
      assert.ok(filter, `cannot read the bench filter in '${readme}'`);
      assert.match(packageScripts(ctx).bench ?? '', /run-benches\.mjs/);
      const built = readdirSync(join(ctx.dir, 'dist', 'bench')).filter((f) => f.endsWith('.bench.js'));
      assert.ok(
        built.some((f) => f.includes(filter)),
        `no dist/bench/*.bench.js matches '${filter}': ${built.join(', ')}`,
      );
    },
  };
}

/** The end-to-end bench (bench/e2e.ts): not a `*.bench.js`, run through `npm run bench:e2e` or directly. */
function e2eBenchCase(readme: string): Case {
  const flags = [...readme.matchAll(/ --([\w-]+)/g)].map((m) => m[1]!).filter((f) => f !== 'expose-gc');
  return {
    readme,
    runs: 'not run',
    notRun:
      'a benchmark: about 10 minutes of CPU on a shared 2-core machine, and its numbers mean nothing inside a test run',
    asserts: `the bench:e2e script builds and runs dist/bench/e2e.js, which exists and reads ${flags.map((f) => `--${f}`).join(', ')}`,
    async check(ctx) {
      assert.match(packageScripts(ctx)['bench:e2e'] ?? '', /npm run build && node .*dist\/bench\/e2e\.js/);
      const file = join(ctx.dir, 'dist', 'bench', 'e2e.js');
      assert.ok(existsSync(file), 'dist/bench/e2e.js was not built');
      const source = readFileSync(file, 'utf8');
      for (const flag of flags)
        assert.ok(source.includes(`benchFlag('${flag}')`), `dist/bench/e2e.js does not read --${flag}`);
    },
  };
}

/**
 * README command → how it is run → what is asserted. Run in this order, in one fresh copy: the install and
 * `npm start` come first because everything after them uses what they built.
 */
const CASES: readonly Case[] = [
  {
    readme: 'npm install && npm start',
    runs: 'in a fresh copy: `npm install`, then `npm start -- --duration 3` (stdout a pipe, no stdin)',
    asserts:
      'both exit 0; the install builds dist/ and says so; npm start runs the prestart build, which finds dist/ up to date; all 4 shards go READY; the summary: 4/4 ready, 0 rule violations, every session delivered what the simulator sequenced',
    async check(ctx) {
      // Plain `npm install`, as a new user runs it (only audit/fund/update checks are off, see userEnv):
      // with npm's cache warm it took 4–6 s in a fresh temp dir on the loaded 2-core machine, so there is
      // no need for a stand-in such as `npm ci --prefer-offline`. Its `prepare` script compiles dist/.
      const installed = await run(['npm', 'install'], opts(ctx, INSTALL_TIMEOUT_MS));
      ok(installed, 'npm install');
      assert.match(installed.output, /^build: compiling TypeScript to dist\/ with tsc /m);
      assert.match(installed.output, /^build: done in \d+\.\d s$/m);
      const r = await run(['npm', 'start', '--', '--duration', '3'], opts(ctx));
      ctx.notes.set('npm start', r);
      ok(r, 'npm start');
      assert.match(r.stdout, /^> npm run build$/m, 'npm start runs the build first');
      assert.match(r.stdout, /^build: dist\/ is up to date /m, 'the install built it already');
      assertCleanDemo(r, 4, { faults: false });
    },
  },
  {
    readme: 'npm start',
    runs: 'already run: the `npm install && npm start` case above runs it (with `-- --duration 3`)',
    asserts: 'that run exited 0 with a clean summary (asserted there)',
    async check(ctx) {
      const started = ctx.notes.get('npm start');
      assert.ok(started, 'the npm install && npm start case ran');
      ok(started, 'npm start');
    },
  },
  {
    readme: 'npm test',
    runs: 'not run',
    notRun: 'recursive: `npm test` is what CI runs, and this test is part of it',
    asserts: 'the test script runs scripts/run-tests.mjs and pretest runs lint + build',
    async check(ctx) {
      const scripts = packageScripts(ctx);
      assert.match(scripts.test ?? '', /scripts\/run-tests\.mjs/);
      assert.match(scripts.pretest ?? '', /npm run lint/);
      assert.match(scripts.pretest ?? '', /npm run build/);
    },
  },
  {
    readme: 'npm run build',
    runs: 'after a source file is touched in the fresh copy (the install already built dist/)',
    asserts: 'exit 0; it says it recompiles what changed and how long it took; dist/src/cli/main.js exists',
    async check(ctx) {
      const source = join(ctx.dir, 'src', 'cli', 'main.ts');
      const now = new Date(Date.now() + 1000);
      utimesSync(source, now, now);
      const r = await run(['npm', 'run', 'build'], opts(ctx));
      ok(r, 'npm run build');
      assert.match(r.stdout, /^build: recompiling what changed since the last build \(tsc, incremental\)/m);
      assert.match(r.stdout, /^build: done in \d+\.\d s$/m);
      assert.ok(existsSync(join(ctx.dir, MAIN)));
    },
  },
  {
    readme: 'shardline demo',
    runs: 'checked, not run again: `npm start` is how the README runs it (the case above)',
    asserts: 'the start script is `node dist/src/cli/main.js demo` and the `shardline` bin is that file',
    async check(ctx) {
      const pkg = JSON.parse(readFileSync(join(ctx.dir, 'package.json'), 'utf8')) as {
        scripts: Record<string, string>;
        bin: Record<string, string>;
      };
      assert.equal(pkg.scripts.start, `node ${MAIN} demo`);
      assert.equal(pkg.bin.shardline, MAIN);
    },
  },
  {
    readme: 'npm start -- --duration 20 --fault-every 2',
    runs: '`npm start -- --duration 6 --fault-every 2` (6 s instead of 20)',
    asserts:
      'exit 0; faults were injected; all 4 shards READY at the end; 0 rule violations; every session delivered what the simulator sequenced',
    async check(ctx) {
      const r = await run(['npm', 'start', '--', '--duration', '6', '--fault-every', '2'], opts(ctx));
      ok(r, 'npm start with faults');
      assertCleanDemo(r, 4, { faults: true });
    },
  },
  {
    readme: 'node dist/src/cli/main.js <command>',
    runs: '`node dist/src/cli/main.js --help` (each command is run in the cases that follow)',
    asserts: 'exit 0; it lists every command of the README commands table',
    async check(ctx) {
      const r = await run(['node', MAIN, '--help'], opts(ctx));
      ok(r, 'main.js --help');
      const listed = /^commands: (.*)$/m.exec(r.stdout)?.[1]?.split(', ') ?? [];
      for (const name of usageCommandNames(extractReadmeCommands(README)))
        assert.ok(listed.includes(name), `'${name}' is in the README table but not in: ${r.stdout}`);
    },
  },
  {
    readme: 'shardline <command>',
    runs: '`npm pack` the fresh copy, `npm install` the tarball into an empty project, then its `node_modules/.bin/shardline --help` and `shardline demo --duration 2 --shard-count 1 --guilds 5`',
    asserts:
      'the installed bin lists every README command and the demo runs to a clean summary from the installed package (its runtime dependencies are dependencies)',
    async check(ctx) {
      const consumer = join(ctx.dir, '.readme-consumer');
      mkdirSync(consumer);
      const packed = await run(['npm', 'pack', '--pack-destination', consumer], opts(ctx));
      ok(packed, 'npm pack');
      const tarball = readdirSync(consumer).find((f) => f.endsWith('.tgz'));
      assert.ok(tarball, packed.output);
      writeFileSync(
        join(consumer, 'package.json'),
        JSON.stringify({ name: 'readme-consumer', version: '1.0.0', private: true, type: 'module' }),
      );
      const inConsumer = { cwd: consumer, env: ctx.env, timeoutMs: INSTALL_TIMEOUT_MS };
      ok(await run(['npm', 'install', `./${tarball}`], inConsumer), 'npm install <tarball>');
      const bin = join(consumer, 'node_modules', '.bin', 'shardline');
      const help = await run([bin, '--help'], inConsumer);
      ok(help, 'shardline --help');
      for (const name of usageCommandNames(extractReadmeCommands(README)))
        assert.match(help.stdout, new RegExp(`^commands: .*\\b${name}\\b`, 'm'));
      const demo = await run(
        [bin, 'demo', '--duration', '2', '--shard-count', '1', '--guilds', '5'],
        inConsumer,
      );
      ok(demo, 'installed shardline demo');
      assertCleanDemo(demo, 1, { faults: false });
    },
  },
  {
    readme: 'node dist/src/cli/main.js simulate --guilds 50 --events-per-second 20',
    runs: 'exactly that; a client GETs /api/v10/gateway/bot with the printed token; then SIGINT',
    asserts:
      'it prints `simulator listening on http://127.0.0.1:PORT` then `token: …`; gateway/bot answers 200 with a ws:// url on the same port and shards ≥ 1; exits 0 on SIGINT',
    async check(ctx) {
      const sim = await simulate(ctx, ['--guilds', '50', '--events-per-second', '20']);
      const res = await fetch(`${sim.url}/api/v10/gateway/bot`, {
        headers: { authorization: `Bot ${sim.token}` },
      });
      assert.equal(res.status, 200);
      const body = (await res.json()) as { url: string; shards: number };
      assert.equal(body.url.replace(/^ws:/, 'http:').replace(/\/$/, ''), sim.url);
      assert.ok(body.shards >= 1);
      sim.kill('SIGINT');
      const end = await sim.done;
      ok(end, 'simulate after SIGINT');
    },
  },
  {
    readme:
      'shardline connect [--token-env NAME --api URL --intents LIST --shard-count auto|N --events --session-file PATH --metrics-port N --dashboard-port N --duration S --log-format json|pretty --log-level L]',
    runs: 'not against Discord (no network or real token in a test): `node dist/src/cli/main.js connect --api <simulate URL>/api --events --duration 3` against `simulate --guilds 5` from the fresh copy, the token in $DISCORD_TOKEN',
    asserts:
      'exit 0; NDJSON events on stdout: READY first, one GUILD_CREATE per guild, seqs 1..n; the token appears in no output',
    async check(ctx) {
      const sim = await simulate(ctx, ['--guilds', '5']);
      const r = await run(
        ['node', MAIN, 'connect', '--api', `${sim.url}/api`, '--events', '--duration', '3'],
        {
          ...opts(ctx),
          env: { ...ctx.env, DISCORD_TOKEN: sim.token },
        },
      );
      sim.kill('SIGINT');
      ok(r, 'connect');
      const events = r.stdout
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l) as { s: number; t: string });
      assert.equal(events[0]?.t, 'READY');
      assert.equal(events.filter((e) => e.t === 'GUILD_CREATE').length, 5);
      assert.deepEqual(
        events.map((e) => e.s),
        events.map((_, i) => i + 1),
      );
      assert.ok(!r.output.includes(sim.token), 'the token was printed');
      ok(await sim.done, 'simulate after SIGINT');
    },
  },
  {
    readme:
      'shardline conformance [--json --scenario NAME ... --env NAME=VAR ... --heartbeat-interval MS] -- <command>',
    runs: '`node dist/src/cli/main.js conformance --json --scenario heartbeat-request -- node dist/scripts/conformance-client.js`',
    asserts: 'exit 0; one JSON report whose only result is heartbeat-request: pass',
    async check(ctx) {
      const r = await run(
        [
          'node',
          MAIN,
          'conformance',
          '--json',
          '--scenario',
          'heartbeat-request',
          '--',
          'node',
          'dist/scripts/conformance-client.js',
        ],
        opts(ctx),
      );
      ok(r, 'conformance');
      const report = JSON.parse(r.stdout.trim().split('\n').at(-1) ?? '{}') as {
        results: { scenario: string; verdict: string }[];
      };
      assert.deepEqual(
        report.results.map((x) => [x.scenario, x.verdict]),
        [['heartbeat-request', 'pass']],
      );
    },
  },
  {
    readme: ['npm run conformance', 'npm run conformance:peers'],
    runs: 'not run',
    notRun:
      'every scenario against one client takes about a minute, against all peers several; the suite runs a subset (test/integration/conformance.test.ts)',
    asserts:
      'the scripts build and run the conformance command on the client script, and the peers script exists',
    async check(ctx) {
      const scripts = packageScripts(ctx);
      assert.match(scripts.conformance ?? '', /conformance -- node dist\/scripts\/conformance-client\.js/);
      assert.match(scripts['conformance:peers'] ?? '', /scripts\/conformance-peers\.mjs/);
      assert.ok(existsSync(join(ctx.dir, 'scripts', 'conformance-peers.mjs')));
    },
  },
  {
    readme: 'shardline tail --redis URL [--group G] [--types MESSAGE_CREATE,...]',
    needs: ['redis'],
    runs: 'three events published under a random key prefix, then `node dist/src/cli/main.js tail --redis redis://127.0.0.1:6379 --types MESSAGE_CREATE --prefix P --from 0 --count 2`',
    asserts: 'exit 0; exactly the two MESSAGE_CREATE events, as NDJSON, in order',
    async check(ctx) {
      const { redis, prefix } = await redisFixture(ctx.t);
      const publisher = new RedisEventPublisher({ redis, prefix });
      publisher.publish({ shardId: 0, sessionId: 's', seq: 1, type: 'GUILD_CREATE', data: { id: '1' } });
      publisher.publish({
        shardId: 0,
        sessionId: 's',
        seq: 2,
        type: 'MESSAGE_CREATE',
        data: { content: 'a' },
      });
      publisher.publish({
        shardId: 0,
        sessionId: 's',
        seq: 3,
        type: 'MESSAGE_CREATE',
        data: { content: 'b' },
      });
      await publisher.close();
      const r = await run(
        [
          'node',
          MAIN,
          'tail',
          '--redis',
          'redis://127.0.0.1:6379',
          '--types',
          'MESSAGE_CREATE',
          '--prefix',
          prefix,
          '--from',
          '0',
          '--count',
          '2',
        ],
        opts(ctx),
      );
      ok(r, 'tail');
      const lines = r.stdout
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l) as { seq: number; t: string });
      assert.deepEqual(
        lines.map((l) => [l.t, l.seq]),
        [
          ['MESSAGE_CREATE', 2],
          ['MESSAGE_CREATE', 3],
        ],
      );
    },
  },
  {
    readme: [...SCALE_OUT, 'shardline worker'],
    needs: ['redis'],
    runs: 'the "Scale out on Redis" script, line by line, each command as written except: the simulator on --port 0 (this machine is shared, 4100 may be taken) and the workers pointed at the port it printed; DISCORD_TOKEN=sim-token in the workers\' environment; workers and tail with an added --prefix <random> (the Redis is shared; the keys are deleted after); then `kill -9` of one worker',
    asserts:
      'tail exits 0 with 20 NDJSON events; each worker ends up owning two of the four shards, all READY; after kill -9 of one, the other owns all four and resumes the dead one\'s two; on SIGTERM it exits 0 with "stopped: events flushed, leases released"; the token is in no output',
    async check(ctx) {
      const [simLine, , workerLine, tailLine] = SCALE_OUT;
      const { prefix } = await redisFixture(ctx.t);
      const simArgv = argvOf(simLine);
      assert.deepEqual(simArgv.slice(0, 3), ['node', MAIN, 'simulate']);
      const sim = await simulate(
        ctx,
        simArgv.slice(3).map((a) => (a === '4100' ? '0' : a)),
        false,
      );
      const port = new URL(sim.url).port;
      const env = { ...ctx.env, DISCORD_TOKEN: 'sim-token' };
      const local = (line: string) => [
        ...argvOf(line).map((a) => a.replace('127.0.0.1:4100', `127.0.0.1:${port}`)),
        '--prefix',
        prefix,
      ];
      const workers = [0, 1].map(() => start(local(workerLine), { ...opts(ctx), env }));
      ctx.t.after(() => {
        for (const w of workers) w.kill('SIGKILL');
      });
      const tail = await run(local(tailLine), { ...opts(ctx), env });
      ok(tail, 'tail');
      const events = tail.stdout
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l) as { shard: number; t: string });
      assert.equal(events.length, 20);
      assert.ok(events.some((e) => e.t === 'READY'));

      const logs = () => workers.map((w, i) => `worker ${i}:\n${w.stdout()}`).join('\n');
      await waitFor(
        () => workers.every((w) => readyShards(w.stdout()).size === 2) && readyAcross(workers).size === 4,
        { what: () => `the workers did not settle on two READY shards each:\n${logs()}`, timeoutMs: 90_000 },
      );
      const [victim, survivor] = workers as [Running, Running];
      const moved = [...readyShards(victim.stdout())];
      victim.kill('SIGKILL');
      await victim.done;
      await waitFor(
        () =>
          moved.every((id) => new RegExp(`^shard ${id} resumed `, 'm').test(logMessages(survivor.stdout()))),
        {
          what: () => `the surviving worker did not resume shards ${moved.join(', ')}:\n${logs()}`,
          timeoutMs: 90_000,
        },
      );
      survivor.kill('SIGTERM');
      const end = await survivor.done;
      ok(end, 'worker after SIGTERM');
      assert.match(logMessages(end.stdout), /^stopped: events flushed, leases released$/m);
      for (const w of workers) assert.ok(!w.stdout().includes('sim-token'), 'a worker printed the token');
      assert.ok(!tail.output.includes('sim-token'));
      sim.kill('SIGINT');
      ok(await sim.done, 'simulate after SIGINT');
    },
  },
  {
    readme: PROXY_RESTART,
    runs: 'the "Restart a bot behind the gateway proxy" script line by line, as written except: the simulator and the proxy on --port 0 (this machine is shared) and the later lines pointed at the ports they printed; DISCORD_TOKEN=proxy-demo-token in the environment; the connect line run twice, as the README does; the stats fetched with curl',
    asserts:
      'the proxy prints its URL and "upstream ready: 2 shards"; the first connect run identifies both shards and exits 0; the second RESUMEs both against the proxy (no identify) and exits 0; the simulator\'s stats count 2 connections, 2 identifies and 0 resumes before and after the bot\'s runs; the token is in no output',
    async check(ctx) {
      const [simLine, , proxyLine, botLine, curlLine] = PROXY_RESTART;
      const simArgv = argvOf(simLine);
      assert.deepEqual(simArgv.slice(0, 3), ['node', MAIN, 'simulate']);
      const sim = await simulate(
        ctx,
        simArgv.slice(3).map((a) => (a === '4200' ? '0' : a)),
        false,
      );
      const simPort = new URL(sim.url).port;
      const env = { ...ctx.env, DISCORD_TOKEN: 'proxy-demo-token' };
      const proxyArgv = argvOf(proxyLine).map((a) =>
        a === '4300' ? '0' : a.replace('127.0.0.1:4200', `127.0.0.1:${simPort}`),
      );
      const proxy = start(proxyArgv, { ...opts(ctx), env });
      ctx.t.after(() => proxy.kill('SIGKILL'));
      const proxyUrl = /^proxy listening on (http:\/\/127\.0\.0\.1:\d+)$/.exec(
        await proxy.line(/^proxy listening on /),
      )?.[1];
      assert.ok(proxyUrl, 'proxy printed its URL first');
      await proxy.line(/^upstream ready: 2 shards/);
      const proxyPort = new URL(proxyUrl).port;
      const stats = async () => {
        const r = await run(
          argvOf(curlLine).map((a) => a.replace('127.0.0.1:4200', `127.0.0.1:${simPort}`)),
          opts(ctx),
        );
        ok(r, 'curl');
        return JSON.parse(r.stdout) as { connectionsTotal: number; identifies: number; resumes: number };
      };
      const upstream = (s: Awaited<ReturnType<typeof stats>>) => [
        s.connectionsTotal,
        s.identifies,
        s.resumes,
      ];
      assert.deepEqual(upstream(await stats()), [2, 2, 0], 'the proxy holds two upstream shards');
      const bot = () =>
        run(
          argvOf(botLine).map((a) => a.replace('127.0.0.1:4300', `127.0.0.1:${proxyPort}`)),
          { ...opts(ctx), env },
        );
      const first = await bot();
      ok(first, 'connect, first run');
      for (const id of [0, 1])
        assert.match(logMessages(first.output), new RegExp(`^shard ${id}: identifying -> ready$`, 'm'));
      const second = await bot();
      ok(second, 'connect, second run');
      for (const id of [0, 1])
        assert.match(logMessages(second.output), new RegExp(`^shard ${id}: resuming -> ready$`, 'm'));
      assert.doesNotMatch(
        logMessages(second.output),
        /-> identifying$/m,
        'the restarted bot resumed against the proxy',
      );
      assert.deepEqual(
        upstream(await stats()),
        [2, 2, 0],
        'the upstream shards never reconnected or identified',
      );
      for (const r of [first, second])
        assert.ok(!r.output.includes('proxy-demo-token'), 'the bot printed the token');
      assert.ok(!proxy.stdout().includes('proxy-demo-token'), 'the proxy printed the token');
      proxy.kill('SIGINT');
      await proxy.done;
      sim.kill('SIGINT');
      ok(await sim.done, 'simulate after SIGINT');
    },
  },
  {
    readme: 'npm --prefix bench install',
    runs: 'not run',
    notRun:
      'installs the optional native benchmark peers (erlpack, zlib-sync, zstd-napi: node-gyp builds), which nothing but the benches needs',
    asserts: 'bench/package.json exists, is private and lists the peers the benchmark tables compare against',
    async check(ctx) {
      const pkg = JSON.parse(readFileSync(join(ctx.dir, 'bench', 'package.json'), 'utf8')) as {
        private: boolean;
        dependencies: Record<string, string>;
      };
      assert.equal(pkg.private, true);
      for (const peer of ['erlpack', 'zlib-sync', 'zstd-napi', 'fzstd'])
        assert.ok(peer in pkg.dependencies, peer);
    },
  },
  benchCase('npm run bench -- etf'),
  benchCase('npm run bench -- zlib'),
  benchCase('node --expose-gc dist/bench/zstd.bench.js'),
  benchCase('node --expose-gc dist/bench/simulator.bench.js --connections 2500 --seconds 5'),
  benchCase('node dist/bench/manager-startup.bench.js'),
  benchCase('node dist/bench/shard-receive.bench.js'),
  benchCase('node dist/bench/redis.bench.js'),
  e2eBenchCase('npm run bench:e2e -- --runs 5 --json /tmp/e2e.json'),
  e2eBenchCase('node --expose-gc dist/bench/e2e.js --runs 5 --scenarios idle-200'),
  {
    readme:
      'npm run chaos -- --minutes N --seed S [--encoding json|etf --compression zlib-stream|zstd-stream|none]',
    runs: '`npm run chaos -- --minutes 0.1 --seed 3 --encoding json --compression zstd-stream` (6 s of faults instead of N minutes; the optional flags set to the non-defaults)',
    asserts:
      'exit 0; the report says OK for json + zstd-stream with 16/16 shards ready, 0 unhandled errors and the token in 0 lines',
    async check(ctx) {
      const r = await run(
        [
          'npm',
          'run',
          'chaos',
          '--',
          '--minutes',
          '0.1',
          '--seed',
          '3',
          '--encoding',
          'json',
          '--compression',
          'zstd-stream',
        ],
        opts(ctx),
      );
      ok(r, 'npm run chaos');
      assert.match(r.stdout, /^chaos report \(seed 3, 0\.1 min, 16 shards, json \+ zstd-stream\): OK$/m);
      assert.match(r.stdout, /^ {2}shards ready {8}16\/16$/m);
      assert.match(r.stdout, /^ {2}unhandled errors {4}0$/m);
      assert.match(r.stdout, /^ {2}token in output {5}0 of \d+ lines$/m);
    },
  },
  {
    readme: 'npm run fuzz -- --seconds N [--seed S --target etf,zlib,zstd,simulator]',
    runs: '`npm run fuzz -- --seconds 1 --seed 5 --target etf,zlib,zstd,simulator` (1 s per target instead of N)',
    asserts: 'exit 0; every target reports its inputs, and the run ends with no findings',
    async check(ctx) {
      const r = await run(
        ['npm', 'run', 'fuzz', '--', '--seconds', '1', '--seed', '5', '--target', 'etf,zlib,zstd,simulator'],
        opts(ctx),
      );
      ok(r, 'npm run fuzz');
      for (const target of ['etf', 'zlib', 'zstd', 'simulator'])
        assert.match(r.stdout, new RegExp(`^ {2}${target}: seed \\d+, [1-9]\\d* inputs in `, 'm'), target);
      assert.match(r.stdout, /^fuzz: no findings$/m);
    },
  },
];

test('every command in README.md has a case, and every case a command in README.md', () => {
  const commands = extractReadmeCommands(README);
  // The extraction itself: the set-up line, the simulator line and the commands table are found.
  assert.ok(commands.some((c) => c.command === 'npm install && npm start' && c.kind === 'sh-fence'));
  assert.ok(usageCommandNames(commands).includes('demo'));
  const cased = new Set(CASES.flatMap((c) => c.readme));
  const missing = commands.filter((c) => c.kind !== 'usage' && !cased.has(c.command));
  assert.deepEqual(
    missing.map((c) => `README.md:${c.line}: ${c.command}`),
    [],
    'README commands without a case in test/integration/readme-commands.test.ts (add one to CASES)',
  );
  const known = new Set(commands.map((c) => c.command));
  const stale = CASES.flatMap((c) => c.readme).filter((r) => !known.has(r));
  assert.deepEqual(stale, [], 'cases for commands README.md no longer has (remove or update them)');
  assert.equal(cased.size, CASES.flatMap((c) => c.readme).length, 'one case per command');
});

test('the README commands work on a fresh copy of the repository', { timeout: 540_000 }, async (t) => {
  const dir = freshCopy(root);
  t.after(async () => {
    await killLeftovers();
    rmSync(dir, { recursive: true, force: true });
  });
  const ctx: Omit<Ctx, 't'> = { dir, env: userEnv({ CI: 'true' }), notes: new Map() };
  for (const c of CASES) {
    const commands = typeof c.readme === 'string' ? c.readme : c.readme.join(' ; ');
    const name = c.notRun ? `${commands} (not run: ${c.notRun})` : commands;
    await t.test(name, { timeout: 300_000 }, async (st) => {
      if (c.needs?.includes('redis'))
        assert.ok(await redisAnswers('127.0.0.1', 6379), 'this case needs Redis on 127.0.0.1:6379');
      await c.check({ ...ctx, t: st });
    });
  }
});

test('every command in the README commands table takes --help, knows the flags the table lists, and rejects bad usage with exit 2', async () => {
  const rows = extractReadmeCommands(README).filter((c) => c.kind === 'usage');
  assert.ok(rows.length >= 4, rows.map((r) => r.command).join('\n'));
  const inRepo = { cwd: root, env: userEnv(), timeoutMs: COMMAND_TIMEOUT_MS };
  for (const row of rows) {
    const name = /^shardline ([\w-]+)/.exec(row.command)?.[1];
    assert.ok(name, `README.md:${row.line}: no command name in '${row.command}'`);
    const help = await run(['node', MAIN, name, '--help'], inRepo);
    assert.equal(help.code, 0, `${name} --help: ${help.output}`);
    assert.match(help.stdout, new RegExp(`^usage: shardline ${name} `));
    for (const [, flag] of row.command.matchAll(/--([\w-]+)/g))
      assert.ok(help.stdout.includes(`--${flag}`), `README.md:${row.line}: ${name} --help has no --${flag}`);
    const bad = await run(['node', MAIN, name, '--no-such-flag'], inRepo);
    assert.equal(bad.code, 2, `${name} --no-such-flag: ${bad.output}`);
    const [reason, usage] = bad.stderr.split('\n');
    assert.match(reason ?? '', new RegExp(`^shardline ${name}: .*no-such-flag`));
    assert.match(usage ?? '', new RegExp(`^usage: shardline ${name} `));
  }
});
