// The kubernetes transport's contract, against a fake API server (no cluster runs here): what it asks the
// API server to create (security context, limits, deadlines, the request in its ConfigMap, labels, namespace),
// how it judges the reports in the pod log, and that Job and ConfigMap are deleted on success, failure and
// timeout. The pod the fake plays for a job is the real thing where it matters: the Job's own container spec
// started on Docker (runPodContainer), its log the executor's.
import { once } from 'node:events';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { normalizeJob, type Job, type JobInput } from '../../core/protocol/job.js';
import { SANDBOX_OVERHEAD_MB, WORKSPACE_SIZE_MB } from '../../core/protocol/limits.js';
import { outcomeWithoutRun, type RunOutcome } from '../../core/protocol/result.js';
import { loadConfig } from '../../worker/config.js';
import { createLogger } from '../../core/logger.js';
import { LABEL_COMPONENT, LABEL_DEPLOYMENT, LABEL_JOB, LABEL_MANAGED, LABEL_OWNER, RUNNER_COMPONENT, RUNNER_POD_LABELS } from '../../core/labels.js';
import { KubernetesTransport, runnerJobName, type KubernetesTransportOptions } from '../../worker/transports/kubernetesTransport.js';
import { deploymentId } from '../../core/sandboxOwner.js';
import { selectTransport } from '../../worker/transports/selectTransport.js';
import { TransportError } from '../../core/errors.js';
import { jobDeadlineMs, runnerOutputCapBytes } from '../../core/protocol/runnerOutput.js';
import { FAKE_TOKEN, FakeKubernetes } from '../support/fakeKubernetes.js';
import { runPodContainer } from '../support/podContainer.js';
import { dockerAvailable, MINIMAL_RUNNER_IMAGE } from '../support/services.js';

const NAMESPACE = 'judge';
const OWNER = 'worker-a-1f2e3d';
const DEPLOYMENT = '0123456789ab';
const IMAGE = 'registry.example.com/code-runner:v1';

const fake = new FakeKubernetes();
beforeAll(() => fake.start());
afterAll(() => fake.stop());
afterEach(() => {
  const unexpected = fake.unexpected.map((r) => `${r.method} ${r.path}`);
  fake.reset();
  expect(unexpected, 'requests to endpoints the transport should not use').toEqual([]);
});

let seq = 0;
const job = (extra: Partial<JobInput> = {}): Job => normalizeJob({ id: `k8s-${++seq}`, language: 'python', code: 'print("hi")', ...extra });

function transport(extra: Partial<KubernetesTransportOptions> = {}): KubernetesTransport {
  return new KubernetesTransport({ namespace: NAMESPACE, image: IMAGE, deployment: DEPLOYMENT, ownerId: OWNER, kubeConfig: fake.kubeConfig(), pollIntervalMs: 20, ...extra });
}

const DOCKER = await dockerAvailable();

/** A pod that ran its job: the log the executor wrote in the Job's container. */
const podThatRan = (image = MINIMAL_RUNNER_IMAGE) => (body: any) => ({ activeReads: 2, end: 'succeeded' as const, terminated: { exitCode: 0, reason: 'Completed' }, log: runPodContainer(body, (name) => fake.configMaps.get(`${body.metadata.namespace}/${name}`) as any, image) });

/** The Job the transport created (there is one per test). */
function createdJob(): { name: string; body: any } {
  const [post] = fake.find('POST', `/apis/batch/v1/namespaces/${NAMESPACE}/jobs`);
  expect(post, 'a Job was created').toBeDefined();
  const body = post.body as any;
  return { name: body.metadata.name, body };
}

/** Both objects deleted through the API (the Job with its pod), and nothing of ours left in the fake. */
function expectCleanedUp(name: string): void {
  const jobDeletes = fake.find('DELETE', `/apis/batch/v1/namespaces/${NAMESPACE}/jobs/${name}`);
  expect(jobDeletes).toHaveLength(1);
  expect(jobDeletes[0].query.get('propagationPolicy')).toBe('Background');
  expect(fake.find('DELETE', `/api/v1/namespaces/${NAMESPACE}/configmaps/${name}`)).toHaveLength(1);
  expect([...fake.jobs.keys(), ...fake.configMaps.keys(), ...fake.pods.keys()]).toEqual([]);
}

