// docs/record-replay.md example, verbatim (imports point at the sources); the build type-checks it.
import { expectTypeOf } from 'expect-type';
import type { ReplayStats } from '../../../src/simulator/index.js';

import { startSimulator } from '../../../src/simulator/index.js';
const sim = await startSimulator({ replay: { path: 'test/fixtures/incident.ndjson.gz', asFastAsPossible: true } });
// give the client sim.restUrl (or sim.gatewayUrl) and sim.tokens[0]; READY and guilds come from the file
// sim.stats().replay → { state: 'waiting' | 'playing' | 'finished' | 'failed', events, emitted, loops, … }
await sim.close();

expectTypeOf(sim.stats().replay).toEqualTypeOf<ReplayStats | undefined>();
expectTypeOf(sim.stats().replay!.state).toEqualTypeOf<'waiting' | 'playing' | 'finished' | 'failed'>();
