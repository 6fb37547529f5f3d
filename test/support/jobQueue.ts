// A test's side of the job queue: its own stream on a test Redis, jobs in, results and the queue's state out,
// and the `code-exec worker` processes that serve it (stopped together after each test).
import { randomUUID } from 'node:crypto';
import type { JobResult } from '../../core/protocol/result.js';
import { deadLetterKey, DEFAULT_CONSUMER_GROUP, resultEventsKey } from '../../core/keys.js';
import { duplicateClient } from '../../worker/redisConnection.js';
import { waitForResult } from '../../worker/resultStore.js';
import type { RedisEndpoint } from './redisServer.js';
import { RUNNER_IMAGE } from './services.js';
import { startWorker, type WorkerHandle } from './workerProcess.js';

export type StreamFields = Record<string, string>;

export function fieldsOf(raw: string[]): StreamFields {
  const fields: StreamFields = {};
  for (let i = 0; i + 1 < raw.length; i += 2) fields[raw[i]] = raw[i + 1];
  return fields;
}

export const workerStarted = (w: WorkerHandle, timeoutMs = 60_000) => w.waitForLog((l) => l.msg === 'worker started', timeoutMs, '"worker started"');

export class TestQueue {
  readonly group = DEFAULT_CONSUMER_GROUP;
  readonly workers: WorkerHandle[] = [];

  constructor(
    readonly redis: RedisEndpoint,
    readonly stream = `jobs-${randomUUID()}`,
  ) {}

  /** A worker on this queue: 2 slots, short blocking reads, the suite's runner image; `env` overrides. */
  startWorker(runnerMode: string, env: Record<string, string> = {}): WorkerHandle {
    const w = startWorker({
      REDIS_URL: this.redis.url,
      REDIS_CLUSTER: String(this.redis.cluster),
      STREAM_KEY: this.stream,
      CONSUMER_GROUP: this.group,
      RUNNER_MODE: runnerMode,
      RUNNER_IMAGE,
      // Every container a docker test sees is one its job made (main's docker transport may keep a warm pool).
      POOL_SIZE: '0',
      MAX_CONCURRENT_JOBS: '2',
      READ_BLOCK_MS: '200',
      METRICS_PORT: '0',
      ...env,
    });
    this.workers.push(w);
    return w;
  }

  async stopWorkers(): Promise<void> {
    await Promise.all(this.workers.splice(0).map((w) => w.stop()));
  }

  /** XADDs a python job (unless the job names another language); returns its id. */
  async submit(job: Record<string, unknown>): Promise<string> {
    return (await this.submitEntry(job)).id;
  }

  /** Like submit, also returning the stream entry's id. */
  async submitEntry(job: Record<string, unknown>): Promise<{ id: string; entryId: string }> {
    const id = (job.id as string | undefined) ?? randomUUID();
    const entryId = await this.submitRaw({ job: JSON.stringify({ id, language: 'python', ...job }) });
    return { id, entryId };
  }

  /** XADDs an entry as it is; returns the entry id. */
  async submitRaw(fields: StreamFields): Promise<string> {
    return (await this.redis.client.xadd(this.stream, '*', ...Object.entries(fields).flat()))!;
  }

  async result(id: string, timeoutMs = 60_000): Promise<JobResult> {
    const waiter = duplicateClient(this.redis.client);
    try {
      const r = await waitForResult(waiter, id, timeoutMs);
      if (!r) throw new Error(`no result for ${id} within ${timeoutMs} ms`);
      return r;
    } finally {
      waiter.disconnect();
    }
  }

  /** Entries delivered and not acknowledged. */
  async pendingCount(): Promise<number> {
    const [count] = (await this.redis.client.xpending(this.stream, this.group)) as [number];
    return Number(count);
  }

  /** How many times a job's result was announced (one per stored result). */
  async announcements(jobId: string): Promise<number> {
    return this.redis.client.xlen(resultEventsKey(jobId));
  }

  async deadLetters(): Promise<StreamFields[]> {
    return (await this.redis.client.xrange(deadLetterKey(this.stream), '-', '+')).map(([, f]) => fieldsOf(f));
  }
}
