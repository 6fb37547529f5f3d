// The ECS Fargate task's containers, as the seed lays them out: the worker, and the runner as a sidecar sharing the
// job directory with it. Pure (types only from @pulumi/aws): components/aws.ts serialises the result into the
// task definition's containerDefinitions, and the unit tests read it without mocks.
import type * as aws from '@pulumi/aws';
import type { CloudImagePlatform } from './stackConfig.js';
import {
  API_PORT,
  APP_UID,
  assertNoSecretsInPlainEnv,
  healthCheckCommand,
  nameValueList,
  RUNNER_SIDECAR_CAPABILITIES,
  RUNNER_WORKSPACE_DIR,
  SHARED_DIR,
  SIDECAR_COMMAND,
} from './workerEnv.js';

/**
 * Task volumes: the shared job directory, the runner's workspace, and each container's /tmp. Fargate supports no
 * tmpfs, so all of them are task ephemeral storage (disk), bounded only by the task's ephemeralStorage; the sidecar
 * wipes its workspace and /tmp after every job.
 */
export const ECS_VOLUMES = { shared: 'shared', runnerWorkspace: 'runner-workspace', workerTmp: 'worker-tmp', runnerTmp: 'runner-tmp' } as const;

export interface EcsContainersInput {
  workerImage: string;
  runnerImage: string;
  /** Plain variables (workerEnvironment); must not contain a secret's name. */
  workerEnv: Record<string, string>;
  /** Secrets Manager ARNs by variable name (REDIS_URL, DATABASE_URL). */
  workerSecrets: Record<string, string>;
  logGroup: string;
  region: string;
  /** ECS CPU units (1024 = 1 vCPU) and MB, per container. */
  workerCpuUnits: number;
  workerMemoryMb: number;
  runnerCpuUnits: number;
  runnerMemoryMb: number;
}

const logs = (input: Pick<EcsContainersInput, 'logGroup' | 'region'>, prefix: string): aws.ecs.LogConfiguration => ({
  logDriver: 'awslogs',
  options: { 'awslogs-group': input.logGroup, 'awslogs-region': input.region, 'awslogs-stream-prefix': prefix },
});

/**
 * The capabilities Docker (and containerd, Fargate's runtime) give a container by default. Fargate lets no
 * container add one (except SYS_PTRACE), so a container that needs a few of them keeps them by dropping the rest:
 * see dropAllBut.
 */
export const DOCKER_DEFAULT_CAPABILITIES = [
  'AUDIT_WRITE',
  'CHOWN',
  'DAC_OVERRIDE',
  'FOWNER',
  'FSETID',
  'KILL',
  'MKNOD',
  'NET_BIND_SERVICE',
  'NET_RAW',
  'SETFCAP',
  'SETGID',
  'SETPCAP',
  'SETUID',
  'SYS_CHROOT',
] as const satisfies readonly aws.ecs.KernelCapability[];
type DefaultCapability = (typeof DOCKER_DEFAULT_CAPABILITIES)[number];

/** The `drop` list that leaves a container exactly `keep` of Docker's default capabilities. */
export function dropAllBut(keep: readonly DefaultCapability[]): aws.ecs.KernelCapability[] {
  return DOCKER_DEFAULT_CAPABILITIES.filter((c) => !keep.includes(c));
}

/**
 * Fargate creates task volumes owned by root, mode 0755. So a short-lived init container gives the job directory to
 * uid 1000 (the worker) and makes the /tmp volumes sticky and world-writable before worker and runner start: it
 * keeps CHOWN alone of Docker's default capabilities, has a read-only root, and is not essential (it exits when
 * done; the others wait for its success). The runner's workspace needs nothing: the sidecar (root) makes it 1777.
 */
export const VOLUME_INIT = 'volume-permissions';
const VOLUME_INIT_VOLUMES = [ECS_VOLUMES.shared, ECS_VOLUMES.workerTmp, ECS_VOLUMES.runnerTmp] as const;

/** The init container's script: the /tmp volumes sticky and world-writable, the job directory (if any) uid 1000's alone. */
export function volumeInitScript(
  tmpVolumes: readonly string[] = [ECS_VOLUMES.workerTmp, ECS_VOLUMES.runnerTmp],
  ownedVolumes: readonly string[] = [ECS_VOLUMES.shared],
): string {
  const v = (name: string) => `/volumes/${name}`;
  return [
    'set -e',
    `chmod 1777 ${tmpVolumes.map(v).join(' ')}`,
    ...ownedVolumes.flatMap((owned) => [`chmod 0770 ${v(owned)}`, `chown ${APP_UID}:${APP_UID} ${v(owned)}`]),
  ].join('; ');
}

