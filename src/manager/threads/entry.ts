/**
 * A shard thread: runs real `Shard`s (socket, decompression, decoding) off the main thread. Identify slots
 * and stored sessions are asked of the main thread, so pacing and the session store stay in one place.
 * Everything the shards emit goes back in ordered batches, flushed once per event-loop turn; with more than
 * `highWaterMark` dispatches unacknowledged the shards stop reading their sockets until the main thread
 * catches up. In handler mode the user's module gets the dispatches here and only bookkeeping crosses.
 */
import { parentPort, workerData } from 'node:worker_threads';
import type { GatewayDispatchPayload } from 'discord-api-types/v10';
import { ShardError } from '../../errors.js';
import type { IdentifyQueue } from '../../shard/identify-queue.js';
import type { SessionInfo, SessionStore } from '../../shard/session-store.js';
import { Shard } from '../../shard/shard.js';
import { wsGatewayConnection } from '../../transport/connection.js';
import {
  type FromThread,
  reviveError,
  serializeError,
  TAG,
  type ThreadInit,
  type ToThread,
} from './protocol.js';

/** Dispatch types the manager keeps books on (guild set, member requests) even in handler mode. */
const BOOKKEEPING = new Set(['GUILD_CREATE', 'GUILD_DELETE', 'GUILD_MEMBERS_CHUNK', 'RATE_LIMITED']);
/** A batch is posted at once beyond this many items, without waiting for the end of the turn. */
const MAX_BATCH_ITEMS = 1024;

type Handler = (payload: GatewayDispatchPayload, shardId: number) => unknown;

const port = parentPort;
if (!port) throw new Error('shardline: threads/entry.js runs only as a worker thread');
const init = workerData as ThreadInit;
const handled = init.handled ? new Float64Array(init.handled) : null;

let items: unknown[] = [];
let batchEvents = 0;
let flushQueued = false;
let inFlight = 0;
let paused = false;
let nextReq = 1;
const shards = new Map<number, Shard>();
const identifyWaits = new Map<number, { resolve(): void; reject(e: unknown): void }>();
const sessionLoads = new Map<number, (s: SessionInfo | null) => void>();
/** Handler mode: per key, dispatches handled since the last flush and the last sequence. */
const handledCounts = new Map<number, { count: number; seq: number | null }>();
let handler: Handler | null = null;

function flush(): void {
  flushQueued = false;
  for (const [key, h] of handledCounts) items.push(TAG.handled, key, h.count, h.seq);
  handledCounts.clear();
  if (items.length === 0) return;
  const msg: FromThread = { type: 'batch', items, events: batchEvents };
  inFlight += batchEvents;
  items = [];
  batchEvents = 0;
  port!.postMessage(msg);
  if (!paused && inFlight >= init.highWaterMark) {
    paused = true;
    for (const s of shards.values()) s.pauseReading();
    threadDebug(`reading paused: ${inFlight} dispatches not yet delivered by the main thread`);
  }
}

/** A debug line of the thread itself (key -1: the manager emits it with shard id null). */
function threadDebug(message: string): void {
  push(TAG.event, -1, 'debug', [message]);
}

function push(...item: unknown[]): void {
  for (const v of item) items.push(v);
  if (items.length >= MAX_BATCH_ITEMS) flush();
  else if (!flushQueued) {
    flushQueued = true;
    setImmediate(flush);
  }
}

/** Dispatches the main thread parses from the wire text (READY and RESUMED are the shard's own business). */
const rawDispatch = (t: string): boolean => t !== 'READY' && t !== 'RESUMED';

function pushDispatch(key: number, payload: GatewayDispatchPayload): void {
  let value: unknown = payload;
  const raw = (payload as { raw?: string }).raw;
  if (raw !== undefined) value = raw;
  else if (init.delivery === 'json') {
    try {
      value = JSON.stringify(payload);
    } catch {
      value = payload; // a value JSON cannot hold (a BigInt from ETF): cloned instead
    }
  }
  batchEvents++;
  push(TAG.dispatch, key, value);
}

function handle(key: number, slot: number, shardId: number, payload: GatewayDispatchPayload): void {
  if (BOOKKEEPING.has(payload.t)) push(TAG.bookkeeping, key, payload);
  try {
    handler!(payload, shardId);
  } catch (cause) {
    push(TAG.event, key, 'error', [
      serializeError(new ShardError('LISTENER_FAILED', 'the thread dispatch handler threw', { cause })),
    ]);
  }
  const seq = typeof payload.s === 'number' ? payload.s : null;
  if (seq !== null && handled) handled[slot * 2 + 1] = seq;
  const h = handledCounts.get(key);
  if (h) {
    h.count++;
    if (seq !== null) h.seq = seq;
  } else {
    handledCounts.set(key, { count: 1, seq });
    if (!flushQueued) {
      flushQueued = true;
      setImmediate(flush);
    }
  }
}

