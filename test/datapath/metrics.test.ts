// The worker's observability against a real Redis: the Prometheus endpoint's numbers follow the stream, job
// counters follow the worker's events, the health endpoints answer the probes, and the CloudWatch publisher's
// PutMetricData calls (recorded by a local HTTP endpoint standing in for CloudWatch) carry the queue.
import { randomUUID } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { CloudWatchPublisher } from '../../worker/cloudwatchPublisher.js';
import { loadConfig } from '../../worker/config.js';
import { createLogger } from '../../core/logger.js';
import { WorkerMetrics } from '../../worker/metrics.js';
import { startMetricsServer, type MetricsServer } from '../../worker/metricsServer.js';
import { connectRedis, type RedisClient } from '../../worker/redisConnection.js';
import { waitForResult } from '../../worker/resultStore.js';
import { StreamWorker, type WorkerEvents } from '../../worker/streamConsumer.js';
import { metricsOf, startCloudWatchRecorder, type CloudWatchRecorder } from '../support/cloudwatchRecorder.js';
import { freePort } from '../support/freePort.js';
import { recordingLogger } from '../support/recordingLogger.js';
import { startRedis, type TestRedis } from '../support/redisServer.js';
import { ScriptedTransport } from '../support/scriptedTransport.js';

const GROUP = 'execution-workers';
const quiet = createLogger({}, 'error');
let redis: TestRedis;
const cleanups: (() => Promise<unknown> | unknown)[] = [];

beforeAll(async () => {
  redis = await startRedis();
  // The publisher takes credentials from the SDK's default chain; here, the environment.
  process.env.AWS_ACCESS_KEY_ID = 'AKIDTEST';
  process.env.AWS_SECRET_ACCESS_KEY = 'secret';
});
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});
afterAll(() => redis?.stop());

