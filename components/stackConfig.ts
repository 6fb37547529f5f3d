// Stack config for the code-execution Pulumi project, validated before any resource exists.
// Pure (no Pulumi import) so the rules can be unit-tested without the engine or mocks, and so a bad
// combination fails at the start of `pulumi preview` with the exact `pulumi config set` that fixes it,
// rather than halfway through a deployment.
import { LANGUAGES, selectLanguages } from '../core/languages.js';
import { RUNNER_MODES, type RunnerMode } from '../core/runnerModes.js';
import { runnerSidecarMemory } from './runnerSizing.js';

export const PROJECT = 'code-execution';

export const TARGETS = ['local', 'aws', 'gcp'] as const;
export type Target = (typeof TARGETS)[number];

/** The platforms the cloud stacks build their images for (Fargate and GKE Autopilot run both). */
export const CLOUD_IMAGE_PLATFORMS = ['linux/amd64', 'linux/arm64'] as const;
export type CloudImagePlatform = (typeof CLOUD_IMAGE_PLATFORMS)[number];

export interface StackConfig {
  target: Target;
  runnerMode: RunnerMode;
  maxConcurrentJobs: number;
  minWorkers: number;
  maxWorkers: number;
  queueDepthTarget: number;
  /** CPU of one worker container, in millicores (1000 = one vCPU). */
  workerCpuMillis: number;
  workerMemoryMb: number;
  /** CPU and memory of the runner sidecar next to each worker (the kubernetes mode sizes each runner Job from its job). */
  runnerCpuMillis: number;
  runnerMemoryMb: number;
  /** The runner image's languages: `all`, or a comma-separated list of recipe names (runner/Dockerfile's LANGUAGES). */
  runnerLanguages: string;
  /** aws and gcp: the platform the images are built for, and the architecture tasks and pods ask for. local builds for its engine. */
  imagePlatform: CloudImagePlatform;
  /** Size of the shared job directory and of the runner sidecar's /workspace (memory-backed on Kubernetes). */
  workspaceSizeMb: number;
  /** Redis and PostgreSQL in two zones: RDS Multi-AZ + ElastiCache failover, Cloud SQL REGIONAL + Memorystore STANDARD_HA. */
  multiAz: boolean;
  redisNodeType: string;
  dbInstanceClass: string;
  /** aws: the PEM file of the CAs that sign RDS certificates in the stack's region (the workers verify the database with it). */
  rdsCaBundleFile: string;
  redisMemoryGb: number;
  dbTier: string;
  dbStorageGb: number;
  logRetentionDays: number;
  /** Objects in the code bucket older than this are deleted (lifecycle rule). */
  bucketExpirationDays: number;
  localRedisPort: number;
  localObjectStorePort: number;
  localPostgresPort: number;
  /** Redis Cluster (sharded) instead of one node: ElastiCache cluster mode (aws), Memorystore for Redis Cluster (gcp). */
  redisCluster: boolean;
  /** Cluster mode only: shards (node groups) and replicas per shard. */
  redisShards: number;
  redisReplicasPerShard: number;
  /** The HTTP API's load balancer: internal to the VPC (false) or on the internet (true, aws needs apiCertificateArn). */
  apiPublic: boolean;
  /** aws: the ACM certificate of the API's HTTPS listener; empty: plain HTTP, internal only. */
  apiCertificateArn: string;
  /** The API's bearer tokens (comma or space separated, each >= 8 characters; set with --secret); empty: one generated. */
  apiTokens: string;
  /** API replicas the CPU autoscaler keeps between, and the average CPU utilization it aims for. */
  apiMinReplicas: number;
  apiMaxReplicas: number;
  apiCpuTargetPercent: number;
  /** CPU (millicores) and memory (MB) of one API container. */
  apiCpuMillis: number;
  apiMemoryMb: number;
}

/** The retention periods CloudWatch Logs accepts (anything else is refused by the API at deploy time). */
export const LOG_RETENTION_DAYS = [1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653] as const;

