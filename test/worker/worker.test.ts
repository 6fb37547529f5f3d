// The worker against a real Redis and real sandboxes (docker when the engine is here, as under CI). How it
// behaves under faults (killed or stopped mid-job, Redis or Docker lost, poison jobs, duplicates): test/faults/.
import { randomUUID } from 'node:crypto';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { JobResult } from '../../runner/protocol/result.js';
import { resultEventsKey } from '../../worker/keys.js';
import { waitForResult } from '../../worker/resultStore.js';
import { expectNothingLeft } from '../support/leftovers.js';
import { startRedis, type TestRedis } from '../support/redisServer.js';
import { dockerAvailable } from '../support/services.js';
import { startWorker, type WorkerHandle } from '../support/workerProcess.js';

const MODES = ['process', ...((await dockerAvailable()) ? ['docker'] : [])];
let mode = 'process';

let redis: TestRedis;
let workers: WorkerHandle[] = [];
let stream: string;

beforeAll(async () => {
  redis = await startRedis();
});
afterAll(async () => {
  await redis?.stop();
});
afterEach(async () => {
  await Promise.all(workers.map((w) => w.stop()));
  workers = [];
  await expectNothingLeft();
});

function worker(env: Record<string, string> = {}): WorkerHandle {
  const w = startWorker({
    REDIS_URL: redis.url,
    STREAM_KEY: stream,
    CONSUMER_GROUP: 'execution-workers',
    RUNNER_MODE: mode,
    MAX_CONCURRENT_JOBS: '2',
    READ_BLOCK_MS: '200',
    ...env,
  });
  workers.push(w);
  return w;
}

const started = (w: WorkerHandle) => w.waitForLog((l) => l.msg === 'worker started', 60_000, '"worker started"');

async function submit(job: Record<string, unknown>): Promise<string> {
  const id = (job.id as string) ?? randomUUID();
  await redis.client.xadd(stream, '*', 'job', JSON.stringify({ id, language: 'python', ...job }));
  return id;
}

async function result(id: string, timeoutMs = 60_000): Promise<JobResult> {
  const waiter = redis.client.duplicate();
  try {
    const r = await waitForResult(waiter, id, timeoutMs);
    if (!r) throw new Error(`no result for ${id} within ${timeoutMs} ms`);
    return r;
  } finally {
    waiter.disconnect();
  }
}

async function pendingCount(): Promise<number> {
  const [count] = (await redis.client.xpending(stream, 'execution-workers')) as [number];
  return Number(count);
}

describe.each(MODES)('worker (%s transport)', (runnerMode) => {
  beforeAll(() => {
    mode = runnerMode;
  });

  it('50 jobs across 2 workers give 50 results, none duplicated', async () => {
    stream = `jobs-${randomUUID()}`;
    const a = worker({ WORKER_NAME: 'a' });
    const b = worker({ WORKER_NAME: 'b' });
    await Promise.all([started(a), started(b)]);
    const ids = await Promise.all(Array.from({ length: 50 }, (_, i) => submit({ code: `print(${i} * 2)` })));
    const results = await Promise.all(ids.map((id) => result(id, 120_000)));
    results.forEach((r, i) => expect(r).toMatchObject({ id: ids[i], status: 'accepted', stdout: `${i * 2}\n`, runnerMode: mode }));
    // Each job ran once: one completion across both workers' logs, one announcement per result.
    const completions = () => [...a.logs, ...b.logs].filter((l) => l.msg === 'job completed').map((l) => l.jobId as string);
    await Promise.all(ids.map((id) => Promise.race([a, b].map((w) => w.waitForLog((l) => l.msg === 'job completed' && l.jobId === id, 10_000)))));
    expect(completions().sort()).toEqual([...ids].sort());
    // Where each job's time went is in its log line, not in the result clients read.
    const logged = [...a.logs, ...b.logs].find((l) => l.msg === 'job completed' && l.jobId === ids[0])!;
    const phases = logged.phases as Record<string, number>;
    for (const key of ['claimMs', 'sandboxMs', 'runnerMs', 'workspaceMs', 'runMs', 'storeMs', 'ackMs']) expect(phases[key]).toBeGreaterThanOrEqual(0);
    expect(phases.runnerMs).toBeGreaterThanOrEqual(phases.workspaceMs + phases.runMs);
    expect(results.every((r) => !('phases' in r))).toBe(true);
    for (const id of ids) expect(await redis.client.xlen(resultEventsKey(id))).toBe(1);
    expect(new Set(results.map((r) => r.worker)).size).toBe(2);
    expect(await pendingCount()).toBe(0);
  });

  it('invalid and over-cap jobs are rejected with a clear message', async () => {
    stream = `jobs-${randomUUID()}`;
    const w = worker({ MAX_CODE_BYTES: '1000', MAX_MEMORY_LIMIT_MB: '512' });
    await started(w);
    const overMemory = await submit({ code: 'print(1)', memoryLimitMb: 4096 });
    const overCode = await submit({ code: `# ${'x'.repeat(2000)}` });
    const unknown = await submit({ language: 'cobol', code: 'DISPLAY "HI"' });
    const badSchema = await submit({ code: 'print(1)', timeLimitMs: 'soon' });
    expect(await result(overMemory)).toMatchObject({ status: 'rejected', message: expect.stringMatching(/memoryLimitMb 4096 exceeds the cap 512/) });
    expect(await result(overCode)).toMatchObject({ status: 'rejected', message: expect.stringMatching(/code bytes \d+ exceeds the cap 1000/) });
    expect(await result(unknown)).toMatchObject({ status: 'rejected', message: expect.stringMatching(/unknown language "cobol"/) });
    expect(await result(badSchema)).toMatchObject({ status: 'rejected', message: expect.stringMatching(/timeLimitMs/) });
    const ok = await submit({ code: 'print("fine")' });
    expect(await result(ok)).toMatchObject({ status: 'accepted' });
    expect(w.logs.filter((l) => l.msg === 'job started').map((l) => l.jobId)).toEqual([ok]);
  });
});
