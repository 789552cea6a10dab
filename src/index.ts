// Public API of `shardline`. Re-exports only.
export * from './codec/index.js';
export * from './errors.js';
export type { Clock, TimerHandle } from './util/clock.js';
export { ManualClock, seededRandom, systemClock } from './util/clock.js';
export { redact, Secret } from './util/redact.js';