/** One row of the stack defaults table: a key's default and what it accepts. */
export interface StackKey<T> {
  readonly default: T;
  /** Whole numbers: the smallest and the largest accepted (no largest: unbounded), and the unit messages give. */
  readonly min?: number;
  readonly max?: number;
  readonly unit?: string;
  /** The only values accepted, when they are a list. */
  readonly oneOf?: readonly (string | number)[];
}

/**
 * The one table of stack defaults: every key of the project's config, its default and the values it accepts.
 * Pulumi.yaml declares the same defaults and its descriptions state the same ranges (test/pulumi/stackDefaults.test.ts
 * checks both): the CLI fills Pulumi.yaml's defaults in for a real run, while unit tests (mocks) and programs run
 * without the project file get them from here. The environment components (aws, gcp) default their args to it too,
 * so a component built without index.ts gets what a stack that leaves the key unset gets.
 */
export const STACK_KEYS: { readonly [K in keyof StackConfig]: StackKey<StackConfig[K]> } = {
  target: { default: 'local', oneOf: TARGETS },
  runnerMode: { default: 'docker', oneOf: RUNNER_MODES },
  // The sidecar runs one job at a time; docker and kubernetes stacks that want more per worker set it.
  maxConcurrentJobs: { default: 1, min: 1 },
  // The default target is local, where minWorkers is the number of worker containers; the cloud stack files set
  // their own autoscaling bounds (2 and 50).
  minWorkers: { default: 1, min: 1 },
  maxWorkers: { default: 1, min: 1 },
  queueDepthTarget: { default: 10, min: 1 },
  // Below 100m or 128 MB a Node worker or a compiler does not start; the upper bounds are Fargate's task limits.
  workerCpuMillis: { default: 500, min: 100, max: 16_000, unit: ' millicores' },
  workerMemoryMb: { default: 512, min: 128, max: 120_000, unit: ' MB' },
  runnerCpuMillis: { default: 1000, min: 100, max: 16_000, unit: ' millicores' },
  // Holds the runner sidecar's minimum with the default 512 MB memory-backed /workspace (1824 MB, see runnerSizing.ts).
  runnerMemoryMb: { default: 2048, min: 128, max: 120_000, unit: ' MB' },
  runnerLanguages: { default: 'all' },
  // Fargate's and Autopilot's default architecture; both also run arm64 (Graviton; Autopilot's Scale-Out class).
  imagePlatform: { default: 'linux/amd64', oneOf: CLOUD_IMAGE_PLATFORMS },
  workspaceSizeMb: { default: 512, min: 16, max: 65_536, unit: ' MB' },
  multiAz: { default: false },
  redisNodeType: { default: 'cache.t4g.micro' },
  dbInstanceClass: { default: 'db.t4g.micro' },
  // No default that works: the bundle is AWS's to publish and the operator's to fetch (README, "The database over TLS").
  rdsCaBundleFile: { default: '' },
  redisMemoryGb: { default: 1, min: 1, max: 300, unit: ' GB' },
  dbTier: { default: 'db-g1-small' },
  // 20 GB is the smallest gp3 volume RDS allows (Cloud SQL's is 10).
  dbStorageGb: { default: 20, min: 20, max: 65_536, unit: ' GB' },
  logRetentionDays: { default: 30, oneOf: LOG_RETENTION_DAYS },
  bucketExpirationDays: { default: 30, min: 1, max: 36_500, unit: ' days' },
  localRedisPort: { default: 6379, min: 1, max: 65_535 },
  localObjectStorePort: { default: 9000, min: 1, max: 65_535 },
  localPostgresPort: { default: 5432, min: 1, max: 65_535 },
  redisCluster: { default: false },
  // Three masters is the smallest Redis Cluster that survives losing one; 250 is Memorystore's shard limit.
  redisShards: { default: 3, min: 1, max: 250 },
  // ElastiCache takes up to 5 replicas per shard; Memorystore up to 2 (checked for gcp in parseStackConfig).
  redisReplicasPerShard: { default: 1, min: 0, max: 5 },
  apiPublic: { default: false },
  apiCertificateArn: { default: '' },
  apiTokens: { default: '' },
  // Two replicas: the API stays up while one is replaced.
  apiMinReplicas: { default: 2, min: 1 },
  apiMaxReplicas: { default: 10, min: 1 },
  apiCpuTargetPercent: { default: 60, min: 10, max: 90, unit: ' %' },
  // 250m / 512 MB is the smallest Fargate task (256 units, 512 MB).
  apiCpuMillis: { default: 250, min: 100, max: 16_000, unit: ' millicores' },
  apiMemoryMb: { default: 512, min: 128, max: 120_000, unit: ' MB' },
};

