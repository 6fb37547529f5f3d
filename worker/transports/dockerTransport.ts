// The docker transport: a fresh hardened container per job. The runner starts as uid 0 with every
// capability dropped except SETUID and SETGID, which it needs for one thing: dropping the job to its own
// uid (setgroups/setresgid/setresuid in sandbox-exec). No network, read-only root, no new privileges,
// memory = memory+swap, one CPU, a pids limit, size- and inode-capped tmpfs for /tmp and the workspace, no
// /dev/shm and no ptys, no log driver (the streams are attached instead), labels for the reaper; removed after its job, or,
// when the engine cannot be reached then, by the reaper once it answers again.
//
// With a warm pool (POOL_SIZE), containers are created, attached and started ahead: the runner inside starts
// and waits for its job on stdin. A job takes one (refitted to the job's memory and pids limits when they are
// not the pool's), and the container is destroyed after that one job like any other; the pool refills in the
// background.
import Docker from 'dockerode';
import { PassThrough } from 'node:stream';
import type { Job } from '../../core/protocol/job.js';
import { WORKSPACE_INODES, WORKSPACE_SIZE_MB } from '../../core/protocol/limits.js';
import type { RunOutcome } from '../../core/protocol/result.js';
import { phaseClock } from '../../core/phaseClock.js';
import { runnerKilledForMemory } from '../../core/verdict.js';
import { containerLabels, LABEL_DEPLOYMENT, LABEL_MANAGED, LABEL_OWNER, POOLED_JOB } from '../../core/labels.js';
import { collectRunnerOutput, jobDeadlineMs, runnerOutputCapBytes, runnerReady } from '../../core/protocol/runnerOutput.js';
import { TransportError } from '../../core/errors.js';
import { RUNNER_START_TIMEOUT_MS, sandboxBudget, type RunnerTransport, type SandboxSize, withTransportPhases } from './transport.js';
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

export function runnerContainerSpec(job: Job, opts: DockerTransportOptions): Docker.ContainerCreateOptions {
  return containerSpec(job, job.id, opts);
}

function containerSpec(limits: SandboxSize, jobLabel: string, opts: DockerTransportOptions): Docker.ContainerCreateOptions {
  const tmpfs = `rw,nosuid,nodev,size=${WORKSPACE_SIZE_MB}m,nr_inodes=${WORKSPACE_INODES},mode=1777`;
  return {
    Image: opts.image,
    Cmd: ['--workspace', '/workspace', ...(jobLabel === POOLED_JOB ? ['--started-ahead'] : [])],
    User: '0:0',
    WorkingDir: '/workspace',
    Env: [],
    Labels: containerLabels(opts, jobLabel),
    NetworkDisabled: true,
    OpenStdin: true,
    StdinOnce: true,
    AttachStdin: true,
    AttachStdout: true,
    AttachStderr: true,
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
      // An empty read-only tmpfs over /dev/pts instead of the container's devpts (and so /dev/ptmx, a link into
      // it, leads nowhere): ptys come from a host-wide pool (kernel.pty.max) no job may draw from.
      Tmpfs: { '/tmp': tmpfs, '/workspace': `${tmpfs},exec`, '/dev/pts': NO_PTYS },
      // Own IPC namespace without /dev/shm: a third tmpfs would be memory outside every budget.
      IpcMode: 'none',
      LogConfig: { Type: 'none', Config: {} },
    },
  };
}

/** A container with its streams attached (before start, so no output is missed). */
interface Attached {
  container: Docker.Container;
  stream: NodeJS.ReadWriteStream;
  stdout: PassThrough;
  stderr: PassThrough;
  ended: Promise<void>;
  started: boolean;
}

const ENGINE_LOST = 'lost the Docker engine while the runner container ran';
/** How many times close() asks the engine to remove a container it refused to remove. */
const CLOSE_REMOVAL_TRIES = 5;

export class DockerTransport implements RunnerTransport {
  readonly mode = 'docker' as const;
  readonly docker: Docker;
  private readonly active = new Set<Docker.Container>();
  private readonly removals = new Set<Promise<void>>();
  private readonly pool: WarmPool<Attached> | null;
  /** Ids of our containers whose removal failed (engine unreachable): reapOrphans tries again. */
  private readonly unremoved = new Set<string>();

  constructor(private readonly opts: DockerTransportOptions) {
    this.docker = new Docker({ socketPath: opts.socketPath });
    const { poolSize = 0, poolLimits } = opts;
    if (poolSize > 0 && !poolLimits) throw new Error('a docker warm pool needs poolLimits (the size its sandboxes start with)');
    this.pool = poolSize > 0
      ? new WarmPool(poolSize, () => this.prepare(containerSpec(poolLimits!, POOLED_JOB, opts), true), (c) => this.remove(c.container), opts.onPoolError ?? (() => {}))
      : null;
  }

  /** Pooled containers ready for a job now. */
  get pooledReady(): number {
    return this.pool?.readyCount ?? 0;
  }

