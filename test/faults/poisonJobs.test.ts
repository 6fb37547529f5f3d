// Fault: entries that can never succeed. Malformed ones are dead-lettered at once; a job whose runner fails on
// every delivery (it crashes, or reports internal_error) is retried up to MAX_DELIVERIES and then dead-lettered
// with the reason, while other jobs keep flowing. And jobs that used to poison the runner (output that JSON-
// escapes past the transport's cap, a /tmp filled before the next test case) get their verdict at once.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { getResult } from '../../worker/resultStore.js';
import { faultyRunner, type FaultyRunner } from '../support/faultyRunner.js';
import { queueSuite, queueSuiteModes } from '../support/queueSuite.js';
import { type TestQueue, workerStarted } from '../support/jobQueue.js';
import type { WorkerHandle } from '../support/workerProcess.js';

const MODES = await queueSuiteModes();

const suite = queueSuite();
let queue: TestQueue | undefined;

const started = (w: WorkerHandle, jobId: string) => w.logs.filter((l) => l.msg === 'job started' && l.jobId === jobId).map((l) => l.attempts);

describe.each(MODES)('poison jobs (%s transport)', (mode) => {
  it('malformed entries go to the dead-letter stream and the next job still runs', async () => {
    queue = suite.newQueue();
    const w = queue.startWorker(mode);
    await workerStarted(w);
    await queue.submitRaw({ job: '{"id": "broken-1", "language": ' });
    await queue.submitRaw({ payload: 'no job field' });
    const id = await queue.submit({ code: 'print("still alive")' });
    expect(await queue.result(id)).toMatchObject({ status: 'accepted', stdout: 'still alive\n' });
    // Two slots handle both entries at once: their dead letters may come in either order.
    expect((await queue.deadLetters()).map((d) => d.reason).sort()).toEqual(['entry has no "job" field', 'the "job" field is not valid JSON']);
    // The broken job's producer still gets an answer: its id was legible.
    expect(await queue.result('broken-1')).toMatchObject({ status: 'rejected', message: 'the "job" field is not valid JSON' });
    await w.waitForLog((l) => l.msg === 'job completed' && l.jobId === id, 10_000, 'the completion');
    expect(await queue.pendingCount()).toBe(0);
  });

  describe('a runner that fails on every delivery', () => {
    let faulty: FaultyRunner;
    beforeAll(async () => {
      faulty = await faultyRunner(mode);
    });
    afterAll(async () => {
      await faulty?.remove();
    });

    it('is retried up to MAX_DELIVERIES, then dead-lettered with the reason and an internal_error result; other jobs keep flowing', async () => {
      queue = suite.newQueue();
      const w = queue.startWorker(mode, { ...faulty.env, MAX_DELIVERIES: '3', CLAIM_IDLE_MS: '1000' });
      await workerStarted(w);
      // The id in the source too: that is where a runner container sees it (test/support/faultyRunner.ts).
      const crashId = `poison-${Date.now()}`;
      const errorId = `failing-${Date.now()}`;
      const crash = await queue.submit({ id: crashId, code: `print("never printed")  # ${crashId}` });
      const error = await queue.submit({ id: errorId, code: `print("never printed")  # ${errorId}` });

      // Not final while deliveries are left: after a failed attempt nothing is stored and the entry stays pending.
      for (const id of [crash, error]) {
        await w.waitForLog((l) => l.msg.startsWith('job failed in ') && l.jobId === id && l.attempts === 1, 30_000, `${id} failing once`);
        expect(await getResult(suite.redis.client, id)).toBeNull();
      }
      expect(await queue.pendingCount()).toBeGreaterThanOrEqual(1);
      const others = await Promise.all([1, 2, 3].map((i) => queue!.submit({ code: `print(${i} * 7)` })));
      const flowing = await Promise.all(others.map((id) => queue!.result(id)));
      flowing.forEach((r, i) => expect(r).toMatchObject({ status: 'accepted', stdout: `${(i + 1) * 7}\n`, attempts: 1 }));

      const crashed = await queue.result(crash, 30_000);
      const reported = await queue.result(error, 30_000);
      const reasons = {
        [crash]: /^delivered 3 times without a result \(MAX_DELIVERIES=3\); the last attempt failed in the transport: .*(runner produced no result|no result)/,
        [error]: /^delivered 3 times without a result \(MAX_DELIVERIES=3\); the last attempt failed in the runner: internal error: could not start the program: No such file or directory/,
      };
      expect(crashed).toMatchObject({ status: 'internal_error', attempts: 3, message: expect.stringMatching(reasons[crash]) });
      expect(reported).toMatchObject({ status: 'internal_error', attempts: 3, message: expect.stringMatching(reasons[error]) });
      for (const id of [crash, error]) {
        expect(started(w, id)).toEqual([1, 2, 3]);
        expect(w.logs.filter((l) => l.msg.startsWith('job failed in ') && l.jobId === id).map((l) => l.attempts)).toEqual([1, 2]);
        expect(await queue.announcements(id)).toBe(1);
      }
      // The result is stored before the entry goes to the dead-letter stream: give the second its moment.
      let dead = await queue.deadLetters();
      for (const until = Date.now() + 10_000; dead.length < 2 && Date.now() < until; dead = await queue.deadLetters()) {
        await new Promise((r) => setTimeout(r, 50));
      }
      expect(dead).toHaveLength(2);
      for (const d of dead) {
        const id = (JSON.parse(JSON.parse(d.fields).job) as { id: string }).id;
        expect(d).toMatchObject({ reason: expect.stringMatching(reasons[id]), deliveries: '3' });
        expect(d.reason).toBe((await getResult(suite.redis.client, id))!.message);
      }
      await expect.poll(() => queue!.pendingCount(), { timeout: 10_000 }).toBe(0);
    });
  });

  describe('jobs that once poisoned the runner get their verdict on the first delivery', () => {
    it('output that JSON-escapes to six times its size, with testCases (the top level repeats a case)', async () => {
      queue = suite.newQueue();
      const w = queue.startWorker(mode, { MAX_DELIVERIES: '1' });
      await workerStarted(w);
      // Both streams exactly at maxOutputBytes (65536), every byte a control character: \u0001 in the JSON.
      const id = await queue.submit({
        code: 'import sys\nsys.stdout.write("\\x01" * 65536)\nsys.stderr.write("\\x01" * 65536)',
        testCases: [{ stdin: '' }],
      });
      const r = await queue.result(id);
      expect(r).toMatchObject({ status: 'accepted', attempts: 1, stdout: '\x01'.repeat(65536), stderr: '\x01'.repeat(65536) });
      expect(r.testCases?.[0]).toMatchObject({ status: 'accepted', stdout: '\x01'.repeat(65536) });
      expect(await queue.deadLetters()).toEqual([]);
      expect(started(w, id)).toEqual([1]);
    });

    it('a first test case that fills /tmp (every inode) before the runner wrote the next case\'s stdin', async () => {
      queue = suite.newQueue();
      const w = queue.startWorker(mode, { MAX_DELIVERIES: '1' });
      await workerStarted(w);
      const fillTmp = [
        'import sys',
        'n = 0',
        'try:',
        '    while True:',
        '        open(f"/tmp/f{n}", "w").close()',
        '        n += 1',
        'except OSError as e:',
        '    print("full", e.errno)',
        'print(sys.stdin.read())',
      ].join('\n');
      const id = await queue.submit({ code: fillTmp, testCases: [{ stdin: 'first' }, { stdin: 'second' }] });
      const r = await queue.result(id);
      expect(r).toMatchObject({ status: 'accepted', attempts: 1 });
      // The second run finds /tmp full of the first one's files (the job's to fill) and still gets its own stdin.
      expect(r.testCases?.map((c) => c.status)).toEqual(['accepted', 'accepted']);
      expect(r.testCases?.[0].stdout).toBe('full 28\nfirst\n');
      expect(r.testCases?.[1].stdout).toMatch(/^full (28|13)\nsecond\n$/);
      expect(started(w, id)).toEqual([1]);
    });
  });
});
