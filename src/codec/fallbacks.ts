/**
 * Which compression codecs run a slower fallback in this process, and why. Both fast paths are chosen by
 * a self-test at load (never by a list of Node versions); when one fails, decoding still works, only
 * slower, so the choice is reported once rather than thrown: a shard can emit it as a `debug` event and the
 * CLI can show it in `status`.
 */
import { SYNC_HANDLE_UNAVAILABLE_REASON } from './zlib-sync-handle.js';
import { NATIVE_ZSTD_UNAVAILABLE_REASON } from './zstd/native.js';

export interface CodecFallback {
  /** The transport compression that runs slower. */
  readonly compression: 'zlib-stream' | 'zstd-stream';
  /** What decodes it instead: the public node:zlib API, or the TypeScript zstd decoder. */
  readonly using: 'portable zlib engine' | 'TypeScript zstd decoder';
  /** Why the fast path is off (from its self-test). */
  readonly reason: string;
}

function collect(): readonly CodecFallback[] {
  const out: CodecFallback[] = [];
  if (SYNC_HANDLE_UNAVAILABLE_REASON !== null)
    out.push({
      compression: 'zlib-stream',
      using: 'portable zlib engine',
      reason: SYNC_HANDLE_UNAVAILABLE_REASON,
    });
  if (NATIVE_ZSTD_UNAVAILABLE_REASON !== null)
    out.push({
      compression: 'zstd-stream',
      using: 'TypeScript zstd decoder',
      reason: NATIVE_ZSTD_UNAVAILABLE_REASON,
    });
  return Object.freeze(out.map((f) => Object.freeze(f)));
}

/** The fallbacks active in this process (decided once, at load); empty when every fast path is on. */
export const CODEC_FALLBACKS: readonly CodecFallback[] = collect();

/**
 * One line saying that `compression` decodes through a fallback here, or null when it does not (or is
 * `'none'`). For example: `zlib-stream decodes with the portable zlib engine (slower): <reason>`.
 */
export function codecFallbackNotice(compression: string): string | null {
  const f = CODEC_FALLBACKS.find((c) => c.compression === compression);
  return f ? `${f.compression} decodes with the ${f.using} (slower): ${f.reason}` : null;
}
