/**
 * Drives the status view of `demo` and `connect` for a running `ShardManager`: redraws it ~4×/s on a TTY,
 * prints plain lines elsewhere (state changes as they happen, a status line each second), keeps the last
 * few dispatches, and maps keys to actions (fault injection in the demo).
 */
import { codecFallbackNotice } from '../codec/fallbacks.js';
import type { ShardManager } from '../manager/manager.js';
import { DEFAULT_SHARD_OPTIONS } from '../shard/options.js';
import type { CliIo } from './args.js';
import { explainClose } from './close-notes.js';
import { type RecentEvent, renderPlainLine, renderStatus, type StatusSnapshot } from './status-view.js';

export interface LiveViewOptions {
  title: string;
  /** Total shards this process will run (for the progress bar before every row exists); 0 = as the manager says. */
  expectedShards: number;
  /** Estimated ms until every shard is READY, from the identify schedule; null when unknown. */
  startupEta: () => number | null;
  /** Redraw the screen (TTY) or print plain lines. */
  tty: boolean;
  /** Extra lines under the table. */
  footer?: () => readonly string[];
  /** Keep this many recent dispatches. */
  recentEvents?: number;
  refreshMs?: number;
  /**
   * Where plain lines go instead of stdout (a command's logger): the line, its level and the structured
   * fields of what it says.
   */
  log?: (level: 'info' | 'warn', line: string, fields: Readonly<Record<string, unknown>>) => void;
}

const CLEAR = '\x1b[H\x1b[2J';

/** Notes kept for the terminal view. */
const KEEP_NOTES = 3;

/** A one-word description of a dispatch for the "last events" list. */
export function summarizeDispatch(t: string, d: unknown): string {
  if (typeof d !== 'object' || d === null) return '';
  const o = d as Record<string, unknown>;
  const guild = typeof o.guild_id === 'string' ? `guild ${o.guild_id}` : '';
  switch (t) {
    case 'MESSAGE_CREATE': {
      const author = (o.author as Record<string, unknown> | undefined)?.username;
      return `${guild}${typeof author === 'string' ? ` by ${author}` : ''}`;
    }
    case 'GUILD_CREATE':
      return `${typeof o.name === 'string' ? o.name : ''} (${String(o.member_count ?? '?')} members)`;
    case 'READY':
      return `session ${typeof o.session_id === 'string' ? o.session_id.slice(0, 8) : '?'}`;
    default:
      return guild;
  }
}

export class LiveView {
  readonly #manager: ShardManager;
  readonly #io: CliIo;
  readonly #options: LiveViewOptions;
  readonly #recent: RecentEvent[] = [];
  readonly #startedAt = Date.now();
  #timer: NodeJS.Timeout | undefined;
  #lastPlain = 0;
  #dispatches = 0;
  /** Until every shard has been READY once (see StatusSnapshot.startingUp). */
  #startingUp = true;
  readonly #notes: string[] = [];
  /** Each shard's state, and the one it left in this tick (a close is reported next to its status change). */
  readonly #state = new Map<number, string>();
  readonly #leftThisTick = new Map<number, string>();

  constructor(manager: ShardManager, io: CliIo, options: LiveViewOptions) {
    this.#manager = manager;
    this.#io = io;
    this.#options = options;
    const keep = options.recentEvents ?? 5;
    // A decompression fast path that failed its self-test here: say once that this run decodes slower.
    const fallback = codecFallbackNotice(manager.options.compression ?? DEFAULT_SHARD_OPTIONS.compression);
    if (fallback !== null) this.note(fallback);
    manager.on('dispatch', (payload, shardId) => {
      this.#dispatches++;
      if (payload.t === 'GUILD_CREATE' && this.#recent.length >= keep && this.#dispatches % 50 !== 0) return;
      this.#recent.push({
        at: Date.now(),
        shard: shardId,
        type: payload.t,
        summary: summarizeDispatch(payload.t, payload.d),
      });
      if (this.#recent.length > keep) this.#recent.shift();
    });
    manager.on('status', (status, previous, shardId) => {
      this.#state.set(shardId, status);
      if (!this.#leftThisTick.has(shardId)) {
        this.#leftThisTick.set(shardId, previous);
        setImmediate(() => this.#leftThisTick.delete(shardId));
      }
      if (status === 'ready' && this.#startingUp) this.#checkStartedUp();
      if (!options.tty)
        this.#plain('info', `shard ${shardId}: ${previous} -> ${status}`, { shardId, status, previous });
    });
    manager.on('close', (info, shardId) => {
      const before = this.#leftThisTick.get(shardId) ?? this.#state.get(shardId);
      const why = explainClose(info, before);
      const line = `shard ${shardId}: connection closed ${info.code} (${info.action})${why ? `: ${why}` : ''}`;
      if (!options.tty)
        this.#plain(info.action === 'fatal' || info.action === 'stop' ? 'warn' : 'info', line, {
          shardId,
          closeCode: info.code,
          reason: info.reason,
          action: info.action,
        });
      else if (why) this.note(line);
    });
  }

