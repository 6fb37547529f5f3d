// The docker transport: a fresh hardened container per job. Its entrypoint is the sandbox executor
// (runner/sandbox/executor.c), which starts as uid 0 with every capability dropped except SETUID and SETGID, which it
// needs for one thing: dropping each step of the job to its own uid. No network, read-only root, no new privileges,
// memory = memory+swap, one CPU, a pids limit, size- and inode-capped tmpfs for /tmp, /dev/shm and the workspace,
// no ptys, no log driver, labels for the reaper; removed after its job, or, when the engine cannot be reached then,
// by the reaper once it answers again.
//
// The job and its reports travel over a unix socket in a directory bind-mounted into that one container (not
// Docker's attach stream), and the worker judges the reports (core/judge.ts). With a warm pool (POOL_SIZE),
// containers are created and started ahead with the executor waiting on its socket; a job takes one (refitted to
// the job's memory and pids limits when they are not the pool's), and the container ends with that one job.
import Docker from 'dockerode';
import { randomBytes } from 'node:crypto';
import { accessSync, chmodSync, constants, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseInstalledLanguages, RUNNER_LANGUAGES_FILE, type InstalledLanguages } from '../../core/languageVersions.js';
import { JobRejected, type Job } from '../../core/protocol/job.js';
import { WORKSPACE_INODES, WORKSPACE_SIZE_MB } from '../../core/protocol/limits.js';
import type { RunOutcome } from '../../core/protocol/result.js';
import { phaseClock, type PhaseClock } from '../../core/phaseClock.js';
import { runnerKilledForMemory } from '../../core/verdict.js';
import { DOCKER_EXCHANGE_ROOT } from '../../core/dockerExchange.js';
import { containerLabels, LABEL_DEPLOYMENT, LABEL_MANAGED, LABEL_OWNER, POOLED_JOB } from '../../core/labels.js';
import { jobDeadlineMs } from '../../core/protocol/runnerOutput.js';
import { planJob } from '../../core/judge.js';
import { TransportError } from '../../core/errors.js';
import { ownerInName, sandboxName } from '../../core/sandboxOwner.js';
import { ContainerChannel } from './containerChannel.js';
import { encodeRequest, judgeInSandbox, SandboxEnded, withJudgedPhases } from '../../core/sandbox/wire.js';
import { RUNNER_START_TIMEOUT_MS, sandboxBudget, type RunnerTransport, type SandboxSize } from './transport.js';
import { readImageFile } from './imageFile.js';
import { WarmPool } from './warmPool.js';

export interface DockerTransportOptions {
  socketPath: string;
  image: string;
  /** The deployment (core/sandboxOwner.ts) and this worker instance, on its containers' labels, for the reaper. */
  deployment: string;
  ownerId: string;
  /** Containers kept created and started ahead (0 or absent: every job creates its own). */
  poolSize?: number;
  /** With a pool: the size pooled containers start with (the size most jobs have); others are refitted when taken. */
  poolLimits?: SandboxSize;
  /** Told when preparing a pooled container fails (jobs then create their own). */
  onPoolError?: (err: Error) => void;
  /** The OCI runtime the engine starts runner containers with (`runc`, `crun`, …); absent: the engine's default. */
  runtime?: string;
  /**
   * DOCKER_EXCHANGE_ROOT as the engine sees it, when this worker runs in a container with a volume mounted there:
   * the engine resolves bind sources on its own host. Absent: the worker runs on the engine's host, and the path is
   * the same.
   */
  exchangeHostDir?: string;
}

/** Mounted over /dev/pts: nothing in it, nothing can be put in it. */
const NO_PTYS = 'ro,nosuid,nodev,noexec,size=4k,nr_inodes=1,mode=0755';

/** The container's cgroup limits for a sandbox of this size (memory + swap: no swap). */
function cgroupLimits(size: SandboxSize): { Memory: number; MemorySwap: number; PidsLimit: number } {
  const { memoryBytes, pidsMax } = sandboxBudget(size);
  return { Memory: memoryBytes, MemorySwap: memoryBytes, PidsLimit: pidsMax };
}

function sameBudget(a: SandboxSize, b: SandboxSize): boolean {
  const [x, y] = [sandboxBudget(a), sandboxBudget(b)];
  return x.memoryBytes === y.memoryBytes && x.pidsMax === y.pidsMax;
}

