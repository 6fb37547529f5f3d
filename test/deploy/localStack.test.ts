// Rehearsal of the local stack on this machine: every resource `pulumi up -s local` would create (index.ts under
// Pulumi mocks, Pulumi.local.yaml's config) is created on the Docker engine as the docker provider creates it
// (dockerProvider.ts): its network, its volumes, and every container: Redis, PostgreSQL, the object store, the
// worker(s) and the API. The changes, all in `rehearsal` below and logged: the stack's names get this run's prefix,
// ports are published on free ones, the outputs a real update resolves (volume mountpoints, image references) are
// the engine's, and Docker Hub's redis and postgres images, which cannot be pulled here, are stand-ins built from
// Debian's packages (standIns/). Through the stack's API: a job gets its verdict, so does a `codeKey` job whose code
// is in the stack's bucket, both are rows in the stack's PostgreSQL, and the worker's readiness tells the truth.
import Docker from 'dockerode';
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { POSTGRES_IMAGE, REDIS_IMAGE } from '../../components/local.js';
import { DOCKER_EXCHANGE_ROOT } from '../../core/dockerExchange.js';
import { LABEL_DEPLOYMENT } from '../../core/labels.js';
import type { JobResult } from '../../core/protocol/result.js';
import { waitForResult } from '../../worker/resultStore.js';
import { reveal, ROOT, runStack, type Inputs, type StackRun } from '../pulumi/harness.js';
import { freePort } from '../support/freePort.js';
import { claimContainerName, claimDeployment, workerDeployment } from '../support/sandboxClaims.js';
import { DOCKER_SOCKET, dockerAvailable, RUNNER_IMAGE } from '../support/services.js';
import { until } from '../support/until.js';
import { connectOtherNetworks, containerCreateOptions, type ContainerContext } from './dockerProvider.js';
import { request, WORKER_IMAGE } from './rehearsal.js';

const docker = new Docker({ socketPath: DOCKER_SOCKET });
const available = await dockerAvailable();
/** The images the stack builds, by Dockerfile, and the build of each that `npm run images` made. */
const BUILDS: Record<string, string> = {
  'worker/Dockerfile': WORKER_IMAGE,
  'runner/Dockerfile': RUNNER_IMAGE,
  'components/objectStore/Dockerfile': 'code-object-store:latest',
};
const STAND_INS_DIR = fileURLToPath(new URL('./standIns/', import.meta.url));
/** Docker Hub's images the stack pulls, and the stand-in built here for each. */
const STAND_INS: Record<string, { tag: string; dockerfile: string }> = {
  [REDIS_IMAGE]: { tag: 'code-execution-stand-in/redis:7-bookworm', dockerfile: 'redis.Dockerfile' },
  [POSTGRES_IMAGE]: { tag: 'code-execution-stand-in/postgres:17-bookworm', dockerfile: 'postgres.Dockerfile' },
};
/** The stack's own name for its resources (PROJECT), which the rehearsal replaces by a prefix of its own. */
const STACK_NAME = 'code-execution';

let run: StackRun;
let rehearsal: Rehearsal;
beforeAll(async () => {
  if (!available) return;
  run = await runStack('local');
  for (const { tag, dockerfile } of Object.values(STAND_INS)) {
    execFileSync('docker', ['build', '-q', '--network', 'host', '-t', tag, '-f', `${STAND_INS_DIR}${dockerfile}`, STAND_INS_DIR], { stdio: ['ignore', 'ignore', 'inherit'] });
  }
  rehearsal = await createRehearsal(run);
}, 300_000);
afterAll(async () => {
  await rehearsal?.remove();
});

