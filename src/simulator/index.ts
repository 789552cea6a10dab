// Public API of the gateway simulator. Re-exports only.
export type { Compression } from './compression.js';
export { COMPRESSIONS } from './compression.js';
export type { Encoding } from './encoding.js';
export { ENCODINGS } from './encoding.js';
export type { Fault, FaultKind } from './faults.js';
export { FAULT_KINDS, parseFault } from './faults.js';
export type { IntentName } from './intents.js';
export { ALL_INTENTS, INTENTS, PRIVILEGED_INTENTS, parseIntentList } from './intents.js';
export type { ResolvedSimulatorOptions, SimulatorOptions } from './options.js';
export { DEFAULT_SIMULATOR_OPTIONS, defaultToken, resolveSimulatorOptions } from './options.js';
export type { ViolationKind } from './rules.js';
export { CLOSE_CODES, OPCODES, VIOLATION_KINDS } from './rules.js';
export type { Simulator } from './server.js';
export { startSimulator } from './server.js';
export type { EmitTarget, SessionStats, ShardStats, SimulatorStats } from './simulator.js';
export type { GuildCreateOptions, WorldEvent, WorldGuild, WorldMember, WorldUser } from './world.js';
export { shardOf, snowflake, World } from './world.js';
