// A queue backlog for the autoscaling tests: what the workers' metrics then read from a real Redis.
import type { Redis } from 'ioredis';
import type { WorkerConfig } from '../../worker/config.js';

/** `jobs` entries no worker has been given yet (the group exists, as once a worker has started). */
export async function makeBacklog(redis: Redis, config: WorkerConfig, jobs: number): Promise<void> {
  await redis.del(config.streamKey);
  await redis.xgroup('CREATE', config.streamKey, config.consumerGroup, '$', 'MKSTREAM');
  const pipeline = redis.pipeline();
  for (let i = 0; i < jobs; i++) pipeline.xadd(config.streamKey, '*', 'job', JSON.stringify({ id: `backlog-${i}`, language: 'python', code: 'pass' }));
  await pipeline.exec();
}

/** Backlogs and the worker count each should settle at on both clouds: ceil(backlog / 10) within 2..50. */
export const BACKLOG_CASES: [number, number][] = [[0, 2], [15, 2], [95, 10], [200, 20], [1000, 50]];
