// Issue 10, finding 7: two deployments (each its own Redis) on one host and one Docker engine. A worker's
// reaper asks only its own Redis whether an owner is alive, so it must judge only its own deployment's
// sandboxes: a worker of deployment B starting while A's job runs leaves A's sandbox alone (A's job
// completes), and B still reaps what its own dead instance left.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LABEL_DEPLOYMENT, LABEL_OWNER } from '../../core/labels.js';
import { TestQueue, workerStarted } from '../support/jobQueue.js';
import { ourContainers, sandboxCgroups, sandboxMounts } from '../support/leftovers.js';
import { queueSuite } from '../support/queueSuite.js';
import { startRedis, type TestRedis } from '../support/redisServer.js';
import { dockerAvailable } from '../support/services.js';

const MODES = ['process', ...((await dockerAvailable()) ? ['docker'] : [])];
const suite = queueSuite();

let otherRedis: TestRedis;
beforeAll(async () => {
  otherRedis = await startRedis();
});
afterAll(async () => {
  await otherRedis?.stop();
});

/** What a worker instance has on this host: its containers, or its per-job cgroups and tmpfs mounts. */
async function sandboxesOf(instanceId: string): Promise<string[]> {
  const containers = (await ourContainers()).filter((c) => c.includes(`"${LABEL_OWNER}":"${instanceId}"`));
  return [...containers, ...[...sandboxCgroups(), ...sandboxMounts()].filter((p) => p.includes(`~${instanceId}@`))];
}

/** Short heartbeats and reclaims: a dead instance's sandboxes become orphans within seconds. */
const FAST = { WORKER_HEARTBEAT_TTL_MS: '2000', CLAIM_IDLE_MS: '2000' };

describe.each(MODES)('deployments sharing a host (%s transport)', (mode) => {
  it("B's workers leave A's running sandbox alone and reap only B's own dead instance's leftovers", async () => {
    const a = suite.newQueue();
    const b = new TestQueue(otherRedis);
    try {
      const workerA = a.startWorker(mode, { ...FAST, WORKER_NAME: 'deployment-a' });
      const idA = (await workerStarted(workerA)).consumer as string;
      // Long enough to outlive everything B does below.
      const jobA = await a.submit({ code: 'import time\ntime.sleep(15)\nprint("a finished")', wallTimeLimitMs: 40_000 });
      await workerA.waitForLog((l) => l.msg === 'job started' && l.jobId === jobA, 30_000, "A's job starting");
      await expect.poll(() => sandboxesOf(idA), { timeout: 15_000, interval: 50 }).not.toEqual([]);
      if (mode === 'docker') {
        const [container] = await sandboxesOf(idA);
        expect(container).toMatch(new RegExp(`"${LABEL_DEPLOYMENT.replace(/\./g, '\\.')}":"[0-9a-f]{12}"`));
      }

      // B's first instance dies mid-job, leaving its sandbox behind.
      const doomed = b.startWorker(mode, { ...FAST, WORKER_NAME: 'deployment-b-doomed' });
      const doomedId = (await workerStarted(doomed)).consumer as string;
      const jobB = await b.submit({ code: 'import time\ntime.sleep(1)\nprint("b finished")', wallTimeLimitMs: 20_000 });
      await doomed.waitForLog((l) => l.msg === 'job started' && l.jobId === jobB, 30_000, "B's job starting");
      await expect.poll(() => sandboxesOf(doomedId), { timeout: 15_000, interval: 50 }).not.toEqual([]);
      doomed.proc.kill('SIGKILL');
      await doomed.exited;

      // B's next instance: A's owner has no heartbeat in B's Redis, yet its sandbox is not B's to judge.
      const rescuer = b.startWorker(mode, { ...FAST, WORKER_NAME: 'deployment-b-rescuer' });
      await workerStarted(rescuer);
      const reaped = await rescuer.waitForLog((l) => l.msg === 'reaped leftover sandboxes', 20_000, "the reaper removing the dead instance's sandbox");
      expect(reaped.count).toBeGreaterThanOrEqual(1);
      await expect.poll(() => sandboxesOf(doomedId), { timeout: 10_000, interval: 100 }).toEqual([]);
      expect(await b.result(jobB)).toMatchObject({ status: 'accepted', stdout: 'b finished\n', attempts: 2 });

      // A's job ran undisturbed throughout: its sandbox is still there while it runs, and it completes.
      expect(await sandboxesOf(idA)).not.toEqual([]);
      expect(await a.result(jobA, 60_000)).toMatchObject({ status: 'accepted', stdout: 'a finished\n', attempts: 1 });
      expect(workerA.logs.filter((l) => l.level === 'error')).toEqual([]);
    } finally {
      await b.stopWorkers();
    }
  }, 120_000);
});
