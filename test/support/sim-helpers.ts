/** Helpers for simulator integration tests. */
import type { TestContext } from 'node:test';
import type { Simulator, SimulatorOptions } from '../../src/simulator/index.js';
import { startSimulator } from '../../src/simulator/index.js';
import { type Payload, RawClient, type RawClientOptions } from './raw-client.js';

/** Starts a simulator that the test closes afterwards. */
export async function simulator(t: TestContext, options: SimulatorOptions = {}): Promise<Simulator> {
  const sim = await startSimulator(options);
  t.after(() => sim.close());
  return sim;
}

/** Opens a raw client that the test closes afterwards, and waits for Hello. */
export async function connect(
  t: TestContext,
  sim: Simulator,
  options: RawClientOptions = {},
): Promise<{ client: RawClient; hello: Payload }> {
  const client = await RawClient.connect(options.path ? sim.gatewayUrl : sim.gatewayUrl, options);
  t.after(() => client.terminate());
  const hello = await client.nextOp(10);
  return { client, hello };
}

export interface Identified {
  client: RawClient;
  ready: Payload;
  sessionId: string;
}

/** Connects, identifies (`extra` merged into Identify `d`) and waits for READY. */
export async function identified(
  t: TestContext,
  sim: Simulator,
  extra: Record<string, unknown> = {},
  options: RawClientOptions = {},
): Promise<Identified> {
  const { client } = await connect(t, sim, options);
  client.identify(sim.tokens[0]!, extra);
  const ready = await client.nextOp(0, 'READY');
  return { client, ready, sessionId: (ready.d as { session_id: string }).session_id };
}

export { waitFor } from './wait.js';

export const data = (p: Payload): Record<string, unknown> => p.d as Record<string, unknown>;

/**
 * Samples the simulator every `everyMs` until the test ends and keeps the highest number of open gateway
 * connections and of live connected sessions seen, for "never two connections for one shard" checks.
 * `stop()` ends the sampling earlier (before a deliberate teardown, say).
 */
export function sampleConnections(
  t: TestContext,
  sim: Simulator,
  everyMs: number,
): { readonly maxOpen: number; readonly maxConnected: number; stop(): void } {
  const peak = { maxOpen: 0, maxConnected: 0, stop: () => clearInterval(timer) };
  const timer = setInterval(() => {
    const s = sim.stats();
    peak.maxOpen = Math.max(peak.maxOpen, s.connectionsOpen);
    peak.maxConnected = Math.max(peak.maxConnected, s.sessions.filter((x) => x.connected && !x.ended).length);
  }, everyMs);
  t.after(() => clearInterval(timer));
  return peak;
}
