#!/usr/bin/env node
/**
 * `shardline <command> [flags]` — the command-line entry. Each command lives in commands/<name>.ts,
 * loaded on demand, and exports `run(argv, io) → exit code`. Bad usage exits 2 with a one-line reason.
 */
import { realpathSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { ShardlineError } from '../errors.js';
import { type CliIo, UsageError } from './args.js';

export interface Command {
  summary: string;
  usage: string;
  run(argv: string[], io: CliIo): Promise<number>;
}

type CommandLoader = () => Promise<Command>;

export const COMMANDS: Record<string, CommandLoader> = {
  demo: async () => {
    const { runDemo, DEMO_USAGE } = await import('./commands/demo.js');
    return {
      summary: 'embedded simulator + shards + live status: watch a sharded bot come alive (no token)',
      usage: DEMO_USAGE,
      run: (argv, io) => runDemo(argv, io),
    };
  },
  connect: async () => {
    const { runConnect, CONNECT_USAGE } = await import('./commands/connect.js');
    return {
      summary: "run a real bot's shards (token from $DISCORD_TOKEN) with the live status view",
      usage: CONNECT_USAGE,
      run: (argv, io) => runConnect(argv, io),
    };
  },
  tail: async () => {
    const { runTail, TAIL_USAGE } = await import('./commands/tail.js');
    return {
      summary: 'print the events that workers published to Redis Streams, as NDJSON',
      usage: TAIL_USAGE,
      run: (argv, io) => runTail(argv, io),
    };
  },
  worker: async () => {
    const { runWorker, WORKER_USAGE } = await import('./commands/worker.js');
    return {
      summary:
        'run shards coordinated through Redis (leases, event streams, commands); scale by adding workers',
      usage: WORKER_USAGE,
      run: (argv, io) => runWorker(argv, io),
    };
  },
  proxy: async () => {
    const { runProxy, PROXY_USAGE } = await import('./commands/proxy.js');
    return {
      summary: 'hold the shards and serve any unmodified bot the gateway protocol; bots restart and resume',
      usage: PROXY_USAGE,
      run: (argv, io) => runProxy(argv, io),
    };
  },
  conformance: async () => {
    const { runConformanceCommand, CONFORMANCE_USAGE } = await import('./commands/conformance.js');
    return {
      summary:
        'grade any gateway client (a command) against scripted simulator scenarios: heartbeats, faults, resumes',
      usage: CONFORMANCE_USAGE,
      run: (argv, io) => runConformanceCommand(argv, io),
    };
  },
  dashboard: async () => {
    const { runDashboard, DASHBOARD_COMMAND_USAGE } = await import('./commands/dashboard.js');
    return {
      summary: 'a live web page of a worker fleet in Redis: shards, leases, workers, streams, lag',
      usage: DASHBOARD_COMMAND_USAGE,
      run: (argv, io) => runDashboard(argv, io),
    };
  },
  record: async () => {
    const { runRecord, RECORD_USAGE } = await import('./commands/record.js');
    return {
      summary: 'connect like connect and write every gateway payload to a file that simulate --replay serves',
      usage: RECORD_USAGE,
      run: (argv, io) => runRecord(argv, io),
    };
  },
  simulate: async () => {
    const { runSimulate, SIMULATE_USAGE } = await import('./commands/simulate.js');
    return {
      summary: 'run the local gateway simulator (REST + gateway) for your own bot to connect to',
      usage: SIMULATE_USAGE,
      run: (argv, io) => runSimulate(argv, io),
    };
  },
};

export function mainUsage(): string {
  const names = Object.keys(COMMANDS);
  return [
    'usage: shardline <command> [flags]   (shardline <command> --help for its flags)',
    '',
    `commands: ${names.join(', ')}`,
  ].join('\n');
}

export async function main(argv: string[], io: CliIo): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    io.stdout.write(`${mainUsage()}\n`);
    for (const [cmd, load] of Object.entries(COMMANDS))
      io.stdout.write(`  ${cmd.padEnd(10)} ${(await load()).summary}\n`);
    return name === undefined ? 2 : 0;
  }
  const loader = COMMANDS[name];
  if (!loader) {
    io.stderr.write(`shardline: unknown command '${name}'\n${mainUsage()}\n`);
    return 2;
  }
  const command = await loader();
  // After `--` the arguments belong to another program (`conformance -- node bot.js --help`).
  const own = rest.includes('--') ? rest.slice(0, rest.indexOf('--')) : rest;
  if (own.includes('--help') || own.includes('-h')) {
    io.stdout.write(`${command.usage}\n`);
    return 0;
  }
  try {
    return await command.run(rest, io);
  } catch (err) {
    if (err instanceof UsageError) {
      io.stderr.write(`shardline ${name}: ${err.message}\n${command.usage}\n`);
      return 2;
    }
    if (err instanceof ShardlineError) {
      io.stderr.write(`shardline ${name}: ${err.message} [${err.code}]\n`);
      return 1;
    }
    throw err;
  }
}

function isEntryPoint(): boolean {
  const entry = process.argv[1];
  if (!entry) return false;
  try {
    return realpathSync(entry) === realpathSync(fileURLToPath(import.meta.url));
  } catch {
    return false;
  }
}

if (isEntryPoint()) {
  const stop = new AbortController();
  process.once('SIGINT', () => stop.abort());
  process.once('SIGTERM', () => stop.abort());
  // A reader that goes away (`shardline tail … | head`) is an ordinary end, like Ctrl-C: stop cleanly
  // instead of dying on an unhandled EPIPE. Later writes to the closed pipe fail the same way and are dropped.
  for (const stream of [process.stdout, process.stderr]) {
    stream.on('error', (err: NodeJS.ErrnoException) => {
      if (err.code === 'EPIPE') {
        stop.abort();
        return;
      }
      process.exitCode = 1;
    });
  }
  main(process.argv.slice(2), {
    stdout: process.stdout,
    stderr: process.stderr,
    env: process.env,
    signal: stop.signal,
  })
    .then((code) => {
      process.exitCode = code;
    })
    .catch((err: unknown) => {
      process.stderr.write(
        `shardline: unexpected failure: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`,
      );
      process.exitCode = 1;
    });
}