describe('kubernetes transport', () => {
  it.skipIf(!DOCKER)('runs a job as a hardened Job with the request in a ConfigMap and judges the reports in the pod log', async () => {
    fake.script = podThatRan();
    const j = job({ memoryLimitMb: 300, wallTimeLimitMs: 5000, code: 'import sys\nprint(input()[::-1])\nprint("warning", file=sys.stderr)', stdin: 'olleh\n', expectedOutput: 'hello\n' });
    const result = await transport().run(j);
    expect(result).toMatchObject({ status: 'accepted', stdout: 'hello\n', stderr: 'warning\n', exitCode: 0 });

    // Order: ConfigMap first (the pod mounts it), then the Job; every request authenticated, in our namespace.
    const writes = fake.requests.filter((r) => r.method === 'POST').map((r) => (r.body as any).kind);
    expect(writes).toEqual(['ConfigMap', 'Job']);
    for (const r of fake.requests) {
      expect(r.path).toContain(`/namespaces/${NAMESPACE}/`);
      expect(r.authorization).toMatch(/^Bearer /);
    }

    const { name, body } = createdJob();
    expect(name).toMatch(/^run-k8s-\d+-[0-9a-f]{8}$/);
    const [cmPost] = fake.find('POST', `/api/v1/namespaces/${NAMESPACE}/configmaps`);
    const cm = cmPost.body as any;
    expect(cm.metadata.name).toBe(name);
    expect(cm.immutable).toBe(true);
    // The request the executor reads (u32 length | request), not the job: no expected output in the pod at all.
    const request = Buffer.from(cm.binaryData.request, 'base64');
    expect(request.readUInt32LE(0)).toBe(request.length - 4);
    expect(request.includes('hello')).toBe(false);

    // Literal values: the runner NetworkPolicy (test/unit/infraSpecs.test.ts) selects exactly these two app labels.
    const labels = { [LABEL_MANAGED]: 'true', [LABEL_DEPLOYMENT]: DEPLOYMENT, 'app.kubernetes.io/name': 'code-execution', 'app.kubernetes.io/component': 'runner' };
    expect(labels).toMatchObject(RUNNER_POD_LABELS);
    const annotations = { [LABEL_MANAGED]: 'true', [LABEL_DEPLOYMENT]: DEPLOYMENT, [LABEL_OWNER]: OWNER, [LABEL_JOB]: j.id };
    for (const metadata of [cm.metadata, body.metadata, body.spec.template.metadata]) {
      expect(metadata.labels).toEqual(labels);
      expect(metadata.annotations).toEqual(annotations);
    }
    expect(body.metadata.namespace).toBe(NAMESPACE);

    expect(body.spec).toMatchObject({
      backoffLimit: 0,
      activeDeadlineSeconds: Math.ceil(jobDeadlineMs(j) / 1000),
      ttlSecondsAfterFinished: 60,
    });
    expect(body.spec.activeDeadlineSeconds * 1000).toBeGreaterThan(j.compileTimeLimitMs + j.wallTimeLimitMs);
    const pod = body.spec.template.spec;
    expect(pod).toMatchObject({
      restartPolicy: 'Never',
      automountServiceAccountToken: false,
      enableServiceLinks: false,
      hostNetwork: false,
      hostPID: false,
      hostIPC: false,
      securityContext: { runAsUser: 0, runAsNonRoot: false, seccompProfile: { type: 'RuntimeDefault' } },
    });
    expect(pod.containers).toHaveLength(1);
    const c = pod.containers[0];
    expect(c.image).toBe(IMAGE);
    expect(c.command).toEqual(['/opt/runner/sandbox-executor', '--batch', '/job/request']);
    expect(c.env).toEqual([]);
    expect(c.securityContext).toEqual({
      runAsUser: 0,
      runAsGroup: 0,
      runAsNonRoot: false,
      privileged: false,
      allowPrivilegeEscalation: false,
      readOnlyRootFilesystem: true,
      capabilities: { drop: ['ALL'], add: ['SETUID', 'SETGID'] },
      seccompProfile: { type: 'RuntimeDefault' },
    });
    const memory = `${300 + SANDBOX_OVERHEAD_MB}Mi`;
    expect(c.resources.limits).toMatchObject({ cpu: '1', memory });
    expect(c.resources.requests).toEqual(c.resources.limits); // Guaranteed QoS: no swap
    expect(c.resources.limits['ephemeral-storage']).toMatch(/^\d+Mi$/);

    expect(c.volumeMounts).toEqual(expect.arrayContaining([
      { name: 'job', mountPath: '/job', readOnly: true },
      { name: 'workspace', mountPath: '/workspace' },
      { name: 'tmp', mountPath: '/tmp' },
      { name: 'no-shm', mountPath: '/dev/shm', readOnly: true },
    ]));
    const volumes = Object.fromEntries(pod.volumes.map((v: any) => [v.name, v]));
    // The job's own uids must not read the request.
    expect(volumes.job.configMap).toEqual({ name, defaultMode: 0o400, items: [{ key: 'request', path: 'request' }] });
    expect(volumes.workspace.emptyDir).toEqual({ medium: 'Memory', sizeLimit: `${WORKSPACE_SIZE_MB}Mi` });
    expect(volumes.tmp.emptyDir).toEqual({ medium: 'Memory', sizeLimit: `${WORKSPACE_SIZE_MB}Mi` });

    // Status polled until the end, the pod found by the Job controller's label, its log read with a cap.
    expect(fake.find('GET', `/jobs/${name}`).length).toBeGreaterThanOrEqual(3);
    expect(fake.find('GET', '/pods').some((r) => r.query.get('labelSelector') === `batch.kubernetes.io/job-name=${name}`)).toBe(true);
    const [logRead] = fake.find('GET', '/log');
    expect(logRead.query.get('container')).toBe('runner');
    expect(Number(logRead.query.get('limitBytes'))).toBeGreaterThan(0);
    expectCleanedUp(name);
  });

  it.skipIf(!DOCKER)('a job whose compile step fails runs no case in the pod, and is a compile_error', async () => {
    fake.script = podThatRan();
    const result = await transport().run(job({ language: 'c', code: 'int main(void) { return x; }', testCases: [{ stdin: '1' }, { stdin: '2' }] }));
    expect(result).toMatchObject({ status: 'compile_error', compileOutput: expect.stringMatching(/x. undeclared/) });
    expectCleanedUp(createdJob().name);
  });

  it('a pod that failed without a report is a TransportError, and both objects are deleted', async () => {
    fake.script = () => ({ end: 'failed', terminated: { exitCode: 125, reason: 'Error' }, log: 'sandbox-executor: cannot read the request /job/request: No such file or directory\n' });
    const error = await transport().run(job()).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TransportError);
    expect((error as Error).message).toMatch(/pod ended before the job's outcome: the pod log holds no more reports .*BackoffLimitExceeded.*exit 125 Error.*cannot read the request/);
    expectCleanedUp(createdJob().name);
  });

  it('an OOM-killed runner is memory_limit_exceeded, and both objects are deleted', async () => {
    fake.script = () => ({ end: 'failed', terminated: { exitCode: 137, reason: 'OOMKilled' }, log: 'sandbox-frame:AAAA' });
    const result = await transport().run(job({ memoryLimitMb: 128 }));
    expect(result.status).toBe('memory_limit_exceeded');
    expect(result.message).toMatch(/128 MB/);
    expectCleanedUp(createdJob().name);
  });

  it('a Job that never finishes is a TransportError after the deadline, and both objects are deleted', async () => {
    fake.script = () => ({ end: 'never' });
    const started = Date.now();
    const error = await transport({ waitTimeoutMs: () => 400 }).run(job()).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TransportError);
    expect((error as Error).message).toMatch(/gave no result within 400 ms/);
    expect(Date.now() - started).toBeGreaterThanOrEqual(400);
    const { name } = createdJob();
    expect(fake.find('GET', `/jobs/${name}`).length).toBeGreaterThan(2);
    expectCleanedUp(name);
  });

  it('a Job the controller stopped at its activeDeadlineSeconds is a TransportError naming the reason', async () => {
    fake.script = () => ({
      end: 'failed',
      terminated: { exitCode: 137, reason: 'Error' },
      condition: { reason: 'DeadlineExceeded', message: 'Job was active longer than specified deadline' },
      log: '',
    });
    await expect(transport().run(job())).rejects.toThrow(/DeadlineExceeded/);
    expectCleanedUp(createdJob().name);
  });

  it('a pod whose image cannot be pulled fails at once, not at the deadline', async () => {
    fake.script = () => ({ end: 'never', waiting: { reason: 'ImagePullBackOff', message: `Back-off pulling image "${IMAGE}"` } });
    const error = await transport({ waitTimeoutMs: () => 30_000 }).run(job()).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TransportError);
    expect((error as Error).message).toMatch(/cannot start: ImagePullBackOff: Back-off pulling image/);
    expectCleanedUp(createdJob().name);
  });

  it('a pod log over the output cap is a TransportError', async () => {
    const j = job({ maxOutputBytes: 1 });
    // Twice the cap: past it and past the allowance for the executor's own messages.
    fake.script = () => ({ end: 'succeeded', log: `sandbox-frame:${'A'.repeat(2 * runnerOutputCapBytes(j))}\n` });
    await expect(transport().run(j)).rejects.toThrow(/over its cap/);
    expectCleanedUp(createdJob().name);
  });

  it('an API error creating the Job is a TransportError with the server\'s message, and the ConfigMap is deleted', async () => {
    const message = 'jobs.batch is forbidden: User "system:serviceaccount:judge:worker" cannot create resource "jobs" in API group "batch" in the namespace "judge"';
    fake.failNext = { method: 'POST', pathIncludes: '/jobs', code: 403, reason: 'Forbidden', message };
    const error = await transport().run(job()).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TransportError);
    expect((error as Error).message).toContain(`Kubernetes API answered 403: ${message}`);
    const name = (fake.find('POST', '/configmaps')[0].body as any).metadata.name;
    expect(fake.find('DELETE', `/configmaps/${name}`)).toHaveLength(1);
    expect(fake.configMaps.size).toBe(0);
  });

  it('a job too large for a ConfigMap is rejected without a call to the cluster', async () => {
    const result = await transport().run(job({ stdin: 'x'.repeat(1_100_000) }));
    expect(result.status).toBe('rejected');
    expect(result.message).toMatch(/ConfigMap.*MAX_STDIN_BYTES/);
    expect(fake.requests).toEqual([]);
  });

  it('close() deletes the Jobs of jobs in flight, whose runs then fail as TransportErrors', async () => {
    fake.script = () => ({ end: 'never' });
    const t = transport();
    const running = t.run(job()).catch((e: unknown) => e);
    await once(fake, 'job-created');
    await t.close();
    expect(await running).toBeInstanceOf(TransportError);
    expect(fake.jobs.size + fake.configMaps.size + fake.pods.size).toBe(0);
    const { name } = createdJob();
    expect(fake.find('DELETE', `/jobs/${name}`)[0].query.get('propagationPolicy')).toBe('Background');
  });

  it("reapOrphans deletes the Jobs and ConfigMaps of its deployment's dead owners, keeps those of live owners, its own and other deployments'", async () => {
    const managed = { [LABEL_MANAGED]: 'true', [LABEL_DEPLOYMENT]: DEPLOYMENT, [LABEL_COMPONENT]: RUNNER_COMPONENT };
    const owned = (owner: string, jobId: string) => ({ [LABEL_MANAGED]: 'true', [LABEL_OWNER]: owner, [LABEL_JOB]: jobId });
    for (const kind of ['Job', 'ConfigMap'] as const) {
      fake.seed(kind, NAMESPACE, 'run-dead-1', managed, owned('worker-dead-9', 'dead-1'));
      fake.seed(kind, NAMESPACE, 'run-live-1', managed, owned('worker-live-7', 'live-1'));
      fake.seed(kind, NAMESPACE, 'run-mine-1', managed, owned(OWNER, 'mine-1'));
      // Another deployment's (its own Redis): its owner has no heartbeat in ours, yet it is alive.
      fake.seed(kind, NAMESPACE, 'run-other-1', { ...managed, [LABEL_DEPLOYMENT]: 'ba9876543210' }, owned('worker-other-3', 'other-1'));
    }
    fake.seed('ConfigMap', NAMESPACE, 'run-dead-2', managed, owned('worker-dead-9', 'dead-2')); // its Job never got created
    fake.seed('ConfigMap', NAMESPACE, 'kube-root-ca.crt', {}, {}); // not ours
    fake.seed('Job', 'elsewhere', 'run-dead-3', managed, owned('worker-dead-9', 'dead-3')); // another namespace
    const asked: string[] = [];
    const reaped = await transport().reapOrphans(async (owner) => {
      asked.push(owner);
      return owner === 'worker-live-7';
    });
    expect(reaped).toBe(2);
    expect(asked.sort()).toEqual(['worker-dead-9', 'worker-live-7']); // once per owner, never for itself
    const lists = fake.requests.filter((r) => r.method === 'GET');
    const selector = `${LABEL_MANAGED}=true,${LABEL_DEPLOYMENT}=${DEPLOYMENT}`;
    expect(lists.map((r) => r.query.get('labelSelector'))).toEqual([selector, selector]);
    const deletes = fake.requests.filter((r) => r.method === 'DELETE');
    expect(deletes.map((r) => r.path).sort()).toEqual([
      `/api/v1/namespaces/${NAMESPACE}/configmaps/run-dead-1`,
      `/api/v1/namespaces/${NAMESPACE}/configmaps/run-dead-2`,
      `/apis/batch/v1/namespaces/${NAMESPACE}/jobs/run-dead-1`,
    ]);
    expect(deletes.find((r) => r.path.includes('/jobs/'))!.query.get('propagationPolicy')).toBe('Background');
    expect([...fake.jobs.keys()].sort()).toEqual(['elsewhere/run-dead-3', `${NAMESPACE}/run-live-1`, `${NAMESPACE}/run-mine-1`, `${NAMESPACE}/run-other-1`]);
    expect([...fake.configMaps.keys()].sort()).toEqual([`${NAMESPACE}/kube-root-ca.crt`, `${NAMESPACE}/run-live-1`, `${NAMESPACE}/run-mine-1`, `${NAMESPACE}/run-other-1`]);
  });

  it('Job names are DNS labels readable as the job id, unique per attempt', () => {
    for (const id of ['Upper_Case_ID', '__x__', '-', 'a'.repeat(64), 'ok-id']) {
      const j = normalizeJob({ id, language: 'python', code: '' });
      const name = runnerJobName(j);
      expect(name).toMatch(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/);
      expect(name.length).toBeLessThanOrEqual(63);
      expect(runnerJobName(j)).not.toBe(name);
    }
    expect(runnerJobName(normalizeJob({ id: 'Upper_Case_ID', language: 'python', code: '' }))).toMatch(/^run-upper-case-id-[0-9a-f]{8}$/);
  });
});

