// code-execution:local:Environment — the whole system on this machine's Docker engine: a private network, Redis
// with append-only persistence, MinIO with the code bucket, the images, worker container(s) that run each job
// in a fresh hardened runner container through the host's Docker socket (RUNNER_MODE=docker), and the HTTP API
// (`code-exec api`, from the worker image) published on 127.0.0.1.
import * as docker from '@pulumi/docker';
import * as pulumi from '@pulumi/pulumi';
import * as random from '@pulumi/random';
import { statSync } from 'node:fs';
import type { Images } from './images.js';
import { API_PORT, apiEnvironment, APP_UID, DOCKER_SOCKET, dockerEnvList, healthCheckCommand, workerEnvironment } from './workerEnv.js';

export const LOCAL_BUCKET = 'code-execution';
const REDIS_IMAGE = 'redis:7-bookworm';
const MINIO_IMAGE = 'minio/minio:latest';
const MINIO_CLIENT_IMAGE = 'minio/mc:latest';
/**
 * The API container's environment: the clouds' (where it listens, the queue it feeds) plus, as plain variables here
 * (the whole list is a Pulumi secret, and Redis is on the private network), the Redis URL and callback signing key.
 */
export function localApiEnvironment(signingKey: string): Record<string, string> {
  return { ...apiEnvironment(), REDIS_URL: 'redis://redis:6379', CALLBACK_SIGNING_KEY: signingKey };
}

export interface LocalEnvironmentArgs {
  readonly images: Images;
  /** Worker containers to run. Defaults to 1. */
  readonly workers?: number;
  /** Jobs in flight per worker. Defaults to 2. */
  readonly maxConcurrentJobs?: number;
  /** Host ports, bound to 127.0.0.1 only. Default to 6379, 9000 and 2358 (the API, Judge0's port). */
  readonly redisPort?: number;
  readonly minioPort?: number;
  readonly apiPort?: number;
  /** Days before MinIO deletes an object of the code bucket. Defaults to 30. */
  readonly bucketExpirationDays?: number;
  /** The engine's socket on this host. Defaults to /var/run/docker.sock. */
  readonly dockerSocket?: string;
  /** The socket's group, added to the (non-root) worker. Defaults to the socket's gid on this host. */
  readonly dockerSocketGid?: number;
}

/** The gid owning the Docker socket here, so uid 1000 in the worker container can use it without being root. */
function socketGid(path: string): number | undefined {
  try {
    return statSync(path).gid;
  } catch {
    return undefined;
  }
}

/** The one-shot `mc` script that creates the bucket (idempotently) and its expiry rule. */
export function minioBucketScript(bucket: string, expirationDays: number): string {
  const lifecycle = JSON.stringify({ Rules: [{ ID: 'expire-code', Status: 'Enabled', Expiration: { Days: expirationDays } }] });
  return [
    'set -e',
    'for i in $(seq 1 60); do mc ready local >/dev/null 2>&1 && break; sleep 1; done',
    `mc mb --ignore-existing local/${bucket}`,
    `echo '${lifecycle}' | mc ilm import local/${bucket}`,
  ].join('; ');
}

export class LocalEnvironment extends pulumi.ComponentResource {
  readonly outputs: Record<string, pulumi.Output<string>>;