  async run(job: Job): Promise<RunOutcome> {
    const clock = phaseClock();
    let attached: Attached | undefined;
    let pooled: boolean | undefined;
    try {
      attached = this.pool?.take();
      pooled = this.pool ? attached !== undefined : undefined;
      if (!attached) attached = await this.prepare(runnerContainerSpec(job, this.opts), false);
      // An engine round trip: only for a job whose size is not the pool's.
      else if (!sameBudget(job, this.opts.poolLimits!)) await attached.container.update(cgroupLimits(job));
      this.active.add(attached.container);
      clock.lap('sandboxMs');
      const outcome = await this.execute(attached, job);
      clock.lap('runnerMs');
      return withTransportPhases(outcome, clock, pooled);
    } catch (err) {
      if (err instanceof TransportError) throw err;
      throw new TransportError(`docker transport failed for job ${job.id}: ${(err as Error).message}`);
    } finally {
      if (attached) {
        this.active.delete(attached.container);
        // Not awaited: the result need not wait for the container's removal (close() does).
        void this.remove(attached.container);
      }
    }
  }

  private async prepare(spec: Docker.ContainerCreateOptions, start: boolean): Promise<Attached> {
    const container = await this.docker.createContainer(spec);
    try {
      const stream = await container.attach({ stream: true, stdin: true, stdout: true, stderr: true, hijack: true });
      const stdout = new PassThrough();
      const stderr = new PassThrough();
      this.docker.modem.demuxStream(stream, stdout, stderr);
      const ended = new Promise<void>((resolve) => {
        stream.on('end', resolve);
        stream.on('close', resolve);
        stream.on('error', () => resolve());
      });
      if (start) {
        const ready = runnerReady(stderr, RUNNER_START_TIMEOUT_MS);
        await container.start();
        await ready;
      }
      return { container, stream, stdout, stderr, ended, started: start };
    } catch (err) {
      await this.remove(container);
      throw err;
    }
  }

  /** Removes a container; one the engine could not be asked to remove is left to reapOrphans. */
  private remove(container: Docker.Container): Promise<void> {
    const removal = container
      .remove({ force: true })
      .then(() => void this.unremoved.delete(container.id))
      .catch((err: { statusCode?: number }) => {
        if (err.statusCode === 404) this.unremoved.delete(container.id);
        else this.unremoved.add(container.id);
      })
      .finally(() => this.removals.delete(removal));
    this.removals.add(removal);
    return removal;
  }

  private async execute({ container, stream, stdout, stderr, ended, started }: Attached, job: Job): Promise<RunOutcome> {
    const output = collectRunnerOutput(runnerOutputCapBytes(job), () => void container.kill().catch(() => {}));
    stdout.on('data', output.onStdout);
    stderr.on('data', output.onStderr);
    if (!started) await container.start();
    stream.end(JSON.stringify(job));

    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<'timeout'>((resolve) => {
      timer = setTimeout(() => resolve('timeout'), jobDeadlineMs(job));
    });
    let waiting = true;
    try {
      const waited = await Promise.race([
        // The result line is the runner's last word: read it then, not after the engine reports the exit.
        output.complete.then(() => 'result' as const),
        // Its request can fail outright too (EPIPE, ECONNRESET) when the connection drops before it is written.
        (container.wait() as Promise<{ StatusCode: number }>).catch((err: Error) => {
          throw new TransportError(`${ENGINE_LOST}: ${err.message}`);
        }),
        // wait() never settles when the engine's connection drops mid-request (docker-modem ignores a response
        // cut short): once the attach stream is over, the engine is asked directly, and not answering fails.
        ended.then(() => this.exitStatus(container, () => waiting)),
        deadline,
      ]);
      if (waited === 'timeout') {
        await container.kill().catch(() => {});
        throw new TransportError(`runner container gave no result within ${jobDeadlineMs(job)} ms`);
      }
      if (waited === 'result') return output.parse('result line');
      await Promise.race([ended, new Promise((r) => setTimeout(r, 2000))]);
      try {
        return output.parse(`container exit ${waited.StatusCode}`);
      } catch (error) {
        if ((await container.inspect()).State.OOMKilled) return runnerKilledForMemory(job);
        throw error;
      }
    } finally {
      waiting = false;
      clearTimeout(timer);
    }
  }

  /** The container's exit status once it has stopped; a TransportError when the engine does not answer. */
  private async exitStatus(container: Docker.Container, waiting: () => boolean): Promise<{ StatusCode: number }> {
    for (;;) {
      let state: Docker.ContainerInspectInfo['State'];
      try {
        state = (await container.inspect()).State;
      } catch (err) {
        throw new TransportError(`${ENGINE_LOST}: ${(err as Error).message}`);
      }
      if (!state.Running) return { StatusCode: state.ExitCode };
      // The runner closed its output but lives on: poll until it stops or the job's deadline.
      if (!waiting()) return { StatusCode: -1 };
      await new Promise((r) => setTimeout(r, 100));
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
      await this.remove(this.docker.getContainer(id));
      if (!this.unremoved.has(id)) reaped++;
    }
    for (const c of containers) {
      const owner = c.Labels[LABEL_OWNER];
      if (owner === this.opts.ownerId || (owner && (await isOwnerAlive(owner)))) continue;
      await this.docker.getContainer(c.Id).remove({ force: true }).catch(() => {});
      reaped++;
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
      await Promise.all([...this.unremoved].map((id) => this.remove(this.docker.getContainer(id))));
    }
  }
}
