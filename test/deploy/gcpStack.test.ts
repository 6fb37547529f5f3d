// Rehearsal of the gcp stack on this machine: the worker and API Deployments `pulumi up -s gcp` would create (index.ts
// under Pulumi mocks, Pulumi.gcp.yaml's config, the Cloud SQL instance's server CA answered with the rehearsal's) are
// played as pods with Kubernetes semantics (kubeSemantics.ts, run by podman in kubePod.ts), one replica of each,
// against stand-ins of Memorystore, Cloud SQL and GCS configured from the stack's own resources (gcpStandIns.ts, which
// also lists the only changes made to the stack's pods: the managed endpoints and the HMAC key). Through them: a
// worker pod on a node still pulling the runner image takes no job before its runner sidecar serves; a worker waits
// for its database and its readiness probe says so; a job submitted to the API's /v1 through its Service's port gets
// its verdict from the runner sidecar; so does a `codeKey` job whose code is in the stack's bucket; both are rows in
// PostgreSQL. Last, the translation refuses what it does not reproduce.
import { randomUUID } from 'node:crypto';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { JobResult } from '../../core/protocol/result.js';
import { databaseConnection } from '../../worker/databaseTls.js';
import { waitForResult } from '../../worker/resultStore.js';
import { runStack, type StackRun } from '../pulumi/harness.js';
import { postgresAvailable } from '../support/postgresServer.js';
import { dockerAvailable, MINIMAL_RUNNER_IMAGE } from '../support/services.js';
import type { TestCa } from '../support/testCa.js';
import { until } from '../support/until.js';
import { localImages, request, WORKER_IMAGE } from './rehearsal.js';
import { createCloudSqlCa, deploymentPod, kubeSecrets, rehearsalPod, startGcpStandIns, type GcpStandIns, type RehearsalPod } from './gcpStandIns.js';
import { openPodNetwork, podmanAvailable, podmanImage, startKubePod, type PodNetwork, type RunningPod } from './kubePod.js';
import { podPlan, UnsupportedPodSpec, type PodSpec } from './kubeSemantics.js';

const available = (await dockerAvailable()) && postgresAvailable() && (await podmanAvailable());

let ca: TestCa;
let run: StackRun;
let network: PodNetwork;
let standIns: GcpStandIns;
const pods: RunningPod[] = [];
beforeAll(async () => {
  ca = createCloudSqlCa();
  run = await runStack('gcp', {}, { cloudSqlServerCa: ca.certPem });
  if (!available) return;
  // Once per image id: the first run copies the images into podman's storage (about 90 s for the runner's 3.8 GB).
  // The runner image with only python and c (the same Dockerfile and entrypoint) stands for the stack's: the jobs here
  // are python, and copying the full image (5.45 GB) into podman's storage would take minutes of every CI run.
  await Promise.all([WORKER_IMAGE, MINIMAL_RUNNER_IMAGE].map(podmanImage));
  network = await openPodNetwork();
  standIns = await startGcpStandIns(run, network, ca);
}, 300_000);
afterAll(async () => {
  await Promise.all(pods.map((p) => p.stop()));
  await standIns?.stop();
  await network?.close();
  ca?.remove();
});

/** The stack's Deployment (by its resource name's end) with the stand-ins' substitutions, logged. */
async function stackPod(suffix: string): Promise<RehearsalPod> {
  const pod = await rehearsalPod(run, suffix, standIns);
  console.log(JSON.stringify({ msg: 'gcp rehearsal: pod as the stack\'s Deployment makes it, but for', deployment: suffix, substitutions: pod.substitutions }));
  return pod;
}

/** Plays the pod; its containers start meanwhile, in the kubelet's order, after the given image pulls. */
async function startPod(pod: RehearsalPod, purpose: string, pullSeconds?: Record<string, number>): Promise<RunningPod> {
  const started = await startKubePod(pod.spec, { purpose, namespace: pod.namespace, image: localImages(run, MINIMAL_RUNNER_IMAGE), secrets: pod.secrets, pullSeconds });
  pods.push(started);
  return started;
}

