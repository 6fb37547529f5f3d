// The docker transport's warm pool: prepared containers, each used by exactly one job, refilled in the
// background without holding up jobs, drained on close, reaped after a crash.
import Docker from 'dockerode';
import { afterEach, describe, expect, it } from 'vitest';
import { normalizeJob } from '../../runner/protocol/job.js';
import { DEFAULT_CAPS } from '../../runner/protocol/limits.js';
import { LABEL_JOB, LABEL_MANAGED, LABEL_OWNER, POOLED_JOB } from '../../worker/transports/containerLabels.js';
import { DockerTransport } from '../../worker/transports/dockerTransport.js';
import { expectNothingLeft } from '../support/leftovers.js';
import { dockerAvailable, DOCKER_SOCKET, RUNNER_IMAGE } from '../support/services.js';

const withDocker = await dockerAvailable();
const docker = new Docker({ socketPath: DOCKER_SOCKET });
const POOL_LIMITS = { memoryLimitMb: DEFAULT_CAPS.maxMemoryLimitMb, maxProcesses: DEFAULT_CAPS.maxProcesses };
let seq = 0;

const pooledTransport = (ownerId: string, poolSize: number) =>
  new DockerTransport({ socketPath: DOCKER_SOCKET, image: RUNNER_IMAGE, ownerId, poolSize, poolLimits: POOL_LIMITS });

async function until(what: string, check: () => boolean | Promise<boolean>, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

async function pooledContainers(ownerId: string): Promise<Docker.ContainerInfo[]> {
  const list = await docker.listContainers({ all: true, filters: { label: [`${LABEL_MANAGED}=true`, `${LABEL_OWNER}=${ownerId}`] } });
  return list.filter((c) => c.Labels[LABEL_JOB] === POOLED_JOB);
}

/** The container a job ran in, as the job itself sees it (its hostname is the container id). */
const whereAmI = () => normalizeJob({ id: `pool-${++seq}`, language: 'python', code: 'import socket\nprint(socket.gethostname())' });

describe.skipIf(!withDocker)('docker warm pool', () => {
  afterEach(() => expectNothingLeft());

  it('prepares POOL_SIZE started containers, and each serves exactly one job', async () => {
    const transport = pooledTransport('pool-test-a', 2);
    try {
      await until('2 pooled containers', async () => transport.pooledReady === 2);
      const ready = await pooledContainers('pool-test-a');
      expect(ready.map((c) => c.State)).toEqual(['running', 'running']);
      const hosts: string[] = [];
      for (let i = 0; i < 5; i++) {
        const r = await transport.run(whereAmI());
        expect(r.status).toBe('accepted');
        hosts.push(r.stdout.trim());
      }
      // Five jobs, five containers: none was reused.
      expect(new Set(hosts).size).toBe(5);
      // The first jobs took pooled containers (prepared before they came).
      expect(ready.map((c) => c.Id.slice(0, 12))).toContain(hosts[0]);
      await until('the pool refilled', () => transport.pooledReady === 2);
    } finally {
      await transport.close();
    }
  });

  it('jobs never wait for a refill: more concurrent jobs than the pool holds all run', async () => {
    const transport = pooledTransport('pool-test-b', 1);
    try {
      await until('1 pooled container', () => transport.pooledReady === 1);
      const results = await Promise.all(Array.from({ length: 4 }, () => transport.run(whereAmI())));
      expect(results.map((r) => r.status)).toEqual(['accepted', 'accepted', 'accepted', 'accepted']);
      expect(new Set(results.map((r) => r.stdout)).size).toBe(4);
    } finally {
      await transport.close();
    }
  });

  it('a pooled container takes the job\'s own limits, not the pool\'s', async () => {
    const transport = pooledTransport('pool-test-c', 1);
    try {
      await until('1 pooled container', () => transport.pooledReady === 1);
      const r = await transport.run(normalizeJob({
        id: `pool-${++seq}`, language: 'bash', memoryLimitMb: 64,
        code: 'cat /sys/fs/cgroup/memory/memory.limit_in_bytes 2>/dev/null || cat /sys/fs/cgroup/memory.max',
      }));
      expect(Number(r.stdout.trim())).toBe((64 + 224) * 1024 * 1024);
    } finally {
      await transport.close();
    }
  });

  it('close drains the pool; after a crash another worker reaps the pooled containers', async () => {
    const drained = pooledTransport('pool-test-d', 2);
    await until('2 pooled containers', () => drained.pooledReady === 2);
    await drained.close();
    expect(await pooledContainers('pool-test-d')).toEqual([]);

    const crashed = pooledTransport('pool-test-dead', 2);
    await until('2 pooled containers', () => crashed.pooledReady === 2);
    // The crashed worker never closes its transport; a live one reaps what it left.
    const rescuer = new DockerTransport({ socketPath: DOCKER_SOCKET, image: RUNNER_IMAGE, ownerId: 'pool-test-rescuer' });
    expect(await rescuer.reapOrphans(async (owner) => owner !== 'pool-test-dead')).toBeGreaterThanOrEqual(2);
    expect(await pooledContainers('pool-test-dead')).toEqual([]);
    await rescuer.close();
  });
});