/** One sample's value from the exposition text, matching the given labels exactly; undefined when absent. */
function sample(text: string, name: string, labels: Record<string, string> = {}): number | undefined {
  for (const line of text.split('\n')) {
    const m = line.match(/^([a-zA-Z_:][\w:]*)(?:\{(.*)\})? (\S+)$/);
    if (!m || m[1] !== name) continue;
    const found = Object.fromEntries([...(m[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)].map((x) => [x[1], x[2]]));
    if (Object.keys(found).length === Object.keys(labels).length && Object.entries(labels).every(([k, v]) => found[k] === v)) return Number(m[3]);
  }
  return undefined;
}

async function serve(metrics: WorkerMetrics, worker: { readonly state: StreamWorker['state'] }, probeRedis: RedisClient = redis.client): Promise<MetricsServer & { get(path: string): Promise<{ status: number; body: string; type: string | null }> }> {
  const server = await startMetricsServer({ port: 0, host: '127.0.0.1', metrics, worker, redis: probeRedis, log: quiet });
  cleanups.push(() => server.close());
  return {
    ...server,
    close: () => server.close(),
    async get(path: string) {
      const res = await fetch(`http://127.0.0.1:${server.port}${path}`);
      return { status: res.status, body: await res.text(), type: res.headers.get('content-type') };
    },
  };
}

async function startWorker(transport = new ScriptedTransport()) {
  const stream = `jobs-${randomUUID()}`;
  const config = loadConfig({ REDIS_URL: redis.url, STREAM_KEY: stream, READ_BLOCK_MS: '100', CLAIM_IDLE_MS: '1000', RUNNER_MODE: 'process' });
  const log = recordingLogger();
  const worker = new StreamWorker(config, `test-${randomUUID().slice(0, 8)}`, transport, log);
  cleanups.push(() => worker.close());
  const metrics = new WorkerMetrics({ redis: redis.client, streamKey: stream, consumerGroup: GROUP }, quiet);
  metrics.observe(worker);
  return { worker, stream, log, metrics, transport };
}

async function result(id: string) {
  const waiter = redis.client.duplicate();
  cleanups.push(() => waiter.disconnect());
  const r = await waitForResult(waiter, id, 20_000);
  if (!r) throw new Error(`no result for ${id}`);
  return r;
}

describe('Prometheus endpoint', () => {
  it('redis_stream_length, _pending and _lag follow the stream', async () => {
    const stream = `jobs-${randomUUID()}`;
    const metrics = new WorkerMetrics({ redis: redis.client, streamKey: stream, consumerGroup: GROUP }, quiet);
    const server = await serve(metrics, { state: 'running' });
    const queue = async () => {
      const { status, body, type } = await server.get('/metrics');
      expect(status).toBe(200);
      expect(type).toMatch(/^text\/plain/);
      return {
        length: sample(body, 'redis_stream_length', { stream }),
        pending: sample(body, 'redis_stream_pending', { stream, group: GROUP }),
        lag: sample(body, 'redis_stream_lag', { stream, group: GROUP }),
      };
    };
    expect(await queue()).toEqual({ length: 0, pending: 0, lag: 0 });
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) ids.push(await redis.client.xadd(stream, '*', 'job', '{}') as string);
    // No consumer group yet: every entry waits.
    expect(await queue()).toEqual({ length: 5, pending: 0, lag: 5 });
    await redis.client.xgroup('CREATE', stream, GROUP, '0');
    await redis.client.xreadgroup('GROUP', GROUP, 'c1', 'COUNT', 2, 'STREAMS', stream, '>');
    expect(await queue()).toEqual({ length: 5, pending: 2, lag: 3 });
    await redis.client.xack(stream, GROUP, ids[0]);
    expect(await queue()).toEqual({ length: 5, pending: 1, lag: 3 });
    // An entry deleted after the last delivered one: Redis no longer knows the lag, the entries are counted.
    await redis.client.xdel(stream, ids[3]);
    const info = (await redis.client.xinfo('GROUPS', stream)) as unknown[][];
    expect(info[0][info[0].indexOf('lag') + 1]).toBeNull();
    expect(await queue()).toEqual({ length: 4, pending: 1, lag: 2 });
    await redis.client.xreadgroup('GROUP', GROUP, 'c1', 'COUNT', 10, 'STREAMS', stream, '>');
    expect(await queue()).toEqual({ length: 4, pending: 3, lag: 0 });
  });

  it('counts results by status with durations, failures and dead letters, from the worker events', async () => {
    // The transport is not under test here: it answers at once, wrong_answer for one job.
    const transport = new ScriptedTransport((job) => (job.id === 'wrong' ? { status: 'wrong_answer' } : {}));
    const { worker, stream, log, metrics } = await startWorker(transport);
    await worker.start();
    const server = await serve(metrics, worker);
    const submit = (job: Record<string, unknown>) => redis.client.xadd(stream, '*', 'job', JSON.stringify({ language: 'python', code: 'print(1)', ...job }));
    await submit({ id: 'ok-1' });
    await submit({ id: 'ok-2' });
    await submit({ id: 'wrong' });
    await submit({ id: 'too-big', memoryLimitMb: 1_000_000 });
    await redis.client.xadd(stream, '*', 'job', '{"id": "torn", "lang');
    for (const id of ['ok-1', 'ok-2', 'wrong', 'too-big', 'torn']) await result(id);
    await log.waitFor((l) => l.msg === 'job completed' && l.jobId === 'wrong', 10_000, 'the last completion');
    await log.waitFor((l) => l.msg === 'entry sent to the dead-letter stream', 10_000, 'the dead letter');
    transport.failWith = 'engine down';
    await submit({ id: 'retry-me' });
    await log.waitFor((l) => l.msg === 'job failed in the transport; it stays pending for a retry', 10_000, 'the transport failure');

    const { body } = await server.get('/metrics');
    expect(sample(body, 'code_execution_jobs_total', { status: 'accepted' })).toBe(2);
    expect(sample(body, 'code_execution_jobs_total', { status: 'wrong_answer' })).toBe(1);
    expect(sample(body, 'code_execution_jobs_total', { status: 'rejected' })).toBe(2);
    expect(sample(body, 'code_execution_job_duration_seconds_count', { status: 'accepted' })).toBe(2);
    expect(sample(body, 'code_execution_job_duration_seconds_bucket', { status: 'accepted', le: '+Inf' })).toBe(2);
    expect(sample(body, 'code_execution_job_duration_seconds_sum', { status: 'accepted' })).toBeGreaterThanOrEqual(0);
    expect(sample(body, 'code_execution_job_failures_total')).toBe(1);
    expect(sample(body, 'code_execution_dead_letters_total')).toBe(1);
    // The failed job stays pending: the queue gauges show it.
    expect(sample(body, 'redis_stream_pending', { stream, group: GROUP })).toBe(1);
    expect(sample(body, 'redis_stream_length', { stream })).toBe(6);
    // The process's own metrics come along.
    expect(sample(body, 'process_cpu_user_seconds_total')).toBeGreaterThan(0);
  });

  it('registries are per worker: two in one process do not share counts', async () => {
    const a = new WorkerMetrics({ redis: redis.client, streamKey: 'a', consumerGroup: GROUP }, quiet);
    const b = new WorkerMetrics({ redis: redis.client, streamKey: 'b', consumerGroup: GROUP }, quiet);
    const events = new EventEmitter<WorkerEvents>();
    a.observe(events);
    events.emit('job:completed', {
      id: 'x', status: 'accepted', language: 'python', runnerMode: 'process', worker: 'w', attempts: 1, stdout: '', stderr: '', compileOutput: '',
      exitCode: 0, signal: null, timeMs: 1, wallTimeMs: 1, memoryKb: 1, stdoutTruncated: false, stderrTruncated: false, message: null,
      startedAt: '2025-01-01T00:00:00.000Z', finishedAt: '2025-01-01T00:00:01.500Z',
    });
    expect(sample(await a.render(), 'code_execution_job_duration_seconds_sum', { status: 'accepted' })).toBe(1.5);
    expect(sample(await b.render(), 'code_execution_jobs_total', { status: 'accepted' })).toBeUndefined();
  });
});

