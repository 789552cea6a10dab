/**
 * `shardline record --out FILE`: connects like `shardline connect` (Discord or any gateway, the simulator
 * included) and writes every payload received to a recording that `shardline simulate --replay FILE`
 * serves back. The token comes from an environment variable and never reaches the file.
 */
import { COMPRESSIONS, ENCODINGS } from '../../codec/formats.js';
import { ShardManager } from '../../manager/manager.js';
import { RecordingWriter } from '../../simulator/recording/writer.js';
import { redact } from '../../util/redact.js';
import { type CliIo, choiceFlag, intFlag, parseFlags, rangeFlag, tokenFromEnv, UsageError } from '../args.js';
import { waitForStop } from '../live-view.js';
import { GatewayRecorder } from '../recorder.js';
import { explainConnectFailure, parseIntents } from './connect.js';

export const RECORD_USAGE = `usage: shardline record --out FILE [flags]   (token from $DISCORD_TOKEN)
  --out FILE               where to write the recording (NDJSON; gzip when FILE ends in .gz or with --gzip)
  --gzip                   gzip the file
  --anonymize              rewrite ids, names, texts, avatars, links and e-mails consistently, to share it
  --token-env NAME         environment variable holding the bot token (default DISCORD_TOKEN)
  --api URL                REST base (default https://discord.com/api; the simulator's for offline runs)
  --intents LIST|N         intent names (Guilds,GuildMessages,…) or a number (default Guilds,GuildMessages)
  --shard-count auto|N     shard count (default auto, from GET /gateway/bot)
  --shard-ids LIST         record only these shard ids (0-7, 3 or 0,2,4-6; needs --shard-count N)
  --encoding json|etf      gateway encoding (default etf; the file holds JSON either way)
  --compression zlib-stream|zstd-stream|none   transport compression (default zlib-stream)
  --duration S             stop by itself after S seconds (else Ctrl-C / SIGTERM)`;

export async function runRecord(argv: readonly string[], io: CliIo): Promise<number> {
  const { values: v } = parseFlags(argv, {
    out: { type: 'string' },
    gzip: { type: 'boolean' },
    anonymize: { type: 'boolean' },
    'token-env': { type: 'string' },
    api: { type: 'string' },
    intents: { type: 'string' },
    'shard-count': { type: 'string' },
    'shard-ids': { type: 'string' },
    encoding: { type: 'string' },
    compression: { type: 'string' },
    duration: { type: 'string' },
  });
  const str = (k: string) => v[k] as string | undefined;
  const out = str('out');
  if (out === undefined || out === '') throw new UsageError('--out FILE is required');
  const api = str('api') ?? 'https://discord.com/api';
  if (!/^https?:\/\//.test(api)) throw new UsageError(`--api must be an http(s) URL, got '${api}'`);
  const intents = parseIntents(str('intents'));
  const countRaw = str('shard-count');
  const shardCount =
    countRaw === undefined || countRaw === 'auto'
      ? 'auto'
      : intFlag('shard-count', countRaw, { min: 1, max: 100_000 })!;
  const shardIds = rangeFlag('shard-ids', str('shard-ids'));
  if (shardIds && shardCount === 'auto') throw new UsageError('--shard-ids needs --shard-count N');
  if (shardIds && shardCount !== 'auto' && shardIds.at(-1)! >= shardCount) {
    throw new UsageError(
      `--shard-ids: shard ${shardIds.at(-1)} does not exist with --shard-count ${shardCount}`,
    );
  }
  const encoding = choiceFlag('encoding', str('encoding'), ENCODINGS) ?? 'etf';
  const compression = choiceFlag('compression', str('compression'), COMPRESSIONS) ?? 'zlib-stream';
  const duration = intFlag('duration', str('duration'), { min: 1, max: 31_536_000 });
  const token = tokenFromEnv(io.env, str('token-env') ?? 'DISCORD_TOKEN');

  const writer = await RecordingWriter.open({ path: out, gzip: v.gzip === true || out.endsWith('.gz') });
  let manager: ShardManager | undefined;
  const recorder = new GatewayRecorder({
    writer,
    token,
    anonymize: v.anonymize === true,
    encoding,
    compression,
    intents,
    shardCount: () => manager?.shardCount || (shardCount === 'auto' ? 1 : shardCount),
  });
  manager = new ShardManager({
    token,
    intents,
    api,
    shardCount,
    ...(shardIds ? { shardIds } : {}),
    encoding,
    compression,
    shardOptions: { transport: recorder.transport },
  });
  manager.on('error', (err, shardId) => {
    io.stderr.write(`shard ${shardId ?? '-'}: ${redact(err.message, token)} [${err.code}]\n`);
  });
  io.stdout.write(
    `recording ${redact(api, token)} to ${out}${writer.gzip ? ' (gzip)' : ''}${v.anonymize ? ', anonymized' : ''}\n`,
  );
  const started = performance.now();
  let failure: unknown;
  let stopping = false;
  try {
    const connectFailed = manager.connect().then(
      () => new Promise<never>(() => {}),
      (err: unknown) => {
        if (!stopping) failure = err;
        return 'failed' as const;
      },
    );
    await Promise.race([waitForStop(io.signal, duration), connectFailed]);
  } finally {
    stopping = true;
    await manager.destroy();
    await recorder.close();
  }
  const seconds = ((performance.now() - started) / 1000).toFixed(1);
  io.stdout.write(
    `recorded ${recorder.payloads} payloads (${recorder.dispatches} dispatches) in ${seconds} s: ${out}, ${writer.bytes} bytes of NDJSON${recorder.redacted > 0 ? `; ${recorder.redacted} line(s) redacted (they carried the token)` : ''}${recorder.failures > 0 ? `; ${recorder.failures} payload(s) could not be recorded` : ''}\n`,
  );
  if (failure !== undefined) {
    io.stderr.write(`shardline record: ${redact(explainConnectFailure(failure, api), token)}\n`);
    return 1;
  }
  return 0;
}
