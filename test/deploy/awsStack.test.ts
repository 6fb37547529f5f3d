// Rehearsal of the whole aws stack on this machine: the task definitions `pulumi up -s aws` would register (index.ts
// under Pulumi mocks, Pulumi.aws.yaml's config, the rehearsal's RDS CA as the operator's rdsCaBundleFile) are started
// as the ECS agent starts them (ecsSemantics.ts): the worker task (worker, runner sidecar, volume init) and the API
// task, against stand-ins of ElastiCache, RDS, S3 and CloudWatch configured from the stack's own resources
// (awsStandIns.ts, which also lists the only changes made to the stack's definitions: the managed endpoints, trust
// anchors and task-role credentials). Through them: the worker waits for its database and says so; a job submitted
// to the API's /v1 gets its verdict, so does a `codeKey` job whose code is in the stack's bucket; both are rows in
// PostgreSQL; the worker publishes the metric the stack's autoscaling tracks; a worker that cannot verify its
// database fails the health check ECS runs; one whose database goes away is not ready until it is back; ECS's stop
// lets the worker finish its job in flight.
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { VOLUME_INIT } from '../../components/ecsContainers.js';
import type { JobResult } from '../../core/protocol/result.js';
import { databaseConnection } from '../../worker/databaseTls.js';
import { getResult, lastStart } from '../../worker/resultStore.js';
import { runStack, type StackRun } from '../pulumi/harness.js';
import { dockerAvailable } from '../support/services.js';
import { until } from '../support/until.js';
import { createAwsCas, rehearsalTask, startAwsStandIns, type AwsCas, type AwsStandIns, type RehearsalTask } from './awsStandIns.js';
import { localImages, request, WORKER_IMAGE } from './rehearsal.js';
import { startEcsTask, type EcsContainerDefinition, type RehearsedTask } from './ecsSemantics.js';

// Skipped only without Docker outside CI (loudly); without PostgreSQL or redis-server the stand-ins fail, saying so.
const available = await dockerAvailable();

let cas: AwsCas;
let run: StackRun;
let standIns: AwsStandIns;
const tasks: RehearsedTask[] = [];
beforeAll(async () => {
  if (!available) return;
  cas = createAwsCas();
  run = await runStack('aws', { 'code-execution:rdsCaBundleFile': cas.rds.certFile });
  standIns = await startAwsStandIns(run, cas);
});
afterAll(async () => {
  await Promise.all(tasks.map((t) => t.stop()));
  await standIns?.stop();
  cas?.remove();
});

/** The stack's task definition (by its resource name's end), with the stand-ins' substitutions, logged. */
async function stackTask(suffix: string, change: (defs: EcsContainerDefinition[]) => EcsContainerDefinition[] = (d) => d): Promise<RehearsalTask> {
  const task = await rehearsalTask(run, suffix, standIns);
  console.log(JSON.stringify({ msg: 'aws rehearsal: task definition as the stack registers it, but for', task: suffix, substitutions: task.substitutions }));
  return { ...task, definitions: change(task.definitions) };
}

/** Starts `container` of the task (and what it depends on) as ECS would. */
async function startTask(task: RehearsalTask, container: string): Promise<RehearsedTask> {
  const started = await startEcsTask(task.definitions, {
    start: [container],
    image: localImages(run),
    volumes: task.volumes,
    secrets: task.secrets,
    pauseImage: WORKER_IMAGE,
  });
  tasks.push(started);
  return started;
}

const envOf = (task: RehearsalTask, container: string): Record<string, string> =>
  Object.fromEntries((task.definitions.find((d) => d.name === container)!.environment ?? []).map(({ name, value }) => [name, value]));
const secretOf = (task: RehearsalTask, container: string, name: string): string =>
  task.secrets[task.definitions.find((d) => d.name === container)!.secrets!.find((s) => s.name === name)!.valueFrom];

