// The data path end to end, as deployed: `code-exec worker` in RUNNER_MODE=process (real sandboxes) with
// S3_BUCKET on s3rver, DATABASE_URL on a real PostgreSQL, METRICS_PORT and CloudWatch publishing to a local
// recorder. Runs sandboxes: run it alone (flock /tmp/sandbox-tests.lock npx vitest run <this file>).
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { JobResult } from '../../core/protocol/result.js';
import { resultKey } from '../../core/keys.js';
import { waitForResult } from '../../worker/resultStore.js';
import { metricsOf, startCloudWatchRecorder, type CloudWatchRecorder } from '../support/cloudwatchRecorder.js';
import { freePort } from '../support/freePort.js';
import { expectNothingLeft } from '../support/leftovers.js';
import { postgresAvailable, startPostgres, type TestPostgres } from '../support/postgresServer.js';
import { startRedis, type TestRedis } from '../support/redisServer.js';
import { startS3, type TestS3 } from '../support/s3Server.js';
import { startWorker, type WorkerHandle } from '../support/workerProcess.js';

const available = postgresAvailable();
const stream = `e2e-${randomUUID()}`;
let redis: TestRedis;
let pg: TestPostgres;
let s3: TestS3;
let cloudwatch: CloudWatchRecorder;
let worker: WorkerHandle;
let metricsPort: number;

beforeAll(async () => {
  if (!available) return;
  [redis, pg, s3, cloudwatch, metricsPort] = await Promise.all([startRedis(), startPostgres(), startS3(), startCloudWatchRecorder(), freePort()]);
  await s3.put('e2e/greet.py', 'print("hi", input())\n');
  worker = startWorker({
    REDIS_URL: redis.url, STREAM_KEY: stream, RUNNER_MODE: 'process', READ_BLOCK_MS: '200',
    S3_BUCKET: s3.bucket, S3_ENDPOINT: s3.endpoint, AWS_REGION: 'us-east-1',
    AWS_ACCESS_KEY_ID: s3.credentials.accessKeyId, AWS_SECRET_ACCESS_KEY: s3.credentials.secretAccessKey,
    DATABASE_URL: pg.url, METRICS_PORT: String(metricsPort),
    CLOUDWATCH_METRICS: 'true', CLOUDWATCH_INTERVAL_MS: '1000', AWS_ENDPOINT_URL_CLOUDWATCH: cloudwatch.url,
  });
  await worker.waitForLog((l) => l.msg === 'worker started', 60_000, '"worker started"');
});
afterAll(async () => {
  await worker?.stop();
  await Promise.all([redis?.stop(), pg?.stop(), s3?.stop(), cloudwatch?.stop()]);
  await expectNothingLeft();
});

const http = async (path: string) => {
  const res = await fetch(`http://127.0.0.1:${metricsPort}${path}`);
  return { status: res.status, body: await res.text() };
};

async function submit(job: Record<string, unknown>): Promise<JobResult> {
  const id = randomUUID();
  await redis.client.xadd(stream, '*', 'job', JSON.stringify({ id, language: 'python', ...job }));
  const waiter = redis.client.duplicate();
  try {
    const r = await waitForResult(waiter, id, 60_000);
    if (!r) throw new Error(`no result for ${id}`);
    // The row is written before XACK, and the completion is logged after it.
    await worker.waitForLog((l) => l.msg === 'job completed' && l.jobId === id, 10_000, 'the completion');
    return r;
  } finally {
    waiter.disconnect();
  }
}

async function expectRowEqualsRedis(id: string): Promise<void> {
  const [row] = await pg.query('SELECT result, status FROM submissions WHERE id = $1', [id]);
  const stored = JSON.parse((await redis.client.get(resultKey(id)))!) as JobResult;
  expect(row.result).toEqual(stored);
  expect(row.status).toBe(stored.status);
}

describe.skipIf(!available)('data path end to end (process sandbox)', () => {
  it('the worker migrated PostgreSQL at start and answers its probes', async () => {
    expect(worker.logs.find((l) => l.msg === 'database migrated')).toMatchObject({ applied: [1] });
    expect(await pg.query('SELECT version FROM schema_migrations')).toEqual([{ version: 1 }]);
    expect(await http('/healthz')).toMatchObject({ status: 200 });
    expect(JSON.parse((await http('/readyz')).body)).toEqual({ ready: true });
  });

  it('a codeKey job runs from S3 in the sandbox; its submissions row equals the Redis result', async () => {
    const r = await submit({ codeKey: 'e2e/greet.py', stdin: 'there\n', expectedOutput: 'hi there\n' });
    expect(r).toMatchObject({ status: 'accepted', stdout: 'hi there\n', runnerMode: 'process' });
    await expectRowEqualsRedis(r.id);
  });

  it('a missing code object is rejected with a message, and recorded the same way', async () => {
    const r = await submit({ codeKey: 'e2e/missing.py' });
    expect(r).toMatchObject({ status: 'rejected', message: `code object e2e/missing.py not found in bucket ${s3.bucket}`, runnerMode: null });
    await expectRowEqualsRedis(r.id);
  });

  it('/metrics and CloudWatch show the jobs and the queue', async () => {
    const { body } = await http('/metrics');
    expect(body).toMatch(new RegExp(`^redis_stream_length\\{stream="${stream}"\\} 2$`, 'm'));
    expect(body).toMatch(new RegExp(`^redis_stream_pending\\{stream="${stream}",group="execution-workers"\\} 0$`, 'm'));
    expect(body).toMatch(new RegExp(`^redis_stream_lag\\{stream="${stream}",group="execution-workers"\\} 0$`, 'm'));
    expect(body).toMatch(/^code_execution_jobs_total\{status="accepted"\} 1$/m);
    expect(body).toMatch(/^code_execution_jobs_total\{status="rejected"\} 1$/m);
    expect(body).toMatch(/^code_execution_job_duration_seconds_count\{status="accepted"\} 1$/m);
    const call = await cloudwatch.next(() => true, 5000);
    expect(call.body.Namespace).toBe('CodeExecution');
    expect(metricsOf(call)).toEqual({ QueueDepth: 0, PendingJobs: 0 });
  });

  it('SIGTERM: the worker exits 0 and its metrics endpoint closes', async () => {
    worker.proc.kill('SIGTERM');
    expect(await worker.exited).toBe(0);
    await expect(fetch(`http://127.0.0.1:${metricsPort}/healthz`)).rejects.toThrow();
  });
});