  /** Adds a line to the notes under the table (TTY), or prints it (plain). */
  note(text: string): void {
    if (!this.#options.tty) {
      this.#plain('info', text, {});
      return;
    }
    this.#notes.push(`${new Date().toISOString().slice(11, 19)} ${text}`);
    if (this.#notes.length > KEEP_NOTES) this.#notes.shift();
  }

  #plain(level: 'info' | 'warn', line: string, fields: Readonly<Record<string, unknown>>): void {
    if (this.#options.log) this.#options.log(level, line, fields);
    else this.#io.stdout.write(`${line}\n`);
  }

  #checkStartedUp(): void {
    const status = this.#manager.snapshot();
    const expected = this.#options.expectedShards || status.shardIds.length;
    const ready = status.shards.filter((s) => s.role !== 'retiring' && s.status === 'ready').length;
    if (expected > 0 && ready >= expected) this.#startingUp = false;
  }

  /** Dispatches seen since start. */
  get dispatches(): number {
    return this.#dispatches;
  }

  snapshot(): StatusSnapshot {
    if (this.#startingUp) this.#checkStartedUp();
    const status = this.#manager.snapshot();
    return {
      title: this.#options.title,
      uptimeMs: Date.now() - this.#startedAt,
      expectedShards: this.#options.expectedShards || status.shardIds.length,
      shards: status.shards
        .filter((s) => s.role !== 'retiring')
        .map((s) => ({
          id: s.shardId,
          state: s.status,
          latencyMs: s.latencyMs,
          eventsPerSecond: s.eventsPerSecond,
          seq: s.sequence ?? 0,
          guilds: s.guilds,
          reconnects: s.reconnects,
        })),
      startupEtaMs: this.#startingUp ? this.#options.startupEta() : null,
      startingUp: this.#startingUp,
      recentEvents: [...this.#recent],
      notes: [...this.#notes],
      ...(this.#options.footer ? { footer: this.#options.footer() } : {}),
    };
  }

  start(): void {
    const refresh = this.#options.refreshMs ?? 250;
    this.#timer = setInterval(() => this.draw(), refresh);
    this.#timer.unref();
    this.draw();
  }

  draw(): void {
    const snap = this.snapshot();
    if (this.#options.tty) {
      const width = (this.#io.stdout as { columns?: number }).columns ?? 100;
      this.#io.stdout.write(`${CLEAR}${renderStatus(snap, Math.max(40, width)).join('\n')}\n`);
      return;
    }
    const now = Date.now();
    if (now - this.#lastPlain >= 1000) {
      this.#lastPlain = now;
      const ready = snap.shards.filter((s) => s.state === 'ready').length;
      this.#plain('info', renderPlainLine(snap), { ready, shards: snap.shards.length });
    }
  }

  stop(): void {
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = undefined;
  }
}

/** Resolves after `seconds` (never when undefined) or when the signal aborts, whichever comes first. */
export function waitForStop(
  signal: AbortSignal,
  seconds: number | undefined,
): Promise<'duration' | 'signal'> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve('signal');
    const timer = seconds === undefined ? undefined : setTimeout(() => resolve('duration'), seconds * 1000);
    signal.addEventListener(
      'abort',
      () => {
        if (timer) clearTimeout(timer);
        resolve('signal');
      },
      { once: true },
    );
  });
}
