/**
 * The first pass over a recording, and the rule both passes share: which entries open sessions (READY and
 * the guilds it announced), which are the live events, which are skipped.
 */
import { RecordingError } from '../errors.js';
import type { RecordedPayload, RecordingEntry, RecordingHeader } from './recording/format.js';
import { openRecording } from './recording/reader.js';
import type { ResolvedReplayOptions } from './replay-options.js';

export type EntryRole = 'opening-ready' | 'opening-guild' | 'skip' | 'event';

interface ShardTrack {
  readies: number;
  lastSeq: number;
  pending: Set<string>;
}

const SNOWFLAKE = /^\d{1,20}$/;
const MAX_U64 = (1n << 64n) - 1n;

/** The guild a dispatch belongs to (`d.id` of GUILD_CREATE/UPDATE/DELETE, else `d.guild_id`), if a snowflake. */
export function guildIdOf(p: RecordedPayload): string | undefined {
  const d = p.d;
  if (typeof d !== 'object' || d === null) return undefined;
  const rec = d as Record<string, unknown>;
  const id =
    p.t === 'GUILD_CREATE' || p.t === 'GUILD_UPDATE' || p.t === 'GUILD_DELETE' ? rec.id : rec.guild_id;
  return typeof id === 'string' && SNOWFLAKE.test(id) && BigInt(id) <= MAX_U64 ? id : undefined;
}

/**
 * Says what each entry is to the replay, the same way in every pass: the first READY of a shard and the
 * GUILD_CREATEs of the guilds it announced open sessions; a later READY and its guilds (the recorded client
 * identified again), RESUMED, dispatches replayed after a RESUME (sequence not above the last one) and
 * everything that is not a dispatch are skipped; the rest are the live events.
 */
export class EntryClassifier {
  readonly #shards = new Map<number, ShardTrack>();

  classify(entry: RecordingEntry): EntryRole {
    if (entry.kind !== 'payload' || entry.op !== 0 || entry.t === null) return 'skip';
    const key = entry.shard ?? -1;
    let track = this.#shards.get(key);
    if (!track) {
      track = { readies: 0, lastSeq: 0, pending: new Set() };
      this.#shards.set(key, track);
    }
    const d = (typeof entry.d === 'object' && entry.d !== null ? entry.d : {}) as Record<string, unknown>;
    if (entry.t === 'READY') {
      track.readies++;
      track.lastSeq = entry.s ?? 0;
      track.pending = new Set();
      if (Array.isArray(d.guilds)) {
        for (const g of d.guilds as unknown[]) {
          const id = (g as { id?: unknown } | null)?.id;
          if (typeof id === 'string') track.pending.add(id);
        }
      }
      return track.readies === 1 && entry.shard !== null ? 'opening-ready' : 'skip';
    }
    if (entry.s !== null) {
      if (track.readies > 0 && entry.s <= track.lastSeq) return 'skip';
      track.lastSeq = entry.s;
    }
    if (entry.t === 'RESUMED') return 'skip';
    const guildId = guildIdOf(entry);
    if (entry.t === 'GUILD_CREATE' && guildId !== undefined && track.pending.delete(guildId)) {
      return track.readies === 1 && entry.shard !== null ? 'opening-guild' : 'skip';
    }
    if (entry.t === 'GUILD_DELETE' && guildId !== undefined) track.pending.delete(guildId);
    return 'event';
  }
}

export interface ShardOpening {
  /** READY `d` as JSON. */
  ready: string;
  /** Entries of READY `guilds`. */
  readyGuilds: Array<{ id: string; entry: unknown }>;
  guilds: Array<{ guildId: string; json: string }>;
}

/** What the first pass learned: the header, the openings per recorded shard, the size of the timeline. */
export interface LoadedRecording {
  readonly header: RecordingHeader;
  readonly openings: ReadonlyMap<number, ShardOpening>;
  readonly events: number;
  readonly durationMs: number;
}

/** First pass: checks every line and keeps what new sessions need. Throws `RecordingError`. */
export async function loadRecording(options: ResolvedReplayOptions): Promise<LoadedRecording> {
  const { header, entries } = await openRecording(options.path, { maxLineBytes: options.maxLineBytes });
  const classifier = new EntryClassifier();
  const openings = new Map<number, ShardOpening>();
  let events = 0;
  let firstAt: number | undefined;
  let lastAt = 0;
  let bytes = 0;
  for await (const { line, entry } of entries) {
    const role = classifier.classify(entry);
    if (role === 'event') {
      events++;
      firstAt ??= entry.at;
      lastAt = entry.at;
      continue;
    }
    if (role === 'skip' || entry.kind !== 'payload' || entry.shard === null) continue;
    const json = JSON.stringify(entry.d);
    bytes += json.length;
    if (bytes > options.maxOpeningBytes) {
      await entries.return();
      throw new RecordingError(
        'RECORDING_TOO_LARGE',
        `READY and first GUILD_CREATE data exceed ${options.maxOpeningBytes} bytes (raise maxOpeningBytes / --max-opening-bytes)`,
        line,
      );
    }
    if (role === 'opening-ready') {
      const d = entry.d as Record<string, unknown>;
      const readyGuilds: ShardOpening['readyGuilds'] = [];
      if (Array.isArray(d.guilds)) {
        for (const g of d.guilds as unknown[]) {
          const id = (g as { id?: unknown } | null)?.id;
          if (typeof id === 'string' && SNOWFLAKE.test(id)) readyGuilds.push({ id, entry: g });
        }
      }
      openings.set(entry.shard, { ready: json, readyGuilds, guilds: [] });
    } else {
      const guildId = guildIdOf(entry);
      const opening = openings.get(entry.shard);
      if (opening && guildId !== undefined) opening.guilds.push({ guildId, json });
    }
  }
  return { header, openings, events, durationMs: firstAt === undefined ? 0 : lastAt - firstAt };
}