/**
 * Per container: the directory bind-mounted at /exchange, where the executor listens. Named at random (a unix
 * socket's path may not pass 107 bytes), with its owner in OWNER_FILE for the reaper. Only the worker's uid and
 * group may enter it (mode 2770): the executor is root without CAP_DAC_OVERRIDE, so a worker that is not root (the
 * local stack's) adds its group to the runner container, and the setgid bit gives the executor's socket that group.
 * The job's steps drop every supplementary group, so none of them can enter.
 */
const EXCHANGE_DIR_MODE = 0o2770;
const EXECUTOR_SOCKET = '/exchange/socket';
const OWNER_FILE = 'owner';
/** The worker's own group, which the executor needs to enter the exchange directory (none when it is root's). */
const WORKER_GID = process.getgid?.() ?? 0;

/** Why this worker cannot make exchange directories (with what to do), or null when it can. */
export function exchangeRootProblem(): string | null {
  try {
    mkdirSync(DOCKER_EXCHANGE_ROOT, { recursive: true, mode: 0o700 });
    accessSync(DOCKER_EXCHANGE_ROOT, constants.W_OK | constants.X_OK);
    return null;
  } catch (err) {
    return `the runner containers' exchange directory ${DOCKER_EXCHANGE_ROOT} cannot be made here (${(err as Error).message}); ` +
      'in a container, mount a volume there that the worker\'s uid may write, and set DOCKER_EXCHANGE_HOST_DIR to where the engine finds it (the local stack does both)';
  }
}

export function runnerContainerSpec(job: Job, opts: DockerTransportOptions, exchangeDir: string): Docker.ContainerCreateOptions {
  return containerSpec(job, job.id, opts, exchangeDir);
}

/** `exchangeDir`: the container's exchange directory as the engine sees it. */
function containerSpec(limits: SandboxSize, jobLabel: string, opts: DockerTransportOptions, exchangeDir: string): Docker.ContainerCreateOptions {
  const tmpfs = `rw,nosuid,nodev,size=${WORKSPACE_SIZE_MB}m,nr_inodes=${WORKSPACE_INODES},mode=1777`;
  return {
    Image: opts.image,
    Entrypoint: ['/opt/runner/sandbox-executor'],
    Cmd: ['--socket', EXECUTOR_SOCKET],
    User: '0:0',
    WorkingDir: '/workspace',
    Env: [],
    Labels: containerLabels(opts, jobLabel),
    NetworkDisabled: true,
    Tty: false,
    HostConfig: {
      ...(opts.runtime ? { Runtime: opts.runtime } : {}),
      NetworkMode: 'none',
      ReadonlyRootfs: true,
      CapDrop: ['ALL'],
      CapAdd: ['SETUID', 'SETGID'],
      SecurityOpt: ['no-new-privileges'],
      ...cgroupLimits(limits),
      NanoCpus: 1_000_000_000,
      Ulimits: [
        { Name: 'nofile', Soft: 1024, Hard: 1024 },
        { Name: 'core', Soft: 0, Hard: 0 },
      ],
      Binds: [`${exchangeDir}:/exchange:rw`],
      ...(WORKER_GID !== 0 ? { GroupAdd: [String(WORKER_GID)] } : {}),
      // An empty read-only tmpfs over /dev/pts instead of the container's devpts (and so /dev/ptmx, a link into
      // it, leads nowhere): ptys come from a host-wide pool (kernel.pty.max) no job may draw from. /dev/shm is a
      // capped tmpfs of its own (POSIX semaphores, multiprocessing), charged to the container's memory like the others.
      Tmpfs: { '/tmp': tmpfs, '/workspace': `${tmpfs},exec`, '/dev/shm': `${tmpfs},noexec`, '/dev/pts': NO_PTYS },
      IpcMode: 'none',
      LogConfig: { Type: 'none', Config: {} },
    },
  };
}

/** A started container whose executor has taken the worker's connection and is ready for its job. */
interface Ready {
  container: Docker.Container;
  channel: ContainerChannel;
  exchangeDir: string;
}

const ENGINE_LOST = 'lost the Docker engine while the runner container ran';
/** How many times close() asks the engine to remove a container it refused to remove. */
const CLOSE_REMOVAL_TRIES = 5;

export class DockerTransport implements RunnerTransport {
  readonly mode = 'docker' as const;
  readonly docker: Docker;
  private readonly active = new Set<Ready>();
  private readonly removals = new Set<Promise<void>>();
  private readonly pool: WarmPool<Ready> | null;
  private installed: Promise<InstalledLanguages> | undefined;
  /** Ids of our containers whose removal failed (engine unreachable): reapOrphans tries again. */
  private readonly unremoved = new Set<string>();