/** The defaults column of STACK_KEYS: what parseStackConfig returns when nothing is set. */
export const DEFAULTS = Object.fromEntries(Object.entries(STACK_KEYS).map(([key, row]) => [key, row.default])) as unknown as StackConfig;

/** Which runner modes each target can actually host; the first entry is the one to suggest. */
export const ALLOWED_MODES: Record<Target, readonly RunnerMode[]> = {
  local: ['docker'],
  aws: ['sidecar'],
  gcp: ['sidecar', 'kubernetes'],
};

/** Why a mode is refused on a target, so the error explains itself instead of just listing values. */
const REFUSAL_REASONS: Partial<Record<Target, Partial<Record<RunnerMode, string>>>> = {
  local: {
    process:
      'the local stack runs the worker in a container, and the process sandbox needs root and writable cgroups on the host; ' +
      'for it, run `code-exec worker` on the host with RUNNER_MODE=process instead',
    sidecar: 'the sidecar runner is wired up by the cloud task definitions',
    kubernetes: 'the local target has no Kubernetes cluster',
  },
  aws: {
    docker: 'Fargate has no Docker socket',
    process: 'Fargate tasks cannot create the namespaces and cgroups the process sandbox needs',
    kubernetes: 'the aws target runs on ECS Fargate, not Kubernetes',
  },
  gcp: {
    docker: 'Cloud Run and GKE nodes expose no Docker socket',
    process: 'managed GCP runtimes cannot create the namespaces and cgroups the process sandbox needs',
  },
};

/** A config problem; `keys` are the fully qualified keys to change, and the message names them too. */
export class StackConfigError extends Error {
  override readonly name = 'StackConfigError';
  constructor(
    readonly keys: readonly string[],
    message: string,
  ) {
    super(message);
  }
}

const fullKey = (key: string): string => `${PROJECT}:${key}`;
const setCommand = (key: string, value: string | number): string => `pulumi config set ${fullKey(key)} ${value}`;

function isOneOf<T extends string>(values: readonly T[], v: string): v is T {
  return (values as readonly string[]).includes(v);
}

type NumberKey = { [K in keyof StackConfig]: StackConfig[K] extends number ? K : never }[keyof StackConfig];
type StringKey = { [K in keyof StackConfig]: StackConfig[K] extends string ? K : never }[keyof StackConfig];

/** A whole number >= `least` (1 unless the key's row allows less, as redisReplicasPerShard's 0). */
function parsePositiveInt(get: (key: string) => string | undefined, key: NumberKey, least = Math.min(1, STACK_KEYS[key].min ?? 1)): number {
  const raw = get(key);
  if (raw === undefined) return DEFAULTS[key] as number;
  // Digits only: Number('') is 0, Number('1e3') is 1000 and parseInt('2x') is 2, none of which is what was meant.
  const trimmed = raw.trim();
  const n = /^\d+$/.test(trimmed) ? Number(trimmed) : NaN;
  if (!Number.isSafeInteger(n) || n < least) {
    throw new StackConfigError(
      [fullKey(key)],
      `${fullKey(key)} must be a whole number >= ${least}, got ${JSON.stringify(raw)}; set it with: ${setCommand(key, DEFAULTS[key])}`,
    );
  }
  return n;
}

