// Which environment variables the worker and the runner sidecar get, for every target and runner mode, in one place.
// Pure (no Pulumi import): the components turn these into ECS `environment`, Kubernetes `env` or Docker `envs`, and
// the unit tests check the wiring without mocks. The names are the worker's contract (worker/config.ts, README).
import { DEFAULT_CONSUMER_GROUP, DEFAULT_STREAM_KEY } from '../core/keys.js';
import type { RunnerMode } from '../core/runnerModes.js';

/** The worker serves /metrics, /healthz (liveness) and /readyz (readiness) here. */
export const METRICS_PORT = 9464;
/** The HTTP API's port (Judge0's), in its container on every target; it serves /healthz and /readyz there too. */
export const API_PORT = 2358;
/** The directory worker and runner sidecar share (the sidecar's socket and heartbeat: core/protocol/sidecarExchange.ts). */
export const SHARED_DIR = '/shared';
/** Where the runner sidecar runs each job (memory-backed and executable where the platform allows): the executor's fixed place. */
export const RUNNER_WORKSPACE_DIR = '/workspace';
export const DOCKER_SOCKET = '/var/run/docker.sock';
/** The runner sidecar: the runner image's sandbox executor serving the shared directory (runner/sandbox/executor.c). */
export const SIDECAR_COMMAND = ['/opt/runner/sandbox-executor', '--serve', SHARED_DIR] as const;
/**
 * Both images' default uid/gid (`USER 1000` in runner/Dockerfile, the `node` user in worker/Dockerfile). The worker
 * runs as it everywhere; the runner sidecar runs as uid 0 (see RUNNER_SIDECAR_CAPABILITIES).
 */
export const APP_UID = 1000;
/**
 * The only capabilities the runner sidecar keeps (it runs as uid 0 with every other one dropped, never privileged,
 * no privilege escalation, read-only root): its executor refuses to start without uid 0, and needs
 * - SETUID, SETGID: to give every job step its own uid and gid (setgroups, setresgid, setresuid), as in every transport;
 * - DAC_OVERRIDE: to make its socket in the shared directory (the worker's, mode 1770) and to enter and empty
 *   whatever a job left, whatever modes it set;
 * - FOWNER: to set the shared directory's mode, and to remove what a job's uid left behind in sticky directories
 *   (/tmp, /workspace, any a job makes), where owning neither the file nor the directory would forbid it.
 */
export const RUNNER_SIDECAR_CAPABILITIES = ['SETUID', 'SETGID', 'DAC_OVERRIDE', 'FOWNER'] as const;
/** The CloudWatch metric the aws autoscaler tracks; the worker publishes it with CLOUDWATCH_METRICS=true. */
export const QUEUE_DEPTH_METRIC = { namespace: 'CodeExecution', metricName: 'QueueDepth' } as const;
/**
 * The backlog as every worker serves it on /metrics (worker/metrics.ts): the Prometheus gauge of entries not yet
 * delivered to the group, with its labels. Every pod exports the same group-wide number.
 */
export const PROMETHEUS_QUEUE_GAUGE = { name: 'redis_stream_lag', labels: { stream: DEFAULT_STREAM_KEY, group: DEFAULT_CONSUMER_GROUP } } as const;

/**
 * Variables that carry credentials. They reach the worker only as secrets (ECS `secrets` from Secrets Manager,
 * Kubernetes secretKeyRef), never as plain values; workerEnvironment refuses them.
 */
export const SECRET_ENV_NAMES = ['REDIS_URL', 'DATABASE_URL', 'AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY', 'API_TOKENS', 'CALLBACK_SIGNING_KEY'] as const;
export type SecretEnvName = (typeof SECRET_ENV_NAMES)[number];

export interface WorkerEnvInput {
  runnerMode: RunnerMode;
  maxConcurrentJobs: number;
  /** Required for the docker and kubernetes modes (the image the worker starts per job). */
  runnerImage?: string;
  s3Bucket: string;
  s3Region: string;
  /** Only for S3-compatible stores that are not AWS S3 (the local object store, GCS interoperability); path-style is used when set. */
  s3Endpoint?: string;
  /** aws only: publish CodeExecution/QueueDepth for the autoscaler. */
  cloudwatchMetrics?: boolean;
  /** docker mode, the worker in a container: its exchange volume's path on the engine's host (DOCKER_EXCHANGE_HOST_DIR). */
  dockerExchangeHostDir?: string;
  /** kubernetes mode: where the worker creates runner Jobs. */
  k8sNamespace?: string;
  /** REDIS_URL names a node of a Redis Cluster (see redisClusterEnvironment). */
  redisCluster?: boolean;
  /** PEM of the CA(s) the database's certificate chains to (DATABASE_CA_CERT): RDS's regional bundle, Cloud SQL's server CA. */
  databaseCaCert?: string;
  /** The name the database's certificate carries when DATABASE_URL's host is an address (DATABASE_SERVER_NAME). */
  databaseServerName?: string;
}

