import type { Simulator, ViolationKind } from '../simulator/index.js';
import { type ConnectionLog, ConnectionRecorder, type SeenClientPayload } from './recorder.js';
import {
  type CheckResult,
  closeText,
  fail,
  ms,
  pass,
  type Scenario,
  type ScenarioContext,
  skip,
} from './scenario.js';

const HEARTBEAT = 1;
const IDENTIFY = 2;
const RESUME = 6;
const REQUEST_GUILD_MEMBERS = 8;
/** Discord's identify window: a client that keeps it may wait that long more before an IDENTIFY. */
const IDENTIFY_WINDOW_MS = 5000;

/** Codes after which Discord says not to reconnect. */
export const FATAL_CLOSE_CODES = [4004, 4010, 4011, 4012, 4013, 4014] as const;

// ── shared steps ──────────────────────────────────────────────────────────────────────────────────

function exitText(ctx: ScenarioContext): string {
  const e = ctx.client.exit;
  if (!e) return 'running';
  return e.signal ? `killed by ${e.signal}` : `exit code ${e.code}`;
}

/** Why no READY came: no connection, closes, or the client's exit with its stderr. */
function noReadyEvidence(ctx: ScenarioContext): string {
  const conns = ctx.rec.connections;
  const parts: string[] = [];
  const refused = Object.entries(ctx.sim.stats().serverClosesByCode).filter(
    ([code]) => code === '4002' || code === '4012',
  );
  if (conns.length === 0 && refused.length > 0)
    parts.push(
      `every connection refused before HELLO: ${refused.map(([c, n]) => `${n}× close ${c}`).join(', ')} (an unknown encoding, compress or v in the URL)`,
    );
  else if (conns.length === 0)
    parts.push(
      `no gateway connection within ${Math.round(ctx.bootTimeoutMs / 1000)} s (does the client read SHARDLINE_API or SHARDLINE_GATEWAY_URL? map other names with --env)`,
    );
  else
    parts.push(
      `no READY on ${conns.length} connection(s): ${conns
        .slice(0, 4)
        .map((c) => closeText(c))
        .join('; ')}`,
    );
  if (!ctx.client.running) {
    const tail = ctx.client.stderrTail(200);
    parts.push(`client ${exitText(ctx)}${tail ? `: ${tail}` : ''}`);
  }
  return parts.join('; ');
}

interface Established {
  readonly conn: ConnectionLog;
  readonly sessionId: string;
  readonly readyAt: number;
}

/**
 * Waits for READY, then for one heartbeat after it (the client is in its steady state) and for the client
 * to confirm the last sequence sent in a heartbeat (up to ~2 intervals). A failure result otherwise.
 */
async function established(ctx: ScenarioContext, name: string): Promise<Established | CheckResult> {
  const ok = await ctx.waitFor(() => ctx.rec.readies().length > 0, ctx.bootTimeoutMs, { untilExit: true });
  if (!ok) return fail(name, noReadyEvidence(ctx));
  const r = ctx.rec.readies()[0]!;
  const beat = await ctx.waitFor(
    () => r.conn.close !== undefined || r.conn.client.some((p) => p.op === HEARTBEAT && p.at >= r.at),
    3 * ctx.interval,
  );
  if (r.conn.close) return fail(name, `the connection was ${closeText(r.conn)} right after READY`);
  if (!beat) return fail(name, `no heartbeat within 3×interval of READY`);
  await settle(ctx, r.conn);
  return { conn: r.conn, sessionId: r.sessionId, readyAt: r.at };
}

/** Waits (up to 2.5 intervals) until a heartbeat on `conn` carries the last sequence sent to it. */
async function settle(ctx: ScenarioContext, conn: ConnectionLog): Promise<boolean> {
  return ctx.waitFor(() => {
    const last = ConnectionRecorder.lastSeq(conn);
    const beat = lastHeartbeat(conn);
    return conn.close !== undefined || (beat !== undefined && beat.info.seq === last);
  }, 2.5 * ctx.interval);
}

function lastHeartbeat(conn: ConnectionLog): SeenClientPayload | undefined {
  for (let i = conn.client.length - 1; i >= 0; i--)
    if (conn.client[i]!.op === HEARTBEAT) return conn.client[i];
  return undefined;
}

/** Emits `n` random world events that every session receives whatever its intents. */
function emitEvents(sim: Simulator, n: number): void {
  for (let i = 0; i < n; i++) {
    const e = sim.world.randomEvent();
    sim.emitEvent(e.t, e.d, e.guildId === undefined ? { intent: 0 } : { guildId: e.guildId, intent: 0 });
  }
}

/** The first IDENTIFY or RESUME at or after `since`, on any connection. */
function authAfter(
  ctx: ScenarioContext,
  since: number,
): (SeenClientPayload & { conn: ConnectionLog }) | undefined {
  const all = [...ctx.rec.clientOps(IDENTIFY, since), ...ctx.rec.clientOps(RESUME, since)];
  all.sort((a, b) => a.at - b.at);
  return all[0];
}

