// A job's own faults are the job's verdicts on the first delivery, through a real worker: bytes the sandbox cannot
// carry are `rejected` by the schema, a program the kernel cannot execute is a `runtime_error` with the reason. Only
// the platform's faults are retried (test/faults/poisonJobs.test.ts shows those).
import { describe, expect, it } from 'vitest';
import { type TestQueue, workerStarted } from '../support/jobQueue.js';
import { queueSuite } from '../support/queueSuite.js';
import { dockerAvailable } from '../support/services.js';
import type { WorkerHandle } from '../support/workerProcess.js';

const MODES = ['process', ...((await dockerAvailable()) ? ['docker'] : [])];
const suite = queueSuite();

/** Whether the worker logged a failed attempt for the job (what a platform fault costs: retries, error logs). */
const failedAttempts = (w: WorkerHandle, id: string) => w.logs.filter((l) => l.jobId === id && String(l.msg).startsWith('job failed'));

describe.each(MODES)('a job\'s own faults through the worker (%s transport)', (mode) => {
  let queue: TestQueue;
  let w: WorkerHandle;

  const start = async () => {
    queue = suite.newQueue();
    w = queue.startWorker(mode, { MAX_DELIVERIES: '3', CLAIM_IDLE_MS: '1000' });
    await workerStarted(w);
  };

  it.each([
    ['inside an argument', ['a\u0000b']],
    ['as a whole argument', ['\u0000']],
    ['in the last of several', ['ok', 'x\u0000']],
  ])('a NUL byte %s is rejected on the first delivery', async (_where, args) => {
    await start();
    const id = await queue.submit({ code: 'import sys; print(sys.argv)', args });
    expect(await queue.result(id, 30_000)).toMatchObject({
      status: 'rejected', attempts: 1, message: expect.stringContaining('an argument may not contain a NUL byte'),
    });
    expect(failedAttempts(w, id)).toEqual([]);
    await expect.poll(() => queue.pendingCount(), { timeout: 5000 }).toBe(0);
  });

  it.each([
    ['a missing dynamic loader', '/nonexistent/ld.so', 'No such file or directory'],
    ['a loader that is not executable', '/etc/passwd', 'Permission denied'],
  ])('a program the kernel cannot execute (%s) is a runtime_error on the first delivery', async (_what, loader, reason) => {
    await start();
    const id = await queue.submit({ language: 'nim', code: `{.passL: "-Wl,--dynamic-linker=${loader}".}\necho "started"` });
    expect(await queue.result(id, 90_000)).toMatchObject({
      status: 'runtime_error', attempts: 1, stdout: '', compilations: 1, message: `could not start the program: ${reason}`,
    });
    expect(failedAttempts(w, id)).toEqual([]);
    expect(await queue.deadLetters()).toEqual([]);
  }, 120_000);
});