/** Polls `probe` like until(), failing at once (with the logs) when a container of the pod failed to start, stopped or was restarted. */
function whileRunning<T>(pod: RunningPod, what: string, probe: () => Promise<T | null | false>, timeoutMs = 60_000): Promise<T> {
  let failed: unknown = null;
  pod.started.catch((err) => (failed = err));
  return until(what, async () => {
    if (failed) throw new Error(`${what}: pod ${pod.name} did not start: ${(failed as Error).message}\n${await logsOf(pod)}`);
    for (const c of Object.keys(pod.plan.containers)) {
      const state = await pod.state(c);
      if (state.status === 'exited' || state.restarts > 0) throw new Error(`${what}: container ${c} of pod ${pod.name} stopped (exit ${state.exitCode}, ${state.restarts} restarts):\n${await pod.logs(c)}`);
    }
    return probe();
  }, timeoutMs);
}

const containerOf = (pod: RehearsalPod, name: string) => [...(pod.spec.initContainers ?? []), ...pod.spec.containers].find((c) => c.name === name)!;
/** A container's plain env (its `value`s), from the pod as the rehearsal plays it. */
const plainEnv = (pod: RehearsalPod, name: string): Record<string, string> =>
  Object.fromEntries((containerOf(pod, name).env ?? []).flatMap((e) => (e.value === undefined ? [] : [[e.name, e.value]])));
/** The value the kubelet gives a container's env from its secretKeyRef. */
const secretEnv = (pod: RehearsalPod, name: string, variable: string): string => {
  const ref = containerOf(pod, name).env!.find((e) => e.name === variable)!.valueFrom!.secretKeyRef!;
  return pod.secrets[ref.name][ref.key];
};

const logsOf = async (pod: RunningPod) => (await Promise.all(Object.keys(pod.plan.containers).map(async (c) => `--- ${c}\n${await pod.logs(c)}`))).join('\n');

/** How long the rehearsal's cold node takes to pull the runner image (3.8 GB; minutes without image streaming). */
const RUNNER_PULL_SECONDS = 10;

let workerPod: RehearsalPod;
let worker: RunningPod;
const apiJobId = `gcp-api-${randomUUID().slice(0, 8)}`;
const codeKeyJobId = `gcp-code-key-${randomUUID()}`;