async function nextAuth(ctx: ScenarioContext, since: number, timeoutMs: number) {
  await ctx.waitFor(() => authAfter(ctx, since) !== undefined, timeoutMs, { untilExit: true });
  return authAfter(ctx, since);
}

interface ResumeExpectation {
  readonly old: ConnectionLog;
  readonly sessionId: string;
  /** What happened at `since`, for the evidence: `op 7`, `a TCP drop`… */
  readonly what: string;
  readonly since: number;
  /** Longest acceptable time from `since` to the RESUME, in ms (none: only a hang guard). */
  readonly boundMs?: number;
  readonly timeoutMs: number;
  /** The RESUME may come on the same connection (after op 9 d:true, which takes the session off it). */
  readonly sameConnectionOk?: boolean;
}

/** Grades "the client RESUMEs its session on resume_gateway_url with its last seq, and gets RESUMED". */
async function gradeResume(ctx: ScenarioContext, name: string, x: ResumeExpectation): Promise<CheckResult> {
  const lastSeq = ConnectionRecorder.lastSeq(x.old);
  const a = await nextAuth(ctx, x.since, x.timeoutMs);
  const expected = `Discord expects a RESUME of the session with seq ${lastSeq} on resume_gateway_url`;
  if (!a) {
    return fail(
      name,
      `no IDENTIFY or RESUME within ${ms(x.timeoutMs, ctx.interval)} after ${x.what}; old connection ${closeText(x.old)}${
        ctx.client.running ? '' : `; client ${exitText(ctx)}`
      }; ${expected}`,
    );
  }
  const after = ms(a.at - x.since, ctx.interval);
  if (a.op === IDENTIFY) {
    return fail(name, `IDENTIFIED (a new session) ${after} after ${x.what}; ${expected}`);
  }
  const problems: string[] = [];
  if (x.old.close?.by === 'client' && (x.old.close.code === 1000 || x.old.close.code === 1001))
    problems.push(`closed the old connection with ${x.old.close.code}, which ends the session`);
  if (a.info.sessionId !== x.sessionId) problems.push(`session_id is not the session's`);
  if (a.info.seq !== lastSeq) problems.push(`seq ${String(a.info.seq)}, last seq sent ${lastSeq}`);
  if (a.conn === x.old) {
    if (!x.sameConnectionOk) problems.push('on the same connection (the docs: a new connection)');
  } else if (!a.conn.viaResumeUrl) problems.push('on the bootstrap URL, not resume_gateway_url');
  if (x.boundMs !== undefined && a.at - x.since > x.boundMs)
    problems.push(`after ${after} (bound ${ms(x.boundMs, ctx.interval)})`);
  const resumed = await ctx.waitFor(
    () => ConnectionRecorder.resumed(a.conn) !== undefined || a.conn.close !== undefined,
    2 * ctx.interval,
  );
  if (!resumed || ConnectionRecorder.resumed(a.conn) === undefined)
    problems.push(`no RESUMED: the connection ${closeText(a.conn)}`);
  if (problems.length > 0)
    return fail(name, `RESUME ${after} after ${x.what}: ${problems.join('; ')}; ${expected}`);
  const where = a.conn === x.old ? 'on the same connection' : 'on resume_gateway_url';
  return pass(
    name,
    `${a.conn === x.old ? '' : `old connection ${closeText(x.old)}; `}RESUME ${where} with seq ${lastSeq} ${after} after ${x.what}; RESUMED`,
  );
}

/** Grades "the client starts a new session (IDENTIFY), not a RESUME" after `what`. */
async function gradeIdentify(
  ctx: ScenarioContext,
  name: string,
  x: { since: number; what: string; why: string; delay?: readonly [number, number] },
): Promise<CheckResult> {
  const timeout = (x.delay?.[1] ?? 0) + IDENTIFY_WINDOW_MS + 10 * ctx.interval;
  const a = await nextAuth(ctx, x.since, timeout);
  if (!a) {
    return fail(
      name,
      `no IDENTIFY within ${ms(timeout, ctx.interval)} after ${x.what}${ctx.client.running ? '' : `; client ${exitText(ctx)}`}; Discord expects a new IDENTIFY (${x.why})`,
    );
  }
  const after = a.at - x.since;
  if (a.op === RESUME) {
    return fail(
      name,
      `sent RESUME ${ms(after, ctx.interval)} after ${x.what} (answered with op 9 d:false); Discord expects a new IDENTIFY (${x.why})`,
    );
  }
  if (x.delay) {
    const [min, max] = x.delay;
    // Timers may fire a few ms early; the upper bound allows one interval of scheduling on a loaded machine.
    if (after < min * 0.98)
      return fail(
        name,
        `IDENTIFY only ${Math.round(after)} ms after ${x.what}; expected a random ${min / 1000}–${max / 1000} s wait first (the former Discord docs; discordeno and Shardline keep it; the current docs name no delay)`,
      );
    if (after > max + ctx.interval)
      return fail(
        name,
        `IDENTIFY ${Math.round(after)} ms after ${x.what}; expected within ${min / 1000}–${max / 1000} s`,
      );
  }
  const ready = await ctx.waitFor(
    () =>
      a.conn.server.some((p) => p.op === 0 && p.t === 'READY' && p.at >= a.at) || a.conn.close !== undefined,
    3 * ctx.interval,
  );
  const got = ready && a.conn.server.some((p) => p.op === 0 && p.t === 'READY' && p.at >= a.at);
  if (!got)
    return fail(name, `IDENTIFY ${Math.round(after)} ms after ${x.what}, but no READY: ${closeText(a.conn)}`);
  return pass(name, `IDENTIFY ${Math.round(after)} ms after ${x.what} → READY (a new session)`);
}

