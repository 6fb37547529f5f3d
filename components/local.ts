// code-execution:local:Environment — the whole system on this machine's Docker engine: a private network, Redis
// with append-only persistence, PostgreSQL (the results' record), the object store with the code bucket
// (components/objectStore/), the images, worker container(s) that run each job in a fresh hardened runner container
// through the engine's socket (RUNNER_MODE=docker), and the HTTP API (`code-exec api`, from the worker image)
// published on 127.0.0.1.
import * as docker from '@pulumi/docker';
import * as pulumi from '@pulumi/pulumi';
import * as random from '@pulumi/random';
import { statSync } from 'node:fs';
import { DOCKER_EXCHANGE_ROOT } from '../core/dockerExchange.js';
import { buildImage, type Images } from './images.js';
import { API_PORT, apiEnvironment, APP_UID, DOCKER_SOCKET, dockerEnvList, healthCheckCommand, workerEnvironment } from './workerEnv.js';

export const LOCAL_BUCKET = 'code-execution';
/** Official images, maintained and on Docker Hub. */
export const REDIS_IMAGE = 'redis:7-bookworm';
export const POSTGRES_IMAGE = 'postgres:17-bookworm';
const OBJECT_STORE_PORT = 9000;
const DATABASE = 'code_execution';
const OBJECT_STORE_KEY_ID = 'code-execution';

/**
 * Redis's URL on the private network, by its container's name: each stack's own, so two stacks on one engine are two
 * deployments (core/sandboxOwner.ts), and neither's reaper takes the other's runner containers for orphans.
 */
const localRedisUrl = (name: string) => `redis://${name}-redis:6379`;

/**
 * The API container's environment: the clouds' (where it listens, the queue it feeds) plus, as plain variables here
 * (the whole list is a Pulumi secret, and Redis is on the private network), the Redis URL and callback signing key.
 */
function localApiEnvironment(name: string, signingKey: string): Record<string, string> {
  return { ...apiEnvironment(), REDIS_URL: localRedisUrl(name), CALLBACK_SIGNING_KEY: signingKey };
}

export interface LocalEnvironmentArgs {
  readonly images: Images;
  /** Worker containers to run. Defaults to 1. */
  readonly workers?: number;
  /** Jobs in flight per worker. Defaults to 2. */
  readonly maxConcurrentJobs?: number;
  /** Host ports, bound to 127.0.0.1 only. Default to 6379, 9000, 5432 and 2358 (the API, Judge0's port). */
  readonly redisPort?: number;
  readonly objectStorePort?: number;
  readonly postgresPort?: number;
  readonly apiPort?: number;
  /** Days before the object store deletes an object of the code bucket. Defaults to 30. */
  readonly bucketExpirationDays?: number;
  /** The engine's socket on this host. Defaults to /var/run/docker.sock. */
  readonly dockerSocket?: string;
  /** The socket's group as the engine's host has it, added to the (non-root) worker. Defaults: see dockerSocketGroup. */
  readonly dockerSocketGid?: number;
}

/**
 * The group the worker needs for the engine's socket, as the socket is inside the worker container: the configured
 * one; on Linux, where the engine runs on this host, the socket's own group here; elsewhere (Docker Desktop on macOS
 * or Windows) the engine runs in a VM whose socket belongs to root's group, whatever the host's file says.
 */
export function dockerSocketGroup(socket: string, configured: number | undefined, platform: NodeJS.Platform = process.platform): { gid?: number; why: string } {
  if (configured !== undefined) return { gid: configured, why: 'configured (localDockerSocketGid)' };
  if (platform !== 'linux') return { gid: 0, why: `the engine runs in a VM on ${platform} (Docker Desktop), where its socket belongs to group 0` };
  try {
    return { gid: statSync(socket).gid, why: `the group of ${socket} on this host` };
  } catch {
    return { why: `${socket} not found on this host: the worker gets no group for it and may not reach Docker (set localDockerSocketGid)` };
  }
}

export class LocalEnvironment extends pulumi.ComponentResource {
  readonly outputs: Record<string, pulumi.Output<string>>;

