// ECS task definitions started on this machine's Docker engine the way the ECS agent starts them on a task, for the
// rehearsals of the aws stack (test/deploy/*.test.ts). What is reproduced, from the ECS documentation
// (ContainerDefinition) and the agent's behaviour:
// - `entryPoint` replaces the image's ENTRYPOINT; `command` is the CMD passed after it (the image's ENTRYPOINT unless
//   `entryPoint` is set). Docker's own rule then applies: a given ENTRYPOINT drops the image's CMD.
// - `user`, `readonlyRootFilesystem`, `privileged`, `linuxParameters.capabilities` (add/drop of Docker's defaults),
//   `linuxParameters.initProcessEnabled` (Docker's --init), `cpu` (CPU shares), `memory` (hard limit, MiB),
//   `memoryReservation`, `environment`, `secrets` (resolved to values: the execution role's job), `mountPoints` of
//   task volumes, `healthCheck`, `stopTimeout`, `workingDirectory`, `ulimits`.
// - One network namespace per task (awsvpc): a pause container holds it and every container joins it.
// - `dependsOn` orders the starts (START, COMPLETE, SUCCESS, HEALTHY), and the stops the other way round: a
//   container is stopped (SIGTERM, SIGKILL after its `stopTimeout`, 30 s by default) before those it depends on.
// - Task volumes without a host path (`host: {}` or nothing: Fargate's task storage) are directories owned by root,
//   mode 0755; one with `host.sourcePath` (EC2's bind mount) is that host directory.
// - `essential`: when an essential container stops, ECS stops the task (essentialStop says so).
// - `healthCheck`: what the agent has Docker run in the container (healthCheck runs it now, not on its interval).
// What is not: the awslogs driver (the engine's json-file log stands in), Fargate's own runtime (containerd; the
// entrypoint/command rules are the same), the task's ENI. A field this file does not know is refused, so a new
// setting in the stack cannot be silently left out of a rehearsal.
import Docker from 'dockerode';
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { testContainerName } from '../support/sandboxClaims.js';
import { DOCKER_SOCKET } from '../support/services.js';

/** One container definition, as the stack serialises it into the task definition (JSON). */
export interface EcsContainerDefinition {
  name: string;
  image: string;
  essential?: boolean;
  cpu?: number;
  memory?: number;
  memoryReservation?: number;
  entryPoint?: string[];
  command?: string[];
  user?: string;
  readonlyRootFilesystem?: boolean;
  privileged?: boolean;
  workingDirectory?: string;
  linuxParameters?: { capabilities?: { add?: string[]; drop?: string[] }; initProcessEnabled?: boolean };
  environment?: { name: string; value: string }[];
  secrets?: { name: string; valueFrom: string }[];
  mountPoints?: { sourceVolume: string; containerPath: string; readOnly?: boolean }[];
  dependsOn?: { containerName: string; condition: 'START' | 'COMPLETE' | 'SUCCESS' | 'HEALTHY' }[];
  healthCheck?: { command: string[]; interval?: number; timeout?: number; retries?: number; startPeriod?: number };
  stopTimeout?: number;
  ulimits?: { name: string; softLimit: number; hardLimit: number }[];
  portMappings?: { containerPort: number; protocol?: string }[];
  logConfiguration?: unknown;
}

/** The fields ecsCreateOptions reproduces (or, for the last ones, knowingly leaves to the platform). */
const KNOWN_FIELDS = new Set([
  'name', 'image', 'essential', 'cpu', 'memory', 'memoryReservation', 'entryPoint', 'command', 'user', 'readonlyRootFilesystem',
  'privileged', 'workingDirectory', 'linuxParameters', 'environment', 'secrets', 'mountPoints', 'dependsOn', 'healthCheck',
  'stopTimeout', 'ulimits',
  // On awsvpc the container's port is the task interface's: with one namespace per task there is nothing to publish.
  'portMappings',
  // awslogs: the engine's default log driver stands in (docker logs).
  'logConfiguration',
]);
const KNOWN_LINUX_PARAMETERS = new Set(['capabilities', 'initProcessEnabled']);

/** What a container of the task is started with besides its definition. */
export interface EcsTaskContext {
  /** The local image that stands for the stack's image reference (a registry digest under mocks). */
  image(reference: string): string;
  /** Host directory of each task volume. */
  volumes: Record<string, string>;
  /** Values of the secrets, by their valueFrom (what the execution role would read from Secrets Manager). */
  secrets?: Record<string, string>;
  /** Docker's NetworkMode: `container:<pause id>` for the task's one namespace. */
  networkMode: string;
  /** The container's name on the engine. */
  containerName: string;
}

