import { createHash } from 'node:crypto';
import type { ChainableCommander, Redis } from 'ioredis';
import { toRedisError } from './client.js';

/**
 * A Lua script run with EVALSHA, falling back to EVAL once when Redis answers NOSCRIPT (after a restart or
 * SCRIPT FLUSH). Keys are passed explicitly so every key a script touches is declared.
 */
export class LuaScript {
  readonly source: string;
  readonly sha: string;
  constructor(source: string) {
    this.source = source;
    this.sha = createHash('sha1').update(source).digest('hex');
  }

  async run(redis: Redis, keys: readonly string[], args: readonly (string | number)[]): Promise<unknown> {
    try {
      return await redis.evalsha(this.sha, keys.length, ...keys, ...args);
    } catch (err) {
      if (err instanceof Error && err.message.startsWith('NOSCRIPT')) {
        try {
          return await redis.eval(this.source, keys.length, ...keys, ...args);
        } catch (err2) {
          throw toRedisError(err2);
        }
      }
      throw toRedisError(err);
    }
  }

  /** Queues the script on a pipeline (the caller makes sure it is loaded: `load()`). */
  queue(pipeline: ChainableCommander, keys: readonly string[], args: readonly (string | number)[]): void {
    pipeline.evalsha(this.sha, keys.length, ...keys, ...args);
  }

  /** SCRIPT LOAD, so pipelined EVALSHA calls find the script. */
  async load(redis: Redis): Promise<void> {
    try {
      await redis.script('LOAD', this.source);
    } catch (err) {
      throw toRedisError(err);
    }
  }
}