/** A member object of the synthetic large guild (~250 bytes of JSON). */
function syntheticMember(sim: Simulator, i: number): Record<string, unknown> {
  return {
    user: {
      id: sim.world.nextId(),
      username: `member${i}`,
      discriminator: '0',
      global_name: `Member number ${i}`,
      avatar: null,
      bot: false,
      public_flags: 0,
    },
    nick: null,
    avatar: null,
    roles: [],
    joined_at: '2024-01-01T00:00:00.000000+00:00',
    premium_since: null,
    deaf: false,
    mute: false,
    pending: false,
    flags: 0,
  };
}

/** A GUILD_CREATE of a new world guild padded with `members` synthetic members. Returns `d`. */
function bigGuildCreate(sim: Simulator, members: number): Record<string, unknown> {
  const guild = sim.world.addGuild(5);
  const d = sim.world.guildCreate(guild, { presences: false, largeThreshold: 250 });
  const list = d.members as unknown[];
  for (let i = 0; i < members; i++) list.push(syntheticMember(sim, i));
  d.member_count = list.length;
  d.large = true;
  return d;
}

/** Waits until the client confirms sequence `s` (a report line or a heartbeat on `conn`). */
async function confirmed(
  ctx: ScenarioContext,
  conn: ConnectionLog,
  s: number,
  timeoutMs: number,
): Promise<boolean> {
  return ctx.waitFor(
    () =>
      ctx.client.reported.some((r) => r.s >= s) ||
      conn.client.some((p) => p.op === HEARTBEAT && typeof p.info.seq === 'number' && p.info.seq >= s) ||
      conn.close !== undefined,
    timeoutMs,
  );
}

function isConfirmed(ctx: ScenarioContext, conn: ConnectionLog, s: number): string | undefined {
  if (ctx.client.reported.some((r) => r.s >= s)) return 'reported by the client';
  const beat = conn.client.find(
    (p) => p.op === HEARTBEAT && typeof p.info.seq === 'number' && p.info.seq >= s,
  );
  return beat ? `heartbeat carried seq ${String(beat.info.seq)}` : undefined;
}

// ── scenarios ─────────────────────────────────────────────────────────────────────────────────────

