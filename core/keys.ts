// Redis key names of the protocol: one source of truth for the worker, the CLI and the tests.
export const DEFAULT_REDIS_URL = 'redis://127.0.0.1:6379';
export const DEFAULT_STREAM_KEY = 'code-execution-jobs';
export const DEFAULT_CONSUMER_GROUP = 'execution-workers';

// Protocol v1.1: a job's keys carry its id as a hash tag ({<id>}), so the scripts and multi-key reads that touch
// several of them stay on one hash slot of a Redis Cluster. Every other key is touched alone.
export const resultKey = (jobId: string) => `code-execution:{${jobId}}:result`;
/** A tiny stream per job that gets one entry when the result is stored: waiters XREAD BLOCK on it. */
export const resultEventsKey = (jobId: string) => `code-execution:{${jobId}}:result-events`;
/** A tiny stream per job that gets one entry each time a worker starts running it (SSE `running`). */
export const jobStartsKey = (jobId: string) => `code-execution:{${jobId}}:job-starts`;
/**
 * Every stored result's id, in order (capped): one stream a reader watching many jobs can block on, where a
 * read of each job's own stream would span hash slots (the API's callback dispatcher).
 */
export const RESULTS_FEED_KEY = 'code-execution:results';
/**
 * The v1 names of a result and its announcement: still written for one release (RESULT_V1_KEYS), and a result
 * is read there when absent under its v1.1 name, so readers and workers can be upgraded one by one.
 */
export const v1ResultKey = (jobId: string) => `code-execution:result:${jobId}`;
export const v1ResultEventsKey = (jobId: string) => `code-execution:result-events:${jobId}`;
/** v1's name of the API's job record: read when the v1.1 one is absent, through a rolling upgrade. */
export const v1ApiJobKey = (jobId: string) => `code-execution:api:job:${jobId}`;
export const deadLetterKey = (streamKey: string) => `${streamKey}:dead`;
/** Present while a worker instance is alive (refreshed with a TTL): the container reaper asks it. */
export const workerHeartbeatKey = (ownerId: string) => `code-execution:worker:${ownerId}`;

// --- the HTTP API's keys (api/) ---------------------------------------------------------------------------------
/** A client's id for a job, scoped by its token's owner key, mapped to the internal job id (SET NX: first wins). */
export const apiIdKey = (owner: string, clientId: string) => `code-execution:api:id:${owner}:${clientId}`;
/** What the API knows about a job it queued beside the job itself: its owner, dialect, request, callback. */
export const apiJobKey = (jobId: string) => `code-execution:{${jobId}}:api-job`;
/** Jobs whose result is to be delivered to a callback URL; API replicas share it through a consumer group. */
export const API_CALLBACKS_STREAM = 'code-execution:api:callbacks';
export const API_CALLBACKS_GROUP = 'api-callbacks';
/** Per-token request counter of the current rate-limit window. */
export const apiRateKey = (owner: string, window: number) => `code-execution:api:rate:${owner}:${window}`;
/** Language versions as the workers measured them at start (HSET language version). */
export const LANGUAGE_VERSIONS_KEY = 'code-execution:language-versions';
