// Public API of `shardline/simulator`: a local Discord gateway for tests and demos. Re-exports only.
export type {
  RECORDING_ERROR_CODES,
  RecordingErrorCode,
  ShardlineError,
  SIMULATOR_ERROR_CODES,
  SimulatorErrorCode,
} from '../errors.js';
export { RecordingError, SimulatorError } from '../errors.js';
export type { Clock, TimerHandle } from '../util/clock.js';
export type { COMPRESSIONS, Compression } from './compression.js';
export type { ENCODINGS, Encoding } from './encoding.js';
export type { Fault, FaultKind } from './faults.js';
export { FAULT_KINDS } from './faults.js';
export type {
  ObservedClientPayload,
  ObservedClose,
  ObservedConnection,
  ObservedServerPayload,
  SimulatorObserver,
} from './observer.js';
export type { ResolvedSimulatorOptions, SimulatorOptions } from './options.js';
export { DEFAULT_SIMULATOR_OPTIONS, defaultToken } from './options.js';
export type { AnonymizerOptions } from './recording/anonymize.js';
export { Anonymizer } from './recording/anonymize.js';
export type {
  RecordedClose,
  RecordedPayload,
  RecordingEntry,
  RecordingHeader,
} from './recording/format.js';
export { RECORDING_FORMAT, RECORDING_VERSION } from './recording/format.js';
export type { OpenRecording, RecordingReadOptions } from './recording/reader.js';
export { openRecording } from './recording/reader.js';
export type { ReplayState, ReplayStats } from './replay.js';
export { REPLAY_STATES } from './replay.js';
export type { ReplayOptions, ResolvedReplayOptions } from './replay-options.js';
export { DEFAULT_REPLAY_OPTIONS } from './replay-options.js';
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
