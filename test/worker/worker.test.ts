// The worker against a real Redis and real sandboxes (docker when the engine is here, as under CI). How it
// behaves under faults (killed or stopped mid-job, Redis or Docker lost, poison jobs, duplicates): test/faults/.
import { describe, expect, it } from 'vitest';
import { workerStarted, type TestQueue } from '../support/jobQueue.js';
import { queueSuite, queueSuiteModes } from '../support/queueSuite.js';
import type { WorkerHandle } from '../support/workerProcess.js';

const MODES = await queueSuiteModes();
const suite = queueSuite();

/** A worker as deployed: the default warm pool of 2 (TestQueue's own workers run without one). */
const worker = (queue: TestQueue, mode: string, env: Record<string, string> = {}): WorkerHandle =>
  queue.startWorker(mode, { POOL_SIZE: '2', ...env });

describe.each(MODES)('worker (%s transport)', (mode) => {
  it('50 jobs across 2 workers give 50 results, none duplicated', async () => {
    const queue = suite.newQueue();
    const a = worker(queue, mode, { WORKER_NAME: 'a' });
    const b = worker(queue, mode, { WORKER_NAME: 'b' });
    await Promise.all([workerStarted(a), workerStarted(b)]);
    const ids = await Promise.all(Array.from({ length: 50 }, (_, i) => queue.submit({ code: `print(${i} * 2)` })));
    const results = await Promise.all(ids.map((id) => queue.result(id, 120_000)));
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
    for (const id of ids) expect(await queue.announcements(id)).toBe(1);
    expect(new Set(results.map((r) => r.worker)).size).toBe(2);
    expect(await queue.pendingCount()).toBe(0);
  });

  it('invalid and over-cap jobs are rejected with a clear message', async () => {
    const queue = suite.newQueue();
    const w = worker(queue, mode, { MAX_CODE_BYTES: '1000', MAX_MEMORY_LIMIT_MB: '512' });
    await workerStarted(w);
    const overMemory = await queue.submit({ code: 'print(1)', memoryLimitMb: 4096 });
    const overCode = await queue.submit({ code: `# ${'x'.repeat(2000)}` });
    const unknown = await queue.submit({ language: 'malbolge', code: '(=<`#9]~6ZY32Vx' });
    const badSchema = await queue.submit({ code: 'print(1)', timeLimitMs: 'soon' });
    expect(await queue.result(overMemory)).toMatchObject({ status: 'rejected', message: expect.stringMatching(/memoryLimitMb 4096 exceeds the cap 512/) });
    expect(await queue.result(overCode)).toMatchObject({ status: 'rejected', message: expect.stringMatching(/code bytes \d+ exceeds the cap 1000/) });
    expect(await queue.result(unknown)).toMatchObject({ status: 'rejected', message: expect.stringMatching(/unknown language "malbolge"/) });
    expect(await queue.result(badSchema)).toMatchObject({ status: 'rejected', message: expect.stringMatching(/timeLimitMs/) });
    const ok = await queue.submit({ code: 'print("fine")' });
    expect(await queue.result(ok)).toMatchObject({ status: 'accepted' });
    expect(w.logs.filter((l) => l.msg === 'job started').map((l) => l.jobId)).toEqual([ok]);
  });
});