interface Rehearsal {
  ctx: ContainerContext;
  /** The engine's container of each of the stack's containers, by the stack's name. */
  containers: Map<string, Docker.Container>;
  /** 127.0.0.1's port that each published container port got, by the stack's container name and internal port. */
  published: Map<string, number>;
  /** The deployment the stack's workers serve (core/sandboxOwner.ts): their runner containers carry it. */
  deployment: string;
  /** Creates and starts one more container from a (changed) container spec of the stack. */
  start(spec: Inputs): Promise<Docker.Container>;
  logs(stackName: string): Promise<string>;
  remove(): Promise<void>;
}

const containersOf = (r: StackRun) => r.all('docker:index/container:Container').map((c) => reveal(c.inputs) as Inputs);

/** Creates the stack's network, volumes and containers on the engine, in the stack's order, as the provider would. */
async function createRehearsal(stack: StackRun): Promise<Rehearsal> {
  const prefix = claimContainerName(`rehearsal-local-${randomBytes(3).toString('hex')}`);
  const rename = (name: string) => (name.startsWith(`${STACK_NAME}-`) ? `${prefix}-${name.slice(STACK_NAME.length + 1)}` : name);
  const networks = stack.all('docker:index/network:Network').map((n) => n.inputs);
  const volumes = stack.all('docker:index/volume:Volume').map((v) => v.inputs);
  const specs = containersOf(stack);
  // Output values of the mocks, and what the engine resolves them to in a real update.
  const resolved = new Map<string, string>();
  const stackNames = [...networks, ...volumes, ...specs].map((r) => String(r.name));
  const images = new Map<string, string>([
    ...stack.all('docker:index/image:Image').map((i): [string, string] => [i.inputs.imageName, BUILDS[i.inputs.build.dockerfile.slice(ROOT.length)] ?? '']),
    ...stack.all('docker:index/remoteImage:RemoteImage').map((i): [string, string] => [String(i.outputs.imageId), STAND_INS[i.inputs.name]?.tag ?? '']),
  ]);
  const hostPorts = new Map<string, number>();
  const ctx: ContainerContext = {
    image: (reference) => {
      const local = images.get(reference);
      if (!local) throw new Error(`the stack references image ${reference}, which this rehearsal has no local build or stand-in for`);
      return local;
    },
    name: rename,
    // Resource names in values (hosts on the private network, WORKER_NAME) follow the rename; outputs resolve.
    envValue: (value) => {
      let out = resolved.get(value) ?? images.get(value) ?? value;
      for (const name of stackNames) out = out.replace(new RegExp(`\\b${name}\\b`, 'g'), rename(name));
      return out;
    },
    hostPort: () => {
      throw new Error('hostPort is set per container');
    },
  };
  const created: { container: Docker.Container; graceSeconds?: number }[] = [];
  const log: Record<string, unknown> = { prefix, standIns: STAND_INS, publishedOn: {} };
  const remove = async () => {
    // As `pulumi destroy` does (the reverse order of creation): a container with destroyGraceSeconds is stopped
    // within them first (SIGTERM: a worker drains and removes its runner containers, pooled ones too), then removed.
    for (const { container, graceSeconds } of created.splice(0).reverse()) {
      if (graceSeconds !== undefined) await container.stop({ t: graceSeconds }).catch(() => {});
      await container.remove({ force: true, v: false }).catch(() => {});
    }
    const label = `code-execution.rehearsal=${prefix}`;
    for (const v of (await docker.listVolumes({ filters: { label: [label] } })).Volumes ?? []) await docker.getVolume(v.Name).remove().catch(() => {});
    for (const n of await docker.listNetworks({ filters: { label: [label] } })) await docker.getNetwork(n.Id).remove().catch(() => {});
  };
  const containers = new Map<string, Docker.Container>();
  const published = new Map<string, number>();
  const start = async (spec: Inputs): Promise<Docker.Container> => {
    const ports = new Map<number, number>();
    for (const p of (spec.ports ?? []) as { internal: number }[]) ports.set(p.internal, await freePort());
    const options = containerCreateOptions(spec, { ...ctx, hostPort: (internal) => ports.get(internal)! });
    const container = await docker.createContainer({ ...options, Labels: { 'code-execution.rehearsal': prefix } });
    created.push({ container, graceSeconds: spec.destroyGraceSeconds });
    await connectOtherNetworks(docker, container, spec, ctx);
    await container.start();
    containers.set(spec.name, container);
    for (const [internal, port] of ports) published.set(`${spec.name}:${internal}`, port);
    (log.publishedOn as Record<string, number[]>)[spec.name] = [...ports.values()];
    return container;
  };
  try {
    for (const n of networks) await docker.createNetwork({ Name: rename(n.name), Driver: n.driver ?? 'bridge', Labels: { 'code-execution.rehearsal': prefix } });
    for (const v of volumes) {
      await docker.createVolume({ Name: rename(v.name), Labels: { 'code-execution.rehearsal': prefix } });
      const mock = stack.all('docker:index/volume:Volume').find((x) => x.inputs.name === v.name)!.outputs.mountpoint as string;
      resolved.set(mock, (await docker.getVolume(rename(v.name)).inspect()).Mountpoint);
    }
    for (const spec of specs) await start(spec);
  } catch (err) {
    // What was created so far, as a failed `pulumi up` leaves it for `pulumi destroy`.
    await remove();
    throw err;
  }
  console.log(JSON.stringify({ msg: 'local rehearsal: the stack created as the docker provider would, but for', ...log }));
  const workerEnv = specs.find((c) => /-worker-0$/.test(c.name))!.envs as string[];
  const deployment = claimDeployment(workerDeployment(Object.fromEntries(workerEnv.map((kv) => [kv.slice(0, kv.indexOf('=')), ctx.envValue(kv.slice(kv.indexOf('=') + 1))])))!);
  const logs = async (name: string) => {
    const raw = (await containers.get(name)!.logs({ stdout: true, stderr: true })) as unknown as Buffer;
    let out = '';
    for (let i = 0; i + 8 <= raw.length; i += 8 + raw.readUInt32BE(i + 4)) out += raw.subarray(i + 8, i + 8 + raw.readUInt32BE(i + 4)).toString('utf8');
    return out;
  };
  return {
    ctx,
    containers,
    published,
    start,
    logs,
    remove,
    deployment,
  };
}

