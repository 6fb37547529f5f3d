// `code-exec submit FILE`: XADD a job and, unless --no-wait, block until its result is stored.
import { DEFAULT_REDIS_URL, DEFAULT_STREAM_KEY } from '../../core/keys.js';
import { clusterFromEnv, createRedisClient, redactedUrl, type RedisClient } from '../redisConnection.js';
import { waitForResult } from '../resultStore.js';
import { jobFromFile, UsageError, type JobFlags } from './jobFromFile.js';

export interface SubmitFlags extends JobFlags {
  'no-wait'?: boolean;
  'timeout-ms'?: string;
}

/** A connection (to a cluster with REDIS_CLUSTER=true) that fails fast with a clear message instead of retrying forever. */
export async function connectOnce(url: string, cluster = clusterFromEnv()): Promise<RedisClient> {
  const redis = createRedisClient({ url, cluster }, () => null, { lazyConnect: true, maxRetriesPerRequest: 1 });
  redis.on('error', () => {});
  try {
    await redis.connect();
  } catch (err) {
    throw new UsageError(`cannot reach Redis at ${redactedUrl(url)} (${(err as Error).message}); start redis-server or set REDIS_URL${cluster ? ' (a node of the cluster: REDIS_CLUSTER=true)' : ''}`);
  }
  return redis;
}

export async function submitCommand(file: string | undefined, flags: SubmitFlags): Promise<number> {
  const job = jobFromFile(file, flags);
  const timeoutMs = Number(flags['timeout-ms'] ?? 120_000);
  const url = process.env.REDIS_URL ?? DEFAULT_REDIS_URL;
  const redis = await connectOnce(url);
  try {
    await redis.xadd(process.env.STREAM_KEY ?? DEFAULT_STREAM_KEY, '*', 'job', JSON.stringify(job));
    if (flags['no-wait']) {
      process.stdout.write(`${JSON.stringify({ id: job.id, queued: true })}\n`);
      return 0;
    }
    process.stderr.write(`${JSON.stringify({ msg: 'waiting for the result', id: job.id, timeoutMs })}\n`);
    const result = await waitForResult(redis, job.id, timeoutMs);
    if (!result) {
      process.stderr.write(`no result for job ${job.id} within ${timeoutMs} ms: is a worker running? (code-exec worker; code-exec stats shows the queue)\n`);
      return 2;
    }
    process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
    return 0;
  } finally {
    redis.disconnect();
  }
}