/** The init container (see VOLUME_INIT) preparing `volumes` with `script`, from `image`. */
function volumeInitContainer(image: string, volumes: readonly string[], script: string, logConfiguration: aws.ecs.LogConfiguration): aws.ecs.ContainerDefinition {
  return {
    name: VOLUME_INIT,
    // Any image with sh, chmod and chown: the worker's, already pulled for the task.
    image,
    essential: false,
    user: '0:0',
    entryPoint: ['sh', '-c'],
    command: [script],
    readonlyRootFilesystem: true,
    privileged: false,
    linuxParameters: { capabilities: { drop: dropAllBut(['CHOWN']) } },
    mountPoints: volumes.map((volume) => ({ sourceVolume: volume, containerPath: `/volumes/${volume}`, readOnly: false })),
    logConfiguration,
  };
}

export function ecsContainerDefinitions(input: EcsContainersInput): aws.ecs.ContainerDefinition[] {
  assertNoSecretsInPlainEnv(input.workerEnv, 'ecsContainerDefinitions: workerEnv');
  const worker: aws.ecs.ContainerDefinition = {
    name: 'worker',
    image: input.workerImage,
    essential: true,
    cpu: input.workerCpuUnits,
    memory: input.workerMemoryMb,
    // Non-root, read-only root, every capability dropped, never privileged.
    user: `${APP_UID}:${APP_UID}`,
    readonlyRootFilesystem: true,
    privileged: false,
    linuxParameters: { capabilities: { drop: ['ALL'] } },
    environment: nameValueList(input.workerEnv),
    secrets: Object.keys(input.workerSecrets)
      .sort()
      .map((name) => ({ name, valueFrom: input.workerSecrets[name] })),
    mountPoints: [
      { sourceVolume: ECS_VOLUMES.shared, containerPath: SHARED_DIR, readOnly: false },
      { sourceVolume: ECS_VOLUMES.workerTmp, containerPath: '/tmp', readOnly: false },
    ],
    // The runner must be up before the worker hands it jobs; it is not essential, so its crash does not kill the
    // task (the worker reports the failed jobs and the runner is not restarted alone: ECS replaces the task when
    // the worker's health check fails).
    dependsOn: [
      { containerName: VOLUME_INIT, condition: 'SUCCESS' },
      { containerName: 'runner', condition: 'START' },
    ],
    healthCheck: { command: ['CMD', ...healthCheckCommand('/healthz')], interval: 30, timeout: 5, retries: 3, startPeriod: 30 },
    // SIGTERM, then this long to drain in-flight jobs (SHUTDOWN_GRACE_MS defaults to 25 s) before SIGKILL.
    stopTimeout: 30,
    logConfiguration: logs(input, 'worker'),
  };
  const runner: aws.ecs.ContainerDefinition = {
    name: 'runner',
    image: input.runnerImage,
    essential: false,
    // entryPoint, not command: ECS passes `command` as arguments to the image's ENTRYPOINT (the executor alone), which
    // would then be started twice over. No command: the image's CMD is dropped with it.
    entryPoint: [...SIDECAR_COMMAND],
    // Its CPU share: without `cpu` the ECS agent gives a container 2 shares, against the worker's hundreds, and under
    // contention the jobs (which run here) would get next to no CPU.
    cpu: input.runnerCpuUnits,
    // One job at a time in this container (its cgroup is the job's sandbox): see runnerSidecarMemory.
    memory: input.runnerMemoryMb,
    // uid 0 with only RUNNER_SIDECAR_CAPABILITIES (the sidecar refuses to start otherwise), read-only root (it
    // refuses a writable one), never privileged. Fargate accepts no dockerSecurityOptions, so no no-new-privileges
    // for the container; the executor sets no_new_privs on every job step itself. As uid 0 the sidecar also owns the
    // devpts the runtime mounts, and makes its ptmx mode 0000 (ptys are a host-wide pool: runner/sandbox/executor.c).
    user: '0:0',
    readonlyRootFilesystem: true,
    privileged: false,
    // An init process reaps whatever the jobs leave behind.
    linuxParameters: { capabilities: { drop: dropAllBut(RUNNER_SIDECAR_CAPABILITIES) }, initProcessEnabled: true },
    mountPoints: [
      { sourceVolume: ECS_VOLUMES.shared, containerPath: SHARED_DIR, readOnly: false },
      { sourceVolume: ECS_VOLUMES.runnerWorkspace, containerPath: RUNNER_WORKSPACE_DIR, readOnly: false },
      { sourceVolume: ECS_VOLUMES.runnerTmp, containerPath: '/tmp', readOnly: false },
    ],
    dependsOn: [{ containerName: VOLUME_INIT, condition: 'SUCCESS' }],
    stopTimeout: 30,
    logConfiguration: logs(input, 'runner'),
  };
  return [worker, runner, volumeInitContainer(input.workerImage, VOLUME_INIT_VOLUMES, volumeInitScript(), logs(input, VOLUME_INIT))];
}