const seconds = (s: number | undefined): number | undefined => (s === undefined ? undefined : s * 1_000_000_000);

/** The `docker create` options (Engine API) of one container definition, as the ECS agent would start it. */
export function ecsCreateOptions(def: EcsContainerDefinition, task: EcsTaskContext): Docker.ContainerCreateOptions {
  const unknown = Object.keys(def).filter((k) => !KNOWN_FIELDS.has(k));
  if (unknown.length) throw new Error(`ecsCreateOptions: container ${def.name} sets ${unknown.join(', ')}, which this rehearsal does not reproduce; add it to test/deploy/ecsSemantics.ts`);
  const linuxUnknown = Object.keys(def.linuxParameters ?? {}).filter((k) => !KNOWN_LINUX_PARAMETERS.has(k));
  if (linuxUnknown.length) throw new Error(`ecsCreateOptions: container ${def.name} sets linuxParameters.${linuxUnknown.join(', ')}, which this rehearsal does not reproduce`);
  const secretEnv = (def.secrets ?? []).map(({ name, valueFrom }) => {
    const value = task.secrets?.[valueFrom];
    if (value === undefined) throw new Error(`ecsCreateOptions: container ${def.name} needs secret ${valueFrom} (${name}); give its value in the task context`);
    return `${name}=${value}`;
  });
  const binds = (def.mountPoints ?? []).map(({ sourceVolume, containerPath, readOnly }) => {
    const host = task.volumes[sourceVolume];
    if (!host) throw new Error(`ecsCreateOptions: container ${def.name} mounts task volume ${sourceVolume}, which the task context does not have`);
    return `${host}:${containerPath}${readOnly ? ':ro' : ''}`;
  });
  const health = def.healthCheck;
  return {
    name: task.containerName,
    Image: task.image(def.image),
    // ECS: entryPoint replaces the image's ENTRYPOINT; command is the CMD after whichever ENTRYPOINT applies.
    ...(def.entryPoint ? { Entrypoint: def.entryPoint } : {}),
    ...(def.command ? { Cmd: def.command } : {}),
    ...(def.user ? { User: def.user } : {}),
    ...(def.workingDirectory ? { WorkingDir: def.workingDirectory } : {}),
    Env: [...(def.environment ?? []).map(({ name, value }) => `${name}=${value}`), ...secretEnv],
    ...(def.stopTimeout !== undefined ? { StopTimeout: def.stopTimeout } : {}),
    ...(health
      ? {
          Healthcheck: {
            Test: health.command,
            Interval: seconds(health.interval ?? 30),
            Timeout: seconds(health.timeout ?? 5),
            Retries: health.retries ?? 3,
            StartPeriod: seconds(health.startPeriod ?? 0),
          },
        }
      : {}),
    HostConfig: {
      NetworkMode: task.networkMode,
      ReadonlyRootfs: def.readonlyRootFilesystem ?? false,
      Privileged: def.privileged ?? false,
      CapAdd: def.linuxParameters?.capabilities?.add ?? [],
      CapDrop: def.linuxParameters?.capabilities?.drop ?? [],
      Init: def.linuxParameters?.initProcessEnabled ?? false,
      // The agent gives a container without `cpu` the minimum share (2), as Docker's own minimum.
      CpuShares: Math.max(2, def.cpu ?? 0),
      ...(def.memory ? { Memory: def.memory * 1024 * 1024 } : {}),
      ...(def.memoryReservation ? { MemoryReservation: def.memoryReservation * 1024 * 1024 } : {}),
      Ulimits: (def.ulimits ?? []).map((u) => ({ Name: u.name, Soft: u.softLimit, Hard: u.hardLimit })),
      Binds: binds,
    },
  };
}

/** A task started on the engine: its containers by definition name. */
export interface RehearsedTask {
  docker: Docker;
  /** The engine's container of each started definition. */
  containers: Record<string, Docker.Container>;
  /** Host directory of each task volume. */
  volumes: Record<string, string>;
  /** The task's address (its ENI's private IP on awsvpc; here, the shared namespace's on the bridge). */
  address: string;
  /** The container's log so far (stdout and stderr). */
  logs(name: string): Promise<string>;
  /** Runs the container's `healthCheck` command once, as Docker would for the agent; exit code 0 is healthy. */
  healthCheck(name: string): Promise<{ exitCode: number; output: string }>;
  /** Why ECS would stop the task now (an essential container has stopped, with its log), or null. */
  essentialStop(): Promise<string | null>;
  /** Stops the task as ECS does (StopTask, a scale-in, a deployment); how each started container ended, in stop order. */
  ecsStop(): Promise<{ name: string; exitCode: number; stoppedInMs: number }[]>;
  /** Removes every container of the task and its volumes. Idempotent. */
  stop(): Promise<void>;
}

