// Fault: a worker is told to stop (SIGTERM, as on a scale-in or a deploy) in the middle of a job. It finishes
// and acknowledges the job before it exits; past SHUTDOWN_GRACE_MS it leaves the job pending for another.
import { describe, expect, it } from 'vitest';
import { getResult } from '../../worker/resultStore.js';
import { queueSuite, queueSuiteModes } from '../support/queueSuite.js';
import { type TestQueue, workerStarted } from '../support/jobQueue.js';

const MODES = await queueSuiteModes();

const suite = queueSuite();
let queue: TestQueue | undefined;

describe.each(MODES)('a worker stopped mid-job (%s transport)', (mode) => {
  it('SIGTERM mid-job: the job finishes and is acknowledged before the worker exits 0', async () => {
    queue = suite.newQueue();
    const w = queue.startWorker(mode, { WORKER_NAME: 'graceful' });
    await workerStarted(w);
    const id = await queue.submit({ code: 'import time\ntime.sleep(1.5)\nprint("finished")', wallTimeLimitMs: 10_000 });
    await w.waitForLog((l) => l.msg === 'job started' && l.jobId === id, 30_000, 'the job starting');
    w.proc.kill('SIGTERM');
    expect(await w.exited).toBe(0);
    expect(await getResult(suite.redis.client, id)).toMatchObject({ status: 'accepted', stdout: 'finished\n' });
    expect(await queue.pendingCount()).toBe(0);
    const order = w.logs.map((l) => l.msg);
    expect(order.indexOf('job completed')).toBeLessThan(order.indexOf('worker stopped'));
  });

  it('SIGTERM past the grace period: the worker exits 0 and the unfinished job stays pending for another worker', async () => {
    queue = suite.newQueue();
    const env = { CLAIM_IDLE_MS: '1500', WORKER_HEARTBEAT_TTL_MS: '1500' };
    const w = queue.startWorker(mode, { ...env, WORKER_NAME: 'impatient', SHUTDOWN_GRACE_MS: '300' });
    await workerStarted(w);
    const id = await queue.submit({ code: 'import time\ntime.sleep(3)\nprint("late")', wallTimeLimitMs: 10_000 });
    await w.waitForLog((l) => l.msg === 'job started' && l.jobId === id, 30_000, 'the job starting');
    w.proc.kill('SIGTERM');
    expect(await w.exited).toBe(0);
    expect(await queue.pendingCount()).toBe(1);
    expect(await getResult(suite.redis.client, id)).toBeNull();
    const next = queue.startWorker(mode, { ...env, WORKER_NAME: 'next' });
    expect(await queue.result(id)).toMatchObject({ status: 'accepted', stdout: 'late\n', attempts: 2 });
    await next.waitForLog((l) => l.msg === 'job completed' && l.jobId === id);
    expect(await queue.pendingCount()).toBe(0);
  });
});
