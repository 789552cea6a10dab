import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import type { Redis } from 'ioredis';
import { deleteKeysWithPrefix } from '../../src/redis/client.js';
import { closeClient, createRedisClient } from '../../src/redis/index.js';

export const REDIS_URL = process.env.SHARDLINE_REDIS_URL ?? 'redis://127.0.0.1:6379';

/** A client on the shared test Redis and a random key prefix; both cleaned up after the test. */
export async function redisFixture(t: TestContext): Promise<{ redis: Redis; prefix: string }> {
  const prefix = `shardline-test:${randomBytes(6).toString('hex')}:`;
  const redis = createRedisClient(REDIS_URL);
  await redis.ping();
  t.after(async () => {
    await deleteKeysWithPrefix(redis, prefix);
    await closeClient(redis);
  });
  return { redis, prefix };
}

/** Another client on the same Redis (closed after the test). */
export function extraClient(t: TestContext, url = REDIS_URL): Redis {
  const redis = createRedisClient(url);
  t.after(() => closeClient(redis));
  return redis;
}

/** A TCP port nothing listens on (bound, then released). */
export async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  if (!address || typeof address === 'string') throw new Error('no port');
  return address.port;
}

export function redisServerAvailable(): boolean {
  return spawnSync('redis-server', ['--version'], { stdio: 'ignore' }).status === 0;
}

/**
 * A private redis-server on a free port, with an append-only file fsynced on every write so a `kill -9`
 * loses nothing; `stop()` kills it, `start()` brings it back on the same port with the same data.
 */
export class RedisServerProcess {
  readonly port: number;
  readonly dir: string;
  #child: ChildProcess | undefined;
  constructor(port: number) {
    this.port = port;
    this.dir = mkdtempSync(join(tmpdir(), 'shardline-redis-'));
  }
  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }
  static async create(t: TestContext): Promise<RedisServerProcess> {
    const server = new RedisServerProcess(await closedPort());
    t.after(async () => {
      await server.stop();
      rmSync(server.dir, { recursive: true, force: true });
    });
    await server.start();
    return server;
  }
  async start(): Promise<void> {
    const child = spawn(
      'redis-server',
      [
        '--port',
        String(this.port),
        '--bind',
        '127.0.0.1',
        '--dir',
        this.dir,
        '--save',
        '',
        '--appendonly',
        'yes',
        '--appendfsync',
        'always',
        '--daemonize',
        'no',
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    this.#child = child;
    let output = '';
    await new Promise<void>((resolve, reject) => {
      const onData = (chunk: Buffer): void => {
        output += chunk.toString();
        if (output.includes('Ready to accept connections')) {
          child.stdout?.off('data', onData);
          child.stdout?.resume();
          resolve();
        }
      };
      child.stdout?.on('data', onData);
      child.stderr?.resume();
      child.once('exit', (code) =>
        reject(new Error(`redis-server exited with ${code}: ${output.slice(-500)}`)),
      );
    });
  }
  /** Kills the server, deletes its data (as a crash that lost the disk would) and starts it EMPTY. */
  async restartEmpty(): Promise<void> {
    await this.stop();
    for (const name of readdirSync(this.dir)) rmSync(join(this.dir, name), { recursive: true, force: true });
    await this.start();
  }
  async stop(): Promise<void> {
    const child = this.#child;
    this.#child = undefined;
    if (!child || child.exitCode !== null) return;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGKILL');
    await exited;
  }
}

export { waitFor } from './wait.js';

/** A client pointed at a closed port, retrying its connection every 50 ms (commands fail fast). */
export async function unreachableClient(t: TestContext): Promise<Redis> {
  const port = await closedPort();
  const redis = createRedisClient(`redis://127.0.0.1:${port}`, { redisOptions: { retryStrategy: () => 50 } });
  t.after(() => closeClient(redis));
  return redis;
}
