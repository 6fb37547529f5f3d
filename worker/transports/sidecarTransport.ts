// The sidecar transport (ECS/Fargate, a GKE pod): the worker hands each job to the runner sidecar, the runner image's
// sandbox-executor serving the directory they share (core/protocol/sidecarExchange.ts), over a connection of its own
// to the executor's socket there, and judges the step reports that come back (core/judge.ts), as the docker transport
// does with a container's executor. The sidecar runs one job at a time in its container, and before it takes the next
// kills every process of the last one and empties /workspace, /tmp and /dev/shm.
import { lstatSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { installedLanguagesOf, type InstalledLanguages } from '../../core/languageVersions.js';
import type { Job } from '../../core/protocol/job.js';
import type { RunOutcome } from '../../core/protocol/result.js';
import { HEARTBEAT_FILE, HEARTBEAT_STALE_MS, SIDECAR_SOCKET } from '../../core/protocol/sidecarExchange.js';
import { jobDeadlineMs } from '../../core/protocol/runnerOutput.js';
import { phaseClock } from '../../core/phaseClock.js';
import { planJob } from '../../core/judge.js';
import { encodeRequest, judgeInSandbox, SandboxEnded, withJudgedPhases } from '../../core/sandbox/wire.js';
import { TransportError } from '../../core/errors.js';
import { ContainerChannel } from './containerChannel.js';
import type { RunnerTransport } from './transport.js';

/** Beyond the job's own deadline: the sidecar's cleanup after the job before it, and the reports' way back. */
const DEADLINE_MARGIN_MS = 5000;

export class SidecarTransport implements RunnerTransport {
  readonly mode = 'sidecar' as const;
  private readonly open = new Set<ContainerChannel>();

  constructor(private readonly dir: string) {}

  /** Why no sidecar serves the directory, or null when one does. */
  sidecarProblem(): string | null {
    try {
      // lstat: only the sidecar's own file counts, not a link someone put in its place.
      const heartbeat = lstatSync(join(this.dir, HEARTBEAT_FILE));
      if (!heartbeat.isFile()) return `${join(this.dir, HEARTBEAT_FILE)} is not a regular file`;
      const age = Date.now() - heartbeat.mtimeMs;
      if (age > HEARTBEAT_STALE_MS) return `the runner sidecar's heartbeat in ${this.dir} is ${Math.round(age / 1000)} s old`;
      return this.notReadyBecause();
    } catch {
      return `no runner sidecar serves ${this.dir} (no heartbeat file); check the task's runner container (the runner image's sandbox-executor --serve ${this.dir})`;
    }
  }

  /**
   * Why no job can be handed over now: no sidecar (not started yet, as while a new node pulls its image, or gone), a
   * stale one, or one that reports it is not ready (see notReadyBecause). The worker claims nothing meanwhile, so a
   * job waits in the queue instead of failing its deliveries into the dead letters.
   */
  unavailable(): string | null {
    return this.sidecarProblem();
  }

  /**
   * An alive sidecar that says it is not ready (its cleanup after a job failed: runner/sandbox/executor.c) takes no
   * job, so none is handed to it. A heartbeat without `ready` (an older sidecar) or unreadable just now counts as ready.
   */
  private notReadyBecause(): string | null {
    let beat: { ready?: unknown; problem?: unknown };
    try {
      beat = JSON.parse(readFileSync(join(this.dir, HEARTBEAT_FILE), 'utf8')) as typeof beat;
    } catch {
      return null;
    }
    if (typeof beat !== 'object' || beat === null || beat.ready !== false) return null;
    return `the runner sidecar serving ${this.dir} is not ready: ${typeof beat.problem === 'string' ? beat.problem : 'it gave no reason'}`;
  }

  /** What the sidecar said in its heartbeat (read each time: the sidecar may start, or be replaced, after the worker). */
  async languages(): Promise<InstalledLanguages | null> {
    try {
      const { languages } = JSON.parse(readFileSync(join(this.dir, HEARTBEAT_FILE), 'utf8')) as { languages?: unknown };
      return languages === undefined ? null : installedLanguagesOf(languages);
    } catch {
      return null;
    }
  }

  async run(job: Job): Promise<RunOutcome> {
    const problem = this.sidecarProblem();
    if (problem) throw new TransportError(problem);
    const clock = phaseClock();
    // Planned first: a job that cannot be planned takes no turn of the sidecar.
    const plan = planJob(job);
    // The sidecar takes a connection once the job before it is gone (this worker's, or another worker's on the same
    // directory): up to that job's deadline and the cleanup after it.
    let channel: ContainerChannel;
    try {
      channel = await ContainerChannel.connect(join(this.dir, SIDECAR_SOCKET), jobDeadlineMs(job) + DEADLINE_MARGIN_MS);
    } catch (err) {
      throw new TransportError(`cannot hand the job to the runner sidecar serving ${this.dir}: ${(err as Error).message}`);
    }
    this.open.add(channel);
    clock.lap('sandboxMs');
    let timer: NodeJS.Timeout | undefined;
    try {
      channel.sendRequest(encodeRequest(plan));
      clock.lap('workspaceMs');
      const deadline = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new TransportError(`the runner sidecar gave no result within ${jobDeadlineMs(job) + DEADLINE_MARGIN_MS} ms`)), jobDeadlineMs(job) + DEADLINE_MARGIN_MS);
      });
      const judged = judgeInSandbox(job, plan, channel, clock);
      // Past the deadline the channel still ends (closed below): nobody waits for it then.
      judged.catch(() => {});
      return withJudgedPhases(await Promise.race([judged, deadline]), clock);
    } catch (err) {
      if (err instanceof SandboxEnded) throw new TransportError(`the runner sidecar ended the job before its outcome: ${err.message}`);
      throw err;
    } finally {
      clearTimeout(timer);
      channel.close();
      this.open.delete(channel);
    }
  }

  /** Nothing to reap: a sidecar's job ends with its connection, and the sidecar cleans up after it. */
  async reapOrphans(): Promise<number> {
    return 0;
  }

  /** Ends the jobs still running: the sidecar kills each at once (it watches the connection); their entries are retried. */
  async close(): Promise<void> {
    for (const channel of this.open) channel.close();
    this.open.clear();
  }
}
