// Fault: the same job is delivered twice, because a producer sent it twice or because a live worker was taken
// for dead and its entry claimed by another. Delivery is at-least-once; the result is stored once (first wins),
// announced once, and every entry is acknowledged.
import { describe, expect, it } from 'vitest';
import { getResult } from '../../worker/resultStore.js';
import { queueSuite } from '../support/queueSuite.js';
import { type TestQueue, workerStarted } from '../support/jobQueue.js';
import type { WorkerHandle } from '../support/workerProcess.js';

const suite = queueSuite();
let queue: TestQueue | undefined;

const runsOf = (workers: WorkerHandle[], jobId: string, msg: string) => workers.flatMap((w) => w.logs.filter((l) => l.msg === msg && l.jobId === jobId));

/**
 * Makes an entry look abandoned (idle for a minute) in `consumer`'s name until `until` resolves: what Redis
 * shows of a worker that stopped refreshing its entry (paused, cut off) while still running the job.
 */
async function makeLookAbandoned(entryId: string, consumer: string, until: Promise<unknown>): Promise<void> {
  let done = false;
  void until.finally(() => (done = true)).catch(() => {});
  while (!done) {
    await suite.redis.client.call('XCLAIM', queue!.stream, queue!.group, consumer, 0, entryId, 'IDLE', 60_000, 'JUSTID');
    await new Promise((r) => setTimeout(r, 50));
  }
  await until;
}

describe('the same job delivered twice (process transport)', () => {
  it('XADDed twice: one stored result, one announcement, both entries acknowledged', async () => {
    queue = suite.newQueue();
    const w = queue.startWorker('process');
    await workerStarted(w);
    const job = { id: `twice-${Date.now()}`, code: 'import time\ntime.sleep(0.5)\nprint("once")' };
    await queue.submit(job);
    await queue.submit(job);
    expect(await queue.result(job.id)).toMatchObject({ status: 'accepted', stdout: 'once\n' });
    // Both entries are handled (run side by side in the two slots, or the second finds the stored result).
    await expect.poll(() => queue!.pendingCount(), { timeout: 20_000 }).toBe(0);
    // Both delivered to the group (the worker trims acknowledged entries, so XLEN tells nothing by now).
    const [group] = (await suite.redis.client.xinfo('GROUPS', queue.stream)) as unknown[][];
    const info = Object.fromEntries(Array.from({ length: group.length / 2 }, (_, i) => [group[2 * i], group[2 * i + 1]]));
    expect(info).toMatchObject({ 'entries-read': 2, lag: 0, pending: 0 });
    expect(await queue.announcements(job.id)).toBe(1);
    await w.waitForLog((l) => l.msg === 'job completed' && l.jobId === job.id && l.stored === true, 10_000, 'the stored run');
    const secondRun = ['result already stored; acknowledging the redelivery', 'a result was already stored; keeping the first'];
    await w.waitForLog((l) => l.jobId === job.id && secondRun.includes(l.msg), 10_000, 'the second entry finding the result');
    expect(runsOf([w], job.id, 'job completed').filter((l) => l.stored === true)).toHaveLength(1);
  });

  it('claimed by a second worker while the first still runs it: both run it, the first result stays, announced once', async () => {
    queue = suite.newQueue();
    const first = queue.startWorker('process', { WORKER_NAME: 'first' });
    await workerStarted(first);
    const { id, entryId } = await queue.submitEntry({ code: 'import time\ntime.sleep(4)\nprint("ran")', wallTimeLimitMs: 10_000 });
    await first.waitForLog((l) => l.msg === 'job started' && l.jobId === id, 30_000, 'the first run');
    const second = queue.startWorker('process', { WORKER_NAME: 'second', CLAIM_IDLE_MS: '1000' });
    const secondInfo = await workerStarted(second);
    // Only the second worker's XAUTOCLAIM (every 500 ms) can give it the entry: the test never runs the job.
    await makeLookAbandoned(entryId, secondInfo.consumer as string, second.waitForLog((l) => l.msg === 'job started' && l.jobId === id, 15_000, 'the second run'));

    const r = await queue.result(id);
    expect(r).toMatchObject({ status: 'accepted', stdout: 'ran\n', attempts: 1 });
    expect(r.worker).toMatch(/^first-/);
    await Promise.all([first, second].map((w) => w.waitForLog((l) => l.msg === 'job completed' && l.jobId === id, 20_000, 'its run ending')));
    const completions = runsOf([first, second], id, 'job completed');
    expect(completions.map((l) => [l.worker, l.stored])).toEqual(expect.arrayContaining([['first', true], ['second', false]]));
    expect(second.logs.some((l) => l.msg === 'a result was already stored; keeping the first' && l.jobId === id)).toBe(true);
    expect(await getResult(suite.redis.client, id)).toEqual(r);
    expect(await queue.announcements(id)).toBe(1);
    await expect.poll(() => queue!.pendingCount(), { timeout: 10_000 }).toBe(0);
  });

  it('its own running entry looking abandoned: the worker does not start the job a second time', async () => {
    queue = suite.newQueue();
    const w = queue.startWorker('process', { CLAIM_IDLE_MS: '1000' });
    const consumer = (await workerStarted(w)).consumer as string;
    const { id, entryId } = await queue.submitEntry({ code: 'import time\ntime.sleep(2)\nprint("one run")', wallTimeLimitMs: 10_000 });
    await w.waitForLog((l) => l.msg === 'job started' && l.jobId === id, 30_000, 'the run');
    // As after a Redis outage longer than CLAIM_IDLE_MS: XAUTOCLAIM hands the worker an entry it is running.
    await makeLookAbandoned(entryId, consumer, w.waitForLog((l) => l.msg === 'an idle entry is still running here; not starting it twice' && l.entryId === entryId, 15_000, 'the idle entry recognised'));
    expect(await queue.result(id)).toMatchObject({ status: 'accepted', stdout: 'one run\n' });
    await w.waitForLog((l) => l.msg === 'job completed' && l.jobId === id, 10_000, 'the completion');
    expect(runsOf([w], id, 'job started')).toHaveLength(1);
    expect(await queue.announcements(id)).toBe(1);
    expect(await queue.pendingCount()).toBe(0);
  });
});