const envOf = (name: string): Record<string, string> => {
  const spec = containersOf(run).find((c) => c.name === name)!;
  return Object.fromEntries((spec.envs as string[]).map((kv) => [kv.slice(0, kv.indexOf('=')), rehearsal.ctx.envValue(kv.slice(kv.indexOf('=') + 1))]));
};
const apiUrl = () => `http://127.0.0.1:${rehearsal.published.get(`${STACK_NAME}-api:2358`)}`;

/** GET `path` of the worker's metrics server from inside its container (the stack publishes no port for it). */
async function workerEndpoint(path: '/readyz' | '/healthz'): Promise<{ status: number; body: Record<string, unknown> }> {
  const exec = await rehearsal.containers.get(`${STACK_NAME}-worker-0`)!.exec({
    Cmd: ['node', '-e', `fetch('http://127.0.0.1:${envOf(`${STACK_NAME}-worker-0`).METRICS_PORT}${path}').then(async (r) => console.log(JSON.stringify({ status: r.status, body: await r.json() })), (e) => console.log(JSON.stringify({ status: 0, body: { error: e.message } })))`],
    AttachStdout: true,
    AttachStderr: true,
  });
  const stream = await exec.start({ hijack: true, stdin: false });
  const chunks: Buffer[] = [];
  stream.on('data', (c: Buffer) => chunks.push(c));
  await new Promise((resolve) => stream.on('end', resolve));
  const raw = Buffer.concat(chunks);
  const text = raw.subarray(8).toString('utf8').trim();
  return JSON.parse(text.slice(text.indexOf('{'))) as { status: number; body: Record<string, unknown> };
}