  constructor(name: string, args: LocalEnvironmentArgs, opts?: pulumi.ComponentResourceOptions) {
    super('code-execution:local:Environment', name, {}, opts);
    const a = { workers: 1, maxConcurrentJobs: 2, redisPort: 6379, minioPort: 9000, apiPort: API_PORT, bucketExpirationDays: 30, dockerSocket: DOCKER_SOCKET, ...args };
    for (const key of ['workers', 'maxConcurrentJobs', 'redisPort', 'minioPort', 'apiPort', 'bucketExpirationDays'] as const) {
      if (!Number.isInteger(a[key]) || a[key] < 1) throw new Error(`LocalEnvironment ${name}: ${key} must be a whole number >= 1, got ${a[key]}`);
    }
    const gid = a.dockerSocketGid ?? socketGid(a.dockerSocket);
    if (gid === undefined) pulumi.log.warn(`${a.dockerSocket} not found here: the worker gets no group for it and may not reach Docker`, this);
    const child = { parent: this };

    const network = new docker.Network(`${name}-net`, { name: `${name}-net`, driver: 'bridge' }, child);
    const onNetwork = (alias: string) => [{ name: network.name, aliases: [alias] }];
    const pull = (key: string, image: string) => new docker.RemoteImage(`${name}-${key}-image`, { name: image, keepLocally: true }, child);

    // --- Redis: the queue. Append-only file, so a restart keeps the stream and its pending entries. -------------
    const redisData = new docker.Volume(`${name}-redis-data`, { name: `${name}-redis-data` }, child);
    const redis = new docker.Container(
      `${name}-redis`,
      {
        name: `${name}-redis`,
        image: pull('redis', REDIS_IMAGE).imageId,
        command: ['redis-server', '--appendonly', 'yes', '--appendfsync', 'everysec'],
        networksAdvanced: onNetwork('redis'),
        ports: [{ internal: 6379, external: a.redisPort, ip: '127.0.0.1' }],
        volumes: [{ volumeName: redisData.name, containerPath: '/data' }],
        healthcheck: { tests: ['CMD', 'redis-cli', 'ping'], interval: '10s', timeout: '3s', retries: 5 },
        restart: 'unless-stopped',
      },
      child,
    );

    // --- MinIO: the S3-compatible store for code objects, and its bucket. ----------------------------------------
    const minioUser = 'code-execution';
    const minioPassword = new random.RandomPassword(`${name}-minio-password`, { length: 32, special: false }, child);
    const minioData = new docker.Volume(`${name}-minio-data`, { name: `${name}-minio-data` }, child);
    const minio = new docker.Container(
      `${name}-minio`,
      {
        name: `${name}-minio`,
        image: pull('minio', MINIO_IMAGE).imageId,
        command: ['server', '/data', '--console-address', ':9001'],
        envs: pulumi.secret([`MINIO_ROOT_USER=${minioUser}`, pulumi.interpolate`MINIO_ROOT_PASSWORD=${minioPassword.result}`]),
        networksAdvanced: onNetwork('minio'),
        ports: [{ internal: 9000, external: a.minioPort, ip: '127.0.0.1' }],
        volumes: [{ volumeName: minioData.name, containerPath: '/data' }],
        restart: 'unless-stopped',
      },
      child,
    );
    const bucket = new docker.Container(
      `${name}-minio-bucket`,
      {
        name: `${name}-minio-bucket`,
        image: pull('mc', MINIO_CLIENT_IMAGE).imageId,
        entrypoints: ['/bin/sh', '-c'],
        command: [minioBucketScript(LOCAL_BUCKET, a.bucketExpirationDays)],
        // mc reads an alias from MC_HOST_<name>: no config file, no `mc alias set` with the password on a command line.
        envs: pulumi.secret([pulumi.interpolate`MC_HOST_local=http://${minioUser}:${minioPassword.result}@minio:9000`]),
        networksAdvanced: onNetwork('minio-bucket'),
        // Runs once to completion during `pulumi up` (attach), and must not be restarted.
        attach: true,
        logs: true,
        mustRun: false,
        restart: 'no',
      },
      { parent: this, dependsOn: [minio] },
    );

    // --- workers --------------------------------------------------------------------------------------------------
    const workerNames: pulumi.Output<string>[] = [];
    for (let i = 0; i < a.workers; i++) {
      const worker = new docker.Container(
        `${name}-worker-${i}`,
        {
          name: `${name}-worker-${i}`,
          image: args.images.workerImage,
          command: ['worker'],
          envs: pulumi.secret(pulumi.all([args.images.runnerImage, minioPassword.result])).apply(([runnerImage, password]) =>
            dockerEnvList({
              ...workerEnvironment({
                runnerMode: 'docker',
                maxConcurrentJobs: a.maxConcurrentJobs,
                runnerImage,
                s3Bucket: LOCAL_BUCKET,
                s3Region: 'us-east-1',
                s3Endpoint: 'http://minio:9000',
              }),
              // Local Redis and MinIO are reachable only on the private network and on 127.0.0.1, so these are
              // plain variables here (the whole list is a Pulumi secret); the cloud targets inject them as secrets.
              REDIS_URL: 'redis://redis:6379',
              AWS_ACCESS_KEY_ID: minioUser,
              AWS_SECRET_ACCESS_KEY: password,
              WORKER_NAME: `${name}-worker-${i}`,
            }),
          ),
          networksAdvanced: onNetwork(`worker-${i}`),
          // The docker transport starts one hardened runner container per job through the host engine.
          volumes: [{ hostPath: a.dockerSocket, containerPath: DOCKER_SOCKET }],
          ...(gid !== undefined ? { groupAdds: [String(gid)] } : {}),
          user: `${APP_UID}:${APP_UID}`,
          readOnly: true,
          tmpfs: { '/tmp': 'rw,nosuid,nodev,size=64m' },
          capabilities: { drops: ['ALL'] },
          securityOpts: ['no-new-privileges:true'],
          privileged: false,
          healthcheck: { tests: ['CMD', ...healthCheckCommand('/healthz')], interval: '30s', timeout: '5s', retries: 3, startPeriod: '30s' },
          // SIGTERM, then time to drain in-flight jobs (SHUTDOWN_GRACE_MS defaults to 25 s).
          stopTimeout: 30,
          destroyGraceSeconds: 30,
          restart: 'unless-stopped',
        },
        { parent: this, dependsOn: [redis, bucket] },
      );
      workerNames.push(worker.name);
    }

    // --- the HTTP API: stateless, from the worker image, on 127.0.0.1 only (open: no API_TOKENS locally) ---------
    const signingKey = new random.RandomPassword(`${name}-callback-signing-key`, { length: 48, special: false }, child);
    const api = new docker.Container(
      `${name}-api`,
      {
        name: `${name}-api`,
        image: args.images.workerImage,
        command: ['api'],
        envs: pulumi.secret(signingKey.result.apply((key) => dockerEnvList(localApiEnvironment(key)))),
        networksAdvanced: onNetwork('api'),
        ports: [{ internal: API_PORT, external: a.apiPort, ip: '127.0.0.1' }],
        user: `${APP_UID}:${APP_UID}`,
        readOnly: true,
        tmpfs: { '/tmp': 'rw,nosuid,nodev,size=16m' },
        capabilities: { drops: ['ALL'] },
        securityOpts: ['no-new-privileges:true'],
        privileged: false,
        healthcheck: {
          tests: ['CMD', ...healthCheckCommand('/readyz', API_PORT)],
          interval: '30s', timeout: '5s', retries: 3, startPeriod: '20s',
        },
        stopTimeout: 10,
        restart: 'unless-stopped',
      },
      { parent: this, dependsOn: [redis] },
    );

    const redisUrl = pulumi.output(`redis://127.0.0.1:${a.redisPort}`);
    this.outputs = {
      redisUrl,
      minioEndpoint: pulumi.output(`http://127.0.0.1:${a.minioPort}`),
      minioUser: pulumi.output(minioUser),
      minioPassword: pulumi.secret(minioPassword.result),
      bucket: pulumi.output(LOCAL_BUCKET),
      workers: pulumi.all(workerNames).apply((n) => n.join(', ')),
      api: api.name,
      apiUrl: pulumi.output(`http://127.0.0.1:${a.apiPort}`),
      submitJob: redisUrl.apply((url) => `REDIS_URL=${url} npx code-exec submit examples/hello.py`),
    };
    this.registerOutputs(this.outputs);
  }
}
