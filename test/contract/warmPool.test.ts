// The warm pools of the docker and process transports: sandboxes prepared ahead, each used by exactly one job,
// refilled in the background without holding up jobs, refitted to each job's limits, drained on close; pooled
// containers of a crashed worker are reaped (pooled process sandboxes die with their worker, and their
// cgroups and tmpfs are reaped like any sandbox's: see the kill -9 test in test/worker/worker.test.ts).
import Docker from 'dockerode';
import { afterEach, describe, expect, it } from 'vitest';
import { normalizeJob } from '../../core/protocol/job.js';
import { LABEL_DEPLOYMENT, LABEL_JOB, LABEL_MANAGED, LABEL_OWNER, POOLED_JOB } from '../../core/labels.js';
import { DockerTransport } from '../../worker/transports/dockerTransport.js';
import { ProcessTransport } from '../../worker/transports/processTransport.js';
import { POOLED_SANDBOX_SIZE } from '../../worker/transports/transport.js';
import { expectNothingLeft } from '../support/leftovers.js';
import { testDeployment } from '../support/sandboxClaims.js';
import { dockerAvailable, DOCKER_SOCKET, RUNNER_IMAGE } from '../support/services.js';

const withDocker = await dockerAvailable();
const docker = new Docker({ socketPath: DOCKER_SOCKET });
const POOL_LIMITS = POOLED_SANDBOX_SIZE;
const DEPLOYMENT = testDeployment('pool-test');
let seq = 0;

type Pooled = (DockerTransport | ProcessTransport) & { readonly pooledReady: number };

const KINDS: [string, (ownerId: string, poolSize: number) => Pooled][] = [
  ['process', (ownerId, poolSize) => new ProcessTransport({ deployment: DEPLOYMENT, ownerId }, { poolSize, poolLimits: POOL_LIMITS })],
  ...(withDocker
    ? ([['docker', (ownerId, poolSize) => new DockerTransport({ socketPath: DOCKER_SOCKET, image: RUNNER_IMAGE, deployment: DEPLOYMENT, ownerId, poolSize, poolLimits: POOL_LIMITS })]] as [string, (ownerId: string, poolSize: number) => Pooled][])
    : []),
];

async function until(what: string, check: () => boolean | Promise<boolean>, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** A job that says whether an earlier job used its sandbox (left its mark in /tmp), then leaves its own mark. */
const whereAmI = () => normalizeJob({
  id: `pool-${++seq}`, language: 'python',
  code: 'import os, uuid\nmarks = [f for f in os.listdir("/tmp") if f.startswith("mark-")]\nopen("/tmp/mark-" + uuid.uuid4().hex, "w").close()\nprint("reused" if marks else "fresh")',
});

describe.each(KINDS)('%s warm pool', (_kind, create) => {
  afterEach(() => expectNothingLeft());

  it('says in its phases whether a job found a sandbox ready (poolHit), for the bench\'s hit rate', async () => {
    const transport = create('pool-test-hit', 1);
    try {
      await until('1 pooled sandbox', () => transport.pooledReady === 1);
      const [hit, miss] = await Promise.all([transport.run(whereAmI()), transport.run(whereAmI())]);
      expect([hit.phases?.poolHit, miss.phases?.poolHit].sort()).toEqual([0, 1]);
      expect([hit.status, miss.status]).toEqual(['accepted', 'accepted']);
    } finally {
      await transport.close();
    }
  });

  it('prepares POOL_SIZE sandboxes, and each serves exactly one job', async () => {
    const transport = create('pool-test-a', 2);
    try {
      await until('2 pooled sandboxes', () => transport.pooledReady === 2);
      const seen: string[] = [];
      for (let i = 0; i < 5; i++) {
        const r = await transport.run(whereAmI());
        expect(r.status).toBe('accepted');
        seen.push(r.stdout.trim());
      }
      // Five jobs, five fresh sandboxes: none saw another job's mark.
      expect(seen).toEqual(['fresh', 'fresh', 'fresh', 'fresh', 'fresh']);
      await until('the pool refilled', () => transport.pooledReady === 2);
    } finally {
      await transport.close();
    }
  });

  it('jobs never wait for a refill: more concurrent jobs than the pool holds all run', async () => {
    const transport = create('pool-test-b', 1);
    try {
      await until('1 pooled sandbox', () => transport.pooledReady === 1);
      const results = await Promise.all(Array.from({ length: 4 }, () => transport.run(whereAmI())));
      expect(results.map((r) => [r.status, r.stdout])).toEqual(Array(4).fill(['accepted', 'fresh\n']));
    } finally {
      await transport.close();
    }
  });

  // Pooled sandboxes are sized for the default 256 MB; smaller and larger jobs both get their own limit.
  it.each([64, 256, 900])("a pooled sandbox takes the job's own limits, not the pool's (%i MB)", async (memoryLimitMb) => {
    const transport = create('pool-test-c', 1);
    try {
      await until('1 pooled sandbox', () => transport.pooledReady === 1);
      const r = await transport.run(normalizeJob({
        id: `pool-${++seq}`, language: 'bash', memoryLimitMb, maxProcesses: 8,
        code: 'cat /sys/fs/cgroup/memory/memory.limit_in_bytes 2>/dev/null || cat /sys/fs/cgroup/memory.max',
      }));
      expect(Number(r.stdout.trim())).toBe((memoryLimitMb + 224) * 1024 * 1024);
    } finally {
      await transport.close();
    }
  });

  it('close drains the pool', async () => {
    const transport = create('pool-test-d', 2);
    await until('2 pooled sandboxes', () => transport.pooledReady === 2);
    await transport.close();
    await expectNothingLeft();
  });
});

describe.skipIf(!withDocker)('docker warm pool after a crash', () => {
  afterEach(() => expectNothingLeft());

  it("another worker reaps a crashed worker's pooled containers", async () => {
    const crashed = new DockerTransport({ socketPath: DOCKER_SOCKET, image: RUNNER_IMAGE, deployment: DEPLOYMENT, ownerId: 'pool-test-dead', poolSize: 2, poolLimits: POOL_LIMITS });
    await until('2 pooled containers', () => crashed.pooledReady === 2);
    const pooled = async () => (await docker.listContainers({ all: true, filters: { label: [`${LABEL_MANAGED}=true`, `${LABEL_DEPLOYMENT}=${DEPLOYMENT}`, `${LABEL_OWNER}=pool-test-dead`] } }))
      .filter((c) => c.Labels[LABEL_JOB] === POOLED_JOB);
    expect(await pooled()).toHaveLength(2);
    // The crashed worker never closes its transport; a live one reaps what it left.
    const rescuer = new DockerTransport({ socketPath: DOCKER_SOCKET, image: RUNNER_IMAGE, deployment: DEPLOYMENT, ownerId: 'pool-test-rescuer' });
    expect(await rescuer.reapOrphans(async (owner) => owner !== 'pool-test-dead')).toBe(2);
    expect(await pooled()).toEqual([]);
    await rescuer.close();
  });
});