const startup: Scenario = {
  name: 'startup',
  summary:
    '4 shards, max_concurrency 2: identifies paced per bucket; first heartbeat after interval×jitter; intervals kept; payload size and rate within limits',
  checks: [
    'startup.identify-pacing',
    'startup.first-heartbeat',
    'startup.heartbeat-interval',
    'startup.payload-limits',
  ],
  simulator: ({ interval }) => ({ shards: 4, maxConcurrency: 2, guilds: 8, identifyWindowMs: 2 * interval }),
  env: () => ({ SHARDLINE_SHARD_COUNT: '4' }),
  async run(ctx) {
    const I = ctx.interval;
    const window = ctx.sim.options.identifyWindowMs;
    const shardsReady = () => new Set(ctx.rec.readies().map((r) => shardOf(r.conn))).size;
    await ctx.waitFor(() => shardsReady() >= 4, ctx.bootTimeoutMs + 4 * window, { untilExit: true });
    const readies = ctx.rec.readies();
    // Up to 4 heartbeats per READY connection (3 gaps), bounded by 6 intervals after the last READY.
    await ctx.waitFor(
      () => readies.every((r) => r.conn.close !== undefined || beats(r.conn).length >= 4),
      6 * I,
    );
    const results: CheckResult[] = [];
    const stats = ctx.sim.stats();

    // identify pacing
    const identifies = ctx.rec.clientOps(IDENTIFY);
    const t0 = identifies[0]?.at ?? 0;
    const list = identifies
      .map((p) => `${shardText(p.info.shard)} +${Math.round(p.at - t0)} ms`)
      .slice(0, 8)
      .join(', ');
    const shards = shardsReady();
    if (readies.length === 0) results.push(fail('startup.identify-pacing', noReadyEvidence(ctx)));
    else if (stats.violations['identify-concurrency'] > 0)
      results.push(
        fail(
          'startup.identify-pacing',
          `${stats.violations['identify-concurrency']} IDENTIFY(s) in a bucket already used within the ${window} ms window (answered op 9): ${list}; Discord expects one per bucket shard_id % max_concurrency per window`,
        ),
      );
    else if (shards < 4)
      results.push(
        fail(
          'startup.identify-pacing',
          `only ${shards} of 4 shards reached READY (${list}); /gateway/bot and SHARDLINE_SHARD_COUNT say 4`,
        ),
      );
    else {
      const rounds = new Set(identifies.map((p) => Math.floor((p.at - t0) / window))).size;
      results.push(
        pass(
          'startup.identify-pacing',
          `${list}; window ${window} ms, ${rounds} round(s) for 4 shards in 2 buckets (best: 2)`,
        ),
      );
    }

    // first heartbeat after HELLO
    const firsts: number[] = [];
    for (const conn of ctx.rec.connections) {
      const hello = conn.server.find((p) => p.op === 10);
      const first = conn.client.find((p) => p.op === HEARTBEAT);
      if (hello && first) firsts.push(first.at - hello.at);
    }
    const fracs = firsts.map((d) => (d / I).toFixed(2)).join(', ');
    if (firsts.length === 0) results.push(fail('startup.first-heartbeat', 'no heartbeat on any connection'));
    else if (firsts.some((d) => d > 1.5 * I))
      results.push(
        fail(
          'startup.first-heartbeat',
          `first heartbeat ${fracs}×interval after HELLO; Discord expects it at interval×jitter (jitter in [0, 1))`,
        ),
      );
    else if (firsts.length >= 3 && firsts.every((d) => d < 0.05 * I))
      results.push(
        fail(
          'startup.first-heartbeat',
          `every first heartbeat came at once after HELLO (${fracs}×interval): no jitter; Discord expects interval×jitter, jitter uniform in [0, 1)`,
        ),
      );
    else if (firsts.length >= 3 && firsts.every((d) => d > 0.95 * I))
      results.push(
        fail(
          'startup.first-heartbeat',
          `every first heartbeat came a full interval after HELLO (${fracs}×interval): no jitter; Discord expects interval×jitter, jitter uniform in [0, 1), so that shards do not beat in step`,
        ),
      );
    else results.push(pass('startup.first-heartbeat', `first heartbeat ${fracs}×interval after HELLO`));

    // intervals kept
    const gaps: number[] = [];
    for (const r of readies) {
      const b = beats(r.conn);
      for (let i = 1; i < b.length; i++) gaps.push(b[i]! - b[i - 1]!);
    }
    if (gaps.length < 2)
      results.push(
        fail('startup.heartbeat-interval', `only ${gaps.length} heartbeat gap(s) seen in 6 intervals`),
      );
    else {
      const min = Math.min(...gaps);
      const max = Math.max(...gaps);
      const text = `${gaps.length} gaps between ${(min / I).toFixed(2)} and ${(max / I).toFixed(2)}×interval`;
      if (max > 1.5 * I || min < 0.5 * I)
        results.push(
          fail('startup.heartbeat-interval', `${text}; Discord expects one heartbeat per heartbeat_interval`),
        );
      else results.push(pass('startup.heartbeat-interval', text));
    }

    // payload size and rate
    const all = ctx.rec.connections.flatMap((c) => c.client);
    const largest = all.reduce((m, p) => Math.max(m, p.bytes), 0);
    const perConn = Math.max(0, ...ctx.rec.connections.map((c) => maxInWindow(c.client, 60_000)));
    const v = stats.violations;
    const closes = ctx.rec.connections.filter(
      (c) => c.close?.by === 'server' && [4002, 4008].includes(c.close.code),
    );
    const limits = `largest payload ${largest} B (limit ${ctx.sim.options.maxPayloadBytes}), at most ${perConn} payloads per connection in any 60 s (limit ${ctx.sim.options.sendLimit})`;
    if (all.length === 0) results.push(fail('startup.payload-limits', 'the client sent nothing'));
    else if (v['payload-size'] + v['send-rate'] > 0 || closes.length > 0)
      results.push(
        fail(
          'startup.payload-limits',
          `${limits}; closed with ${closes.map((c) => c.close!.code).join(', ')}`,
        ),
      );
    else results.push(pass('startup.payload-limits', limits));
    return results;
  },
};

function shardOf(conn: ConnectionLog): string {
  const id = conn.client.find((p) => p.op === IDENTIFY);
  return id ? shardText(id.info.shard) : `#${conn.id}`;
}

function shardText(shard: unknown): string {
  return Array.isArray(shard) ? `shard ${String(shard[0])}` : 'unsharded';
}

function beats(conn: ConnectionLog): number[] {
  return conn.client.filter((p) => p.op === HEARTBEAT).map((p) => p.at);
}

function maxInWindow(payloads: readonly SeenClientPayload[], windowMs: number): number {
  let best = 0;
  let from = 0;
  for (let i = 0; i < payloads.length; i++) {
    while (payloads[i]!.at - payloads[from]!.at >= windowMs) from++;
    best = Math.max(best, i - from + 1);
  }
  return best;
}

