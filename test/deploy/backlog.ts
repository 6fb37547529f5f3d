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