  constructor(private readonly opts: DockerTransportOptions) {
    this.docker = new Docker({ socketPath: opts.socketPath });
    const { poolSize = 0, poolLimits } = opts;
    if (poolSize > 0 && !poolLimits) throw new Error('a docker warm pool needs poolLimits (the size its sandboxes start with)');
    this.pool = poolSize > 0
      ? new WarmPool(poolSize, () => this.prepare(poolLimits!, POOLED_JOB), (c) => this.remove(c), opts.onPoolError ?? (() => {}))
      : null;
  }

  /** Pooled containers ready for a job now. */
  get pooledReady(): number {
    return this.pool?.readyCount ?? 0;
  }

  async run(job: Job): Promise<RunOutcome> {
    const clock = phaseClock();
    let ready: Ready | undefined;
    let pooled: boolean | undefined;
    try {
      ready = this.pool?.take();
      pooled = this.pool ? ready !== undefined : undefined;
      if (!ready) ready = await this.prepare(job, job.id);
      // An engine round trip: only for a job whose size is not the pool's.
      else if (!sameBudget(job, this.opts.poolLimits!)) await ready.container.update(cgroupLimits(job));
      this.active.add(ready);
      clock.lap('sandboxMs');
      return withJudgedPhases(await this.execute(ready, job, clock), clock, pooled);
    } catch (err) {
      if (err instanceof TransportError || err instanceof JobRejected) throw err;
      throw new TransportError(`docker transport failed for job ${job.id}: ${(err as Error).message}`);
    } finally {
      if (ready) {
        this.active.delete(ready);
        // Not awaited: the result need not wait for the container's removal (close() does).
        void this.remove(ready);
      }
    }
  }

  /** The image's languages, as measured when it was built (runner/Dockerfile). */
  languages(): Promise<InstalledLanguages> {
    return (this.installed ??= readImageFile(this.docker, this.opts.image, RUNNER_LANGUAGES_FILE, containerLabels(this.opts, 'languages')).then(
      parseInstalledLanguages,
      (err: Error) => {
        this.installed = undefined;
        throw new TransportError(`cannot read ${RUNNER_LANGUAGES_FILE} from the runner image ${this.opts.image} (${err.message}); rebuild it with npm run images`);
      },
    ));
  }

  /** Creates and starts a container, and connects to its executor once it listens. */
  private async prepare(size: SandboxSize, jobLabel: string): Promise<Ready> {
    const exchangeDir = join(DOCKER_EXCHANGE_ROOT, randomBytes(8).toString('hex'));
    mkdirSync(DOCKER_EXCHANGE_ROOT, { recursive: true, mode: 0o700 });
    mkdirSync(exchangeDir);
    chmodSync(exchangeDir, EXCHANGE_DIR_MODE);
    writeFileSync(join(exchangeDir, OWNER_FILE), sandboxName(this.opts, jobLabel));
    let container: Docker.Container | undefined;
    try {
      container = await this.docker.createContainer(containerSpec(size, jobLabel, this.opts, this.engineSide(exchangeDir)));
      await container.start();
      const channel = await ContainerChannel.connect(join(exchangeDir, 'socket'), RUNNER_START_TIMEOUT_MS);
      return { container, channel, exchangeDir };
    } catch (err) {
      if (container) await this.remove({ container, exchangeDir });
      else rmSync(exchangeDir, { recursive: true, force: true });
      throw err;
    }
  }

  /** An exchange directory's path as the engine sees it. */
  private engineSide(exchangeDir: string): string {
    return this.opts.exchangeHostDir ? join(this.opts.exchangeHostDir, exchangeDir.slice(DOCKER_EXCHANGE_ROOT.length)) : exchangeDir;
  }

  /** Removes a container and its exchange directory; one the engine could not be asked to remove is left to reapOrphans. */
  private remove({ container, channel, exchangeDir }: { container: Docker.Container; channel?: ContainerChannel; exchangeDir: string }): Promise<void> {
    channel?.close();
    const removal = container
      .remove({ force: true })
      .then(() => void this.unremoved.delete(container.id))
      .catch((err: { statusCode?: number }) => {
        if (err.statusCode === 404) this.unremoved.delete(container.id);
        else this.unremoved.add(container.id);
      })
      .finally(() => {
        rmSync(exchangeDir, { recursive: true, force: true });
        this.removals.delete(removal);
      });
    this.removals.add(removal);
    return removal;
  }