const heartbeatRequest: Scenario = {
  name: 'heartbeat-request',
  summary: 'op 1 from the gateway is answered with a heartbeat at once',
  async run(ctx) {
    const name = this.name;
    const e = await established(ctx, name);
    if ('verdict' in e) return e;
    const I = ctx.interval;
    const since = ctx.now();
    await ctx.waitFor(() => e.conn.client.some((p) => p.op === HEARTBEAT && p.at >= since), 1.5 * I);
    await ctx.sleep(0.2 * I);
    const z = ctx.now();
    ctx.sim.inject({ kind: 'request-heartbeat', sessionId: e.sessionId });
    await ctx.waitFor(() => e.conn.client.some((p) => p.op === HEARTBEAT && p.at >= z), I);
    const answer = e.conn.client.find((p) => p.op === HEARTBEAT && p.at >= z);
    if (!answer) return fail(name, `no heartbeat within 1×interval of op 1; Discord expects one immediately`);
    const dt = answer.at - z;
    if (dt > 0.25 * I)
      return fail(
        name,
        `heartbeat ${ms(dt, I)} after op 1 (bound 0.25×interval); Discord expects one immediately`,
      );
    return pass(name, `heartbeat ${ms(dt, I)} after op 1`);
  },
};

function zombieLike(name: string, summary: string, fault: 'zombie' | 'delay'): Scenario {
  return {
    name,
    summary,
    async run(ctx) {
      const e = await established(ctx, name);
      if ('verdict' in e) return e;
      const I = ctx.interval;
      const since = ctx.now();
      // Start right after a heartbeat was answered, so the next one is the first without an ACK.
      await ctx.waitFor(() => e.conn.client.some((p) => p.op === HEARTBEAT && p.at >= since), 1.5 * I);
      const z = ctx.now();
      if (fault === 'zombie') ctx.sim.inject({ kind: 'zombie', sessionId: e.sessionId });
      else ctx.sim.inject({ kind: 'delay', sessionId: e.sessionId, ms: 30 * I });
      return gradeResume(ctx, name, {
        old: e.conn,
        sessionId: e.sessionId,
        what: fault === 'zombie' ? 'ACKs stopped' : 'the connection went silent',
        since: z,
        boundMs: 3 * I,
        timeoutMs: 8 * I,
      });
    },
  };
}

const reconnect: Scenario = {
  name: 'reconnect',
  summary: 'op 7 mid-stream → RESUME on resume_gateway_url with the last seq',
  async run(ctx) {
    const e = await established(ctx, this.name);
    if ('verdict' in e) return e;
    emitEvents(ctx.sim, 3);
    await settle(ctx, e.conn);
    const z = ctx.now();
    ctx.sim.inject({ kind: 'reconnect', sessionId: e.sessionId });
    return gradeResume(ctx, this.name, {
      old: e.conn,
      sessionId: e.sessionId,
      what: 'op 7',
      since: z,
      timeoutMs: 10 * ctx.interval,
    });
  },
};

const reconnectBeforeHello: Scenario = {
  name: 'reconnect-before-hello',
  summary:
    'op 7 in place of HELLO (Discord documents it may come at any time) → close, reconnect, RESUME with the last seq',
  async run(ctx) {
    const name = this.name;
    const e = await established(ctx, name);
    if ('verdict' in e) return e;
    const I = ctx.interval;
    emitEvents(ctx.sim, 2);
    await settle(ctx, e.conn);
    const lastSeq = ConnectionRecorder.lastSeq(e.conn);
    // The next connection gets op 7 instead of HELLO; a drop makes the client open it.
    ctx.sim.inject({ kind: 'reconnect', next: 1 });
    const z = ctx.now();
    ctx.sim.inject({ kind: 'drop', sessionId: e.sessionId });
    await ctx.waitFor(() => ctx.rec.openedSince(z).length > 0, 10 * I, { untilExit: true });
    const first = ctx.rec.openedSince(z)[0];
    if (!first) return fail(name, `no reconnect within 10×interval after a TCP drop`);
    await ctx.waitFor(
      () => ctx.rec.openedSince(z).some((c) => c !== first && ConnectionRecorder.resumed(c) !== undefined),
      10 * I,
      { untilExit: true },
    );
    const op7 = first.server.find((p) => p.op === 7);
    const lived = first.close ? first.close.at - (op7?.at ?? first.openedAt) : undefined;
    const livedText =
      lived === undefined
        ? 'never closed'
        : `${first.close!.by === 'client' ? 'closed by the client' : `closed by the server (${first.close!.code})`} ${ms(lived, I)} after op 7`;
    const expected = `Discord: op 7 may come before HELLO; reconnect and RESUME (seq ${lastSeq}) on resume_gateway_url`;
    const later = ctx.rec.openedSince(z).filter((c) => c !== first);
    const resumedOn = later.find((c) => ConnectionRecorder.resumed(c) !== undefined);
    const sentOnFirst = first.client.filter((p) => p.op === IDENTIFY || p.op === RESUME);
    if (!resumedOn) {
      const what =
        sentOnFirst.length > 0
          ? `; sent ${sentOnFirst.map((p) => (p.op === IDENTIFY ? 'IDENTIFY' : 'RESUME')).join(', ')} on it without HELLO`
          : '';
      const next = later
        .slice(0, 3)
        .map(
          (c) =>
            `${
              c.client
                .map((p) => (p.op === IDENTIFY ? 'IDENTIFY' : p.op === RESUME ? 'RESUME' : ''))
                .filter(Boolean)
                .join('+') || 'no auth'
            } (${closeText(c)})`,
        )
        .join('; ');
      return fail(
        name,
        `the op 7 connection was ${livedText}${what}; no RESUMED on a later connection${next ? ` (later: ${next})` : ' (no later connection)'}; ${expected}`,
      );
    }
    const resume = resumedOn.client.find((p) => p.op === RESUME)!;
    if (resume.info.seq !== lastSeq || resume.info.sessionId !== e.sessionId || !resumedOn.viaResumeUrl)
      return fail(
        name,
        `resumed with seq ${String(resume.info.seq)} on ${resumedOn.viaResumeUrl ? 'resume_gateway_url' : 'the bootstrap URL'}; ${expected}`,
      );
    if (lived === undefined || lived > 2 * I)
      return fail(name, `the op 7 connection was ${livedText} (bound 2×interval); ${expected}`);
    return pass(
      name,
      `the op 7 connection was ${livedText}; RESUME with seq ${lastSeq} on resume_gateway_url; RESUMED`,
    );
  },
};