/** A whole number within the key's [min, max] of STACK_KEYS; the message gives the range and the default as the fix. */
function parseIntInRange(get: (key: string) => string | undefined, key: NumberKey): number {
  const { min = 1, max = Number.MAX_SAFE_INTEGER, unit = '' } = STACK_KEYS[key] as StackKey<number>;
  const n = parsePositiveInt(get, key);
  if (n < min || n > max) {
    throw new StackConfigError(
      [fullKey(key)],
      `${fullKey(key)} must be between ${min} and ${max}${unit}, got ${n}; set it with: ${setCommand(key, DEFAULTS[key])}`,
    );
  }
  return n;
}

type BooleanKey = { [K in keyof StackConfig]: StackConfig[K] extends boolean ? K : never }[keyof StackConfig];

function parseBoolean(get: (key: string) => string | undefined, key: BooleanKey): boolean {
  const raw = get(key);
  if (raw === undefined) return DEFAULTS[key];
  const v = raw.trim().toLowerCase();
  if (v === 'true') return true;
  if (v === 'false') return false;
  throw new StackConfigError([fullKey(key)], `${fullKey(key)} must be true or false, got ${JSON.stringify(raw)}; set it with: ${setCommand(key, DEFAULTS[key] ? 'true' : 'false')}`);
}

/** A string matching `pattern`; `shape` says in words what was expected. */
function parsePattern(get: (key: string) => string | undefined, key: StringKey, pattern: RegExp, shape: string): string {
  const raw = get(key);
  if (raw === undefined) return DEFAULTS[key];
  const v = raw.trim();
  if (!pattern.test(v)) {
    throw new StackConfigError([fullKey(key)], `${fullKey(key)} must be ${shape}, got ${JSON.stringify(raw)}; set it with: ${setCommand(key, DEFAULTS[key])}`);
  }
  return v;
}

/** `all`, or recipe names separated by commas (spaces allowed), each known: what runner/Dockerfile's LANGUAGES takes. */
function parseLanguages(get: (key: string) => string | undefined): string {
  const raw = get('runnerLanguages');
  if (raw === undefined || raw.trim() === 'all') return DEFAULTS.runnerLanguages;
  const { names, unknown } = selectLanguages(raw);
  if (!names.length || unknown.length) {
    throw new StackConfigError(
      [fullKey('runnerLanguages')],
      `${fullKey('runnerLanguages')} must be all or names of ${Object.keys(LANGUAGES).join(', ')}, comma-separated; ` +
        `${unknown.length ? `unknown: ${unknown.join(', ')}` : 'got none'}. Set it with: ${setCommand('runnerLanguages', 'python,c,cpp,java')}`,
    );
  }
  return names.join(',');
}

/** The API's tokens as the API reads API_TOKENS (comma or space separated), each as long as it requires. */
export function splitApiTokens(value: string): string[] {
  return value.split(/[\s,]+/).filter(Boolean);
}

/** apiTokens, normalised to one comma-separated list; the message never quotes it (it is a secret). */
function parseApiTokens(get: (key: string) => string | undefined): string {
  const tokens = splitApiTokens(get('apiTokens') ?? DEFAULTS.apiTokens);
  if (tokens.some((t) => t.length < 8)) {
    throw new StackConfigError(
      [fullKey('apiTokens')],
      `${fullKey('apiTokens')}: every token must be at least 8 characters (the API refuses shorter ones); set it with: pulumi config set --secret ${fullKey('apiTokens')} <token>[,<token>...]`,
    );
  }
  return tokens.join(',');
}

/**
 * Reads and validates the stack config. `get` takes the key without the project prefix (as
 * `new pulumi.Config('code-execution').get` does) and returns undefined when the key is unset.
 * Throws StackConfigError on the first problem found.
 */