/** The API task's one volume: its /tmp (tsx's transform cache), task storage like the worker's. */
export const API_TMP_VOLUME = 'api-tmp';

export interface ApiContainersInput {
  /** The worker image (`code-exec api` runs from it). */
  image: string;
  /** Plain variables (apiEnvironment); must not contain a secret's name. */
  env: Record<string, string>;
  /** Secrets Manager ARNs by variable name (REDIS_URL, API_TOKENS, CALLBACK_SIGNING_KEY). */
  secrets: Record<string, string>;
  logGroup: string;
  region: string;
}

/** The API task's containers: `code-exec api` (uid 1000, nothing added, read-only root) and the /tmp init container. */
export function apiContainerDefinitions(input: ApiContainersInput): aws.ecs.ContainerDefinition[] {
  assertNoSecretsInPlainEnv(input.env, 'apiContainerDefinitions: env');
  const api: aws.ecs.ContainerDefinition = {
    name: 'api',
    image: input.image,
    essential: true,
    command: ['api'],
    user: `${APP_UID}:${APP_UID}`,
    readonlyRootFilesystem: true,
    privileged: false,
    linuxParameters: { capabilities: { drop: ['ALL'] } },
    portMappings: [{ containerPort: API_PORT, protocol: 'tcp' }],
    environment: nameValueList(input.env),
    secrets: Object.keys(input.secrets)
      .sort()
      .map((name) => ({ name, valueFrom: input.secrets[name] })),
    mountPoints: [{ sourceVolume: API_TMP_VOLUME, containerPath: '/tmp', readOnly: false }],
    dependsOn: [{ containerName: VOLUME_INIT, condition: 'SUCCESS' }],
    healthCheck: { command: ['CMD', ...healthCheckCommand('/readyz', API_PORT)], interval: 30, timeout: 5, retries: 3, startPeriod: 20 },
    stopTimeout: 30,
    logConfiguration: logs(input, 'api'),
  };
  return [api, volumeInitContainer(input.image, [API_TMP_VOLUME], volumeInitScript([API_TMP_VOLUME], []), logs(input, VOLUME_INIT))];
}

/** Fargate's valid task sizes: CPU units and the memory (MB) each allows, in 1 GB steps unless listed. */
const FARGATE_SIZES: { cpu: number; memory: number[] }[] = [
  { cpu: 256, memory: [512, 1024, 2048] },
  { cpu: 512, memory: range(1024, 4096, 1024) },
  { cpu: 1024, memory: range(2048, 8192, 1024) },
  { cpu: 2048, memory: range(4096, 16384, 1024) },
  { cpu: 4096, memory: range(8192, 30720, 1024) },
  { cpu: 8192, memory: range(16384, 61440, 4096) },
  { cpu: 16384, memory: range(32768, 122880, 8192) },
];

function range(from: number, to: number, step: number): number[] {
  const out: number[] = [];
  for (let v = from; v <= to; v += step) out.push(v);
  return out;
}

/** Millicores (Kubernetes style, 1000 = 1 vCPU) to ECS CPU units (1024 = 1 vCPU), rounded up. */
export const cpuUnits = (millis: number): number => Math.ceil((millis * 1024) / 1000);

/**
 * The smallest Fargate task size that holds `cpu` units and `memoryMb`: ECS refuses any other combination, so the
 * containers' sizes are added up and rounded to one here rather than failing at deploy time.
 */
export function fargateTaskSize(cpu: number, memoryMb: number): { cpu: number; memory: number } {
  for (const size of FARGATE_SIZES) {
    if (size.cpu < cpu) continue;
    const memory = size.memory.find((m) => m >= memoryMb);
    if (memory !== undefined) return { cpu: size.cpu, memory };
  }
  throw new RangeError(`no Fargate task size holds ${cpu} CPU units and ${memoryMb} MB (the largest is 16384 units, 122880 MB)`);
}

/** A task definition's runtimePlatform for images built for `platform`: Fargate runs X86_64 or ARM64 (Graviton). */
export function ecsRuntimePlatform(platform: CloudImagePlatform): aws.types.input.ecs.TaskDefinitionRuntimePlatform {
  return { operatingSystemFamily: 'LINUX', cpuArchitecture: platform === 'linux/arm64' ? 'ARM64' : 'X86_64' };
}
