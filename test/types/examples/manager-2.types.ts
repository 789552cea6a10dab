// docs/manager.md example, verbatim (imports point at the sources); the build type-checks it.
import { ShardManager } from '../../../src/index.js';

// Delivery mode: the manager's events and API as without threads; the threads decompress and decode.
const threaded = new ShardManager({ token: process.env.DISCORD_TOKEN!, intents: 1 | 512, threads: 2 });
threaded.on('dispatch', (payload, shardId) => {
  /* … */
});

// Handler mode: the module's default export `(payload, shardId) => void` runs inside each thread;
// an optional `setup(handlerData, threadIndex)` export runs first. No `dispatch` event on the main thread.
const inThreads = new ShardManager({
  token: process.env.DISCORD_TOKEN!,
  intents: 1 | 512,
  threads: { count: 'auto', handler: new URL('./on-dispatch.js', import.meta.url), handlerData: { db: 'x' } },
});
void inThreads;
