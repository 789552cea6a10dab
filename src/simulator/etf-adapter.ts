/**
 * The one place the simulator reaches the ETF codec (src/codec/etf). Kept apart so the wire framing in
 * etf-wire.ts does not depend on the codec's option names.
 */
import { SimulatorError } from '../errors.js';

export function encodeEtfTerm(_value: unknown): Uint8Array {
  throw new SimulatorError('SIMULATOR_CLOSED', 'ETF codec not available yet');
}

export function decodeEtfTerm(_bytes: Uint8Array): unknown {
  throw new SimulatorError('SIMULATOR_CLOSED', 'ETF codec not available yet');
}