export function parseStackConfig(get: (key: string) => string | undefined): StackConfig {
  const target = get('target') ?? DEFAULTS.target;
  if (!isOneOf(TARGETS, target)) {
    throw new StackConfigError(
      [fullKey('target')],
      `${fullKey('target')} ${JSON.stringify(target)} is not a target; use one of ${TARGETS.join(', ')}. ` +
        `Set it with: ${setCommand('target', DEFAULTS.target)}`,
    );
  }

  const allowed = ALLOWED_MODES[target];
  // Same default as Pulumi.yaml (docker), so an aws/gcp stack that omits runnerMode is refused here exactly as
  // it would be under the CLI, which fills the project default in before the program runs.
  const runnerMode = get('runnerMode') ?? DEFAULTS.runnerMode;
  if (!isOneOf(RUNNER_MODES, runnerMode)) {
    throw new StackConfigError(
      [fullKey('runnerMode')],
      `${fullKey('runnerMode')} ${JSON.stringify(runnerMode)} is not a runner mode; on target ${target} use ` +
        `${allowed.join(' or ')}. Set it with: ${setCommand('runnerMode', allowed[0])}`,
    );
  }
  if (!allowed.includes(runnerMode)) {
    const reason = REFUSAL_REASONS[target]?.[runnerMode] ?? `target ${target} supports only ${allowed.join(', ')}`;
    throw new StackConfigError(
      [fullKey('runnerMode')],
      `${fullKey('runnerMode')} ${JSON.stringify(runnerMode)} cannot work on target ${target} (${reason}); ` +
        `set it with: ${setCommand('runnerMode', allowed[0])}`,
    );
  }

  const maxConcurrentJobs = parsePositiveInt(get, 'maxConcurrentJobs');
  const minWorkers = parsePositiveInt(get, 'minWorkers');
  const maxWorkers = parsePositiveInt(get, 'maxWorkers');
  const queueDepthTarget = parsePositiveInt(get, 'queueDepthTarget');

  // An autoscaler given min > max either errors at deploy time or silently clamps; refuse it here instead.
  if (minWorkers > maxWorkers) {
    throw new StackConfigError(
      [fullKey('minWorkers'), fullKey('maxWorkers')],
      `${fullKey('minWorkers')} (${minWorkers}) is greater than ${fullKey('maxWorkers')} (${maxWorkers}); ` +
        `lower one or raise the other, e.g.: ${setCommand('maxWorkers', minWorkers)}`,
    );
  }

  const logRetentionDays = parsePositiveInt(get, 'logRetentionDays');
  if (!(LOG_RETENTION_DAYS as readonly number[]).includes(logRetentionDays)) {
    throw new StackConfigError(
      [fullKey('logRetentionDays')],
      `${fullKey('logRetentionDays')} ${logRetentionDays} is not a retention CloudWatch Logs accepts; use one of ${LOG_RETENTION_DAYS.join(', ')}. ` +
        `Set it with: ${setCommand('logRetentionDays', DEFAULTS.logRetentionDays)}`,
    );
  }

  const runnerMemoryMb = parseIntInRange(get, 'runnerMemoryMb');
  const workspaceSizeMb = parseIntInRange(get, 'workspaceSizeMb');
  if (runnerMode === 'sidecar') {
    // The sidecar's container is the sandbox of one job at a time: too small, and a job within its limit gets the
    // container OOM-killed. On Kubernetes its /workspace is memory-backed and counts; Fargate has no tmpfs.
    const need = runnerSidecarMemory({ memoryBackedWorkspaceMb: target === 'aws' ? 0 : workspaceSizeMb });
    if (runnerMemoryMb < need.minimumMb) {
      throw new StackConfigError(
        [fullKey('runnerMemoryMb')],
        `${fullKey('runnerMemoryMb')} ${runnerMemoryMb} MB is too small for the runner sidecar, which needs ${need.explanation}; ` +
          `set it with: ${setCommand('runnerMemoryMb', need.minimumMb)}`,
      );
    }
  }

  const redisCluster = parseBoolean(get, 'redisCluster');
  const multiAz = parseBoolean(get, 'multiAz');
  const redisReplicasPerShard = parseIntInRange(get, 'redisReplicasPerShard');
  if (redisCluster && target === 'gcp' && redisReplicasPerShard > 2) {
    throw new StackConfigError(
      [fullKey('redisReplicasPerShard')],
      `${fullKey('redisReplicasPerShard')} ${redisReplicasPerShard} is more than Memorystore for Redis Cluster allows (2); set it with: ${setCommand('redisReplicasPerShard', 2)}`,
    );
  }
  // multiAz promises a copy in another zone that takes over; a shard without a replica has none.
  if (redisCluster && multiAz && redisReplicasPerShard === 0) {
    throw new StackConfigError(
      [fullKey('redisReplicasPerShard'), fullKey('multiAz')],
      `${fullKey('redisReplicasPerShard')} 0 leaves no replica to fail over to, which ${fullKey('multiAz')} true needs; set it with: ${setCommand('redisReplicasPerShard', 1)}`,
    );
  }

  const imagePlatform = get('imagePlatform')?.trim() ?? DEFAULTS.imagePlatform;
  if (!isOneOf(CLOUD_IMAGE_PLATFORMS, imagePlatform)) {
    throw new StackConfigError(
      [fullKey('imagePlatform')],
      `${fullKey('imagePlatform')} ${JSON.stringify(imagePlatform)} is not a platform the cloud stacks build for; use one of ${CLOUD_IMAGE_PLATFORMS.join(', ')}. ` +
        `Set it with: ${setCommand('imagePlatform', DEFAULTS.imagePlatform)}`,
    );
  }
  if (target === 'gcp' && runnerMode === 'kubernetes' && imagePlatform !== DEFAULTS.imagePlatform) {
    throw new StackConfigError(
      [fullKey('imagePlatform'), fullKey('runnerMode')],
      `${fullKey('imagePlatform')} ${imagePlatform} cannot work with runnerMode kubernetes: the runner Jobs the worker creates ask for no ` +
        `architecture, so Autopilot places them on ${DEFAULTS.imagePlatform} nodes. Use runnerMode sidecar, or set it with: ${setCommand('imagePlatform', DEFAULTS.imagePlatform)}`,
    );
  }

  // Required on aws, where index.ts reads it (components/aws/databaseCa.ts says what to do when it is unset).
  const rdsCaBundleFile = (get('rdsCaBundleFile') ?? DEFAULTS.rdsCaBundleFile).trim();

  const apiMinReplicas = parseIntInRange(get, 'apiMinReplicas');
  const apiMaxReplicas = parseIntInRange(get, 'apiMaxReplicas');
  if (apiMinReplicas > apiMaxReplicas) {
    throw new StackConfigError(
      [fullKey('apiMinReplicas'), fullKey('apiMaxReplicas')],
      `${fullKey('apiMinReplicas')} (${apiMinReplicas}) is greater than ${fullKey('apiMaxReplicas')} (${apiMaxReplicas}); ` +
        `lower one or raise the other, e.g.: ${setCommand('apiMaxReplicas', apiMinReplicas)}`,
    );
  }
  const apiPublic = parseBoolean(get, 'apiPublic');
  const apiCertificateArn = parsePattern(
    get,
    'apiCertificateArn',
    /^(arn:aws[a-z-]*:acm:[a-z0-9-]+:\d{12}:certificate\/[0-9a-f-]+)?$/,
    'empty or an ACM certificate ARN like arn:aws:acm:us-east-1:123456789012:certificate/<id>',
  );
  if (target === 'aws' && apiPublic && !apiCertificateArn) {
    throw new StackConfigError(
      [fullKey('apiCertificateArn')],
      `${fullKey('apiPublic')} true puts the API on the internet, which needs HTTPS: ${fullKey('apiCertificateArn')} is not set. ` +
        `Set it with: ${setCommand('apiCertificateArn', 'arn:aws:acm:<region>:<account>:certificate/<id>')}`,
    );
  }

  return {
    target,
    runnerMode,
    maxConcurrentJobs,
    minWorkers,
    maxWorkers,
    queueDepthTarget,
    workerCpuMillis: parseIntInRange(get, 'workerCpuMillis'),
    workerMemoryMb: parseIntInRange(get, 'workerMemoryMb'),
    runnerCpuMillis: parseIntInRange(get, 'runnerCpuMillis'),
    runnerMemoryMb,
    runnerLanguages: parseLanguages(get),
    imagePlatform,
    workspaceSizeMb,
    multiAz,
    redisNodeType: parsePattern(get, 'redisNodeType', /^cache\.[a-z0-9]+\.[a-z0-9]+$/, 'an ElastiCache node type like cache.t4g.micro'),
    dbInstanceClass: parsePattern(get, 'dbInstanceClass', /^db\.[a-z0-9]+\.[a-z0-9]+$/, 'an RDS instance class like db.t4g.micro'),
    rdsCaBundleFile,
    redisMemoryGb: parseIntInRange(get, 'redisMemoryGb'),
    dbTier: parsePattern(get, 'dbTier', /^db-[a-z0-9-]+$/, 'a Cloud SQL tier like db-g1-small or db-custom-2-7680'),
    dbStorageGb: parseIntInRange(get, 'dbStorageGb'),
    logRetentionDays,
    bucketExpirationDays: parseIntInRange(get, 'bucketExpirationDays'),
    localRedisPort: parseIntInRange(get, 'localRedisPort'),
    localObjectStorePort: parseIntInRange(get, 'localObjectStorePort'),
    localPostgresPort: parseIntInRange(get, 'localPostgresPort'),
    redisCluster,
    redisShards: parseIntInRange(get, 'redisShards'),
    redisReplicasPerShard,
    apiPublic,
    apiCertificateArn,
    apiTokens: parseApiTokens(get),
    apiMinReplicas,
    apiMaxReplicas,
    apiCpuTargetPercent: parseIntInRange(get, 'apiCpuTargetPercent'),
    apiCpuMillis: parseIntInRange(get, 'apiCpuMillis'),
    apiMemoryMb: parseIntInRange(get, 'apiMemoryMb'),
  };
}