/** Each container of the task: its state and its log, for a failure's message. */
async function describeTask(task: RehearsedTask): Promise<string> {
  const parts = await Promise.all(Object.entries(task.containers).map(async ([name, container]) => {
    const { State } = await container.inspect();
    return `--- ${name}: ${State.Status}${State.Running ? '' : `, exit ${State.ExitCode}`} ---\n${await task.logs(name)}`;
  }));
  return parts.join('\n');
}

/**
 * Polls `probe` like until(), failing at once when ECS would have stopped the task; a failure carries the task's
 * containers' states and logs.
 */
async function whileRunning<T>(task: RehearsedTask, what: string, probe: () => Promise<T | null | false>, timeoutMs = 60_000): Promise<T> {
  try {
    return await until(what, async () => {
      const stop = await task.essentialStop();
      if (stop) throw new Error(`${what}: ${stop}`);
      return probe();
    }, timeoutMs);
  } catch (err) {
    throw new Error(`${(err as Error).message}\n${await describeTask(task)}`);
  }
}

/** The worker's /readyz and /healthz (METRICS_PORT of its definition) on the task's address. */
const workerEndpoint = (task: RehearsedTask, definition: RehearsalTask, path: '/readyz' | '/healthz') =>
  request(`http://${task.address}:${envOf(definition, 'worker').METRICS_PORT}${path}`);

let workerDefinition: RehearsalTask;
let worker: RehearsedTask;
// Short: the API keeps 41 characters of a client's id in the job's own (api/jobs.ts internalIdFor), the row's id.
const apiJobId = `api-${randomBytes(6).toString('hex')}`;
const codeKeyJobId = `code-key-${randomBytes(6).toString('hex')}`;

