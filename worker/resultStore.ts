// Results in Redis: written first-wins (a redelivered job never replaces a stored result) and announced on a
// per-job events stream, so a waiter blocks with XREAD instead of polling and cannot miss the announcement.
import type { RedisClient } from './redisConnection.js';
import type { JobResult } from '../core/protocol/result.js';
import { jobStartsKey, RESULTS_FEED_KEY, resultEventsKey, resultKey, v1ResultEventsKey, v1ResultKey } from '../core/keys.js';

const STORE_FIRST_WINS = `
if redis.call('SET', KEYS[1], ARGV[1], 'NX', 'EX', ARGV[2]) then
  redis.call('XADD', KEYS[2], '*', 'status', ARGV[3])
  redis.call('EXPIRE', KEYS[2], ARGV[2])
  return 1
end
return 0`;

/** How many ids the results feed keeps (approximately): its readers are live, not catching up on history. */
export const RESULTS_FEED_MAXLEN = 10_000;

/**
 * Stores the result unless one exists, then announces it on the results feed; with `v1Keys` also under the
 * v1 key names. Returns true when this call stored it.
 */
export async function storeResult(redis: RedisClient, result: JobResult, ttlSeconds: number, opts: { v1Keys?: boolean } = {}): Promise<boolean> {
  const json = JSON.stringify(result);
  const stored = (await redis.eval(
    STORE_FIRST_WINS, 2, resultKey(result.id), resultEventsKey(result.id),
    json, String(ttlSeconds), result.status,
  )) === 1;
  // Each its own command (on a cluster these keys live on other hash slots than the job's), sent together.
  await Promise.all([
    announceFinished(redis, result.id, result.status),
    ...(stored && opts.v1Keys
      ? [
        redis.set(v1ResultKey(result.id), json, 'EX', ttlSeconds),
        redis.xadd(v1ResultEventsKey(result.id), '*', 'status', result.status).then(() => redis.expire(v1ResultEventsKey(result.id), ttlSeconds)),
      ]
      : []),
  ]);
  return stored;
}

/**
 * Puts a stored result's id on the results feed. Also called for a redelivery that finds its result stored: the
 * worker that stored it may have stopped before announcing it. A second announcement is harmless.
 */
export async function announceFinished(redis: RedisClient, jobId: string, status: string): Promise<void> {
  await redis.xadd(RESULTS_FEED_KEY, 'MAXLEN', '~', RESULTS_FEED_MAXLEN, '*', 'job', jobId, 'status', status);
}

export async function getResult(redis: RedisClient, jobId: string): Promise<JobResult | null> {
  const raw = (await redis.get(resultKey(jobId))) ?? (await redis.get(v1ResultKey(jobId)));
  return raw === null ? null : (JSON.parse(raw) as JobResult);
}

export async function resultExists(redis: RedisClient, jobId: string): Promise<boolean> {
  return (await redis.exists(resultKey(jobId))) === 1 || (await redis.exists(v1ResultKey(jobId))) === 1;
}

/**
 * Waits for a job's result. `redis` must be a connection this caller may block (XREAD BLOCK).
 * Returns null on timeout.
 */
export async function waitForResult(redis: RedisClient, jobId: string, timeoutMs: number): Promise<JobResult | null> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const result = await getResult(redis, jobId);
    if (result) return result;
    const left = deadline - Date.now();
    if (left <= 0) return null;
    // Reading from 0 sees the announcement whether it came before or after this call.
    // Redis takes whole milliseconds only.
    await redis.xread('BLOCK', Math.ceil(Math.min(left, 5000)), 'STREAMS', resultEventsKey(jobId), '0-0');
  }
}

/**
 * Says that a worker started running the job (one entry per attempt), for waiters that show progress (the
 * HTTP API's `running` event). Kept apart from the result announcement, which stays one entry per job.
 */
export async function announceStarted(redis: RedisClient, jobId: string, worker: string, attempts: number, ttlSeconds: number): Promise<void> {
  await redis.multi()
    .xadd(jobStartsKey(jobId), '*', 'worker', worker, 'attempts', String(attempts))
    .expire(jobStartsKey(jobId), ttlSeconds)
    .exec();
}

/** Where a progress waiter has read up to on a job's two streams (its starts and its result announcement). */
export interface ProgressCursor {
  starts: string;
  result: string;
}

export const PROGRESS_FROM_START: ProgressCursor = { starts: '0-0', result: '0-0' };

export interface Progress {
  /** Worker starts seen after the cursor, oldest first. */
  starts: { worker: string; attempts: number }[];
  /** True when the result was announced after the cursor. */
  finished: boolean;
  cursor: ProgressCursor;
}

/**
 * Blocks (XREAD BLOCK on both of the job's streams, nothing polled) until a worker starts the job or its
 * result is announced after `cursor`, or `timeoutMs` passes (then nothing new, the same cursor).
 * `redis` must be a connection this caller may block.
 */
export async function waitForProgress(redis: RedisClient, jobId: string, cursor: ProgressCursor, timeoutMs: number): Promise<Progress> {
  const reply = (await redis.xread(
    'BLOCK', Math.max(1, Math.round(timeoutMs)), 'STREAMS', jobStartsKey(jobId), resultEventsKey(jobId), cursor.starts, cursor.result,
  )) as [string, [string, string[]][]][] | null;
  const next = { ...cursor };
  const progress: Progress = { starts: [], finished: false, cursor: next };
  for (const [key, entries] of reply ?? []) {
    for (const [entryId, fields] of entries) {
      if (key === resultEventsKey(jobId)) {
        next.result = entryId;
        progress.finished = true;
      } else {
        next.starts = entryId;
        const f: Record<string, string> = {};
        for (let i = 0; i + 1 < fields.length; i += 2) f[fields[i]] = fields[i + 1];
        progress.starts.push({ worker: f.worker ?? '', attempts: Number(f.attempts ?? 0) });
      }
    }
  }
  return progress;
}

/** The most recent start of the job, or null when no worker started it yet. */
export async function lastStart(redis: RedisClient, jobId: string): Promise<{ entryId: string; worker: string; attempts: number } | null> {
  const [entry] = await redis.xrevrange(jobStartsKey(jobId), '+', '-', 'COUNT', 1);
  if (!entry) return null;
  const [entryId, fields] = entry;
  const f: Record<string, string> = {};
  for (let i = 0; i + 1 < fields.length; i += 2) f[fields[i]] = fields[i + 1];
  return { entryId, worker: f.worker ?? '', attempts: Number(f.attempts ?? 0) };
}
