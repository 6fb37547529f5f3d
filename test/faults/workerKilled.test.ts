// Fault: a worker dies (SIGKILL) in the middle of a job. Another worker reclaims the entry after CLAIM_IDLE_MS,
// the job gets exactly one result, and the dead worker's sandbox (its container, or its cgroup and tmpfs) is
// reaped once its heartbeat has expired.
import { describe, expect, it } from 'vitest';
import { LABEL_OWNER } from '../../core/labels.js';
import { queueSuite, queueSuiteModes } from '../support/queueSuite.js';
import { type TestQueue, workerStarted } from '../support/jobQueue.js';
import { ourContainers, sandboxCgroups, sandboxMounts } from '../support/leftovers.js';

const MODES = await queueSuiteModes();

const suite = queueSuite();
let queue: TestQueue | undefined;

/** What a worker instance left on this host: its containers, or its per-job cgroups and tmpfs mounts. */
async function sandboxesOf(instanceId: string): Promise<string[]> {
  const containers = (await ourContainers()).filter((c) => c.includes(`"${LABEL_OWNER}":"${instanceId}"`));
  return [...containers, ...[...sandboxCgroups(), ...sandboxMounts()].filter((p) => p.includes(`${instanceId}@`))];
}

describe.each(MODES)('a worker killed mid-job (%s transport)', (mode) => {
  it('SIGKILL mid-job: another worker reclaims it after CLAIM_IDLE_MS, exactly one result, the orphan sandbox is reaped', async () => {
    queue = suite.newQueue();
    const env = { CLAIM_IDLE_MS: '2000', WORKER_HEARTBEAT_TTL_MS: '2000' };
    const doomed = queue.startWorker(mode, { ...env, WORKER_NAME: 'doomed' });
    const doomedId = (await workerStarted(doomed)).consumer as string;
    const id = await queue.submit({ code: 'import time\ntime.sleep(2)\nprint("survived")', timeLimitMs: 1000, wallTimeLimitMs: 10_000 });
    await doomed.waitForLog((l) => l.msg === 'job started' && l.jobId === id, 30_000, 'the job starting');
    // Kill only once the sandbox exists: the orphan is what this test is about.
    await expect.poll(() => sandboxesOf(doomedId), { timeout: 15_000, interval: 50 }).not.toEqual([]);
    doomed.proc.kill('SIGKILL');
    await doomed.exited;
    const orphans = await sandboxesOf(doomedId);
    expect(orphans.length).toBeGreaterThan(0);

    const rescuer = queue.startWorker(mode, { ...env, WORKER_NAME: 'rescuer' });
    await workerStarted(rescuer);
    const r = await queue.result(id);
    expect(r).toMatchObject({ status: 'accepted', stdout: 'survived\n', attempts: 2 });
    expect(r.worker).toMatch(/^rescuer-/);
    expect(await queue.announcements(id)).toBe(1);
    await rescuer.waitForLog((l) => l.msg === 'reclaimed an idle entry', 10_000, 'the reclaim');
    // The result is stored before the entry is acknowledged: wait for the acknowledgement.
    await rescuer.waitForLog((l) => l.msg === 'job completed' && l.jobId === id, 10_000, 'the completion');
    expect(await queue.pendingCount()).toBe(0);

    // The rescuer (not a test cleanup) removes what the dead worker left, once its heartbeat has expired.
    const reaped = await rescuer.waitForLog((l) => l.msg === 'reaped leftover sandboxes', 15_000, 'the reaper');
    expect(reaped.count).toBeGreaterThanOrEqual(1);
    await expect.poll(() => sandboxesOf(doomedId), { timeout: 10_000, interval: 100 }).toEqual([]);
    expect(rescuer.logs.filter((l) => l.msg === 'job completed' && l.jobId === id)).toHaveLength(1);
  });
});
