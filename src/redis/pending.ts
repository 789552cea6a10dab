import type { Redis } from 'ioredis';
import { LuaScript } from './script.js';

/** One Redis command run inside an acknowledgement step: `['HINCRBY', 'key', 'field', 1]`. */
export type RedisCommand = readonly [command: string, ...args: (string | number)[]];

/** Commands one acknowledgement step may carry (the arguments travel as one EVALSHA call). */
export const MAX_ACK_COMMANDS = 64;
/** Arguments of one such command. */
export const MAX_ACK_COMMAND_ARGS = 64;

const COMMAND_NAME = /^[A-Za-z][A-Za-z.|_-]{0,31}$/;
/** Script control, which Redis refuses inside a script anyway: refused early, with a clear message. */
const REFUSED = new Set([
  'EVAL',
  'EVALSHA',
  'EVAL_RO',
  'EVALSHA_RO',
  'FCALL',
  'FCALL_RO',
  'SCRIPT',
  'FUNCTION',
]);

/** Why a command cannot be queued, or undefined when it can. */
export function checkRedisCommand(command: unknown): string | undefined {
  if (!Array.isArray(command) || command.length === 0) return 'a command is a non-empty array';
  const [name, ...args] = command as unknown[];
  if (typeof name !== 'string' || !COMMAND_NAME.test(name)) return `bad command name ${String(name)}`;
  if (REFUSED.has(name.toUpperCase())) return `${name} cannot run inside the acknowledgement step`;
  if (args.length > MAX_ACK_COMMAND_ARGS) return `more than ${MAX_ACK_COMMAND_ARGS} arguments`;
  for (const a of args) {
    if (typeof a === 'string') continue;
    if (typeof a === 'number' && Number.isFinite(a)) continue;
    return `argument ${String(a)} of ${name} is not a string or a finite number`;
  }
  return undefined;
}

/**
 * Runs the commands, then XACKs the entry, as one script: only while the entry is still pending on
 * `consumer` (claimed by another consumer or already acknowledged → nothing runs, returns 0). A command
 * Redis refuses at run time ends the script with an error; Redis does not roll back the commands before it.
 * KEYS: stream. ARGV: group, id, consumer, command count, then per command its argument count and arguments.
 */
const COMMIT = new LuaScript(`
local p = redis.call('XPENDING', KEYS[1], ARGV[1], ARGV[2], ARGV[2], 1)
if #p == 0 or p[1][2] ~= ARGV[3] then return 0 end
local i = 5
for _ = 1, tonumber(ARGV[4]) do
  local n = tonumber(ARGV[i])
  redis.call(unpack(ARGV, i + 1, i + n))
  i = i + n + 1
end
redis.call('XACK', KEYS[1], ARGV[1], ARGV[2])
return 1
`);

/** Whether the step ran (1) or the entry was no longer this consumer's (0). */
export async function commitWithAck(
  redis: Redis,
  stream: string,
  group: string,
  consumer: string,
  id: string,
  commands: readonly RedisCommand[],
): Promise<boolean> {
  const args: (string | number)[] = [group, id, consumer, commands.length];
  for (const c of commands) args.push(c.length, ...c);
  return (await COMMIT.run(redis, [stream], args)) === 1;
}

/**
 * Resets the idle time of those entries still pending on `consumer` (XCLAIM … JUSTID, which leaves the
 * delivery count alone), so entries whose handlers are still running are not reclaimed by XAUTOCLAIM.
 * KEYS: stream. ARGV: group, consumer, ids…
 */
const REFRESH = new LuaScript(`
local n = 0
for i = 3, #ARGV do
  local p = redis.call('XPENDING', KEYS[1], ARGV[1], ARGV[i], ARGV[i], 1)
  if #p == 1 and p[1][2] == ARGV[2] then
    redis.call('XCLAIM', KEYS[1], ARGV[1], ARGV[2], 0, ARGV[i], 'JUSTID')
    n = n + 1
  end
end
return n
`);

/** How many of `ids` were still this consumer's and had their idle time reset. */
export async function refreshPending(
  redis: Redis,
  stream: string,
  group: string,
  consumer: string,
  ids: readonly string[],
): Promise<number> {
  const n = await REFRESH.run(redis, [stream], [group, consumer, ...ids]);
  return typeof n === 'number' ? n : 0;
}
