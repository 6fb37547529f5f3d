// Faults: Redis is down when a worker starts, or crashes and restarts (append-only persistence on, as in
// production) around a worker's work. No job is lost and the worker reconnects by itself, saying so.
import { describe, expect, it } from 'vitest';
import { queueSuite } from '../support/queueSuite.js';
import { TestQueue, workerStarted } from '../support/jobQueue.js';
import { startRedis } from '../support/redisServer.js';
import { dockerAvailable } from '../support/services.js';
import type { LogLine } from '../support/workerProcess.js';

const MODES = ['process', ...((await dockerAvailable()) ? ['docker'] : [])];

// Restarts and kills one node: always a single Redis, also under TEST_REDIS=cluster.
const suite = queueSuite({ node: true });
let queue: TestQueue | undefined;

const restored = (role: string) => (l: LogLine) => l.msg === 'redis connection restored' && l.role === role;

describe.each(MODES)('Redis down when a worker starts (%s transport)', (mode) => {
  it('the worker says so, backs off, then works once Redis is up', async () => {
    const later = await startRedis({ started: false });
    const laterQueue = new TestQueue(later);
    try {
      const w = laterQueue.startWorker(mode);
      const complaint = await w.waitForLog((l) => l.msg === 'redis unreachable, retrying', 15_000, 'the retry');
      expect(complaint).toMatchObject({ level: 'warn', retryInMs: expect.any(Number) });
      await w.waitForLog((l) => l.msg === 'redis unreachable, retrying' && Number(l.attempt) >= 3, 15_000, 'a third attempt');
      expect(w.proc.exitCode).toBeNull();
      await later.start();
      await workerStarted(w);
      const id = await laterQueue.submit({ id: 'after-outage', code: 'print("up")' });
      expect(await laterQueue.result(id)).toMatchObject({ status: 'accepted', stdout: 'up\n' });
    } finally {
      await laterQueue.stopWorkers();
      await later.stop();
    }
  });
});

describe('Redis restarted (process transport)', () => {
  it('between XADD and claim: the entry survives the restart and the job runs once a worker comes', async () => {
    queue = suite.newQueue();
    // The group exists before the job, as it does once any worker has run: the entry waits undelivered.
    await suite.redis.client.xgroup('CREATE', queue.stream, queue.group, '$', 'MKSTREAM');
    const id = await queue.submit({ code: 'print("kept")' });
    await suite.redis.restart();
    expect(await suite.redis.client.xlen(queue.stream)).toBe(1);
    const [group] = (await suite.redis.client.xinfo('GROUPS', queue.stream)) as string[][];
    expect(Object.fromEntries(group.reduce<[string, string][]>((acc, v, i) => (i % 2 ? acc : [...acc, [v, group[i + 1]]]), []))).toMatchObject({ name: queue.group, lag: 1, pending: 0 });

    const w = queue.startWorker('process');
    expect(await queue.result(id)).toMatchObject({ status: 'accepted', stdout: 'kept\n', attempts: 1 });
    await w.waitForLog((l) => l.msg === 'job completed' && l.jobId === id, 10_000, 'the completion');
    expect(await queue.pendingCount()).toBe(0);
  });

  it('while the worker is idle on XREADGROUP BLOCK: it reconnects by itself and takes the next job', async () => {
    queue = suite.newQueue();
    const w = queue.startWorker('process', { READ_BLOCK_MS: '5000' });
    await workerStarted(w);
    const before = w.logs.length;
    await suite.redis.restart();
    await w.waitForLog((l) => w.logs.indexOf(l) >= before && restored('blocking-reads')(l), 15_000, 'the blocking connection restored');
    const id = await queue.submit({ code: 'print("after restart")' });
    expect(await queue.result(id, 30_000)).toMatchObject({ status: 'accepted', stdout: 'after restart\n' });
    await w.waitForLog((l) => l.msg === 'job completed' && l.jobId === id, 10_000, 'the completion');
    expect(await queue.pendingCount()).toBe(0);
    expect(w.proc.exitCode).toBeNull();
  });

  it('down longer than CLAIM_IDLE_MS while a job runs: the job runs once, its result is stored and acknowledged once Redis is back', async () => {
    queue = suite.newQueue();
    const w = queue.startWorker('process', { CLAIM_IDLE_MS: '1000' });
    await workerStarted(w);
    const id = await queue.submit({ code: 'import time\ntime.sleep(3)\nprint("ran through it")', wallTimeLimitMs: 10_000 });
    await w.waitForLog((l) => l.msg === 'job started' && l.jobId === id, 30_000, 'the job starting');
    const before = w.logs.length;
    await suite.redis.kill();
    // Down past CLAIM_IDLE_MS: the entry looks idle when Redis is back (200 + 400 + 800 ms of retries).
    await w.waitForLog((l) => w.logs.indexOf(l) >= before && l.msg === 'redis unreachable, retrying' && l.role === 'commands' && Number(l.attempt) >= 3, 15_000, 'a third reconnect attempt');
    await suite.redis.start();
    expect(await queue.result(id, 30_000)).toMatchObject({ status: 'accepted', stdout: 'ran through it\n', attempts: 1 });
    await w.waitForLog((l) => l.msg === 'job completed' && l.jobId === id, 10_000, 'the completion');
    await w.waitForLog(restored('commands'), 10_000, 'the commands connection restored');
    expect(await queue.pendingCount()).toBe(0);
    expect(await queue.announcements(id)).toBe(1);
    // The worker did not take its own running job for a dead worker's.
    expect(w.logs.filter((l) => l.msg === 'job started' && l.jobId === id)).toHaveLength(1);
  });
});