const invalidSessionResumable: Scenario = {
  name: 'invalid-session-resumable',
  summary: 'op 9 d:true → RESUME',
  async run(ctx) {
    const e = await established(ctx, this.name);
    if ('verdict' in e) return e;
    const z = ctx.now();
    ctx.sim.inject({ kind: 'invalid-session', resumable: true, sessionId: e.sessionId });
    return gradeResume(ctx, this.name, {
      old: e.conn,
      sessionId: e.sessionId,
      what: 'op 9 d:true',
      since: z,
      timeoutMs: 10 * ctx.interval,
      sameConnectionOk: true,
    });
  },
};

const invalidSession: Scenario = {
  name: 'invalid-session',
  summary: 'op 9 d:false → a random 1–5 s wait, then IDENTIFY',
  async run(ctx) {
    const e = await established(ctx, this.name);
    if ('verdict' in e) return e;
    const z = ctx.now();
    ctx.sim.inject({ kind: 'invalid-session', resumable: false, sessionId: e.sessionId });
    return gradeIdentify(ctx, this.name, {
      since: z,
      what: 'op 9 d:false',
      why: 'the session is invalid',
      delay: [1000, 5000],
    });
  },
};

function resumeAfter(
  name: string,
  summary: string,
  fault: { kind: 'drop' } | { kind: 'close'; code: number },
): Scenario {
  return {
    name,
    summary,
    async run(ctx) {
      const e = await established(ctx, name);
      if ('verdict' in e) return e;
      emitEvents(ctx.sim, 2);
      await settle(ctx, e.conn);
      const z = ctx.now();
      ctx.sim.inject({ ...fault, sessionId: e.sessionId });
      return gradeResume(ctx, name, {
        old: e.conn,
        sessionId: e.sessionId,
        what: fault.kind === 'drop' ? 'a TCP drop' : `close ${fault.code}`,
        since: z,
        timeoutMs: 10 * ctx.interval,
      });
    },
  };
}

function identifyAfterClose(code: 4007 | 4009, why: string): Scenario {
  const name = `close-${code}`;
  return {
    name,
    summary: `close ${code} → IDENTIFY (the session is gone)`,
    async run(ctx) {
      const e = await established(ctx, name);
      if ('verdict' in e) return e;
      const z = ctx.now();
      ctx.sim.inject({ kind: 'close', code, sessionId: e.sessionId });
      return gradeIdentify(ctx, name, { since: z, what: `close ${code}`, why });
    },
  };
}

function fatalClose(code: number): Scenario {
  const name = `close-${code}`;
  return {
    name,
    summary: `close ${code} → the client stops and does not reconnect`,
    async run(ctx) {
      const e = await established(ctx, name);
      if ('verdict' in e) return e;
      const z = ctx.now();
      ctx.sim.inject({ kind: 'close', code, sessionId: e.sessionId });
      const watch = Math.max(4 * ctx.interval, 3000);
      await ctx.waitFor(() => ctx.rec.openedSince(z).length > 0, watch, { untilExit: true });
      const again = ctx.rec.openedSince(z);
      if (again.length > 0) {
        const first = again[0]!;
        const op = first.client.find((p) => p.op === IDENTIFY || p.op === RESUME);
        return fail(
          name,
          `reconnected ${Math.round(first.openedAt - z)} ms after close ${code}${op ? ` and sent ${op.op === IDENTIFY ? 'IDENTIFY' : 'RESUME'}` : ''}; Discord: ${code} is not reconnectable (fix the cause first)`,
        );
      }
      return pass(
        name,
        ctx.client.running
          ? `no reconnect within ${Math.round(watch)} ms after close ${code}`
          : `no reconnect; client ${exitText(ctx)} after close ${code}`,
      );
    },
  };
}