describe('health endpoints', () => {
  it('liveness always answers; readiness only while the worker runs and Redis answers', async () => {
    const { worker, metrics } = await startWorker();
    // The probe's own connection, as in the worker: it reconnects after Redis comes back.
    const probe = connectRedis({ url: redis.url, cluster: false }, quiet, 'metrics');
    cleanups.push(() => probe.disconnect());
    const server = await serve(metrics, worker, probe);
    const ready = async () => {
      const r = await server.get('/readyz');
      return { status: r.status, ...JSON.parse(r.body) };
    };
    expect(await ready()).toEqual({ status: 503, ready: false, reason: 'worker is starting' });
    expect((await server.get('/healthz')).status).toBe(200);
    await worker.start();
    expect(await ready()).toEqual({ status: 200, ready: true });

    await redis.kill();
    try {
      const down = await ready();
      expect(down).toMatchObject({ status: 503, ready: false, reason: expect.stringMatching(/redis/) });
      expect((await server.get('/healthz')).status).toBe(200);
    } finally {
      await redis.start();
    }
    const deadline = Date.now() + 15_000;
    while ((await ready()).status !== 200) {
      if (Date.now() > deadline) throw new Error('readiness did not come back after Redis did');
      await new Promise((r) => setTimeout(r, 100));
    }

    const closing = worker.close();
    expect(await ready()).toEqual({ status: 503, ready: false, reason: 'worker is closing' });
    await closing;
    expect(JSON.parse((await server.get('/healthz')).body)).toEqual({ status: 'ok', state: 'closing' });
    expect((await server.get('/nope')).status).toBe(404);
    await server.close();
    await expect(fetch(`http://127.0.0.1:${server.port}/healthz`)).rejects.toThrow();
  });
});

async function fakeCloudWatch(): Promise<CloudWatchRecorder> {
  const recorder = await startCloudWatchRecorder();
  cleanups.push(() => recorder.stop());
  return recorder;
}

