/**
 * A `@discordjs/core` bot that runs no shards: its events come from the Redis event streams through
 * `RedisGateway`. Its MESSAGE_CREATE handler is written as for discord.js; it records each message id twice:
 * appended to OUT_FILE (a plain effect: at least once) and counted in the hash `<PREFIX>handled` through
 * `currentDelivery().onAck` (written in one step with the acknowledgement: exactly once). Ids it handles on a
 * redelivery go to REDELIVERED_FILE. Prints `started` once reading.
 * Environment: REDIS_URL, PREFIX, CONSUMER, OUT_FILE, REDELIVERED_FILE, CLAIM_IDLE_MS, HANDLER_MS.
 */
import { appendFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { Client, GatewayDispatchEvents } from '@discordjs/core';
import { REST } from '@discordjs/rest';
import { currentDelivery, RedisGateway } from '../../src/discordjs/index.js';
import { createRedisClient } from '../../src/redis/index.js';

const env = process.env;
const prefix = env.PREFIX!;
const redis = createRedisClient(env.REDIS_URL!);
const gateway = new RedisGateway({
  redis,
  prefix,
  group: 'bot',
  consumer: env.CONSUMER!,
  claimIdleMs: Number(env.CLAIM_IDLE_MS),
  maxInFlight: 20,
  onError: (err) => process.stderr.write(`${err.code}: ${err.message}\n`),
});
const client = new Client({ rest: new REST(), gateway });

client.on(GatewayDispatchEvents.MessageCreate, async ({ data }) => {
  await sleep(Number(env.HANDLER_MS));
  appendFileSync(env.OUT_FILE!, `${data.id}\n`);
  const delivery = currentDelivery();
  if (delivery && delivery.deliveries > 1) appendFileSync(env.REDELIVERED_FILE!, `${data.id}\n`);
  delivery?.onAck(['HINCRBY', `${prefix}handled`, data.id, 1]);
});

await gateway.start(client);
process.stdout.write('started\n');
process.once('SIGTERM', () => {
  void gateway.close().then(() => redis.quit().then(() => process.exit(0)));
});