describe.skipIf(!available)('gcp: the stack\'s pods as Kubernetes runs them, against stand-ins of its managed services', () => {
  it('a worker pod on a node that must first pull the runner image takes no job before its runner sidecar serves', async () => {
    // A backlog is what makes the autoscaler add this pod: a job is queued while its node pulls the runner image.
    const pod = await stackPod('-workload-workers');
    const cold = await startPod(pod, 'gcp-cold-worker', { [run.outputs.runnerImage]: RUNNER_PULL_SECONDS });
    const id = `gcp-cold-${randomUUID()}`;
    const producer = standIns.memorystore.client.duplicate();
    try {
      await producer.xadd(plainEnv(pod, 'worker').STREAM_KEY, '*', 'job', JSON.stringify({ id, language: 'python', code: 'print(6 * 7)', expectedOutput: '42\n' }));
      await new Promise((r) => setTimeout(r, (RUNNER_PULL_SECONDS / 2) * 1000));
      // Mid-pull: the runner is not started, and neither is the worker that would hand it jobs.
      expect((await cold.state('runner')).status).toBe('created');
      expect((await cold.state('worker')).status, await cold.logs('worker')).toBe('created');
      const result = await waitForResult(producer, id, 60_000);
      expect(result, await logsOf(cold)).toMatchObject({ id, status: 'accepted', stdout: '42\n' });
      expect(await cold.logs('worker')).not.toMatch(/job failed in the transport/);
    } finally {
      producer.disconnect();
      await cold.stop();
    }
  }, 120_000);

  it('the worker pod waits for an unreachable database: its readiness probe fails and says why, its liveness passes; ready once the database is', async () => {
    await standIns.cloudSql.kill();
    workerPod = await stackPod('-workload-workers');
    worker = await startPod(workerPod, 'gcp-worker');
    const waiting = await whileRunning(worker, 'the worker\'s readiness probe to name the database it waits for', async () => {
      const answer = await worker.probe('worker', 'readiness');
      return answer.status === 503 && /PostgreSQL/.test(String(answer.body?.reason)) && answer;
    });
    expect(waiting.ok).toBe(false);
    expect(waiting.body?.reason).toMatch(new RegExp(`waiting for PostgreSQL at .*${standIns.gateway}:${standIns.cloudSql.port}`));
    // Up and waiting: nothing a restart would fix, so the kubelet leaves it running.
    expect(await worker.probe('worker', 'liveness')).toMatchObject({ ok: true, status: 200 });

    await standIns.cloudSql.start();
    await whileRunning(worker, 'the worker\'s readiness probe to pass once PostgreSQL is back', async () => (await worker.probe('worker', 'readiness')).ok, 90_000);
    expect(await worker.probe('worker', 'liveness')).toMatchObject({ ok: true });
  }, 150_000);

  it('the API pod becomes ready, and a job submitted to /v1 through its Service\'s port gets its verdict from the runner sidecar', async () => {
    const apiPod = await stackPod('-api-api');
    const api = await startPod(apiPod, 'gcp-api');
    await whileRunning(api, 'the API\'s readiness probe to pass', async () => (await api.probe('api', 'readiness')).ok, 90_000);
    // The load balancer forwards to the Service's targetPort, a port of the API container by name.
    const { targetPort } = run.one('kubernetes:core/v1:Service', '-api-api').inputs.spec.ports[0];
    const port = containerOf(apiPod, 'api').ports!.find((p) => p.name === targetPort)!.containerPort;
    const apiUrl = `http://${api.ip}:${port}`;

    const headers = { authorization: `Bearer ${secretEnv(apiPod, 'api', 'API_TOKENS').split(',')[0]}`, 'content-type': 'application/json' };
    const job = { id: apiJobId, language: 'python', code: 'print(input()[::-1])', stdin: 'olleh\n', expectedOutput: 'hello\n' };
    const submitted = await request(`${apiUrl}/v1/jobs`, { method: 'POST', headers, body: JSON.stringify(job) });
    expect(submitted, `${JSON.stringify(submitted)}\n${await api.logs('api')}`).toMatchObject({ status: 202, body: { id: apiJobId } });
    const verdict = await whileRunning(worker, 'the API to answer the job\'s verdict', async () => {
      const answer = await request(`${apiUrl}/v1/jobs/${apiJobId}?wait=30`, { headers });
      return answer && !['queued', 'running'].includes(String(answer.body.status)) && answer;
    }, 120_000);
    expect(verdict.body, await logsOf(worker)).toMatchObject({ id: apiJobId, status: 'accepted', stdout: 'hello\n' });
  }, 180_000);

  it('a codeKey job, queued by a producer in the VPC, reads its code from the stack\'s bucket and gets its verdict', async () => {
    const key = `rehearsal/${codeKeyJobId}.py`;
    await standIns.gcs.put(key, 'import sys\nprint(sum(int(x) for x in sys.stdin.read().split()))\n');
    const env = plainEnv(workerPod, 'worker');
    expect(env.S3_BUCKET).toBe(run.outputs.bucket);
    const producer = standIns.memorystore.client.duplicate();
    try {
      const job = { id: codeKeyJobId, language: 'python', codeKey: key, stdin: '1 2 39\n', expectedOutput: '42\n' };
      await producer.xadd(env.STREAM_KEY, '*', 'job', JSON.stringify(job));
      const result = await waitForResult(producer, codeKeyJobId, 60_000);
      expect(result, await logsOf(worker)).toMatchObject({ id: codeKeyJobId, status: 'accepted', stdout: '42\n' });
    } finally {
      producer.disconnect();
    }
  });

  it('both results are rows of the submissions table in the stack\'s database', async () => {
    // Connected as the worker is: the stack's DATABASE_URL (its user and password), verified against the CA and the
    // server name the stack hands the worker.
    const env = plainEnv(workerPod, 'worker');
    const { connectionString, ssl } = databaseConnection(secretEnv(workerPod, 'worker', 'DATABASE_URL'), { ca: env.DATABASE_CA_CERT, serverName: env.DATABASE_SERVER_NAME });
    const client = new pg.Client({ connectionString, ssl });
    await client.connect();
    try {
      const { rows } = await client.query<{ id: string; status: string; result: JobResult }>(
        'SELECT id, status, result FROM submissions WHERE id = $1 OR id LIKE $2 ORDER BY id',
        [codeKeyJobId, `${apiJobId}-%`],
      );
      expect(rows.map((r) => [r.id.startsWith(apiJobId) ? 'api' : r.id, r.status, r.result.stdout])).toEqual([
        ['api', 'accepted', 'hello\n'],
        [codeKeyJobId, 'accepted', '42\n'],
      ]);
    } finally {
      await client.end();
    }
  });
});