// Waits of up to 60 s each, at most two a step.
describe.skipIf(!available)('aws: the stack\'s tasks as ECS runs them, against stand-ins of its managed services', { timeout: 150_000 }, () => {
  it('the worker task waits for an unreachable database: not ready, and says why; alive to ECS; ready once the database is', async () => {
    await standIns.rds.kill();
    workerDefinition = await stackTask('-worker');
    worker = await startTask(workerDefinition, 'worker');
    const waiting = await whileRunning(worker, 'the worker\'s /readyz to name the database it waits for', async () => {
      const answer = await workerEndpoint(worker, workerDefinition, '/readyz');
      return answer?.status === 503 && /PostgreSQL/.test(String(answer.body.reason)) && answer;
    });
    expect(waiting.body.reason).toMatch(/^waiting for PostgreSQL at /);
    expect(waiting.body.reason).toContain(`${standIns.gateway}:${standIns.rds.port}`);
    // Liveness: the worker is up and waiting, nothing a replacement would fix; ECS's health check passes.
    expect(await worker.healthCheck('worker')).toMatchObject({ exitCode: 0 });

    await standIns.rds.start();
    await whileRunning(worker, 'the worker\'s /readyz to answer 200 once PostgreSQL is back', async () => (await workerEndpoint(worker, workerDefinition, '/readyz'))?.status === 200);
    expect(await worker.healthCheck('worker')).toMatchObject({ exitCode: 0 });
    // Non-essential, so ECS would keep the task without it, taking jobs it cannot run.
    expect((await worker.containers.runner.inspect()).State.Running, await describeTask(worker)).toBe(true);
  });

  it('the API task is healthy to ECS and to its load balancer, and a job submitted to /v1 gets its verdict', async () => {
    const apiDefinition = await stackTask('-api');
    const api = await startTask(apiDefinition, 'api');
    // The load balancer's target group: its port and health check, as the stack sets them.
    const targetGroup = run.one('aws:lb/targetGroup:TargetGroup', '-api').inputs;
    const apiUrl = `http://${api.address}:${targetGroup.port}`;
    await whileRunning(api, `the target group's health check (${targetGroup.healthCheck.path}) to answer ${targetGroup.healthCheck.matcher}`, async () =>
      String((await request(`${apiUrl}${targetGroup.healthCheck.path}`))?.status) === targetGroup.healthCheck.matcher);
    expect(await api.healthCheck('api')).toMatchObject({ exitCode: 0 });

    const headers = { authorization: `Bearer ${secretOf(apiDefinition, 'api', 'API_TOKENS').split(',')[0]}`, 'content-type': 'application/json' };
    const job = { id: apiJobId, language: 'python', code: 'print(input()[::-1])', stdin: 'olleh\n', expectedOutput: 'hello\n' };
    const submitted = await request(`${apiUrl}/v1/jobs`, { method: 'POST', headers, body: JSON.stringify(job) });
    expect(submitted, `${JSON.stringify(submitted)}\n${await api.logs('api')}`).toMatchObject({ status: 202, body: { id: apiJobId } });
    const verdict = await whileRunning(worker, 'the API to answer the job\'s verdict', async () => {
      const answer = await request(`${apiUrl}/v1/jobs/${apiJobId}?wait=5`, { headers });
      return answer && !['queued', 'running'].includes(String(answer.body.status)) && answer;
    });
    expect(verdict.body, await describeTask(worker)).toMatchObject({ id: apiJobId, status: 'accepted', stdout: 'hello\n' });
  });

  it('a codeKey job, queued by a producer in the VPC, reads its code from the stack\'s bucket and gets its verdict', async () => {
    const key = `rehearsal/${codeKeyJobId}.py`;
    await standIns.s3.put(key, 'import sys\nprint(sum(int(x) for x in sys.stdin.read().split()))\n');
    const env = envOf(workerDefinition, 'worker');
    expect(env.S3_BUCKET).toBe(run.outputs.bucket);
    const producer = standIns.elastiCache.client.duplicate();
    try {
      const job = { id: codeKeyJobId, language: 'python', codeKey: key, stdin: '1 2 39\n', expectedOutput: '42\n' };
      await producer.xadd(env.STREAM_KEY, '*', 'job', JSON.stringify(job));
      const result = await whileRunning(worker, `the result of ${codeKeyJobId}`, () => getResult(producer, codeKeyJobId));
      expect(result, await describeTask(worker)).toMatchObject({ id: codeKeyJobId, status: 'accepted', stdout: '42\n' });
    } finally {
      producer.disconnect();
    }
  });

  it('both results are rows of the submissions table in the stack\'s database', async () => {
    // Connected as the worker is: the stack's DATABASE_URL (its user and password), verified against the stack's CA.
    const { connectionString, ssl } = databaseConnection(secretOf(workerDefinition, 'worker', 'DATABASE_URL'), { ca: envOf(workerDefinition, 'worker').DATABASE_CA_CERT });
    const client = new pg.Client({ connectionString, ssl });
    await client.connect();
    try {
      // The worker writes the row after the Redis result that answered the verdicts, before acknowledging the entry.
      const rows = await until('both rows', async () => {
        const found = await client.query<{ id: string; status: string; result: JobResult }>(
          'SELECT id, status, result FROM submissions WHERE id = $1 OR id LIKE $2 ORDER BY id',
          [codeKeyJobId, `${apiJobId}-%`],
        );
        return found.rows.length === 2 && found.rows;
      }, 10_000);
      expect(rows.map((r) => [r.id.startsWith(apiJobId) ? 'api' : r.id, r.status, r.result.stdout])).toEqual([
        ['api', 'accepted', 'hello\n'],
        [codeKeyJobId, 'accepted', '42\n'],
      ]);
    } finally {
      await client.end();
    }
  });

  it('the worker publishes the queue metric the stack\'s autoscaling policy tracks', async () => {
    const policy = run.one('aws:appautoscaling/policy:Policy', '-queue-depth').inputs;
    const tracked = policy.targetTrackingScalingPolicyConfiguration.customizedMetricSpecification.metrics
      .map((m: { metricStat?: { metric: { namespace: string; metricName: string } } }) => m.metricStat?.metric)
      .find((m: { namespace: string } | undefined) => m?.namespace !== 'ECS/ContainerInsights');
    const call = standIns.cloudWatch.calls.find((c) => c.body.Namespace === tracked.namespace) ?? (await standIns.cloudWatch.next((c) => c.body.Namespace === tracked.namespace, 70_000));
    expect(call.body.MetricData.map((d) => d.MetricName)).toContain(tracked.metricName);
  });

  it('a worker that cannot verify its database (another CA than the server\'s) is not ready, says why, and fails ECS\'s health check', async () => {
    // The one change: DATABASE_CA_CERT names a CA that did not sign the database's certificate.
    const misconfigured = await stackTask('-worker', (defs) =>
      defs.map((d) => (d.name !== 'worker' ? d : { ...d, environment: d.environment!.map((e) => (e.name === 'DATABASE_CA_CERT' ? { ...e, value: cas.amazon.certPem } : e)) })));
    const task = await startTask(misconfigured, 'worker');
    try {
      const answer = await whileRunning(task, 'the misconfigured worker\'s /readyz to say why it is not ready', async () => {
        const a = await workerEndpoint(task, misconfigured, '/readyz');
        return a?.status === 503 && /TLS/.test(String(a.body.reason)) && a;
      });
      expect(answer.body.reason).toMatch(/TLS verification failed.*DATABASE_CA_CERT/);
      expect(await workerEndpoint(task, misconfigured, '/healthz')).toMatchObject({ status: 503, body: { status: 'misconfigured' } });
      // ECS replaces a task whose essential container fails its health check.
      expect(await task.healthCheck('worker')).toMatchObject({ exitCode: 1 });
    } finally {
      await task.stop();
    }
  });

  it('a worker whose database goes away after it started is not ready, says why, stays alive to ECS, and is ready again once it is back', async () => {
    await standIns.rds.kill();
    try {
      const answer = await whileRunning(worker, 'the worker\'s /readyz to say PostgreSQL is unreachable', async () => {
        const a = await workerEndpoint(worker, workerDefinition, '/readyz');
        return a?.status === 503 && /PostgreSQL/.test(String(a.body.reason)) && a;
      }, 15_000);
      expect(answer.body.reason).toContain(`${standIns.gateway}:${standIns.rds.port}`);
      expect(await worker.healthCheck('worker')).toMatchObject({ exitCode: 0 });
    } finally {
      await standIns.rds.start();
    }
    await whileRunning(worker, 'the worker\'s /readyz to answer 200 once PostgreSQL is back', async () => (await workerEndpoint(worker, workerDefinition, '/readyz'))?.status === 200);
  });

  it('ECS stops the worker task (a scale-in, a deployment): the worker first, it finishes its job in flight within its stopTimeout and exits 0; the runner after it', async () => {
    const producer = standIns.elastiCache.client.duplicate();
    try {
      const id = `drain-${randomBytes(6).toString('hex')}`;
      const job = { id, language: 'python', code: 'import time\ntime.sleep(3)\nprint("drained")\n', wallTimeLimitMs: 10_000 };
      await producer.xadd(envOf(workerDefinition, 'worker').STREAM_KEY, '*', 'job', JSON.stringify(job));
      await whileRunning(worker, `job ${id} to start`, () => lastStart(producer, id));
      const ended = await worker.ecsStop();
      const stopTimeoutMs = (name: string) => (workerDefinition.definitions.find((d) => d.name === name)!.stopTimeout ?? 30) * 1000;
      // The init container had exited already (its success is what the others waited for).
      expect(ended.map((e) => e.name)).toEqual(['worker', 'runner', VOLUME_INIT]);
      for (const e of ended) {
        expect(e, await worker.logs(e.name)).toMatchObject({ exitCode: 0 });
        expect(e.stoppedInMs, `${e.name} needed SIGKILL`).toBeLessThan(stopTimeoutMs(e.name));
      }
      expect(await getResult(producer, id)).toMatchObject({ status: 'accepted', stdout: 'drained\n' });
    } finally {
      producer.disconnect();
    }
  });
});
