// Fault: the Docker engine becomes unreachable (a proxy in front of the engine's socket is cut, then restored; the
// real dockerd is never touched). A job already running finishes: its request and reports travel over the
// container's own socket, not through the engine; its container, which cannot be removed meanwhile, goes once the
// engine is back. A job that needs the engine while it is away is not final: nothing is stored, it is redelivered
// and succeeds once the engine answers again.
import Docker from 'dockerode';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { getResult } from '../../worker/resultStore.js';
import { LABEL_JOB, LABEL_MANAGED } from '../../core/labels.js';
import { startDockerSocketProxy, type DockerSocketProxy } from '../support/dockerSocketProxy.js';
import { queueSuite } from '../support/queueSuite.js';
import { type TestQueue, workerStarted } from '../support/jobQueue.js';
import { ourContainers } from '../support/leftovers.js';
import { DOCKER_SOCKET, dockerAvailable } from '../support/services.js';

const HAVE_DOCKER = await dockerAvailable();

const suite = queueSuite();
let proxy: DockerSocketProxy;
let queue: TestQueue | undefined;
const engine = new Docker({ socketPath: DOCKER_SOCKET });

beforeAll(async () => {
  proxy = await startDockerSocketProxy();
});
afterAll(async () => {
  await proxy?.stop();
});
// Registered after the suite's: runs before its workers are stopped, so they can reach the engine again.
afterEach(async () => {
  await proxy.restore();
});

/** The job's containers as the real engine sees them (the worker's view goes through the proxy). */
async function containersOf(jobId: string): Promise<Docker.ContainerInfo[]> {
  return engine.listContainers({ all: true, filters: { label: [`${LABEL_MANAGED}=true`, `${LABEL_JOB}=${jobId}`] } });
}

describe.skipIf(!HAVE_DOCKER)('the Docker engine unreachable (docker transport)', () => {
  it('a job running when the engine goes finishes with its verdict; its container is removed once the engine is back', async () => {
    queue = suite.newQueue();
    const w = queue.startWorker('docker', { DOCKER_SOCKET: proxy.path, POOL_SIZE: '0', WORKER_NAME: 'cut-off' });
    await workerStarted(w);
    const id = await queue.submit({ code: 'import time\ntime.sleep(2)\nprint("made it")', wallTimeLimitMs: 10_000 });
    await w.waitForLog((l) => l.msg === 'job started' && l.jobId === id, 30_000, 'the job starting');
    await expect.poll(async () => (await containersOf(id)).map((c) => c.State), { timeout: 15_000, interval: 50 }).toContain('running');
    expect(proxy.connections).toBeGreaterThan(0);

    await proxy.cut();
    const r = await queue.result(id, 30_000);
    expect(r).toMatchObject({ status: 'accepted', stdout: 'made it\n', attempts: 1, runnerMode: 'docker' });
    // Its container could not be removed through the cut socket.
    expect((await containersOf(id)).length).toBe(1);

    await proxy.restore();
    // Removed by the worker itself while it keeps running (not by the test's cleanup, nor by another worker).
    await expect.poll(async () => (await containersOf(id)).length, { timeout: 30_000, interval: 200 }).toBe(0);
    expect(await ourContainers()).toEqual([]);
    expect(w.proc.exitCode).toBeNull();
  });

  it('no internal_error is stored for a job that needs the engine while it is away; it is redelivered and succeeds once it is back', async () => {
    queue = suite.newQueue();
    const w = queue.startWorker('docker', { DOCKER_SOCKET: proxy.path, CLAIM_IDLE_MS: '2000', MAX_DELIVERIES: '3', POOL_SIZE: '0', WORKER_NAME: 'cut-off' });
    await workerStarted(w);
    await proxy.cut();
    const id = await queue.submit({ code: 'print("made it")' });
    const failed = await w.waitForLog((l) => l.msg === 'job failed in the transport; it stays pending for a retry' && l.jobId === id, 15_000, 'the transport failure');
    expect(failed).toMatchObject({ attempts: 1, error: expect.stringMatching(/connect ENOENT|write EPIPE|read ECONNRESET|socket hang up/) });
    // Not final: no result, the entry stays pending for a redelivery.
    expect(await getResult(suite.redis.client, id)).toBeNull();
    expect(await queue.pendingCount()).toBe(1);

    await proxy.restore();
    const r = await queue.result(id, 30_000);
    expect(r).toMatchObject({ status: 'accepted', stdout: 'made it\n', runnerMode: 'docker' });
    expect(r.attempts).toBeGreaterThanOrEqual(2);
    expect(r.worker).toMatch(/^cut-off-/);
    await w.waitForLog((l) => l.msg === 'job completed' && l.jobId === id, 10_000, 'the completion');
    expect(await queue.announcements(id)).toBe(1);
    expect(await queue.pendingCount()).toBe(0);
    await expect.poll(async () => ourContainers(), { timeout: 15_000, interval: 200 }).toEqual([]);
    expect(w.proc.exitCode).toBeNull();
  });
});