async function submit(job: Record<string, unknown>): Promise<Record<string, unknown>> {
  const headers = { 'content-type': 'application/json' };
  const submitted = await request(`${apiUrl()}/v1/jobs`, { method: 'POST', headers, body: JSON.stringify(job) });
  expect(submitted, `${JSON.stringify(submitted)}\n${await rehearsal.logs(`${STACK_NAME}-api`)}`).toMatchObject({ status: 202, body: { id: job.id } });
  const answer = await until(`the API to answer job ${job.id}'s verdict`, async () => {
    const a = await request(`${apiUrl()}/v1/jobs/${job.id}?wait=30`);
    return a && !['queued', 'running'].includes(String(a.body.status)) && a;
  }, 120_000);
  return answer.body;
}

const apiJobId = `api-${randomBytes(6).toString('hex')}`;
const codeKeyJobId = `code-key-${randomBytes(6).toString('hex')}`;

describe.skipIf(!available)('local: the stack\'s containers as the docker provider creates them', () => {
  it('every container of the stack runs: Redis and PostgreSQL healthy, the API ready, the worker alive and ready', async () => {
    for (const name of [`${STACK_NAME}-redis`, `${STACK_NAME}-postgres`]) {
      await until(`${name} to be healthy`, async () => (await rehearsal.containers.get(name)!.inspect()).State.Health?.Status === 'healthy', 60_000);
    }
    await until('the API\'s /readyz to answer 200', async () => (await request(`${apiUrl()}/readyz`))?.status === 200, 60_000);
    const ready = await until('the worker\'s /readyz to answer 200', async () => {
      const state = (await rehearsal.containers.get(`${STACK_NAME}-worker-0`)!.inspect()).State;
      if (!state.Running) throw new Error(`the worker stopped (exit ${state.ExitCode}):\n${await rehearsal.logs(`${STACK_NAME}-worker-0`)}`);
      const answer = await workerEndpoint('/readyz');
      return answer.status === 200 && answer;
    }, 90_000);
    expect(ready.status).toBe(200);
    for (const [name, container] of rehearsal.containers) expect((await container.inspect()).State.Running, name).toBe(true);
  });

  it('a job submitted to the API gets its verdict, run in a runner container the worker starts through the engine', async () => {
    const verdict = await submit({ id: apiJobId, language: 'python', code: 'print(input()[::-1])', stdin: 'olleh\n', expectedOutput: 'hello\n' });
    expect(verdict, await rehearsal.logs(`${STACK_NAME}-worker-0`)).toMatchObject({ id: apiJobId, status: 'accepted', stdout: 'hello\n' });
  });

  it('a codeKey job reads its code from the stack\'s bucket in the object store', async () => {
    const store = envOf(`${STACK_NAME}-object-store`);
    const worker = envOf(`${STACK_NAME}-worker-0`);
    const s3 = new S3Client({
      endpoint: `http://127.0.0.1:${rehearsal.published.get(`${STACK_NAME}-object-store:9000`)}`,
      forcePathStyle: true,
      region: 'us-east-1',
      credentials: { accessKeyId: store.OBJECT_STORE_ACCESS_KEY_ID, secretAccessKey: store.OBJECT_STORE_SECRET_ACCESS_KEY },
      requestChecksumCalculation: 'WHEN_REQUIRED',
    });
    const key = `rehearsal/${codeKeyJobId}.py`;
    await s3.send(new PutObjectCommand({ Bucket: worker.S3_BUCKET, Key: key, Body: 'import sys\nprint(sum(int(x) for x in sys.stdin.read().split()))\n' }));
    s3.destroy();
    // codeKey is for producers inside the deployment (the API refuses it): one on the stack's Redis, as its
    // `submitJob` output shows, queues the job.
    const producer = new Redis(`redis://127.0.0.1:${rehearsal.published.get(`${STACK_NAME}-redis:6379`)}`);
    try {
      const job = { id: codeKeyJobId, language: 'python', codeKey: key, stdin: '1 2 39\n', expectedOutput: '42\n' };
      await producer.xadd(worker.STREAM_KEY, '*', 'job', JSON.stringify(job));
      const result = await waitForResult(producer, codeKeyJobId, 45_000);
      expect(result, await rehearsal.logs(`${STACK_NAME}-worker-0`)).toMatchObject({ id: codeKeyJobId, status: 'accepted', stdout: '42\n' });
    } finally {
      producer.disconnect();
    }
  });

  it('both results are rows of the submissions table in the stack\'s PostgreSQL', async () => {
    const url = new URL(envOf(`${STACK_NAME}-worker-0`).DATABASE_URL);
    url.hostname = '127.0.0.1';
    url.port = String(rehearsal.published.get(`${STACK_NAME}-postgres:5432`));
    const client = new pg.Client({ connectionString: url.href });
    await client.connect();
    try {
      // The worker writes the row after the result it answers with (Redis first): a moment later.
      const rows = await until('both rows in submissions', async () => {
        const { rows: found } = await client.query<{ id: string; status: string; result: JobResult }>(
          'SELECT id, status, result FROM submissions WHERE id LIKE $1 OR id = $2 ORDER BY id',
          [`${apiJobId}%`, codeKeyJobId],
        );
        return found.length === 2 && found;
      }, 10_000);
      expect(rows.map((r) => [r.id.startsWith(apiJobId) ? 'api' : 'codeKey', r.status, r.result.stdout])).toEqual([
        ['api', 'accepted', 'hello\n'],
        ['codeKey', 'accepted', '42\n'],
      ]);
    } finally {
      await client.end();
    }
  });

  it('with its database stopped the worker is not ready and says why; ready again once it is back', async () => {
    const postgres = rehearsal.containers.get(`${STACK_NAME}-postgres`)!;
    await postgres.stop();
    try {
      const answer = await until('the worker\'s /readyz to say it has no database', async () => {
        const a = await workerEndpoint('/readyz');
        return a.status === 503 && a;
      }, 60_000);
      expect(answer.body.reason).toMatch(/^PostgreSQL at \S+-postgres:5432\S* is unreachable: /);
    } finally {
      await postgres.start();
    }
    await until('the worker\'s /readyz to answer 200 again', async () => (await workerEndpoint('/readyz')).status === 200, 90_000);
  });

  it('the worker as the stack first had it (no exchange volume) cannot run the docker transport, and says what to mount', async () => {
    // The defect this stack had: the worker made the exchange directories in its own read-only file system, where the
    // engine could not find them either; every job failed. Now such a worker refuses to start in docker mode.
    const spec = containersOf(run).find((c) => c.name === `${STACK_NAME}-worker-0`)!;
    const without = {
      ...spec,
      name: `${STACK_NAME}-worker-without-exchange`,
      volumes: (spec.volumes as Inputs[]).filter((v) => v.containerPath !== DOCKER_EXCHANGE_ROOT),
      envs: (spec.envs as string[]).filter((kv) => !kv.startsWith('DOCKER_EXCHANGE_HOST_DIR=')),
      restart: 'no',
    };
    const container = await rehearsal.start(without);
    const state = await until('the worker without its exchange volume to stop', async () => {
      const s = (await container.inspect()).State;
      return !s.Running && s;
    }, 60_000);
    expect(state.ExitCode).not.toBe(0);
    expect(await rehearsal.logs(without.name)).toMatch(/exchange directory \/run\/code-execution\/docker cannot be made here .*mount a volume there/);
  });

  it('destroyed as `pulumi destroy` destroys it, the stack leaves no runner container behind', async () => {
    await rehearsal.remove();
    expect(await docker.listContainers({ all: true, filters: { label: [`${LABEL_DEPLOYMENT}=${rehearsal.deployment}`] } })).toEqual([]);
  });
});