export class WorkerEnvError extends Error {
  override readonly name = 'WorkerEnvError';
}

/** The worker's plain (non-secret) environment. Secrets are wired separately, see SECRET_ENV_NAMES. */
export function workerEnvironment(input: WorkerEnvInput): Record<string, string> {
  const env: Record<string, string> = {
    STREAM_KEY: DEFAULT_STREAM_KEY,
    CONSUMER_GROUP: DEFAULT_CONSUMER_GROUP,
    RUNNER_MODE: input.runnerMode,
    MAX_CONCURRENT_JOBS: String(input.maxConcurrentJobs),
    METRICS_PORT: String(METRICS_PORT),
    S3_BUCKET: input.s3Bucket,
    S3_REGION: input.s3Region,
    ...redisClusterEnvironment(input.redisCluster),
  };
  if (input.s3Endpoint) env.S3_ENDPOINT = input.s3Endpoint;
  // Public certificates, not secrets: plain variables.
  if (input.databaseCaCert) env.DATABASE_CA_CERT = input.databaseCaCert;
  if (input.databaseServerName) env.DATABASE_SERVER_NAME = input.databaseServerName;
  if (input.cloudwatchMetrics) env.CLOUDWATCH_METRICS = 'true';
  const needRunnerImage = () => {
    if (!input.runnerImage) throw new WorkerEnvError(`workerEnvironment: runnerImage is required for runner mode ${input.runnerMode}`);
    return input.runnerImage;
  };
  switch (input.runnerMode) {
    case 'docker':
      env.RUNNER_IMAGE = needRunnerImage();
      env.DOCKER_SOCKET = DOCKER_SOCKET;
      if (input.dockerExchangeHostDir) env.DOCKER_EXCHANGE_HOST_DIR = input.dockerExchangeHostDir;
      break;
    case 'sidecar':
      env.SIDECAR_DIR = SHARED_DIR;
      break;
    case 'kubernetes':
      env.RUNNER_IMAGE = needRunnerImage();
      if (!input.k8sNamespace) throw new WorkerEnvError('workerEnvironment: k8sNamespace is required for runner mode kubernetes');
      env.K8S_NAMESPACE = input.k8sNamespace;
      break;
    case 'process':
      break;
  }
  return env;
}

/**
 * REDIS_CLUSTER=true when Redis is a cluster (the worker, the CLI and the API then use a cluster client); nothing
 * otherwise. Every workload that gets REDIS_URL spreads this in, so none can be wired to a cluster without it.
 */
export function redisClusterEnvironment(redisCluster = false): Record<string, string> {
  return redisCluster ? { REDIS_CLUSTER: 'true' } : {};
}

/** The HTTP API's plain environment on the cloud targets: where it listens and the queue it feeds. Secrets apart. */
export function apiEnvironment(input: { redisCluster?: boolean } = {}): Record<string, string> {
  return {
    API_PORT: String(API_PORT),
    API_HOST: '0.0.0.0',
    STREAM_KEY: DEFAULT_STREAM_KEY,
    CONSUMER_GROUP: DEFAULT_CONSUMER_GROUP,
    ...redisClusterEnvironment(input.redisCluster),
  };
}

/** Sorted `{name, value}` pairs (ECS `environment`, Kubernetes `env`), so a rebuild does not reorder and redeploy. */
export function nameValueList(env: Record<string, string>): { name: string; value: string }[] {
  return Object.keys(env)
    .sort()
    .map((name) => ({ name, value: env[name] }));
}

/** `KEY=value` strings (Docker `envs`), sorted. */
export function dockerEnvList(env: Record<string, string>): string[] {
  return nameValueList(env).map(({ name, value }) => `${name}=${value}`);
}

/** Throws when a secret's name shows up among plain variables: the one rule every target must keep. */
export function assertNoSecretsInPlainEnv(env: Record<string, unknown>, where: string): void {
  const leaked = Object.keys(env).filter((k) => (SECRET_ENV_NAMES as readonly string[]).includes(k));
  if (leaked.length) throw new WorkerEnvError(`${where}: ${leaked.join(', ')} must be passed as secrets, not plain environment`);
}

/** A Node one-liner for container health checks: exit 0 when `path` (the worker's /healthz by default) answers 2xx. */
export function healthCheckCommand(path = '/healthz', port = METRICS_PORT): string[] {
  return ['node', '-e', `fetch('http://127.0.0.1:${port}${path}').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))`];
}