function start(key: number, slot: number, options: Record<string, unknown>): void {
  const identifyQueue: IdentifyQueue = {
    waitForIdentify: (_shardId, signal) =>
      new Promise<void>((resolve, reject) => {
        const req = nextReq++;
        const onAbort = (): void => {
          identifyWaits.delete(req);
          push(TAG.identifyAbort, req);
          reject(signal.reason);
        };
        if (signal.aborted) return reject(signal.reason);
        signal.addEventListener('abort', onAbort, { once: true });
        identifyWaits.set(req, {
          resolve: () => {
            signal.removeEventListener('abort', onAbort);
            resolve();
          },
          reject: (e) => {
            signal.removeEventListener('abort', onAbort);
            reject(e);
          },
        });
        push(TAG.identify, key, req);
      }),
  };
  // The main thread answers loads (its own record after a thread restart, else the user's store) and
  // keeps every save; the generation lets it tell whether it saw the latest save before a crash.
  const sessionStore: SessionStore = {
    load: () =>
      new Promise<SessionInfo | null>((resolve) => {
        const req = nextReq++;
        sessionLoads.set(req, resolve);
        push(TAG.load, key, req);
      }),
    save: (_shardId, session) => {
      let generation = 0;
      if (handled) {
        generation = handled[slot * 2]! + 1;
        handled[slot * 2] = generation;
        // The sequence stays the last one handled: the save runs a tick after READY/RESUMED, when later
        // dispatches of the same session may have been handled already.
        if (!session) handled[slot * 2 + 1] = 0;
      }
      push(TAG.save, key, session, generation);
    },
  };
  // `json` delivery of a JSON connection: the wire text itself crosses, validated but never parsed here.
  const rawText = init.delivery === 'json' && options.encoding === 'json' && !init.handler;
  const shard = new Shard({
    ...(rawText ? { transport: (o, h) => wsGatewayConnection({ ...o, rawDispatch }, h) } : {}),
    ...(options as { token: string; intents: number; shardId: number }),
    identifyQueue,
    sessionStore,
  });
  shards.set(key, shard);
  const shardId = shard.id;
  if (handler) shard.on('dispatch', (payload) => handle(key, slot, shardId, payload));
  else shard.on('dispatch', (payload) => pushDispatch(key, payload));
  for (const name of ['ready', 'resumed', 'status', 'heartbeat', 'close', 'debug'] as const) {
    shard.on(name, (...args: unknown[]) => push(TAG.event, key, name, args));
  }
  shard.on('error', (error) => push(TAG.event, key, 'error', [serializeError(error)]));
  if (paused) shard.pauseReading();
  shard.connect().catch((err: unknown) => push(TAG.event, key, 'failed', [serializeError(err)]));
}

async function main(): Promise<void> {
  if (init.handler) {
    const mod = (await import(init.handler)) as { default?: unknown; setup?: unknown };
    if (typeof mod.default !== 'function') {
      throw new TypeError(`threads.handler module ${init.handler} has no default export function`);
    }
    if (typeof mod.setup === 'function') await mod.setup(init.handlerData, init.threadIndex);
    handler = mod.default as Handler;
  }
  port!.on('message', (m: ToThread) => {
    switch (m.type) {
      case 'start':
        start(m.key, m.slot, m.options);
        break;
      case 'send': {
        const shard = shards.get(m.key);
        if (!shard) {
          push(
            TAG.sendResult,
            m.key,
            m.id,
            serializeError(new ShardError('SHARD_DESTROYED', 'no such shard')),
          );
          break;
        }
        shard.send(m.payload as never).then(
          () => push(TAG.sendResult, m.key, m.id, null),
          (err: unknown) => push(TAG.sendResult, m.key, m.id, serializeError(err)),
        );
        break;
      }
      case 'destroy': {
        const shard = shards.get(m.key);
        const done = (): void => {
          shards.delete(m.key);
          push(TAG.destroyed, m.key);
        };
        if (!shard) done();
        else {
          shard
            .destroy({ code: m.code, ...(m.reason ? { reason: m.reason } : {}) })
            .catch((err: unknown) => push(TAG.event, m.key, 'error', [serializeError(err)]))
            .finally(done);
        }
        break;
      }
      case 'identify': {
        const w = identifyWaits.get(m.req);
        identifyWaits.delete(m.req);
        if (m.error) w?.reject(reviveError(m.error));
        else w?.resolve();
        break;
      }
      case 'session': {
        const resolve = sessionLoads.get(m.req);
        sessionLoads.delete(m.req);
        resolve?.(m.session);
        break;
      }
      case 'ack':
        inFlight -= m.events;
        if (paused && inFlight <= init.highWaterMark / 2) {
          paused = false;
          for (const s of shards.values()) s.resumeReading();
          threadDebug(`reading resumed: ${inFlight} dispatches not yet delivered`);
        }
        break;
      case 'exit':
        flush();
        port!.close();
        break;
      case 'crash':
        setImmediate(() => {
          throw new Error('injected thread crash');
        });
        break;
    }
  });
}

void main().catch((err: unknown) => {
  // Reported through the worker's 'error' event; the pool treats it as a crash.
  setImmediate(() => {
    throw err;
  });
});