/** Where a cloud target deploys: provider config, not ours, so its keys are `aws:region`, `gcp:project`, `gcp:region`. */
export interface CloudLocation {
  region?: string;
  project?: string;
}

/**
 * Reads the provider keys a target needs. `get` takes the fully qualified key (`aws:region`). local needs none;
 * aws needs aws:region; gcp needs gcp:project and gcp:region (Autopilot, Memorystore and Cloud SQL are regional).
 */
export function parseCloudLocation(target: Target, get: (qualifiedKey: string) => string | undefined): CloudLocation {
  const need = (key: string, example: string, pattern: RegExp, shape: string): string => {
    const v = get(key)?.trim();
    if (!v) throw new StackConfigError([key], `${key} is not set; target ${target} needs it. Set it with: pulumi config set ${key} ${example}`);
    if (!pattern.test(v)) throw new StackConfigError([key], `${key} must be ${shape}, got ${JSON.stringify(v)}; set it with: pulumi config set ${key} ${example}`);
    return v;
  };
  switch (target) {
    case 'local':
      return {};
    case 'aws':
      return { region: need('aws:region', 'us-east-1', /^[a-z]{2}(-[a-z]+)+-\d$/, 'an AWS region like us-east-1') };
    case 'gcp':
      return {
        project: need('gcp:project', 'my-project-id', /^[a-z][a-z0-9-]{4,28}[a-z0-9]$/, 'a GCP project id (6-30 of a-z, 0-9, -)'),
        region: need('gcp:region', 'us-central1', /^[a-z]+-[a-z]+\d+$/, 'a GCP region like us-central1'),
      };
  }
}
