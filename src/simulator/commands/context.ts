/**
 * What a gateway command handler (op 3, 4, 8, 31, 43) may use of the simulator: delivery to its session,
 * the world, the rules' counters. Handlers depend on this interface only, never on `SimulatorCore`, so
 * the core imports them and nothing imports back.
 */
import type { Dispatch } from '../dispatch.js';
import type { ResolvedSimulatorOptions } from '../options.js';
import type { MemberRequestLimiter, ViolationKind } from '../rules.js';
import type { World, WorldGuild } from '../world.js';

/** The parts of a session a command reads or changes. */
export interface CommandSession {
  readonly shard: readonly [number, number];
  readonly intents: number;
  presence: unknown;
}

/** The connection the command came on: handlers only ever close it. */
export interface CommandConnection {
  closeWith(code: number, reason: string, violation?: ViolationKind): void;
}

export interface CommandContext<S extends CommandSession> {
  readonly options: ResolvedSimulatorOptions;
  readonly world: World;
  readonly memberRequests: MemberRequestLimiter;
  /** Numbers, buffers and sends a dispatch to the session; false when its intents filter it out. */
  deliver(session: S, dispatch: Dispatch): boolean;
  countViolation(kind: ViolationKind): void;
}

/** The guild `id` names when it exists and is on the session's shard (Discord ignores any other). */
export function guildOf(world: World, session: CommandSession, id: unknown): WorldGuild | undefined {
  if (typeof id !== 'string') return undefined;
  const g = world.guild(id);
  if (!g || g.routeKey % session.shard[1] !== session.shard[0]) return undefined;
  return g;
}

export const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);
