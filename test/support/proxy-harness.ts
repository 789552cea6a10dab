/** Helpers for proxy integration tests: the simulator as upstream, a `GatewayProxy` in front, raw clients. */
import type { TestContext } from 'node:test';
import { GatewayProxy, type GatewayProxyOptions } from '../../src/proxy/index.js';
import type { Simulator, SimulatorOptions } from '../../src/simulator/index.js';
import { startSimulator } from '../../src/simulator/index.js';
import { type Payload, RawClient, type RawClientOptions } from './raw-client.js';

export const CLIENT_TOKEN = 'proxy-client-token';
/** GUILDS | GUILD_MEMBERS | GUILD_MESSAGES | GUILD_PRESENCES | MESSAGE_CONTENT | GUILD_VOICE_STATES */
export const UPSTREAM_INTENTS = 1 | 2 | 128 | 256 | 512 | 32768;

/** A test context, or anything that runs clean-ups at the end (for rigs shared by a whole file). */
export interface Cleanup {
  after(fn: () => unknown): void;
}

export interface ProxyRig {
  sim: Simulator;
  proxy: GatewayProxy;
}

/** Starts a simulator and a proxy connected to it (both closed after the test). */
export async function proxyRig(
  t: Cleanup,
  simOptions: SimulatorOptions = {},
  proxyOptions: Partial<GatewayProxyOptions> = {},
): Promise<ProxyRig> {
  const sim = await startSimulator({
    heartbeatIntervalMs: 5_000,
    identifyWindowMs: 50,
    guilds: 6,
    shards: 2,
    ...simOptions,
  });
  t.after(() => sim.close());
  const proxy = new GatewayProxy({
    token: sim.tokens[0]!,
    intents: UPSTREAM_INTENTS,
    clientTokens: [CLIENT_TOKEN],
    api: sim.restUrl,
    compression: 'none',
    encoding: 'json',
    upstream: { identifyWindowMs: 50, identifyMarginMs: 10 },
    ...proxyOptions,
  });
  t.after(() => proxy.destroy());
  await proxy.start();
  return { sim, proxy };
}

/** A raw client connected to the proxy, after HELLO. */
export async function proxyClient(
  t: TestContext,
  proxy: GatewayProxy,
  options: RawClientOptions = {},
): Promise<{ client: RawClient; hello: Payload }> {
  const client = await RawClient.connect(proxy.gatewayUrl, options);
  t.after(() => client.terminate());
  const hello = await client.nextOp(10);
  return { client, hello };
}

/** Connects, identifies on `shard` and waits for READY. */
export async function identifiedClient(
  t: TestContext,
  proxy: GatewayProxy,
  shard: [number, number],
  extra: Record<string, unknown> = {},
  options: RawClientOptions = {},
): Promise<{ client: RawClient; ready: Payload; sessionId: string }> {
  const { client } = await proxyClient(t, proxy, options);
  client.identify(CLIENT_TOKEN, { shard, intents: UPSTREAM_INTENTS, ...extra });
  const ready = await client.nextOp(0, 'READY');
  return { client, ready, sessionId: (ready.d as { session_id: string }).session_id };
}
