/**
 * The live terminal view of the demo and connect commands, as pure functions: a status snapshot in,
 * text out. The commands redraw it on a TTY and print plain lines elsewhere.
 */

export interface ShardRow {
  id: number;
  state: string;
  /** Last heartbeat round trip, or null before the first ACK. */
  latencyMs: number | null;
  eventsPerSecond: number;
  seq: number;
  guilds: number;
  reconnects: number;
}

export interface RecentEvent {
  /** Epoch milliseconds. */
  at: number;
  shard: number;
  type: string;
  summary?: string;
}

export interface StatusSnapshot {
  title: string;
  uptimeMs: number;
  /** How many shards this process runs in all (rows may still be missing while starting). */
  expectedShards: number;
  shards: readonly ShardRow[];
  /** Milliseconds until every shard should be READY, or null when all are up / unknown. */
  startupEtaMs: number | null;
  /**
   * True until every shard has been READY once. The startup progress bar shows only then: a shard that
   * drops later shows in the table and the totals, not as startup all over again.
   */
  startingUp: boolean;
  recentEvents: readonly RecentEvent[];
  /** Why recent connections closed and what the shard does about it, newest last. */
  notes?: readonly string[];
  /** Extra lines shown under the table (hints such as the keys to press). */
  footer?: readonly string[];
}

const READY_STATES = new Set(['ready']);

function pad(text: string, width: number, align: 'left' | 'right' = 'left'): string {
  const t = text.length > width ? `${text.slice(0, Math.max(0, width - 1))}…` : text;
  return align === 'left' ? t.padEnd(width) : t.padStart(width);
}

export function formatDuration(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000));
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(m / 60)}h${String(m % 60).padStart(2, '0')}m`;
}

export function progressBar(done: number, total: number, width = 24): string {
  const ratio = total <= 0 ? 1 : Math.min(1, Math.max(0, done / total));
  const filled = Math.round(ratio * width);
  return `[${'#'.repeat(filled)}${'-'.repeat(width - filled)}]`;
}

function formatTime(epochMs: number): string {
  return new Date(epochMs).toISOString().slice(11, 19);
}

/** The whole view as lines of at most `width` columns. */
export function renderStatus(snapshot: StatusSnapshot, width = 100): string[] {
  const lines: string[] = [];
  lines.push(`${snapshot.title} · up ${formatDuration(snapshot.uptimeMs)}`);
  lines.push(
    `${pad('shard', 6, 'right')}  ${pad('state', 16)}${pad('latency', 9, 'right')}${pad('events/s', 10, 'right')}${pad('seq', 10, 'right')}${pad('guilds', 8, 'right')}${pad('reconnects', 12, 'right')}`,
  );
  let ready = 0;
  let events = 0;
  let guilds = 0;
  let reconnects = 0;
  let latencySum = 0;
  let latencyCount = 0;
  for (const row of snapshot.shards) {
    if (READY_STATES.has(row.state)) ready++;
    events += row.eventsPerSecond;
    guilds += row.guilds;
    reconnects += row.reconnects;
    if (row.latencyMs !== null) {
      latencySum += row.latencyMs;
      latencyCount++;
    }
    lines.push(
      `${pad(String(row.id), 6, 'right')}  ${pad(row.state, 16)}${pad(row.latencyMs === null ? '-' : `${Math.round(row.latencyMs)} ms`, 9, 'right')}${pad(String(Math.round(row.eventsPerSecond)), 10, 'right')}${pad(String(row.seq), 10, 'right')}${pad(String(row.guilds), 8, 'right')}${pad(String(row.reconnects), 12, 'right')}`,
    );
  }
  const avgLatency = latencyCount === 0 ? '-' : `${Math.round(latencySum / latencyCount)} ms`;
  lines.push(
    `${pad('total', 6, 'right')}  ${pad(`${ready}/${snapshot.expectedShards} ready`, 16)}${pad(avgLatency, 9, 'right')}${pad(String(Math.round(events)), 10, 'right')}${pad('', 10)}${pad(String(guilds), 8, 'right')}${pad(String(reconnects), 12, 'right')}`,
  );
  if (snapshot.startingUp && ready < snapshot.expectedShards) {
    const eta = snapshot.startupEtaMs === null ? '' : ` · ETA ${formatDuration(snapshot.startupEtaMs)}`;
    lines.push(
      `starting ${progressBar(ready, snapshot.expectedShards)} ${ready}/${snapshot.expectedShards} READY${eta}`,
    );
  }
  if (snapshot.recentEvents.length > 0) {
    lines.push('last events:');
    for (const e of snapshot.recentEvents)
      lines.push(`  ${formatTime(e.at)} #${e.shard} ${e.type}${e.summary ? ` ${e.summary}` : ''}`);
  }
  for (const line of snapshot.notes ?? []) lines.push(line);
  for (const line of snapshot.footer ?? []) lines.push(line);
  return lines.map((l) => (l.length > width ? `${l.slice(0, width - 1)}…` : l));
}

/** One plain line for non-TTY output: totals only, stable to grep. */
export function renderPlainLine(snapshot: StatusSnapshot): string {
  const ready = snapshot.shards.filter((s) => READY_STATES.has(s.state)).length;
  const events = snapshot.shards.reduce((a, s) => a + s.eventsPerSecond, 0);
  const reconnects = snapshot.shards.reduce((a, s) => a + s.reconnects, 0);
  const states = snapshot.shards.map((s) => `${s.id}:${s.state}`).join(' ');
  return `status up=${formatDuration(snapshot.uptimeMs)} ready=${ready}/${snapshot.expectedShards} events/s=${Math.round(events)} reconnects=${reconnects} shards=[${states}]`;
}
