// A stand-in shard worker for the multi-process Redis tests (run with `node`, not a test file). It owns
// shards through ShardLeases, and for each owned shard plays a deterministic "gateway": session
// `sess-<shard>`, dispatches seq 1…N. A takeover RESUMEs like Discord does: it loads the stored session and
// gets every event after the stored sequence replayed (the stored sequence lags behind what was published,
// so the replay overlaps: the publisher must drop the duplicates). Progress goes to the parent over IPC.
// argv: url prefix ownerId total eventsPerShard
import {
  closeClient,
  createRedisClient,
  RedisEventPublisher,
  RedisSessionStore,
  ShardLeases,
} from '../../src/redis/index.js';

const [url, prefix, ownerId, totalText, eventsText] = process.argv.slice(2) as [
  string,
  string,
  string,
  string,
  string,
];
const total = Number(totalText);
const perShard = Number(eventsText);
const redis = createRedisClient(url);
const store = new RedisSessionStore({ redis, prefix, flushIntervalMs: 20 });
const running = new Map<number, AbortController>();
const leases = new ShardLeases({
  redis,
  prefix,
  ownerId,
  ttlMs: 600,
  renewIntervalMs: 100,
  onLost: (shardId) => running.get(shardId)?.abort(),
});
const publisher = new RedisEventPublisher({
  redis,
  prefix,
  batchSize: 50,
  onPublished: (shardId, _session, seq) => {
    store.updateSequence(shardId, total, seq);
    process.send?.({ kind: 'published', shardId, seq });
  },
});

async function runShard(shardId: number, fence: number, signal: AbortSignal): Promise<void> {
  const stored = await store.load(shardId);
  const sessionId = `sess-${shardId}`;
  let seq = 0;
  if (stored && stored.sessionId === sessionId) {
    seq = stored.sequence; // RESUME: the gateway replays everything after this
    process.send?.({ kind: 'resumed', shardId, from: seq });
  } else {
    await store.save(shardId, {
      sessionId,
      sequence: 0,
      resumeUrl: 'wss://resume.invalid',
      shardId,
      shardCount: total,
    });
    process.send?.({ kind: 'identified', shardId });
  }
  while (seq < perShard && !signal.aborted) {
    for (let i = 0; i < 5 && seq < perShard; i++) {
      seq++;
      publisher.publish({ shardId, sessionId, seq, fence, type: 'MESSAGE_CREATE', data: { shardId, seq } });
    }
    await new Promise((resolve) => setTimeout(resolve, 2));
  }
}

leases.start();
const work: Promise<void>[] = [];
for (;;) {
  for (const lease of await leases.claimFree(total, total)) {
    const abort = new AbortController();
    running.set(lease.shardId, abort);
    work.push(runShard(lease.shardId, lease.token, abort.signal));
  }
  if (running.size > 0) process.send?.({ kind: 'owns', shards: [...running.keys()] });
  if (running.size >= total) break;
  await new Promise((resolve) => setTimeout(resolve, 50));
}
await Promise.all(work);
await publisher.flush();
await store.close();
process.send?.({ kind: 'done' });
await leases.close();
await closeClient(redis);
