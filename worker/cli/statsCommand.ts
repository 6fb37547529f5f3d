// `code-exec stats`: the queue at a glance, as JSON.
import type { RedisClient } from '../redisConnection.js';
import { DEFAULT_CONSUMER_GROUP, DEFAULT_REDIS_URL, DEFAULT_STREAM_KEY, deadLetterKey } from '../../core/keys.js';
import { connectOnce } from './submitCommand.js';

function record(flat: unknown[]): Record<string, unknown> {
  const r: Record<string, unknown> = {};
  for (let i = 0; i + 1 < flat.length; i += 2) r[String(flat[i])] = flat[i + 1];
  return r;
}

export async function queueStats(redis: RedisClient, streamKey: string, group: string) {
  const length = await redis.xlen(streamKey);
  const groups = ((await redis.xinfo('GROUPS', streamKey).catch(() => [])) as unknown[][]).map(record);
  const mine = groups.find((g) => g.name === group);
  const consumers = mine
    ? ((await redis.xinfo('CONSUMERS', streamKey, group)) as unknown[][]).map(record).map((c) => ({ name: c.name, pending: c.pending, idleMs: c.idle }))
    : [];
  return {
    stream: streamKey,
    group,
    length,
    pending: mine ? Number(mine.pending) : 0,
    lag: mine && mine.lag !== null && mine.lag !== undefined ? Number(mine.lag) : null,
    lastDeliveredId: mine ? mine['last-delivered-id'] : null,
    consumers,
    deadLetters: await redis.xlen(deadLetterKey(streamKey)),
  };
}

export async function statsCommand(): Promise<number> {
  const redis = await connectOnce(process.env.REDIS_URL ?? DEFAULT_REDIS_URL);
  try {
    const stats = await queueStats(redis, process.env.STREAM_KEY ?? DEFAULT_STREAM_KEY, process.env.CONSUMER_GROUP ?? DEFAULT_CONSUMER_GROUP);
    process.stdout.write(`${JSON.stringify(stats, null, 2)}\n`);
    return 0;
  } finally {
    redis.disconnect();
  }
}
