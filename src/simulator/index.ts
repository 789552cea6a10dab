// Public API of `shardline/simulator`: a local Discord gateway for tests and demos. Re-exports only.
export type { ShardlineError, SIMULATOR_ERROR_CODES, SimulatorErrorCode } from '../errors.js';
export { SimulatorError } from '../errors.js';
export type { Clock, TimerHandle } from '../util/clock.js';
export type {
  COMPRESSIONS,
  Compression,
  CompressionModeStats,
  CompressionStats,
  ZSTD_ENCODERS,
  ZstdEncoder,
  ZstdEncoderChoice,
} from './compression.js';
export type { ENCODINGS, Encoding } from './encoding.js';
export type { Fault, FaultKind } from './faults.js';
export { FAULT_KINDS } from './faults.js';
export type { ResolvedSimulatorOptions, SimulatorOptions } from './options.js';
export { DEFAULT_SIMULATOR_OPTIONS, defaultToken } from './options.js';
export type { ViolationKind } from './rules.js';
export { VIOLATION_KINDS } from './rules.js';
export type { Simulator } from './server.js';
export { startSimulator } from './server.js';
export type { EmitTarget, SessionStats, ShardStats, SimulatorStats } from './simulator.js';
export type {
  GuildCreateOptions,
  WorldChannel,
  WorldEvent,
  WorldGuild,
  WorldMember,
  WorldRole,
  WorldUser,
} from './world.js';
export { snowflake, World } from './world.js';
