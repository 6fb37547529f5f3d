// The worker's configuration, from the environment, validated once at start with messages a person can act on.
import { hostname } from 'node:os';
import { z } from 'zod';
import type { OperatorCaps } from '../core/protocol/limits.js';
import { databaseConnection, DatabaseConfigError, parseCertificates, type DatabaseTlsSettings } from './databaseTls.js';
import { bool, EnvConfigError, int, optional, readCaps } from './envConfig.js';
import { DEFAULT_CONSUMER_GROUP, DEFAULT_REDIS_URL, DEFAULT_STREAM_KEY } from '../core/keys.js';
import { RUNNER_MODE_SETTINGS, type RunnerModeSetting } from '../core/runnerModes.js';

const envSchema = z.object({
  REDIS_URL: z.string().url(`must be a URL like ${DEFAULT_REDIS_URL}`).default(DEFAULT_REDIS_URL),
  REDIS_CLUSTER: bool.default('false'),
  STREAM_KEY: z.string().min(1).default(DEFAULT_STREAM_KEY),
  CONSUMER_GROUP: z.string().min(1).default(DEFAULT_CONSUMER_GROUP),
  WORKER_NAME: z.string().regex(/^[A-Za-z0-9_.-]{1,64}$/, 'must be 1-64 of [A-Za-z0-9_.-]').default(hostname().slice(0, 48).replace(/[^A-Za-z0-9_.-]/g, '-')),
  DOCKER_SOCKET: z.string().min(1).default('/var/run/docker.sock'),
  DOCKER_RUNTIME: optional(z.string().regex(/^[A-Za-z0-9_.-]{1,64}$/, 'must be the name of a runtime the engine knows (docker info: Runtimes), e.g. runc or crun')),
  DOCKER_EXCHANGE_HOST_DIR: optional(z.string().regex(/^\/\S*$/, 'must be an absolute path: the worker\'s /run/code-execution/docker as the Docker engine sees it (the local stack sets it to its exchange volume)')),
  RUNNER_IMAGE: z.string().min(1).default('code-runner:latest'),
  SIDECAR_DIR: z.string().min(1).default('/shared'),
  SANDBOX_SUPERVISOR: optional(z.string().regex(/^\//, 'must be an absolute path to a sandbox-supervisor build')),
  K8S_NAMESPACE: z.string().regex(/^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/, 'must be a Kubernetes namespace name (1-63 of [a-z0-9-])').default('code-execution'),
  RUNNER_MODE: z.enum(RUNNER_MODE_SETTINGS, { errorMap: () => ({ message: `must be one of ${RUNNER_MODE_SETTINGS.join(', ')}` }) }).default('auto'),
  MAX_CONCURRENT_JOBS: int(1).default(2),
  POOL_SIZE: optional(int(0)),
  CLAIM_IDLE_MS: int(1000).default(30_000),
  MAX_DELIVERIES: int(1).default(3),
  SHUTDOWN_GRACE_MS: int(0).default(25_000),
  RESULT_TTL_SECONDS: int(1).default(86_400),
  RESULT_V1_KEYS: bool.default('true'),
  READ_BLOCK_MS: int(10).default(2000),
  WORKER_HEARTBEAT_TTL_MS: int(1000).default(30_000),
  TRIM_INTERVAL_MS: int(0).default(1000),
  DEAD_LETTER_MAXLEN: int(1).default(10_000),
  S3_BUCKET: optional(z.string().regex(/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/, 'must be an S3 bucket name: 3-63 of a-z, 0-9, ".", "-"')),
  S3_ENDPOINT: optional(z.string().regex(/^https?:\/\/[^\s/]+\S*$/, 'must be a URL like http://127.0.0.1:9000 (MinIO); leave unset for AWS S3')),
  S3_REGION: optional(z.string().min(1)),
  AWS_REGION: optional(z.string().min(1)),
  DATABASE_URL: optional(
    z.string().regex(/^postgres(ql)?:\/\/\S+$/, 'must be a PostgreSQL URL like postgres://user:password@host:5432/database'),
  ),
  DATABASE_CA_CERT: optional(z.string().min(1)),
  DATABASE_SERVER_NAME: optional(z.string().regex(/^\S{1,253}$/, 'must be the name the server\'s certificate carries, e.g. my-project:my-instance')),
  METRICS_PORT: int(0).max(65535, 'must be a port number (0 disables the metrics server)').default(9464),
  CLOUDWATCH_METRICS: bool.default('false'),
  CLOUDWATCH_NAMESPACE: z.string().min(1).max(255).default('CodeExecution'),
  CLOUDWATCH_INTERVAL_MS: int(1000).default(60_000),
});

export interface WorkerConfig {
  redisUrl: string;
  /** REDIS_URL is a node (or the configuration endpoint) of a Redis Cluster. */
  redisCluster: boolean;
  streamKey: string;
  consumerGroup: string;
  workerName: string;
  dockerSocket: string;
  /** docker mode: the engine's OCI runtime for runner containers (DOCKER_RUNTIME); undefined: the engine's default. */
  dockerRuntime?: string;
  /**
   * docker mode, when the worker itself runs in a container: where the engine finds the worker's exchange directory
   * (a volume mounted there), since it resolves the runner containers' bind sources on its own host. Undefined: the
   * worker runs on the engine's host, and the path is the same.
   */
  dockerExchangeHostDir?: string;
  /** process mode: the sandbox supervisor program (SANDBOX_SUPERVISOR); undefined: the one `npm run build` made. */
  sandboxSupervisor?: string;
  runnerImage: string;
  runnerMode: RunnerModeSetting;
  /** The directory shared with the runner sidecar (RUNNER_MODE=sidecar). */
  sidecarDir: string;
  /** Where the kubernetes transport creates its Jobs and ConfigMaps. */
  k8sNamespace: string;
  maxConcurrentJobs: number;
  /** docker and process modes: sandboxes kept set up ahead of jobs, their runner started (0: none). */
  poolSize: number;
  claimIdleMs: number;
  maxDeliveries: number;
  shutdownGraceMs: number;
  resultTtlSeconds: number;
  /** Also write each result under its protocol v1 key names (for one release, for readers not yet on v1.1). */
  resultV1Keys: boolean;
  readBlockMs: number;
  /** How long a worker counts as alive after its last heartbeat (the reaper waits this long for a dead one). */
  heartbeatTtlMs: number;
  /** How often acknowledged entries are trimmed from the stream (0: never). */
  trimIntervalMs: number;
  /** The dead-letter stream keeps this many entries, the newest. */
  deadLetterMaxLen: number;
  caps: OperatorCaps;
  /** Bucket that `codeKey` jobs name objects in; null: such jobs are rejected. */
  s3Bucket: string | null;
  /** S3-compatible endpoint (MinIO); when set, path-style addressing is used. Null: AWS S3. */
  s3Endpoint: string | null;
  s3Region: string;
  /** Region of the CloudWatch client (AWS_REGION, else us-east-1). */
  awsRegion: string;
  /** When set, every result is also written to the `submissions` table here. */
  databaseUrl: string | null;
  /** PEM of the CA PostgreSQL's certificate must chain to (DATABASE_CA_CERT); undefined: Node's own store. */
  databaseCaCert?: string;
  /** The name PostgreSQL's certificate must carry, when not DATABASE_URL's host (DATABASE_SERVER_NAME). */
  databaseServerName?: string;
  /** Port of /metrics, /healthz and /readyz; 0: no server. */
  metricsPort: number;
  cloudwatchMetrics: boolean;
  cloudwatchNamespace: string;
  cloudwatchIntervalMs: number;
}

export class ConfigError extends EnvConfigError {
  constructor(problems: string[]) {
    super('worker', problems);
    this.name = 'ConfigError';
  }
}

/** A bad DATABASE_URL or REDIS_URL is quoted in the error; its password is not. */
function withoutPassword(value: string | undefined): string | undefined {
  return value?.replace(/^([a-z][a-z0-9+.-]*:\/\/[^:/@\s]*):[^@\s]*@/i, '$1:***@');
}

export function loadConfig(env: NodeJS.ProcessEnv = process.env): WorkerConfig {
  const problems: string[] = [];
  const parsed = envSchema.safeParse(env);
  if (!parsed.success) {
    for (const i of parsed.error.issues) problems.push(`${i.path.join('.')}=${JSON.stringify(withoutPassword(env[String(i.path[0])]))}: ${i.message}`);
  }
  const caps = readCaps(env, problems);
  if (parsed.success) {
    const e = parsed.data;
    if (e.DATABASE_CA_CERT !== undefined) {
      try {
        parseCertificates(e.DATABASE_CA_CERT);
      } catch (err) {
        problems.push(`DATABASE_CA_CERT ${(err as Error).message}; it must be the PEM of the CA that signs PostgreSQL's certificate`);
      }
    }
    if (e.DATABASE_URL !== undefined && !problems.length) {
      try {
        databaseConnection(e.DATABASE_URL, { ca: e.DATABASE_CA_CERT, serverName: e.DATABASE_SERVER_NAME });
      } catch (err) {
        if (!(err instanceof DatabaseConfigError)) throw err;
        problems.push(`DATABASE_URL=${JSON.stringify(withoutPassword(e.DATABASE_URL))}: ${err.message}`);
      }
    }
  }
  if (problems.length || !parsed.success) throw new ConfigError(problems);
  const e = parsed.data;
  return {
    redisUrl: e.REDIS_URL,
    redisCluster: e.REDIS_CLUSTER === 'true',
    streamKey: e.STREAM_KEY,
    consumerGroup: e.CONSUMER_GROUP,
    workerName: e.WORKER_NAME,
    dockerSocket: e.DOCKER_SOCKET,
    dockerRuntime: e.DOCKER_RUNTIME,
    dockerExchangeHostDir: e.DOCKER_EXCHANGE_HOST_DIR,
    sandboxSupervisor: e.SANDBOX_SUPERVISOR,
    runnerImage: e.RUNNER_IMAGE,
    runnerMode: e.RUNNER_MODE,
    sidecarDir: e.SIDECAR_DIR,
    k8sNamespace: e.K8S_NAMESPACE,
    maxConcurrentJobs: e.MAX_CONCURRENT_JOBS,
    // One more sandbox ready than there are job slots: a job ending and the next arriving never find it empty.
    poolSize: e.POOL_SIZE ?? e.MAX_CONCURRENT_JOBS + 1,
    claimIdleMs: e.CLAIM_IDLE_MS,
    maxDeliveries: e.MAX_DELIVERIES,
    shutdownGraceMs: e.SHUTDOWN_GRACE_MS,
    resultTtlSeconds: e.RESULT_TTL_SECONDS,
    resultV1Keys: e.RESULT_V1_KEYS === 'true',
    readBlockMs: e.READ_BLOCK_MS,
    heartbeatTtlMs: e.WORKER_HEARTBEAT_TTL_MS,
    trimIntervalMs: e.TRIM_INTERVAL_MS,
    deadLetterMaxLen: e.DEAD_LETTER_MAXLEN,
    caps,
    s3Bucket: e.S3_BUCKET ?? null,
    s3Endpoint: e.S3_ENDPOINT ?? null,
    s3Region: e.S3_REGION ?? e.AWS_REGION ?? 'us-east-1',
    awsRegion: e.AWS_REGION ?? 'us-east-1',
    databaseUrl: e.DATABASE_URL ?? null,
    databaseCaCert: e.DATABASE_CA_CERT,
    databaseServerName: e.DATABASE_SERVER_NAME,
    metricsPort: e.METRICS_PORT,
    cloudwatchMetrics: e.CLOUDWATCH_METRICS === 'true',
    cloudwatchNamespace: e.CLOUDWATCH_NAMESPACE,
    cloudwatchIntervalMs: e.CLOUDWATCH_INTERVAL_MS,
  };
}

/** The database's TLS settings as the worker's config holds them (DATABASE_CA_CERT, DATABASE_SERVER_NAME). */
export function databaseTlsOf(config: Pick<WorkerConfig, 'databaseCaCert' | 'databaseServerName'>): DatabaseTlsSettings {
  return { ca: config.databaseCaCert, serverName: config.databaseServerName };
}
