// Issue 19, finding 6: the leftover checks judge only this test process's sandboxes (test/support/sandboxClaims.ts).
// Another deployment's worker on this host, started outside this process's tree as another run's would be, keeps a
// warm pool (a supervisor, sandboxes, cgroups) while our checks pass; the same checks asked about that deployment
// see all of it, and still see ours. And a running job's processes are told as ours on every transport by their
// cgroup or container alone, not merely because they descend from this process.
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { normalizeJob } from '../../core/protocol/job.js';
import { JOB_UID_MIN, POOLED_SANDBOX_SIZE } from '../../core/protocol/limits.js';
import { ProcessTransport } from '../../worker/transports/processTransport.js';
import { expectNothingLeft, sandboxCgroups, sandboxProcesses } from '../support/leftovers.js';
import { startRedis, type TestRedis } from '../support/redisServer.js';
import { CLAIMED, HostView, newClaims, SUPERVISOR_COMM, testOwner, workerDeployment, type Claims } from '../support/sandboxClaims.js';
import { availableTransports } from '../support/transports.js';
import { until } from '../support/until.js';

const TRANSPORTS = await availableTransports();
const CLI = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'bin', 'code-exec.js');

/** `pid uid state comm` lines of sandboxProcesses. */
const fields = (line: string) => {
  const [pid, uid, , comm] = line.split(' ');
  return { pid: Number(pid), uid: Number(uid), comm };
};

interface ForeignWorker {
  pid: number;
  claims: Claims;
  log(): string;
  stop(): Promise<void>;
}

/**
 * A `code-exec worker` of another deployment (its own Redis) with a warm pool, orphaned at birth (the shell that
 * starts it in the background exits), so that, like another run's worker, it is no descendant of this process.
 */
