// How much work the queue holds, read from Redis in one place for the Prometheus endpoint and CloudWatch.
import type { RedisClient } from './redisConnection.js';

export interface QueueSample {
  /** XLEN: every entry still in the stream: pending, undelivered, and acknowledged ones not trimmed yet. */
  length: number;
  /** Entries delivered to a worker of the group and not yet acknowledged (XPENDING's count). */
  pending: number;
  /**
   * Entries not yet delivered to the group: the work waiting for a worker, what autoscaling follows.
   * Redis's own `lag` (XINFO GROUPS) when it knows it; when it does not (entries deleted in the middle of
   * the stream), counted with XRANGE after the group's last delivered id, up to LAG_COUNT_LIMIT.
   */
  lag: number;
}

export const LAG_COUNT_LIMIT = 10_000;

function record(flat: unknown[]): Record<string, unknown> {
  const r: Record<string, unknown> = {};
  for (let i = 0; i + 1 < flat.length; i += 2) r[String(flat[i])] = flat[i + 1];
  return r;
}

export async function sampleQueue(redis: RedisClient, streamKey: string, group: string): Promise<QueueSample> {
  const length = await redis.xlen(streamKey);
  if (length === 0 && (await redis.exists(streamKey)) === 0) return { length: 0, pending: 0, lag: 0 };
  const groups = ((await redis.xinfo('GROUPS', streamKey)) as unknown[][]).map(record);
  const mine = groups.find((g) => g.name === group);
  // No group yet (no worker ever started): every entry waits.
  if (!mine) return { length, pending: 0, lag: length };
  const pending = Number(mine.pending);
  if (mine.lag !== null && mine.lag !== undefined) return { length, pending, lag: Number(mine.lag) };
  const after = (await redis.xrange(streamKey, `(${String(mine['last-delivered-id'])}`, '+', 'COUNT', LAG_COUNT_LIMIT)).length;
  return { length, pending, lag: after };
}