describe('kubeSemantics: what the rehearsal does not reproduce is refused, not skipped', () => {
  const context = {
    name: 'pod', namespace: 'ns', image: () => ({ name: 'img', user: '1000' }), secrets: { s: { k: 'v' } },
    emptyDirPath: (v: string) => `/tmp/${v}`, arch: 'amd64', memoryBytes: 2 ** 30,
  };
  const container = { name: 'c', image: 'i', securityContext: { capabilities: { drop: ['ALL'] } } };
  const spec = (extra: object, c: object = {}): PodSpec => ({ automountServiceAccountToken: false, containers: [{ ...container, ...c }], ...extra }) as PodSpec;

  it('the stack\'s own pods are planned: the runner sidecar starts first, and holds the worker until it serves', () => {
    const plan = (suffix: string) => podPlan(deploymentPod(run, suffix).spec, { ...context, secrets: kubeSecrets(run) });
    expect(plan('-workload-workers').startOrder).toEqual([{ name: 'runner', sidecar: true }, { name: 'worker', sidecar: false }]);
    expect(plan('-api-api').startOrder).toEqual([{ name: 'api', sidecar: false }]);
  });

  it('an unknown field, a secret the namespace lacks, $(VAR), default capabilities, another architecture, runAsNonRoot as root, an init container', () => {
    expect(() => podPlan(spec({ hostNetwork: true }), context)).toThrow(/sets hostNetwork/);
    expect(() => podPlan(spec({}, { stdin: true }), context)).toThrow(/container c sets stdin/);
    expect(() => podPlan(spec({}, { env: [{ name: 'X', valueFrom: { secretKeyRef: { name: 's', key: 'missing' } } }] }), context)).toThrow(/Secret s/);
    expect(() => podPlan(spec({}, { args: ['$(HOME)'] }), context)).toThrow(/expansion/);
    expect(() => podPlan(spec({}, { securityContext: {} }), context)).toThrow(/drop ALL/);
    expect(() => podPlan(spec({ nodeSelector: { 'kubernetes.io/arch': 'arm64' } }), context)).toThrow(/Pending/);
    expect(() => podPlan(spec({ securityContext: { runAsNonRoot: true } }), { ...context, image: () => ({ name: 'img', user: '' }) })).toThrow(/runs as root/);
    expect(() => podPlan(spec({ initContainers: [{ ...container, name: 'init' }] }), context)).toThrow(UnsupportedPodSpec);
  });
});