const replay: Scenario = {
  name: 'replay',
  summary: 'events missed while disconnected are replayed after RESUME, complete and in order',
  async run(ctx) {
    const name = this.name;
    const e = await established(ctx, name);
    if ('verdict' in e) return e;
    emitEvents(ctx.sim, 3);
    await settle(ctx, e.conn);
    const resumeSeq = ConnectionRecorder.lastSeq(e.conn);
    const reportedBefore = ctx.client.reported.length;
    const z = ctx.now();
    // The drop and the missed events in one tick: the client cannot be back before they are buffered.
    ctx.sim.inject({ kind: 'drop', sessionId: e.sessionId });
    emitEvents(ctx.sim, 5);
    const missed = [resumeSeq + 1, resumeSeq + 2, resumeSeq + 3, resumeSeq + 4, resumeSeq + 5];
    const resume = await gradeResume(ctx, name, {
      old: e.conn,
      sessionId: e.sessionId,
      what: 'a TCP drop',
      since: z,
      timeoutMs: 10 * ctx.interval,
    });
    if (resume.verdict !== 'pass') return resume;
    const conn = ctx.rec.clientOps(RESUME, z)[0]!.conn;
    const resumed = ConnectionRecorder.resumed(conn)!;
    const sent = conn.server
      .filter((p) => p.op === 0 && p.at <= resumed.at && p.t !== 'RESUMED')
      .map((p) => p.s);
    if (sent.join(',') !== missed.join(','))
      return fail(name, `simulator replayed s ${sent.join(',')}, expected ${missed.join(',')}`);
    const last = missed.at(-1)!;
    if (ctx.client.reported.length > 0) {
      await ctx.waitFor(() => ctx.client.reported.some((r) => r.s >= last), 2 * ctx.interval);
      const after = ctx.client.reported.slice(reportedBefore).map((r) => r.s);
      const got = after.filter((s) => s > resumeSeq && s <= last);
      const dup = after.filter((s) => s <= resumeSeq);
      if (got.join(',') !== missed.join(',') || dup.length > 0)
        return fail(
          name,
          `client reported s ${after.slice(0, 12).join(',')} after the RESUME; expected ${missed.join(',')} once each, in order`,
        );
      return pass(name, `replayed s ${missed.join(',')}; the client reported them once each, in order`);
    }
    await ctx.waitFor(
      () => conn.client.some((p) => p.op === HEARTBEAT && p.at > resumed.at) || conn.close !== undefined,
      2 * ctx.interval,
    );
    const beat = conn.client.find((p) => p.op === HEARTBEAT && p.at > resumed.at);
    if (!beat) return fail(name, `no heartbeat within 2×interval after RESUMED (${closeText(conn)})`);
    const seq = beat.info.seq;
    if (typeof seq !== 'number' || seq < last)
      return fail(name, `replayed s ${missed.join(',')}, but the next heartbeat carried seq ${String(seq)}`);
    return pass(name, `replayed s ${missed.join(',')}; next heartbeat carried seq ${seq}`);
  },
};

const memberRequestLimit: Scenario = {
  name: 'member-request-limit',
  summary:
    'two all-members requests for one guild (SHARDLINE_REQUEST_MEMBERS): the second gets RATE_LIMITED; no resend before retry_after',
  simulator: ({ interval }) => ({ memberRequestWindowMs: 3 * interval }),
  env: (sim) => ({ SHARDLINE_REQUEST_MEMBERS: sim.world.guilds[0]!.id }),
  async run(ctx) {
    const name = this.name;
    const e = await established(ctx, name);
    if ('verdict' in e) return e;
    const I = ctx.interval;
    const guildId = ctx.sim.world.guilds[0]!.id;
    const window = ctx.sim.options.memberRequestWindowMs;
    const requests = () =>
      ctx.rec
        .clientOps(REQUEST_GUILD_MEMBERS)
        .filter((p) => p.info.guildId === guildId && p.info.query === '' && p.info.limit === 0);
    await ctx.waitFor(() => requests().length >= 2, 4 * I);
    if (requests().length === 0)
      return skip(
        name,
        'the client sent no all-members request (it is asked to request all members of SHARDLINE_REQUEST_MEMBERS twice)',
      );
    if (ctx.sim.stats().violations['missing-intent'] > 0)
      return fail(
        name,
        'requested all members without the GUILD_MEMBERS intent (answered with an empty chunk)',
      );
    // Let a client that honours retry_after resend once.
    await ctx.sleep(window + I);
    const reqs = requests();
    const limited = e.conn.server.filter((p) => p.op === 0 && p.t === 'RATE_LIMITED');
    if (reqs.length === 1)
      return skip(name, 'the client sent one all-members request: the limit was not reached');
    if (limited.length === 0)
      return pass(name, `${reqs.length} requests, ≥ ${window} ms apart: never rate limited`);
    let accepted = reqs[0]!.at;
    const text: string[] = [];
    for (const r of reqs.slice(1)) {
      const early = r.at - accepted < window;
      const lastLimit = limited.filter((l) => l.at < r.at).at(-1);
      if (early && lastLimit) {
        const retryAfter = window - (lastLimit.at - accepted);
        if (r.at - lastLimit.at < retryAfter * 0.95)
          return fail(
            name,
            `re-sent ${Math.round(r.at - lastLimit.at)} ms after RATE_LIMITED (retry_after ${(retryAfter / 1000).toFixed(2)} s); Discord: wait retry_after`,
          );
      }
      if (!early) accepted = r.at;
      text.push(`+${Math.round(r.at - reqs[0]!.at)} ms${early ? ' (RATE_LIMITED)' : ' (answered)'}`);
    }
    if (reqs.length > 5)
      return fail(name, `${reqs.length} all-members requests in ${ms(window + I, I)}: a retry storm`);
    return pass(name, `requests at +0 ms (answered), ${text.join(', ')}; none before retry_after`);
  },
};