/** One of a task definition's `volumes`. */
export interface EcsVolume {
  name: string;
  host?: { sourcePath?: string };
}
const KNOWN_VOLUME_FIELDS = new Set(['name', 'host']);

export interface StartTaskOptions {
  /** The definitions to start; those they depend on are started first. */
  start: string[];
  image(reference: string): string;
  /** The task definition's `volumes`. */
  volumes: EcsVolume[];
  secrets?: Record<string, string>;
  /** The image of the pause container that holds the task's network namespace. */
  pauseImage: string;
  /** Longest wait for one dependency condition. Defaults to 60 s. */
  conditionTimeoutMs?: number;
}

async function demux(container: Docker.Container): Promise<string> {
  return demuxFrames((await container.logs({ stdout: true, stderr: true, follow: false })) as unknown as Buffer);
}

function demuxFrames(raw: Buffer): string {
  // Multiplexed frames: 8-byte header (stream, 0, 0, 0, size) before each chunk.
  let out = '';
  for (let i = 0; i + 8 <= raw.length; ) {
    const size = raw.readUInt32BE(i + 4);
    out += raw.subarray(i + 8, i + 8 + size).toString('utf8');
    i += 8 + size;
  }
  return out;
}

/** Runs `def.healthCheck` in `container` once, within its timeout: `CMD` execs its arguments, `CMD-SHELL` its string in sh. */
async function runHealthCheck(container: Docker.Container, def: EcsContainerDefinition): Promise<{ exitCode: number; output: string }> {
  const check = def.healthCheck;
  if (!check) throw new Error(`container ${def.name} has no healthCheck`);
  const [kind, ...rest] = check.command;
  const cmd = kind === 'CMD' ? rest : kind === 'CMD-SHELL' ? ['/bin/sh', '-c', rest.join(' ')] : null;
  if (!cmd) throw new Error(`container ${def.name}: healthCheck.command must start with CMD or CMD-SHELL, not ${kind}`);
  const exec = await container.exec({ Cmd: cmd, AttachStdout: true, AttachStderr: true });
  const stream = await exec.start({ hijack: true, stdin: false });
  const chunks: Buffer[] = [];
  stream.on('data', (c: Buffer) => chunks.push(c));
  const timeoutMs = (check.timeout ?? 5) * 1000;
  let timer: NodeJS.Timeout | undefined;
  const finished = await Promise.race([
    new Promise<true>((resolve) => stream.on('end', () => resolve(true))),
    new Promise<false>((resolve) => (timer = setTimeout(() => resolve(false), timeoutMs))),
  ]);
  clearTimeout(timer);
  const output = demuxFrames(Buffer.concat(chunks));
  // Past its timeout a check counts as failed, whatever it would have answered later.
  if (!finished) return { exitCode: -1, output: `${output}(timed out after ${timeoutMs} ms)` };
  return { exitCode: (await exec.inspect()).ExitCode ?? -1, output };
}