  constructor(name: string, args: LocalEnvironmentArgs, opts?: pulumi.ComponentResourceOptions) {
    super('code-execution:local:Environment', name, {}, opts);
    const a = {
      workers: 1, maxConcurrentJobs: 2, redisPort: 6379, objectStorePort: OBJECT_STORE_PORT, postgresPort: 5432, apiPort: API_PORT,
      bucketExpirationDays: 30, dockerSocket: DOCKER_SOCKET, ...args,
    };
    for (const key of ['workers', 'maxConcurrentJobs', 'redisPort', 'objectStorePort', 'postgresPort', 'apiPort', 'bucketExpirationDays'] as const) {
      if (!Number.isInteger(a[key]) || a[key] < 1) throw new Error(`LocalEnvironment ${name}: ${key} must be a whole number >= 1, got ${a[key]}`);
    }
    const socketGroup = dockerSocketGroup(a.dockerSocket, a.dockerSocketGid);
    pulumi.log.info(`worker's group for the Docker socket: ${socketGroup.gid ?? 'none'} (${socketGroup.why})`, this);
    const child = { parent: this };

    const network = new docker.Network(`${name}-net`, { name: `${name}-net`, driver: 'bridge' }, child);
    // Containers find each other by name on it (Docker's DNS on a user-defined network).
    const onNetwork = [{ name: network.name }];
    const pull = (key: string, image: string) => new docker.RemoteImage(`${name}-${key}-image`, { name: image, keepLocally: true }, child);
    const volume = (key: string) => new docker.Volume(`${name}-${key}`, { name: `${name}-${key}` }, child);
    const secretEnvs = (env: pulumi.Input<Record<string, pulumi.Input<string>>>) =>
      pulumi.secret(pulumi.output(env).apply((e) => dockerEnvList(e as Record<string, string>)));

    // --- Redis: the queue. Append-only file, so a restart keeps the stream and its pending entries. -------------
    const redis = new docker.Container(
      `${name}-redis`,
      {
        name: `${name}-redis`,
        image: pull('redis', REDIS_IMAGE).imageId,
        command: ['redis-server', '--appendonly', 'yes', '--appendfsync', 'everysec'],
        networksAdvanced: onNetwork,
        ports: [{ internal: 6379, external: a.redisPort, ip: '127.0.0.1' }],
        volumes: [{ volumeName: volume('redis-data').name, containerPath: '/data' }],
        healthcheck: { tests: ['CMD', 'redis-cli', 'ping'], interval: '10s', timeout: '3s', retries: 5 },
        restart: 'unless-stopped',
      },
      child,
    );

    // --- PostgreSQL: the record of every job and its result (the worker makes its tables). -----------------------
    const postgresPassword = new random.RandomPassword(`${name}-postgres-password`, { length: 32, special: false }, child);
    const postgres = new docker.Container(
      `${name}-postgres`,
      {
        name: `${name}-postgres`,
        image: pull('postgres', POSTGRES_IMAGE).imageId,
        envs: secretEnvs({ POSTGRES_USER: DATABASE, POSTGRES_DB: DATABASE, POSTGRES_PASSWORD: postgresPassword.result }),
        networksAdvanced: onNetwork,
        ports: [{ internal: 5432, external: a.postgresPort, ip: '127.0.0.1' }],
        volumes: [{ volumeName: volume('postgres-data').name, containerPath: '/var/lib/postgresql/data' }],
        healthcheck: { tests: ['CMD', 'pg_isready', '-U', DATABASE, '-d', DATABASE], interval: '10s', timeout: '3s', retries: 5 },
        restart: 'unless-stopped',
      },
      child,
    );

    // --- the object store: the code bucket, its own credentials, objects expiring (components/objectStore/). ------
    const objectStoreSecret = new random.RandomPassword(`${name}-object-store-secret`, { length: 40, special: false }, child);
    const objectStore = new docker.Container(
      `${name}-object-store`,
      {
        name: `${name}-object-store`,
        image: buildImage(`${name}-object-store-image`, { repository: 'code-object-store', tag: 'latest', dockerfile: 'components/objectStore/Dockerfile' }, this),
        envs: secretEnvs({
          OBJECT_STORE_ACCESS_KEY_ID: OBJECT_STORE_KEY_ID,
          OBJECT_STORE_SECRET_ACCESS_KEY: objectStoreSecret.result,
          OBJECT_STORE_BUCKETS: LOCAL_BUCKET,
          OBJECT_STORE_EXPIRATION_DAYS: String(a.bucketExpirationDays),
        }),
        networksAdvanced: onNetwork,
        ports: [{ internal: OBJECT_STORE_PORT, external: a.objectStorePort, ip: '127.0.0.1' }],
        volumes: [{ volumeName: volume('object-store-data').name, containerPath: '/data' }],
        user: `${APP_UID}:${APP_UID}`,
        readOnly: true,
        capabilities: { drops: ['ALL'] },
        securityOpts: ['no-new-privileges:true'],
        restart: 'unless-stopped',
      },
      child,
    );

    // --- workers --------------------------------------------------------------------------------------------------
    // The runner containers' exchange directories: a volume the workers make them in, which the engine finds at its
    // mountpoint on its own host when it bind-mounts one into a runner container.
    const exchange = volume('docker-exchange');
    const workerNames: pulumi.Output<string>[] = [];
    for (let i = 0; i < a.workers; i++) {
      const worker = new docker.Container(
        `${name}-worker-${i}`,
        {
          name: `${name}-worker-${i}`,
          image: args.images.workerImage,
          command: ['worker'],
          envs: secretEnvs(
            pulumi.all([args.images.runnerImage, exchange.mountpoint, objectStoreSecret.result, postgresPassword.result]).apply(([runnerImage, exchangeHostDir, objectStoreKey, dbPassword]) => ({
              ...workerEnvironment({
                runnerMode: 'docker',
                maxConcurrentJobs: a.maxConcurrentJobs,
                runnerImage,
                dockerExchangeHostDir: exchangeHostDir,
                s3Bucket: LOCAL_BUCKET,
                s3Region: 'us-east-1',
                s3Endpoint: `http://${name}-object-store:${OBJECT_STORE_PORT}`,
              }),
              // Redis, PostgreSQL and the object store are reachable only on the private network and on 127.0.0.1,
              // so these are plain variables here (the whole list is a Pulumi secret); the clouds inject them as secrets.
              REDIS_URL: localRedisUrl(name),
              DATABASE_URL: `postgres://${DATABASE}:${dbPassword}@${name}-postgres:5432/${DATABASE}?sslmode=disable`,
              AWS_ACCESS_KEY_ID: OBJECT_STORE_KEY_ID,
              AWS_SECRET_ACCESS_KEY: objectStoreKey,
              WORKER_NAME: `${name}-worker-${i}`,
            })),
          ),
          networksAdvanced: onNetwork,
          // The docker transport starts one hardened runner container per job through the engine.
          volumes: [
            { hostPath: a.dockerSocket, containerPath: DOCKER_SOCKET },
            { volumeName: exchange.name, containerPath: DOCKER_EXCHANGE_ROOT },
          ],
          ...(socketGroup.gid !== undefined ? { groupAdds: [String(socketGroup.gid)] } : {}),
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
        { parent: this, dependsOn: [redis, postgres, objectStore] },
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
        envs: secretEnvs(signingKey.result.apply((key) => localApiEnvironment(name, key))),
        networksAdvanced: onNetwork,
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
      databaseUrl: pulumi.secret(pulumi.interpolate`postgres://${DATABASE}:${postgresPassword.result}@127.0.0.1:${a.postgresPort}/${DATABASE}`),
      objectStoreEndpoint: pulumi.output(`http://127.0.0.1:${a.objectStorePort}`),
      objectStoreAccessKeyId: pulumi.output(OBJECT_STORE_KEY_ID),
      objectStoreSecretAccessKey: pulumi.secret(objectStoreSecret.result),
      bucket: pulumi.output(LOCAL_BUCKET),
      workers: pulumi.all(workerNames).apply((n) => n.join(', ')),
      api: api.name,
      apiUrl: pulumi.output(`http://127.0.0.1:${a.apiPort}`),
      submitJob: redisUrl.apply((url) => `REDIS_URL=${url} npx code-exec submit examples/hello.py`),
    };
    this.registerOutputs(this.outputs);
  }
}
