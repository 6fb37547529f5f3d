// The queue on a real 3-master Redis Cluster (a replica per master), as ElastiCache or Memorystore run it in
// cluster mode: `code-exec submit` and `stats`, real `code-exec worker` processes (process transport) with
// REDIS_CLUSTER=true, and a master failover (CLUSTER FAILOVER) in the middle of a run that loses nothing.
import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { RESULTS_FEED_KEY, resultKey, v1ResultKey } from '../../core/keys.js';
import { TestQueue, workerStarted } from '../support/jobQueue.js';
import { expectNothingLeft } from '../support/leftovers.js';
import { startRedisCluster, type TestCluster } from '../support/redisCluster.js';

const CLI = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'bin', 'code-exec.js');
const run = promisify(execFile);

let cluster: TestCluster;
let queue: TestQueue | undefined;
beforeAll(async () => {
  cluster = await startRedisCluster();
});
afterAll(() => cluster?.stop());
afterEach(async () => {
  await queue?.stopWorkers();
  queue = undefined;
  await expectNothingLeft();
});

async function cli(args: string[], stream: string): Promise<{ code: number; stdout: string; stderr: string }> {
  const env = { PATH: process.env.PATH!, HOME: process.env.HOME ?? '/root', REDIS_URL: cluster.url, REDIS_CLUSTER: 'true', STREAM_KEY: stream };
  try {
    const { stdout, stderr } = await run(process.execPath, [CLI, ...args], { env, timeout: 120_000 });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

const slotOf = async (key: string) => Number(await cluster.client.cluster('KEYSLOT', key));

/** The masters ("host:port") that serve the keys: the test is only worth its name when they differ. */
async function mastersOf(keys: string[]): Promise<Set<string>> {
  const slots = await Promise.all(keys.map(slotOf));
  return new Set(slots.map((slot) => cluster.client.slots[slot][0]));
}

describe('a 3-master Redis Cluster (REDIS_CLUSTER=true)', () => {
  it('20 jobs through code-exec submit: 20 right results, nothing pending, code-exec stats answers', async () => {
    queue = new TestQueue(cluster);
    const w = queue.startWorker('process', { POOL_SIZE: '1' });
    await workerStarted(w);
    const dir = mkdtempSync(join(tmpdir(), 'cluster-cli-'));
    const files = Array.from({ length: 20 }, (_, i) => {
      const file = join(dir, `job${i}.py`);
      writeFileSync(file, `print(${i} * ${i})`);
      return file;
    });
    const outputs: { code: number; stdout: string; stderr: string }[] = [];
    // Four clients at a time: each its own process and cluster connection, as users would run them.
    for (let i = 0; i < files.length; i += 4) outputs.push(...(await Promise.all(files.slice(i, i + 4).map((f) => cli(['submit', f], queue!.stream)))));
    const results = outputs.map((o) => {
      expect(o, o.stderr).toMatchObject({ code: 0 });
      return JSON.parse(o.stdout) as { id: string; status: string; stdout: string; attempts: number };
    });
    expect(results.map((r) => [r.status, r.stdout])).toEqual(results.map((_, i) => ['accepted', `${i * i}\n`]));
    expect(results.every((r) => r.attempts === 1)).toBe(true);
    // The results spread over the masters, each with its announcement on its own slot.
    expect((await mastersOf(results.map((r) => resultKey(r.id)))).size).toBeGreaterThan(1);
    await expect.poll(() => queue!.pendingCount(), { timeout: 5000 }).toBe(0);
    // v1 names still written for one release, on whichever slot they hash to.
    expect(JSON.parse((await cluster.client.get(v1ResultKey(results[0].id)))!)).toMatchObject({ id: results[0].id, status: 'accepted' });

    const stats = await cli(['stats'], queue.stream);
    expect(stats.code, stats.stderr).toBe(0);
    expect(JSON.parse(stats.stdout)).toMatchObject({ stream: queue.stream, group: 'execution-workers', pending: 0, lag: 0, deadLetters: 0 });
  });

  /** 40 jobs on two workers; `fault` runs once a few have finished and before all have. */
  async function runThrough(fault: (ids: string[]) => Promise<number[]>) {
    queue = new TestQueue(cluster);
    const workers = [1, 2].map(() => queue!.startWorker('process', { POOL_SIZE: '1', CLAIM_IDLE_MS: '3000' }));
    await Promise.all(workers.map((w) => workerStarted(w)));
    const ids = Array.from({ length: 40 }, () => randomUUID());
    for (const [i, id] of ids.entries()) await queue.submit({ id, code: `import time\ntime.sleep(0.3)\nprint(${i})` });
    const done = async () => (await Promise.all(ids.map((id) => cluster.client.exists(resultKey(id))))).filter(Boolean).length;
    await expect.poll(done, { timeout: 60_000, interval: 100 }).toBeGreaterThanOrEqual(4);
    const promoted = await fault(ids);
    const finishedAtFault = await done();
    expect(finishedAtFault).toBeLessThan(ids.length);

    const results = await Promise.all(ids.map((id) => queue!.result(id, 90_000)));
    expect(results.map((r) => [r.status, r.stdout])).toEqual(ids.map((_, i) => ['accepted', `${i}\n`]));
    expect(await Promise.all(ids.map((id) => queue!.announcements(id)))).toEqual(ids.map(() => 1));
    await expect.poll(() => queue!.pendingCount(), { timeout: 30_000 }).toBe(0);
    expect(await queue.deadLetters()).toEqual([]);
    // The feed every callback dispatcher reads carries each of them.
    const fed = new Set((await cluster.client.xrange(RESULTS_FEED_KEY, '-', '+')).map(([, f]) => f[f.indexOf('job') + 1]));
    expect(ids.filter((id) => !fed.has(id))).toEqual([]);
    for (const w of workers) if (w.proc.exitCode !== null) process.stderr.write(`${JSON.stringify({ msg: 'a worker exited', code: w.proc.exitCode, lastLogs: w.logs.slice(-15) })}\n`);
    for (const w of workers) expect(w.proc.exitCode).toBeNull();
    const starts = ids.map((id) => workers.flatMap((w) => w.logs).filter((l) => l.msg === 'job started' && l.jobId === id).length);
    return { ids, results, starts, promoted, finishedAtFault };
  }

  it('a master failover mid-run (the stream\'s master, then a results master) loses no job and runs none twice', async () => {
    const run = await runThrough(async (ids) => {
      const promoted = [await cluster.failover(queue!.stream)];
      // Another master: the one holding the result of a job not finished yet (when that is another master).
      const later = resultKey(ids[ids.length - 1]);
      if ((await mastersOf([later, queue!.stream])).size === 2) promoted.push(await cluster.failover(later));
      return promoted;
    });
    // A graceful failover drops nothing: every job ran once, on its first delivery.
    expect(run.starts).toEqual(run.ids.map(() => 1));
    expect(run.results.every((r) => r.attempts === 1)).toBe(true);
    process.stderr.write(`${JSON.stringify({ msg: 'cluster failover', jobs: run.ids.length, finishedAtFailover: run.finishedAtFault, promoted: run.promoted })}\n`);
  });

  // Last: the killed node is gone for the rest of the file.
  it("the stream's master killed mid-run (SIGKILL): its replica takes over and no job is lost", async () => {
    const run = await runThrough(async () => [await cluster.killMaster(queue!.stream)]);
    // Acknowledgements the dead master had not replicated come back as redeliveries, answered from the stored result.
    expect(run.starts.every((n) => n >= 1)).toBe(true);
    process.stderr.write(`${JSON.stringify({ msg: 'cluster master killed', jobs: run.ids.length, finishedAtKill: run.finishedAtFault, promoted: run.promoted, startedTwice: run.starts.filter((n) => n > 1).length })}\n`);
  }, 150_000);
});