describe('RUNNER_MODE=kubernetes', () => {
  const dir = mkdtempSync(join(tmpdir(), 'kubeconfig-'));
  const previous = process.env.KUBECONFIG;
  afterAll(() => {
    if (previous === undefined) delete process.env.KUBECONFIG;
    else process.env.KUBECONFIG = previous;
    rmSync(dir, { recursive: true, force: true });
  });

  it('K8S_NAMESPACE defaults to code-execution and must be a namespace name', () => {
    expect(loadConfig({ RUNNER_MODE: 'kubernetes' })).toMatchObject({ runnerMode: 'kubernetes', k8sNamespace: 'code-execution' });
    expect(() => loadConfig({ K8S_NAMESPACE: 'Not_A_Namespace' })).toThrow(/K8S_NAMESPACE="Not_A_Namespace": must be a Kubernetes namespace name/);
  });

  it.skipIf(!DOCKER)('a worker configured from the environment runs its jobs in K8S_NAMESPACE with RUNNER_IMAGE', async () => {
    // The worker loads its credentials the way it would outside a cluster: from $KUBECONFIG.
    const file = join(dir, 'config');
    writeFileSync(file, JSON.stringify({
      apiVersion: 'v1',
      kind: 'Config',
      clusters: [{ name: 'fake', cluster: { server: fake.url, 'insecure-skip-tls-verify': true } }],
      users: [{ name: 'worker', user: { token: FAKE_TOKEN } }],
      contexts: [{ name: 'fake', context: { cluster: 'fake', user: 'worker' } }],
      'current-context': 'fake',
    }));
    process.env.KUBECONFIG = file;
    const config = loadConfig({ RUNNER_MODE: 'kubernetes', K8S_NAMESPACE: 'graders', RUNNER_IMAGE: IMAGE });
    const t = await selectTransport(config, 'worker-env-1', createLogger({}, 'error'));
    expect(t.mode).toBe('kubernetes');
    // The fake plays the pod with the image the cluster would pull (IMAGE is a registry name): the local build.
    fake.script = podThatRan();
    expect(await t.run(job({ code: 'print("from env")' }))).toMatchObject({ status: 'accepted', stdout: 'from env\n' });
    expect(fake.requests.length).toBeGreaterThan(0);
    for (const r of fake.requests) expect(r.path).toMatch(/\/namespaces\/graders\//);
    const [post] = fake.find('POST', '/apis/batch/v1/namespaces/graders/jobs');
    expect((post.body as any).spec.template.spec.containers[0].image).toBe(IMAGE);
    expect((post.body as any).metadata.annotations[LABEL_OWNER]).toBe('worker-env-1');
    // The deployment is the worker's queue: its Redis (without credentials), stream and group.
    const deployment = deploymentId({ redisUrl: config.redisUrl, streamKey: config.streamKey, consumerGroup: config.consumerGroup });
    expect(deployment).toMatch(/^[0-9a-f]{12}$/);
    expect((post.body as any).metadata.labels[LABEL_DEPLOYMENT]).toBe(deployment);
    expect(fake.jobs.size + fake.configMaps.size).toBe(0);
    await t.close();
  });
});
