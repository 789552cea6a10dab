// docs/simulator.md example, verbatim (imports point at the sources); the build type-checks it.
import { expectTypeOf } from 'expect-type';
import type { SimulatorStats } from '../../../src/simulator/index.js';

import { startSimulator } from '../../../src/simulator/index.js';
const sim = await startSimulator({ guilds: 50, heartbeatIntervalMs: 200, identifyWindowMs: 50 });
// sim.restUrl → http://127.0.0.1:PORT/api (the REST base: a client appends /v10/…)   sim.gatewayUrl → ws://127.0.0.1:PORT
// sim.tokens[0] is the accepted token; sim.inject({ kind: 'drop', shardId: 0 }); sim.stats(); await sim.close();

expectTypeOf(sim.inject({ kind: 'drop', shardId: 0 })).toEqualTypeOf<number>();
expectTypeOf(sim.stats()).toEqualTypeOf<SimulatorStats>();
expectTypeOf(sim.stats().sessions[0]!.sequence).toEqualTypeOf<number>();
expectTypeOf(sim.restUrl).toEqualTypeOf<string>();
