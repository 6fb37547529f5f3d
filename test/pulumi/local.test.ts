// `pulumi up -s local` under mocks, with Pulumi.local.yaml's config: Redis (append-only), MinIO and its bucket on a
// private Docker network, the images kept local, and the worker container(s) wired to them with RUNNER_MODE=docker.
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
    expect(redis.inputs.networksAdvanced).toEqual([{ name: 'code-execution-net', aliases: ['redis'] }]);
    expect(redis.inputs.ports).toMatchObject([{ internal: 6379, external: 6379, ip: '127.0.0.1' }]);
    expect(redis.inputs.volumes[0].containerPath).toBe('/data');
    expect(run.one('docker:index/network:Network').inputs.name).toBe('code-execution-net');
  });

  it('MinIO with a generated password, and a one-shot container that creates the bucket', () => {
    const minio = run.one('docker:index/container:Container', '-minio');
    expect(isSecret(minio.inputs.envs)).toBe(true);
    expect(reveal(minio.inputs.envs)).toContain('MINIO_ROOT_PASSWORD=generated-code-execution-minio-password');
    const bucket = run.one('docker:index/container:Container', '-minio-bucket');
    expect(bucket.inputs.command[0]).toContain('mc mb --ignore-existing local/code-execution');
    expect(bucket.inputs).toMatchObject({ attach: true, mustRun: false });
  });

  it("both images are built from the repository for the engine's own platform (no --platform) and stay local", () => {
    const images = run.all('docker:index/image:Image');
    expect(images.map((i) => [i.inputs.imageName, i.inputs.build.dockerfile.replace(ROOT, ''), i.inputs.skipPush]).sort()).toEqual([
      ['code-runner:latest', 'runner/Dockerfile', true],
      ['code-worker:latest', 'worker/Dockerfile', true],
    ]);
    for (const i of images) expect(i.inputs.build.context).toBe(ROOT);
    for (const i of images) expect(i.inputs.build.platform, i.name).toBeUndefined();
  });

  it('worker containers: one per minWorkers, the Docker socket, RUNNER_MODE=docker, wired to Redis and MinIO', () => {
    const workers = run.all('docker:index/container:Container').filter((c) => /-worker-\d+$/.test(c.name));
    expect(workers).toHaveLength(Number(readStackConfig('local')['code-execution:minWorkers']));
    const [worker] = workers;
    expect(worker.inputs.image).toBe('code-worker:latest');
    expect(isSecret(worker.inputs.envs)).toBe(true);
    expect(worker.inputs.volumes).toEqual([{ hostPath: '/var/run/docker.sock', containerPath: '/var/run/docker.sock' }]);
    expect(env(worker)).toMatchObject({
      RUNNER_MODE: 'docker',
      RUNNER_IMAGE: 'code-runner:latest',
      DOCKER_SOCKET: '/var/run/docker.sock',
      REDIS_URL: 'redis://redis:6379',
      S3_ENDPOINT: 'http://minio:9000',
      S3_BUCKET: 'code-execution',
      AWS_ACCESS_KEY_ID: 'code-execution',
      AWS_SECRET_ACCESS_KEY: 'generated-code-execution-minio-password',
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
      networksAdvanced: [{ name: 'code-execution-net', aliases: ['api'] }],
      ports: [{ internal: 2358, external: 2358, ip: '127.0.0.1' }],
      user: '1000:1000', readOnly: true, privileged: false, capabilities: { drops: ['ALL'] }, securityOpts: ['no-new-privileges:true'],
    });
    expect(isSecret(api.inputs.envs)).toBe(true);
    expect(env(api)).toMatchObject({ REDIS_URL: 'redis://redis:6379', API_PORT: '2358', API_HOST: '0.0.0.0', CALLBACK_SIGNING_KEY: 'generated-code-execution-callback-signing-key' });
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

  it('outputs: the Redis URL, the MinIO endpoint and how to submit a job', () => {
    expect(run.outputs).toMatchObject({
      redisUrl: 'redis://127.0.0.1:6379',
      minioEndpoint: 'http://127.0.0.1:9000',
      bucket: 'code-execution',
      submitJob: 'REDIS_URL=redis://127.0.0.1:6379 npx code-exec submit examples/hello.py',
    });
  });
});