describe('CloudWatch publisher', () => {
  async function queueWith(entries: number, delivered: number) {
    const stream = `jobs-${randomUUID()}`;
    await redis.client.xgroup('CREATE', stream, GROUP, '0', 'MKSTREAM');
    for (let i = 0; i < entries; i++) await redis.client.xadd(stream, '*', 'job', '{}');
    if (delivered) await redis.client.xreadgroup('GROUP', GROUP, 'c1', 'COUNT', delivered, 'STREAMS', stream, '>');
    return stream;
  }

  it('puts QueueDepth (not yet delivered) and PendingJobs, Unit Count, no dimensions, in CodeExecution', async () => {
    const cw = await fakeCloudWatch();
    const stream = await queueWith(5, 2);
    const publisher = new CloudWatchPublisher({ redis: redis.client, streamKey: stream, consumerGroup: GROUP, endpoint: cw.url, log: quiet });
    cleanups.push(() => publisher.close());
    expect(await publisher.publish()).toEqual({ length: 5, pending: 2, lag: 3 });
    expect(cw.calls).toHaveLength(1);
    const [call] = cw.calls;
    expect(call.headers['x-amz-target']).toBe('GraniteServiceVersion20100801.PutMetricData');
    expect(call.headers.authorization).toMatch(/Credential=AKIDTEST\/\d{8}\/us-east-1\/monitoring\/aws4_request/);
    expect(call.body.Namespace).toBe('CodeExecution');
    expect(call.body.MetricData.map(({ Timestamp, ...d }) => d)).toEqual([
      { MetricName: 'QueueDepth', Value: 3, Unit: 'Count' },
      { MetricName: 'PendingJobs', Value: 2, Unit: 'Count' },
    ]);
    expect(Math.abs(call.body.MetricData[0].Timestamp * 1000 - Date.now())).toBeLessThan(10_000);
  });

  it('publishes every interval, and the values follow the stream', async () => {
    const cw = await fakeCloudWatch();
    const stream = await queueWith(1, 0);
    const publisher = new CloudWatchPublisher({ redis: redis.client, streamKey: stream, consumerGroup: GROUP, endpoint: cw.url, intervalMs: 150, namespace: 'Testing', log: quiet });
    cleanups.push(() => publisher.close());
    publisher.start();
    expect(metricsOf(await cw.next())).toEqual({ QueueDepth: 1, PendingJobs: 0 });
    for (let i = 0; i < 3; i++) await redis.client.xadd(stream, '*', 'job', '{}');
    expect(metricsOf(await cw.next((c) => metricsOf(c).QueueDepth === 4))).toEqual({ QueueDepth: 4, PendingJobs: 0 });
    await redis.client.xreadgroup('GROUP', GROUP, 'c1', 'COUNT', 3, 'STREAMS', stream, '>');
    expect(metricsOf(await cw.next((c) => metricsOf(c).PendingJobs === 3))).toEqual({ QueueDepth: 1, PendingJobs: 3 });
    await publisher.close();
    const count = cw.calls.length;
    await new Promise((r) => setTimeout(r, 400)); // Proving an absence: nothing announces "no call".
    expect(cw.calls.length).toBe(count);
    expect(new Set(cw.calls.map((c) => c.body.Namespace))).toEqual(new Set(['Testing']));
  });

  it('finds its endpoint in AWS_ENDPOINT_URL_CLOUDWATCH, as the SDK documents', async () => {
    const cw = await fakeCloudWatch();
    const stream = await queueWith(2, 1);
    process.env.AWS_ENDPOINT_URL_CLOUDWATCH = cw.url;
    try {
      const publisher = new CloudWatchPublisher({ redis: redis.client, streamKey: stream, consumerGroup: GROUP, log: quiet });
      cleanups.push(() => publisher.close());
      await publisher.publish();
    } finally {
      delete process.env.AWS_ENDPOINT_URL_CLOUDWATCH;
    }
    expect(cw.calls.map(metricsOf)).toEqual([{ QueueDepth: 1, PendingJobs: 1 }]);
  });

  it('a failing CloudWatch is logged and retried next interval, never thrown', async () => {
    const cw = await fakeCloudWatch();
    cw.failing = true;
    const stream = await queueWith(1, 0);
    const log = recordingLogger();
    const publisher = new CloudWatchPublisher({ redis: redis.client, streamKey: stream, consumerGroup: GROUP, endpoint: cw.url, intervalMs: 150, log });
    cleanups.push(() => publisher.close());
    expect(await publisher.publish()).toBeNull();
    expect(log.lines.find((l) => l.msg.startsWith('publishing queue metrics to CloudWatch failed'))).toMatchObject({ level: 'warn', error: expect.stringMatching(/InternalServiceFault|recorder says no/) });
    const down = new CloudWatchPublisher({ redis: redis.client, streamKey: stream, consumerGroup: GROUP, endpoint: `http://127.0.0.1:${await freePort()}`, log });
    cleanups.push(() => down.close());
    expect(await down.publish()).toBeNull();
    publisher.start();
    cw.failing = false;
    expect(metricsOf(await cw.next())).toEqual({ QueueDepth: 1, PendingJobs: 0 });
  });
});