async function startForeignWorker(redis: TestRedis): Promise<ForeignWorker> {
  const dir = mkdtempSync(join(tmpdir(), 'foreign-worker-'));
  const logFile = join(dir, 'worker.log');
  const env = {
    PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: process.env.HOME ?? '/root', LOG_LEVEL: 'info',
    REDIS_URL: redis.url, STREAM_KEY: `foreign-${randomUUID()}`, RUNNER_MODE: 'process', POOL_SIZE: '2',
    WORKER_NAME: 'foreign', METRICS_PORT: '0', READ_BLOCK_MS: '200',
  };
  const sh = spawn('/bin/sh', ['-c', `"$0" "$1" worker </dev/null >"$2" 2>&1 & echo $!`, process.execPath, CLI, logFile], { env, stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  sh.stdout!.on('data', (d) => (out += d));
  await new Promise((r) => sh.once('exit', r));
  const pid = Number(out.trim());
  const log = () => (existsSync(logFile) ? readFileSync(logFile, 'utf8') : '');
  const alive = () => existsSync(`/proc/${pid}`);
  return {
    pid,
    // Not claimed by this process: a check of it must be asked for.
    claims: newClaims([workerDeployment(env)!]),
    log,
    async stop() {
      if (alive()) {
        process.kill(pid, 'SIGTERM');
        await until('the foreign worker to exit', () => !alive(), 30_000).catch(() => process.kill(pid, 'SIGKILL'));
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

describe('sandboxes of another deployment on this host', () => {
  let redis: TestRedis;
  let foreign: ForeignWorker | undefined;
  beforeAll(async () => {
    redis = await startRedis();
  });
  afterAll(async () => {
    await foreign?.stop();
    await redis?.stop();
  });

  it("are not ours: our checks pass while its warm pool lives, its own check sees it, ours still sees our pool", async () => {
    foreign = await startForeignWorker(redis);
    const pooledCgroups = () => sandboxCgroups(foreign!.claims).filter((c) => c.includes('@pooled-'));
    // Both pooled sandboxes ready: each a cgroup (in every controller) and two processes, under one supervisor.
    const processes = await until(`the foreign worker's warm pool; its log:\n${foreign.log()}`, () => {
      const seen = sandboxProcesses(foreign!.claims).map(fields);
      return seen.filter((p) => p.comm === 'sandbox-init').length === 2 && seen.some((p) => p.comm === SUPERVISOR_COMM) && seen;
    }, 60_000);
    expect(new Set(pooledCgroups().map((c) => c.split('/').pop())).size).toBe(2);
    // Its supervisor is told by its sandboxes' cgroups: it is no descendant of this process.
    const supervisor = processes.find((p) => p.comm === SUPERVISOR_COMM)!;
    const view = HostView.take();
    expect(view.descendsFrom(supervisor.pid, new Set([process.pid]))).toBe(false);
    expect(view.descendsFrom(supervisor.pid, new Set([foreign.pid]))).toBe(true);
    expect(view.isOurs(supervisor.pid)).toBe(false);

    // Ours: nothing, strictly (no pool allowed), while all of that lives.
    await expectNothingLeft(5_000);
    expect(sandboxProcesses()).toEqual([]);
    expect(sandboxCgroups()).toEqual([]);
    // Asked about the foreign deployment, the same check fails on exactly what it keeps.
    const seenForeign = await expectNothingLeft(500, null, foreign.claims).then(() => '', (err: Error) => err.message);
    expect(seenForeign).toMatch(/sandbox-init/);
    expect(seenForeign).toMatch(/@pooled-/);
    expect(seenForeign).toContain(` ${SUPERVISOR_COMM}`);
    expect(pooledCgroups().length).toBeGreaterThanOrEqual(2);

    // Our own pool, beside it: seen by our check (a leftover unless allowed), not by the foreign one.
    const own = new ProcessTransport(testOwner('attribution-own'), { poolSize: 1, poolLimits: POOLED_SANDBOX_SIZE });
    try {
      await until('our pooled sandbox', () => own.pooledReady === 1);
      await expect(expectNothingLeft(500)).rejects.toThrow(/attribution-own@pooled-/);
      await expectNothingLeft(5_000, 1);
      expect(sandboxCgroups(foreign.claims).some((c) => c.includes('attribution-own'))).toBe(false);
    } finally {
      await own.close();
    }
    await expectNothingLeft();

    // Stopped (SIGTERM), the foreign worker takes its pool with it.
    const { claims } = foreign;
    await foreign.stop();
    foreign = undefined;
    await expectNothingLeft(15_000, null, claims);
  }, 120_000);
});

describe('a running job', () => {
  /** Our claims without our process tree: only a sandbox's cgroup or container can make a process ours. */
  const byPlacementOnly: Claims = { ...CLAIMED, roots: new Set() };

  it.each(TRANSPORTS.map((t) => [t.name, t] as const))('is ours by its cgroup or container alone (%s)', async (_name, factory) => {
    const started = await factory.start({ owner: testOwner('attribution') });
    try {
      const running = started.transport.run(normalizeJob({ id: `attribution-${randomUUID()}`, language: 'python', code: 'import time\ntime.sleep(4)\nprint("done")' }));
      const jobProcesses = await until('a job-uid process told as ours', () => {
        const mine = sandboxProcesses(byPlacementOnly).map(fields).filter((p) => p.uid >= JOB_UID_MIN);
        return mine.length > 0 && mine;
      }, 20_000);
      // Nobody else's claims reach it.
      const unclaimed = sandboxProcesses(newClaims()).map(fields);
      expect(unclaimed.filter((p) => jobProcesses.some((j) => j.pid === p.pid))).toEqual([]);
      // The supervised kinds' cgroups carry the deployment: the worker's, or the process sidecar's own.
      if (['process', 'process (warm pool)'].includes(factory.name)) expect(sandboxCgroups(byPlacementOnly).length).toBeGreaterThan(0);
      expect(await running).toMatchObject({ status: 'accepted', stdout: 'done\n' });
    } finally {
      await started.transport.close();
      await started.stop?.();
    }
    await expectNothingLeft();
  }, 90_000);
});
