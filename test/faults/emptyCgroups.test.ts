// Issue 19, finding 6: a worker killed with SIGKILL leaves its supervisor's pooled cgroups behind (its supervisor and
// sandboxes die with it, their cgroups stay, empty), and no worker of its deployment may ever come back to reap them.
// Any process-mode worker removes empty sandbox cgroups of any deployment once they have stayed empty past the grace
// period (worker/transports/sandboxCgroup.ts); a cgroup holding a process is never removed, whosever it is.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { normalizeJob } from '../../core/protocol/job.js';
import { POOLED_SANDBOX_SIZE } from '../../core/protocol/limits.js';
import { ProcessTransport } from '../../worker/transports/processTransport.js';
import { EMPTY_CGROUP_GRACE_MS, EmptyCgroupSweeper } from '../../worker/transports/sandboxCgroup.js';
import { TestQueue, workerStarted } from '../support/jobQueue.js';
import { sandboxCgroups } from '../support/leftovers.js';
import { queueSuite } from '../support/queueSuite.js';
import { testDeployment, testOwner } from '../support/sandboxClaims.js';
import { until } from '../support/until.js';

const suite = queueSuite();

const V2 = existsSync('/sys/fs/cgroup/cgroup.controllers');
/** The directories of one sandbox cgroup, in every hierarchy the supervisor makes it in. */
const dirsOf = (name: string) => (V2 ? ['/sys/fs/cgroup/code-execution'] : ['memory', 'pids', 'cpu', 'cpuacct'].map((c) => `/sys/fs/cgroup/${c}/code-execution`)).map((p) => join(p, name));
const present = (name: string) => dirsOf(name).some((d) => existsSync(d));
const empty = (name: string) => dirsOf(name).every((d) => !existsSync(d) || readFileSync(join(d, 'cgroup.procs'), 'utf8').trim() === '');

/** Names (not paths) of our sandbox cgroups that match. */
const cgroupNames = (match: (name: string) => boolean) => [...new Set(sandboxCgroups().map((c) => c.split('/').pop()!))].filter(match).sort();

describe('empty sandbox cgroups (process transport)', () => {
  let other: TestQueue | undefined;
  afterEach(async () => {
    await other?.stopWorkers();
    other = undefined;
  });

  it("a SIGKILLed worker's pooled cgroups stay, and a worker of another deployment removes them after the grace period; a live pool's stay", async () => {
    const queue = suite.newQueue();
    const doomed = queue.startWorker('process', { POOL_SIZE: '2', WORKER_NAME: 'pool-crash' });
    const doomedId = (await workerStarted(doomed)).consumer as string;
    const isDoomed = (n: string) => n.includes(`~${doomedId}@pooled-`);
    // Both pooled sandboxes ready: each cgroup holds its sandbox's processes.
    const pooled = await until("the doomed worker's two pooled sandboxes", () => {
      const names = cgroupNames(isDoomed);
      return names.length === 2 && names.every((n) => !empty(n)) && names;
    });

    // A live pool of a third deployment: its cgroups hold processes, and must outlive every sweep below.
    const live = new ProcessTransport(testOwner('sweep-live'), { poolSize: 1, poolLimits: POOLED_SANDBOX_SIZE });
    try {
      await until('the live pooled sandbox', () => live.pooledReady === 1);
      const livePooled = cgroupNames((n) => n.includes('~sweep-live@pooled-'));
      expect(livePooled).toHaveLength(1);

      doomed.proc.kill('SIGKILL');
      await doomed.exited;
      // Its supervisor and sandboxes die with it (parent-death signals); their cgroups stay, empty.
      await until('the killed worker\'s sandboxes to die', () => pooled.every(empty), 15_000);
      const emptiedAt = Date.now();
      expect(pooled.filter(present)).toEqual(pooled);

      // A worker of another deployment (its own stream), reclaiming (and so reaping) every 500 ms.
      other = new TestQueue(suite.redis);
      const sweeper = other.startWorker('process', { POOL_SIZE: '0', CLAIM_IDLE_MS: '1000', WORKER_NAME: 'sweeper' });
      await workerStarted(sweeper);
      // Its first pass (before "worker started") only saw them empty: the grace period starts there.
      expect(pooled.filter(present)).toEqual(pooled);

      await until('the empty pooled cgroups to be removed', () => !pooled.some(present), EMPTY_CGROUP_GRACE_MS + 30_000);
      // Not before the grace period, by any worker on this host (another run's process-mode workers sweep them too).
      expect(Date.now() - emptiedAt).toBeGreaterThanOrEqual(EMPTY_CGROUP_GRACE_MS);

      // The live pool was never empty: its sandbox is still there, and serves a job.
      expect(livePooled.filter(present)).toEqual(livePooled);
      const r = await live.run(normalizeJob({ id: 'after-the-sweep', language: 'python', code: 'print("still here")' }));
      expect(r).toMatchObject({ status: 'accepted', stdout: 'still here\n', phases: { poolHit: 1 } });
    } finally {
      await live.close();
    }
  }, EMPTY_CGROUP_GRACE_MS + 120_000);

  it('the sweeper removes a cgroup only once seen empty for a whole grace period (a process in it starts that over), never a non-sandbox name', async () => {
    const GRACE_MS = 1500;
    const deployment = testDeployment('sweep');
    const idle = `${deployment}~manual@idle`;
    const busy = `${deployment}~manual@busy`;
    const notSandbox = `not-a-sandbox-${deployment}`;
    let sleeper: ChildProcess | undefined;
    try {
      for (const name of [idle, busy, notSandbox]) for (const dir of dirsOf(name)) mkdirSync(dir, { recursive: true });
      // Narrowed to this test's names: with so short a grace period it must not judge the host's other sandboxes.
      const sweeper = new EmptyCgroupSweeper(GRACE_MS, (name) => name.includes(deployment));
      const seenAt = Date.now();
      sweeper.sweep();
      expect([idle, busy, notSandbox].filter(present)).toEqual([idle, busy, notSandbox]);
      // Seen empty, then a process joins one of them (as a new sandbox's first process does).
      sleeper = spawn('sleep', ['600'], { stdio: 'ignore' });
      for (const dir of dirsOf(busy)) writeFileSync(join(dir, 'cgroup.procs'), String(sleeper.pid));
      expect(empty(busy)).toBe(false);
      // Swept on and on, as the worker's timer does: the idle one goes once the grace period has passed.
      const sweepUntil = (what: string, done: () => boolean) => until(what, () => (sweeper.sweep(), done()), 10_000);
      await sweepUntil('the idle cgroup to be removed', () => !present(idle));
      expect(Date.now() - seenAt).toBeGreaterThanOrEqual(GRACE_MS);
      expect(present(busy)).toBe(true);

      // The busy one stays while its process lives; emptied, it waits a whole grace period again, counted from then.
      const exited = new Promise((r) => sleeper!.once('exit', r));
      sleeper.kill('SIGKILL');
      await exited;
      const emptiedAt = Date.now();
      await sweepUntil('the emptied cgroup to be removed', () => !present(busy));
      expect(Date.now() - emptiedAt).toBeGreaterThanOrEqual(GRACE_MS);
      expect(present(notSandbox)).toBe(true);
    } finally {
      if (sleeper?.exitCode === null) sleeper.kill('SIGKILL');
      for (const name of [idle, busy, notSandbox]) for (const dir of dirsOf(name)) if (existsSync(dir)) rmdirSync(dir);
    }
  });
});