/**
 * A big payload stalls the simulator (encoding it) and the client (decoding it) for a while; at a scaled
 * interval that could look like missed heartbeats. These scenarios grade decoding, so the grace is long.
 */
const LONG_GRACE = ({ interval }: { interval: number }) => ({ heartbeatGraceMs: 20 * interval });

function compressedSplit(compression: 'zlib-stream' | 'zstd-stream'): Scenario {
  const name = `${compression}-split`;
  return {
    name,
    simulator: LONG_GRACE,
    summary: `${compression}: messages split across many WebSocket frames (a small event in 32, a 300 KB GUILD_CREATE in 64)`,
    env: () => ({ SHARDLINE_COMPRESS: compression }),
    async run(ctx) {
      const e = await established(ctx, name);
      if ('verdict' in e) return e;
      if (e.conn.compression !== compression)
        return skip(
          name,
          `the client connected with compress=${e.conn.compression === 'none' ? '(none)' : e.conn.compression}; SHARDLINE_COMPRESS asked for ${compression}`,
        );
      ctx.sim.inject({ kind: 'split', parts: 32, sessionId: e.sessionId });
      emitEvents(ctx.sim, 1);
      ctx.sim.inject({ kind: 'split', parts: 64, sessionId: e.sessionId });
      ctx.sim.emitEvent('GUILD_CREATE', bigGuildCreate(ctx.sim, 1200), { sessionId: e.sessionId });
      const last = ConnectionRecorder.lastSeq(e.conn);
      await confirmed(ctx, e.conn, last, 4 * ctx.interval);
      if (e.conn.close) return fail(name, `the connection was ${closeText(e.conn)} after the split messages`);
      const how = isConfirmed(ctx, e.conn, last);
      if (!how) return fail(name, `the client did not confirm seq ${last} within 4×interval`);
      return pass(name, `split messages up to seq ${last} decoded (${how}); connection kept`);
    },
  };
}

const largeGuildCreate: Scenario = {
  name: 'large-guild-create',
  summary: 'a GUILD_CREATE of about 6 MB is decoded and the connection kept',
  simulator: LONG_GRACE,
  async run(ctx) {
    const e = await established(ctx, this.name);
    if ('verdict' in e) return e;
    const d = bigGuildCreate(ctx.sim, 20_000);
    const bytes = Buffer.byteLength(JSON.stringify(d));
    ctx.sim.emitEvent('GUILD_CREATE', d, { sessionId: e.sessionId });
    const last = ConnectionRecorder.lastSeq(e.conn);
    await confirmed(ctx, e.conn, last, 10 * ctx.interval);
    const size = `${(bytes / 1048576).toFixed(1)} MiB`;
    if (e.conn.close)
      return fail(this.name, `the connection was ${closeText(e.conn)} after a ${size} GUILD_CREATE`);
    const how = isConfirmed(ctx, e.conn, last);
    if (!how)
      return fail(
        this.name,
        `the client did not confirm the ${size} GUILD_CREATE (seq ${last}) within 10×interval`,
      );
    return pass(this.name, `${size} GUILD_CREATE (seq ${last}) decoded (${how})`);
  },
};

/** Every scenario, in the order they run. */
export const SCENARIOS: readonly Scenario[] = [
  startup,
  heartbeatRequest,
  zombieLike(
    'zombie',
    'heartbeat ACKs withheld → the client closes and RESUMEs within about two intervals',
    'zombie',
  ),
  zombieLike(
    'silent',
    'the connection goes silent (nothing at all) → close and RESUME within about two intervals',
    'delay',
  ),
  reconnect,
  reconnectBeforeHello,
  invalidSessionResumable,
  invalidSession,
  resumeAfter('drop', 'TCP drop (no close frame) → RESUME', { kind: 'drop' }),
  resumeAfter('close-4000', 'close 4000 → RESUME', { kind: 'close', code: 4000 }),
  identifyAfterClose(4007, 'Discord: 4007 invalid seq, start a new session'),
  identifyAfterClose(4009, 'Discord: 4009 session timed out, start a new session'),
  ...FATAL_CLOSE_CODES.map(fatalClose),
  replay,
  memberRequestLimit,
  compressedSplit('zlib-stream'),
  compressedSplit('zstd-stream'),
  largeGuildCreate,
];

/** Violations a scenario provokes on purpose; any other fails it. */
export const EXPECTED_VIOLATIONS: Readonly<Record<string, readonly ViolationKind[]>> = {
  'member-request-limit': ['member-request-rate'],
};
