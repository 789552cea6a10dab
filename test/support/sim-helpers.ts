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

/** Waits until `check()` is true, polling; fails after `timeoutMs`. */
export async function until(check: () => boolean, timeoutMs = 10_000, what = 'condition'): Promise<void> {
  const start = Date.now();
  while (!check()) {
    if (Date.now() - start > timeoutMs) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

export const data = (p: Payload): Record<string, unknown> => p.d as Record<string, unknown>;
