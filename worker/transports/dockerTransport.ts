// The docker transport: a fresh hardened container per job. The runner starts as uid 0 with every
// capability dropped except SETUID and SETGID, which it needs for one thing: dropping the job to its own
// uid (setgroups/setresgid/setresuid in sandbox-exec). No network, read-only root, no new privileges,
// memory = memory+swap, one CPU, a pids limit, size- and inode-capped tmpfs for /tmp and the workspace, no
// /dev/shm, no log driver (the streams are attached instead), labels for the reaper; removed in `finally`, or,
// when the engine cannot be reached then, by the reaper once it answers again.
import Docker from 'dockerode';
import { PassThrough } from 'node:stream';
import type { Job } from '../../runner/protocol/job.js';
import { COMPILE_MAX_PROCESSES, SANDBOX_OVERHEAD_MB, SANDBOX_OVERHEAD_TASKS, WORKSPACE_INODES, WORKSPACE_SIZE_MB } from '../../runner/protocol/limits.js';
import type { RunOutcome } from '../../runner/protocol/result.js';
import { runnerKilledForMemory } from '../../runner/verdict.js';
import { containerLabels, LABEL_MANAGED, LABEL_OWNER } from './containerLabels.js';
import { collectRunnerOutput } from './runnerOutput.js';
import { jobDeadlineMs, runnerOutputCapBytes, TransportError, type RunnerTransport } from './transport.js';

export interface DockerTransportOptions {
  socketPath: string;
  image: string;
  /** Identifies this worker instance on its containers, for the reaper. */
  ownerId: string;
}

export function runnerContainerSpec(job: Job, opts: DockerTransportOptions): Docker.ContainerCreateOptions {
  const memoryBytes = (job.memoryLimitMb + SANDBOX_OVERHEAD_MB) * 1024 * 1024;
  const tmpfs = `rw,nosuid,nodev,size=${WORKSPACE_SIZE_MB}m,nr_inodes=${WORKSPACE_INODES},mode=1777`;
  return {
    Image: opts.image,
    Cmd: ['--workspace', '/workspace'],
    User: '0:0',
    WorkingDir: '/workspace',
    Env: [],
    Labels: containerLabels(opts.ownerId, job.id),
    NetworkDisabled: true,
    OpenStdin: true,
    StdinOnce: true,
    AttachStdin: true,
    AttachStdout: true,
    AttachStderr: true,
    Tty: false,
    HostConfig: {
      NetworkMode: 'none',
      ReadonlyRootfs: true,
      CapDrop: ['ALL'],
      CapAdd: ['SETUID', 'SETGID'],
      SecurityOpt: ['no-new-privileges'],
      Memory: memoryBytes,
      MemorySwap: memoryBytes,
      NanoCpus: 1_000_000_000,
      PidsLimit: Math.max(job.maxProcesses, COMPILE_MAX_PROCESSES) + SANDBOX_OVERHEAD_TASKS,
      Ulimits: [
        { Name: 'nofile', Soft: 1024, Hard: 1024 },
        { Name: 'core', Soft: 0, Hard: 0 },
      ],
      Tmpfs: { '/tmp': tmpfs, '/workspace': `${tmpfs},exec` },
      // Own IPC namespace without /dev/shm: a third tmpfs would be memory outside every budget.
      IpcMode: 'none',
      LogConfig: { Type: 'none', Config: {} },
    },
  };
}

export class DockerTransport implements RunnerTransport {
  readonly mode = 'docker' as const;
  readonly docker: Docker;
  private readonly active = new Set<Docker.Container>();
  /** Ids of our containers whose removal failed (engine unreachable): reapOrphans tries again. */
  private readonly unremoved = new Set<string>();

  constructor(private readonly opts: DockerTransportOptions) {
    this.docker = new Docker({ socketPath: opts.socketPath });
  }

  async run(job: Job): Promise<RunOutcome> {
    let container: Docker.Container | undefined;
    try {
      container = await this.docker.createContainer(runnerContainerSpec(job, this.opts));
      this.active.add(container);
      return await this.attachAndRun(container, job);
    } catch (err) {
      if (err instanceof TransportError) throw err;
      throw new TransportError(`docker transport failed for job ${job.id}: ${(err as Error).message}`);
    } finally {
      if (container) {
        this.active.delete(container);
        await this.remove(container);
      }
    }
  }

  /** Removes a container; one the engine could not be asked to remove is left to reapOrphans. */
  private async remove(container: Docker.Container): Promise<void> {
    try {
      await container.remove({ force: true });
    } catch (err) {
      if ((err as { statusCode?: number }).statusCode !== 404) {
        this.unremoved.add(container.id);
        return;
      }
    }
    this.unremoved.delete(container.id);
  }

  private async attachAndRun(container: Docker.Container, job: Job): Promise<RunOutcome> {
    const stream = await container.attach({ stream: true, stdin: true, stdout: true, stderr: true, hijack: true });
    const stdout = new PassThrough();
    const stderr = new PassThrough();
    const output = collectRunnerOutput(runnerOutputCapBytes(job), () => void container.kill().catch(() => {}));
    stdout.on('data', output.onStdout);
    stderr.on('data', output.onStderr);
    this.docker.modem.demuxStream(stream, stdout, stderr);
    const ended = new Promise<void>((resolve) => {
      stream.on('end', resolve);
      stream.on('close', resolve);
      stream.on('error', () => resolve());
    });

    await container.start();
    stream.end(JSON.stringify(job));

    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<'timeout'>((resolve) => {
      timer = setTimeout(() => resolve('timeout'), jobDeadlineMs(job));
    });
    let waiting = true;
    try {
      const waited = await Promise.race([
        container.wait() as Promise<{ StatusCode: number }>,
        // wait() never settles when the engine's connection drops mid-request (docker-modem ignores a response
        // cut short): once the attach stream is over, the engine is asked directly, and not answering fails.
        ended.then(() => this.exitStatus(container, () => waiting)),
        deadline,
      ]);
      if (waited === 'timeout') {
        await container.kill().catch(() => {});
        throw new TransportError(`runner container gave no result within ${jobDeadlineMs(job)} ms`);
      }
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
        throw new TransportError(`lost the Docker engine while the runner container ran: ${(err as Error).message}`);
      }
      if (!state.Running) return { StatusCode: state.ExitCode };
      // The runner closed its output but lives on: poll until it stops or the job's deadline.
      if (!waiting()) return { StatusCode: -1 };
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  /**
   * Removes containers labelled as ours whose owner is no longer alive, and this instance's own that could not
   * be removed when their job ended. Returns how many.
   */
  async reapOrphans(isOwnerAlive: (ownerId: string) => Promise<boolean>): Promise<number> {
    const containers = await this.docker.listContainers({ all: true, filters: { label: [`${LABEL_MANAGED}=true`] } });
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

  /** Kills the containers of jobs still running: their entries stay pending for another worker. */
  async close(): Promise<void> {
    await Promise.all([...this.active, ...[...this.unremoved].map((id) => this.docker.getContainer(id))].map((c) => this.remove(c)));
  }
}