/** Waits until `container` meets `condition`, or throws with its state and log. */
async function waitForCondition(container: Docker.Container, name: string, condition: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const { State } = await container.inspect();
    const exited = State.Status === 'exited' || State.Status === 'dead';
    if (condition === 'START' && (State.Running || exited)) return;
    if (condition === 'COMPLETE' && exited) return;
    if (condition === 'SUCCESS' && exited) {
      if (State.ExitCode === 0) return;
      throw new Error(`container ${name} exited ${State.ExitCode}, and a dependency needs its SUCCESS:\n${await demux(container)}`);
    }
    if (condition === 'HEALTHY' && State.Health?.Status === 'healthy') return;
    if (condition === 'HEALTHY' && exited) throw new Error(`container ${name} exited ${State.ExitCode} before it was healthy:\n${await demux(container)}`);
    if (Date.now() > deadline) throw new Error(`container ${name} did not reach ${condition} within ${timeoutMs} ms (state ${State.Status}):\n${await demux(container)}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/**
 * Starts `options.start` of the task's `definitions` (and what they depend on, in order) as ECS would: one network
 * namespace, task volumes as root-owned 0755 directories, each container from ecsCreateOptions.
 */
export async function startEcsTask(definitions: EcsContainerDefinition[], options: StartTaskOptions): Promise<RehearsedTask> {
  const docker = new Docker({ socketPath: DOCKER_SOCKET });
  const byName = new Map(definitions.map((d) => [d.name, d]));
  for (const v of options.volumes) {
    const unknown = Object.keys(v).filter((k) => !KNOWN_VOLUME_FIELDS.has(k));
    if (unknown.length) throw new Error(`startEcsTask: volume ${v.name} sets ${unknown.join(', ')}, which this rehearsal does not reproduce`);
  }
  const root = mkdtempSync(join(tmpdir(), 'ecs-task-'));
  const volumes = Object.fromEntries(
    options.volumes.map(({ name: v, host }) => {
      if (host?.sourcePath) return [v, host.sourcePath];
      const dir = mkdtempSync(join(root, `${v}-`));
      // Fargate's task storage: root's, 0755.
      chmodSync(dir, 0o755);
      return [v, dir];
    }),
  );
  const created: Docker.Container[] = [];
  const containers: Record<string, Docker.Container> = {};
  /** Definition names in start order: every container after those it depends on. */
  const startOrder: string[] = [];
  let stopped: Promise<void> | null = null;
  const stop = () =>
    (stopped ??= (async () => {
      await Promise.all(created.map((c) => c.remove({ force: true }).catch(() => {})));
      rmSync(root, { recursive: true, force: true });
    })());
  let address: string;
  try {
    const pause = await docker.createContainer({
      name: testContainerName('ecs-task-pause'),
      Image: options.pauseImage,
      Entrypoint: ['sleep', 'infinity'],
      HostConfig: { NetworkMode: 'bridge', ReadonlyRootfs: true, CapDrop: ['ALL'] },
    });
    created.push(pause);
    await pause.start();
    address = (await pause.inspect()).NetworkSettings.Networks.bridge.IPAddress;
    const started = new Set<string>();
    const startOne = async (name: string, chain: string[] = []): Promise<void> => {
      if (started.has(name)) return;
      if (chain.includes(name)) throw new Error(`dependsOn cycle: ${[...chain, name].join(' -> ')}`);
      const def = byName.get(name);
      if (!def) throw new Error(`the task has no container ${name} (it has ${[...byName.keys()].join(', ')})`);
      for (const dep of def.dependsOn ?? []) {
        await startOne(dep.containerName, [...chain, name]);
        await waitForCondition(containers[dep.containerName], dep.containerName, dep.condition, options.conditionTimeoutMs ?? 60_000);
      }
      const container = await docker.createContainer(
        ecsCreateOptions(def, {
          image: options.image,
          volumes,
          secrets: options.secrets,
          networkMode: `container:${pause.id}`,
          containerName: testContainerName(`ecs-${name}`),
        }),
      );
      created.push(container);
      containers[name] = container;
      await container.start();
      started.add(name);
      startOrder.push(name);
    };
    for (const name of options.start) await startOne(name);
  } catch (err) {
    await stop();
    throw err;
  }
  const essentialStop = async (): Promise<string | null> => {
    for (const [name, container] of Object.entries(containers)) {
      if (byName.get(name)!.essential === false) continue;
      const { State } = await container.inspect();
      if (!State.Running) return `essential container ${name} stopped (exit ${State.ExitCode}), so ECS stops the task:\n${await demux(container)}`;
    }
    return null;
  };
  const ecsStop = async () => {
    const ended = [];
    for (const name of [...startOrder].reverse()) {
      const began = Date.now();
      // Docker's stop is the agent's: SIGTERM (the image's STOPSIGNAL), SIGKILL after the timeout.
      await containers[name].stop({ t: byName.get(name)!.stopTimeout ?? 30 }).catch((err: { statusCode?: number }) => {
        if (err.statusCode !== 304) throw err; // 304: it had stopped already
      });
      const { State } = await containers[name].inspect();
      ended.push({ name, exitCode: State.ExitCode, stoppedInMs: Date.now() - began });
    }
    return ended;
  };
  return {
    docker,
    containers,
    volumes,
    address,
    ecsStop,
    logs: (name) => demux(containers[name]),
    healthCheck: (name) => runHealthCheck(containers[name], byName.get(name)!),
    essentialStop,
    stop,
  };
}
