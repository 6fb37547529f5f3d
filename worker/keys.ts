// Redis key names of the protocol: one source of truth for the worker, the CLI and the tests.
export const DEFAULT_REDIS_URL = 'redis://127.0.0.1:6379';
export const DEFAULT_STREAM_KEY = 'code-execution-jobs';
export const DEFAULT_CONSUMER_GROUP = 'execution-workers';

export const resultKey = (jobId: string) => `code-execution:result:${jobId}`;
/** A tiny stream per job that gets one entry when the result is stored: waiters XREAD BLOCK on it. */
export const resultEventsKey = (jobId: string) => `code-execution:result-events:${jobId}`;
/** A tiny stream per job that gets one entry each time a worker starts running it (SSE `running`). */
export const jobStartsKey = (jobId: string) => `code-execution:job-starts:${jobId}`;
export const deadLetterKey = (streamKey: string) => `${streamKey}:dead`;
/** Present while a worker instance is alive (refreshed with a TTL): the container reaper asks it. */
export const workerHeartbeatKey = (ownerId: string) => `code-execution:worker:${ownerId}`;