  private async execute({ container, channel }: Ready, job: Job, clock: PhaseClock): Promise<RunOutcome> {
    const plan = planJob(job);
    channel.sendRequest(encodeRequest(plan));
    clock.lap('workspaceMs');
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        void container.kill().catch(() => {});
        reject(new TransportError(`runner container gave no result within ${jobDeadlineMs(job)} ms`));
      }, jobDeadlineMs(job));
    });
    const judged = judgeInSandbox(job, plan, channel, clock);
    // Past the deadline the channel still ends (the kill closes it): nobody waits for it then.
    judged.catch(() => {});
    try {
      return await Promise.race([judged, deadline]);
    } catch (err) {
      if (!(err instanceof SandboxEnded)) throw err;
      // The executor never ends its channel before the job: the container died (the kernel's OOM killer, or a kill).
      let state: Docker.ContainerInspectInfo['State'];
      try {
        state = (await container.inspect()).State;
      } catch (inspectErr) {
        throw new TransportError(`${ENGINE_LOST}: ${(inspectErr as Error).message} (${err.message})`);
      }
      if (state.OOMKilled) return runnerKilledForMemory(job);
      throw new TransportError(`runner container ended with no result (exit ${state.ExitCode}): ${err.message}`);
    } finally {
      clearTimeout(timer);
    }
  }

  /**
   * Removes containers of this deployment whose owner is no longer alive, and this instance's own that could not
   * be removed when their job ended. Returns how many. Other deployments' containers on the same engine are
   * never listed: whether their owners are alive is in a Redis this worker does not see.
   */
  async reapOrphans(isOwnerAlive: (ownerId: string) => Promise<boolean>): Promise<number> {
    const label = [`${LABEL_MANAGED}=true`, `${LABEL_DEPLOYMENT}=${this.opts.deployment}`];
    const containers = await this.docker.listContainers({ all: true, filters: { label } });
    let reaped = 0;
    for (const id of this.unremoved) {
      await this.remove({ container: this.docker.getContainer(id), exchangeDir: join(DOCKER_EXCHANGE_ROOT, '.none') });
      if (!this.unremoved.has(id)) reaped++;
    }
    for (const c of containers) {
      const owner = c.Labels[LABEL_OWNER];
      if (owner === this.opts.ownerId || (owner && (await isOwnerAlive(owner)))) continue;
      await this.docker.getContainer(c.Id).remove({ force: true }).catch(() => {});
      reaped++;
    }
    // Exchange directories of containers that are gone (their worker died before removing them).
    const live = new Set((await this.docker.listContainers({ all: true, filters: { label } })).flatMap((c) => c.Mounts.map((m) => m.Source)));
    if (existsSync(DOCKER_EXCHANGE_ROOT)) {
      for (const name of readdirSync(DOCKER_EXCHANGE_ROOT)) {
        const dir = join(DOCKER_EXCHANGE_ROOT, name);
        let owner: string | null;
        try {
          owner = ownerInName(readFileSync(join(dir, OWNER_FILE), 'utf8'), this.opts.deployment);
        } catch {
          continue;
        }
        if (owner === null || live.has(this.engineSide(dir)) || owner === this.opts.ownerId || (await isOwnerAlive(owner))) continue;
        rmSync(dir, { recursive: true, force: true });
      }
    }
    return reaped;
  }

  /** True when the engine answers on the socket. */
  async ping(): Promise<boolean> {
    try {
      await this.docker.ping();
      return true;
    } catch {
      return false;
    }
  }

  /** Drains the pool and kills the containers of jobs still running: their entries stay pending for another worker. */
  async close(): Promise<void> {
    await this.pool?.close();
    for (const c of this.active) void this.remove(c);
    await Promise.all(this.removals);
    // A busy engine can refuse a removal for a moment (one in progress, a filesystem still busy): this instance's
    // leftovers are its own to remove before it goes, so it tries again a few times.
    for (let attempt = 0; this.unremoved.size && attempt < CLOSE_REMOVAL_TRIES; attempt++) {
      if (attempt) await new Promise((r) => setTimeout(r, 500));
      await Promise.all([...this.unremoved].map((id) => this.remove({ container: this.docker.getContainer(id), exchangeDir: join(DOCKER_EXCHANGE_ROOT, '.none') })));
    }
  }
}
