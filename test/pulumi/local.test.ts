// `pulumi up -s local` under mocks, with Pulumi.local.yaml's config: Redis (append-only), PostgreSQL and the object
// store with its bucket on a private Docker network, the images kept local, and the worker container(s) wired to
// them with RUNNER_MODE=docker. test/deploy/localStack.test.ts starts these containers for real.
import { statSync } from 'node:fs';
import * as pulumi from '@pulumi/pulumi';
import { beforeAll, describe, expect, it } from 'vitest';
import { DEFAULTS } from '../../components/stackConfig.js';
import { expectedExports, isSecret, readStackConfig, reveal, ROOT, runStack, walk, type Registered, type StackRun } from './harness.js';

let run: StackRun;
beforeAll(async () => {
  run = await runStack('local');
});

const env = (container: Registered): Record<string, string> =>
  Object.fromEntries((reveal(container.inputs.envs) as string[]).map((kv) => [kv.slice(0, kv.indexOf('=')), kv.slice(kv.indexOf('=') + 1)]));

describe('Pulumi.local.yaml under mocks', () => {
  it('exports what the stack file says', () => {
    expect(pulumi.getStack()).toBe('local');
    const { outputs, ...plain } = run.program;
    expect(plain).toMatchObject(expectedExports('local', DEFAULTS));
    expect(outputs).toBeDefined();
  });

  it('Redis on the private network, append-only, published on 127.0.0.1 only', () => {
    const redis = run.one('docker:index/container:Container', '-redis');
    expect(redis.inputs.command).toEqual(expect.arrayContaining(['redis-server', '--appendonly', 'yes']));
    expect(redis.inputs.networksAdvanced).toEqual([{ name: 'code-execution-net' }]);
    expect(redis.inputs.ports).toMatchObject([{ internal: 6379, external: 6379, ip: '127.0.0.1' }]);
    expect(redis.inputs.volumes[0].containerPath).toBe('/data');
    expect(run.one('docker:index/network:Network').inputs.name).toBe('code-execution-net');
  });

  it('the object store: built here, its own generated secret, the code bucket expiring after bucketExpirationDays', () => {
    const store = run.one('docker:index/container:Container', '-object-store');
    expect(store.inputs.image).toBe('code-object-store:latest');
    expect(isSecret(store.inputs.envs)).toBe(true);
    expect(env(store)).toEqual({
      OBJECT_STORE_ACCESS_KEY_ID: 'code-execution',
      OBJECT_STORE_SECRET_ACCESS_KEY: 'generated-code-execution-object-store-secret',
      OBJECT_STORE_BUCKETS: 'code-execution',
      OBJECT_STORE_EXPIRATION_DAYS: String(DEFAULTS.bucketExpirationDays),
    });
    expect(store.inputs).toMatchObject({ user: '1000:1000', readOnly: true, ports: [{ internal: 9000, external: 9000, ip: '127.0.0.1' }] });
  });

  it('PostgreSQL (an official image) with a generated password, its data on a volume, on 127.0.0.1 only', () => {
    const postgres = run.one('docker:index/container:Container', '-postgres');
    expect(reveal(postgres.inputs.envs)).toContain('POSTGRES_PASSWORD=generated-code-execution-postgres-password');
    expect(postgres.inputs.ports).toMatchObject([{ internal: 5432, external: 5432, ip: '127.0.0.1' }]);
    expect(postgres.inputs.volumes[0].containerPath).toBe('/var/lib/postgresql/data');
    expect(run.all('docker:index/remoteImage:RemoteImage').map((i) => i.inputs.name).sort()).toEqual(['postgres:17-bookworm', 'redis:7-bookworm']);
  });

  it("the images are built from the repository for the engine's own platform (no --platform) and stay local", () => {
    const images = run.all('docker:index/image:Image');
    expect(images.map((i) => [i.inputs.imageName, i.inputs.build.dockerfile.replace(ROOT, ''), i.inputs.skipPush]).sort()).toEqual([
      ['code-object-store:latest', 'components/objectStore/Dockerfile', true],
      ['code-runner:latest', 'runner/Dockerfile', true],
      ['code-worker:latest', 'worker/Dockerfile', true],
    ]);
    for (const i of images) expect(i.inputs.build.context).toBe(ROOT);
    for (const i of images) expect(i.inputs.build.platform, i.name).toBeUndefined();
  });

  it('worker containers: one per minWorkers, the Docker socket and the exchange volume, RUNNER_MODE=docker, wired to Redis, PostgreSQL and the object store', () => {
    const workers = run.all('docker:index/container:Container').filter((c) => /-worker-\d+$/.test(c.name));
    expect(workers).toHaveLength(Number(readStackConfig('local')['code-execution:minWorkers']));
    const [worker] = workers;
    expect(worker.inputs.image).toBe('code-worker:latest');
    expect(isSecret(worker.inputs.envs)).toBe(true);
    expect(worker.inputs.volumes).toEqual([
      { hostPath: '/var/run/docker.sock', containerPath: '/var/run/docker.sock' },
      { volumeName: 'code-execution-docker-exchange', containerPath: '/run/code-execution/docker' },
    ]);
    expect(env(worker)).toMatchObject({
      RUNNER_MODE: 'docker',
      RUNNER_IMAGE: 'code-runner:latest',
      DOCKER_SOCKET: '/var/run/docker.sock',
      // Each by its container's name: another stack on the same engine is another deployment.
      REDIS_URL: 'redis://code-execution-redis:6379',
      // The engine resolves the runner containers' bind sources on its host: the volume's mountpoint there.
      DOCKER_EXCHANGE_HOST_DIR: '/var/lib/docker/volumes/code-execution-docker-exchange/_data',
      DATABASE_URL: 'postgres://code_execution:generated-code-execution-postgres-password@code-execution-postgres:5432/code_execution?sslmode=disable',
      S3_ENDPOINT: 'http://code-execution-object-store:9000',
      S3_BUCKET: 'code-execution',
      AWS_ACCESS_KEY_ID: 'code-execution',
      AWS_SECRET_ACCESS_KEY: 'generated-code-execution-object-store-secret',
      MAX_CONCURRENT_JOBS: '2',
      METRICS_PORT: '9464',
    });
    // The worker is non-root; it reaches the socket through its group, not through privileges.
    expect(worker.inputs).toMatchObject({ user: '1000:1000', readOnly: true, privileged: false, capabilities: { drops: ['ALL'] }, securityOpts: ['no-new-privileges:true'] });
    let socketGid: number | undefined;
    try {
      socketGid = statSync('/var/run/docker.sock').gid;
    } catch {
      socketGid = undefined;
    }
    if (socketGid !== undefined) expect(worker.inputs.groupAdds).toEqual([String(socketGid)]);
    expect(worker.inputs.healthcheck.tests.join(' ')).toContain('/healthz');
  });

  it('the HTTP API: the worker image running `code-exec api`, on 127.0.0.1:2358, wired to Redis, hardened', () => {
    const api = run.one('docker:index/container:Container', '-api');
    expect(api.inputs).toMatchObject({
      image: 'code-worker:latest',
      command: ['api'],
      networksAdvanced: [{ name: 'code-execution-net' }],
      ports: [{ internal: 2358, external: 2358, ip: '127.0.0.1' }],
      user: '1000:1000', readOnly: true, privileged: false, capabilities: { drops: ['ALL'] }, securityOpts: ['no-new-privileges:true'],
    });
    expect(isSecret(api.inputs.envs)).toBe(true);
    expect(env(api)).toMatchObject({ REDIS_URL: 'redis://code-execution-redis:6379', API_PORT: '2358', API_HOST: '0.0.0.0', CALLBACK_SIGNING_KEY: 'generated-code-execution-callback-signing-key' });
    // No Docker socket: the API never runs code.
    expect(api.inputs.volumes).toBeUndefined();
    expect(api.inputs.healthcheck.tests.join(' ')).toContain('127.0.0.1:2358/readyz');
    expect(run.outputs).toMatchObject({ apiUrl: 'http://127.0.0.1:2358' });
  });

  it('no container anywhere is privileged', () => {
    for (const r of run.all('docker:index/container:Container')) {
      for (const o of walk(r.inputs)) expect(o.privileged, r.name).not.toBe(true);
    }
  });

  it('outputs: the Redis URL, the object store endpoint and how to submit a job', () => {
    expect(run.outputs).toMatchObject({
      redisUrl: 'redis://127.0.0.1:6379',
      objectStoreEndpoint: 'http://127.0.0.1:9000',
      bucket: 'code-execution',
      submitJob: 'REDIS_URL=redis://127.0.0.1:6379 npx code-exec submit examples/hello.py',
    });
  });
});
