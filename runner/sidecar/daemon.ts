// The runner sidecar (`code-exec sidecar`, or /opt/runner/sidecar.js in the runner image): serves the jobs the
// worker drops into the shared directory (see protocol.ts), one directory per job, and answers each with a
// result file. It never talks to Redis, and nothing in the shared directory is trusted beyond its schema.
import { createHash } from 'node:crypto';
import { chmodSync, existsSync, lstatSync, readdirSync, readFileSync, renameSync, rmdirSync, rmSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { hostLanguages, type InstalledLanguages } from '../../core/languageVersions.js';
import { JobRejected, normalizeJob, type Job } from '../../core/protocol/job.js';
import { JOB_UID_MIN } from '../../core/protocol/limits.js';
import { outcomeWithoutRun, type RunOutcome } from '../../core/protocol/result.js';
import { DIST_DIR } from '../../core/runnerBundle.js';
import { SupervisedSandboxes, supervisedSandboxProblem } from '../../core/sandbox/supervisedSandboxes.js';
import type { SandboxOwner } from '../../core/sandboxOwner.js';
import type { Logger } from '../../core/logger.js';
import { cleanUp } from '../cleanup.js';
import { ContainerExecutor } from './containerExecutor.js';
import { CLAIM_FILE, HEARTBEAT_FILE, HEARTBEAT_INTERVAL_MS, JOB_FILE, POLL_INTERVAL_MS, RESULT_FILE, writeAtomically, type SidecarReply } from '../../core/protocol/sidecarExchange.js';

export interface SidecarExecutor {
  readonly name: string;
  /** Jobs run at once. */
  readonly concurrency: number;
  run(job: Job): Promise<RunOutcome>;
  /** The languages its sandboxes run, with versions: told to the worker in the heartbeat. */
  languages(): Promise<InstalledLanguages>;
  /**
   * Makes its sandbox as a new job needs it: no process and no file of an earlier job. Called at start and after
   * every job, before the next is taken; throws when it cannot (the sidecar then takes no job until it can).
   */
  reset(): Promise<{ zombies: number } | void>;
  close(): Promise<void>;
}

export const SANDBOXES = ['auto', 'bubblewrap', 'container'] as const;
export type SandboxSetting = (typeof SANDBOXES)[number];

/** The launcher (sandbox-exec): it runs the container's runner and does every cleanup Node cannot do safely. */
export const LAUNCHER = join(DIST_DIR, 'sandbox-exec');

/** How often a sidecar that is not ready tries its cleanup again. */
const RESET_RETRY_MS = 5000;

/**
 * The heartbeat file's content (HEARTBEAT_FILE). Its age says whether a sidecar is alive; `ready: false` that it is
 * alive but takes no job, and `problem` why (the worker's SidecarTransport reads both).
 */
export interface SidecarHeartbeat {
  pid: number;
  at: string;
  languages: InstalledLanguages;
  ready: boolean;
  problem?: string;
}

/**
 * `bubblewrap` (a historical name): each job in a supervised sandbox of its own on this host (the process
 * transport's: own namespaces and cgroup), several at once. `container`: the sidecar's container is the sandbox
 * (see ContainerExecutor). `auto` picks the first where the sidecar can make such sandboxes (root, writable
 * cgroups, the supervisor built).
 */
export function createExecutor(setting: SandboxSetting, workspace: string, concurrency: number, dir: string): SidecarExecutor {
  const kind = setting === 'auto' ? (supervisedSandboxProblem() === null ? 'bubblewrap' : 'container') : setting;
  if (kind === 'container') return new ContainerExecutor(workspace, join(DIST_DIR, 'runner.js'), LAUNCHER);
  const sandboxes = new SupervisedSandboxes(sidecarOwner(dir));
  // Each job's sandbox (namespaces, tmpfs, cgroup) goes with it: nothing to reset between jobs.
  return { name: 'bubblewrap', concurrency, run: (job) => sandboxes.run(job), languages: hostLanguages, reset: async () => {}, close: () => sandboxes.close() };
}

/**
 * The sidecar's bubblewrap sandboxes are a deployment of their own (the directory it serves on this host): no
 * worker's reaper on the same host judges them by its Redis, and the sidecar kills its own when it stops.
 */
export function sidecarOwner(dir: string): SandboxOwner {
  const host = hostname().slice(0, 32);
  return { deployment: createHash('sha256').update(JSON.stringify(['sidecar', host, dir])).digest('hex').slice(0, 12), ownerId: `sidecar-${host}` };
}

export class SidecarDaemon {
  private readonly running = new Set<string>();
  private readonly inFlight = new Set<Promise<void>>();
  private readonly timers: NodeJS.Timeout[] = [];
  private stopping = false;
  private languages: InstalledLanguages = {};
  /** Why the sidecar takes no job (its last cleanup failed), or null when it is ready. */
  private notReady: string | null = null;
  /** Cleanups run one at a time (jobs of the bubblewrap posture may end together). */
  private resets: Promise<void> = Promise.resolve();
  /** Cleanups asked for and not finished: no job is taken meanwhile. */
  private resetsPending = 0;
  private lastResetAt = 0;

  constructor(
    private readonly dir: string,
    private readonly executor: SidecarExecutor,
    private readonly log: Logger,
    private readonly launcher: string = LAUNCHER,
  ) {}

  async start(): Promise<void> {
    if (!existsSync(this.dir)) throw new Error(`SIDECAR_DIR ${this.dir} does not exist; mount the volume shared with the worker there`);
    // Volumes are often created world-writable (an emptyDir is): only its owner and group (the worker's uid or
    // fsGroup) may create job directories, no job uid; sticky, so nobody removes or replaces another's entries.
    chmodSync(this.dir, 0o1770);
    await this.removeStale();
    this.languages = await this.executor.languages();
    // The volumes may outlive an earlier sidecar (a task volume, a pod's emptyDir) with whatever its last job left:
    // the sidecar starts either way, and is ready once that is gone.
    await this.reset('start');
    this.heartbeat();
    this.timers.push(setInterval(() => this.tick(), HEARTBEAT_INTERVAL_MS));
    this.timers.push(setInterval(() => this.scan(), POLL_INTERVAL_MS));
    this.log.info('sidecar started', { dir: this.dir, sandbox: this.executor.name, concurrency: this.executor.concurrency, languages: this.languages, ready: this.notReady === null });
  }

  /** Stops taking jobs and lets running ones finish. */
  async stop(): Promise<void> {
    this.stopping = true;
    for (const t of this.timers) clearInterval(t);
    await Promise.all(this.inFlight);
    await this.resets;
    await this.executor.close();
    rmSync(join(this.dir, HEARTBEAT_FILE), { force: true });
    this.log.info('sidecar stopped', { dir: this.dir });
  }

  private tick(): void {
    this.heartbeat();
    // Not ready: try again now and then, once no job runs (none is taken meanwhile).
    if (this.notReady !== null && !this.stopping && this.resetsPending === 0 && this.running.size === 0 && Date.now() - this.lastResetAt >= RESET_RETRY_MS) {
      void this.reset('retry');
    }
  }

  private heartbeat(): void {
    const beat: SidecarHeartbeat = { pid: process.pid, at: new Date().toISOString(), languages: this.languages, ready: this.notReady === null, ...(this.notReady === null ? {} : { problem: this.notReady }) };
    try {
      writeAtomically(join(this.dir, HEARTBEAT_FILE), JSON.stringify(beat), 0o644);
    } catch (err) {
      this.log.warn('cannot write the heartbeat', { error: (err as Error).message });
    }
  }

  /**
   * Removes whatever a job left (in the shared directory, and in the executor's sandbox); the sidecar is ready when
   * that worked, and takes no job when it did not, saying why in its log and its heartbeat. Never throws.
   */
  private reset(when: string): Promise<void> {
    this.resetsPending++;
    this.resets = this.resets.then(async () => {
      this.lastResetAt = Date.now();
      let problem: string | null = null;
      try {
        await this.sweepJobLeftovers();
        const report = await this.executor.reset();
        // Dead, and nobody will reap them (only this process could, and it knows nothing of them): each holds a pid
        // of the container's until it is replaced. They mean something of a job escaped the runner's --contain.
        if (report && report.zombies > 0) this.log.warn('unreaped processes of job uids in the sandbox', { when, zombies: report.zombies });
      } catch (err) {
        problem = `cleanup failed: ${(err as Error).message}`;
      }
      if (problem !== null && problem !== this.notReady) {
        this.log.error('sidecar not ready: it takes no job until a cleanup succeeds', { when, reason: problem });
      } else if (problem === null && this.notReady !== null) {
        this.log.info('sidecar ready again: a cleanup succeeded', { when, after: this.notReady });
      }
      this.notReady = problem;
      this.resetsPending--;
      // The worker learns it at once, not at the next tick.
      if (!this.stopping) this.heartbeat();
    });
    return this.resets;
  }

  /**
   * A claimed job without a result was running when an earlier sidecar died: drop it, its worker retries. One that
   * cannot be removed stays for its worker's deadline (the worker retries it then): that is no reason not to start.
   */
  private async removeStale(): Promise<void> {
    for (const name of this.jobDirs()) {
      const dir = join(this.dir, name);
      if (existsSync(join(dir, CLAIM_FILE)) && !existsSync(join(dir, RESULT_FILE))) {
        try {
          // The worker's own directory (0700, no job uid can write into it); the launcher removes it all the same.
          await cleanUp(this.launcher, { clear: [{ dir }] });
          rmdirSync(dir);
          this.log.info('removed a job a previous sidecar left unfinished', { job: name });
        } catch (err) {
          this.log.warn('cannot remove a job a previous sidecar left unfinished', { job: name, error: (err as Error).message });
        }
      }
    }
  }

  /**
   * Job directories: not hidden, and not made by a job (a job uid can write into a shared volume mounted
   * world-writable; what it plants there is never run, and is swept after every job).
   */
  private jobDirs(): string[] {
    const names: string[] = [];
    for (const name of readdirSync(this.dir)) {
      if (name.startsWith('.')) continue;
      try {
        // lstat: a link is never a job directory, wherever it points.
        const st = lstatSync(join(this.dir, name));
        if (st.isDirectory() && st.uid < JOB_UID_MIN) names.push(name);
      } catch {
        // Removed meanwhile.
      }
    }
    return names;
  }

  /** What job uids made in the shared directory (any depth: the launcher's cleanup); throws when some is left. */
  private async sweepJobLeftovers(): Promise<void> {
    const planted = readdirSync(this.dir).some((name) => {
      try {
        // lstat: a job's link is removed itself, not followed.
        return lstatSync(join(this.dir, name)).uid >= JOB_UID_MIN;
      } catch {
        return false; // Removed meanwhile.
      }
    });
    if (planted) await cleanUp(this.launcher, { clear: [{ dir: this.dir, jobOwned: true }] });
  }

  private scan(): void {
    if (this.stopping || this.notReady !== null || this.resetsPending > 0) return;
    let names: string[];
    try {
      names = this.jobDirs();
    } catch (err) {
      this.log.warn('cannot list SIDECAR_DIR', { error: (err as Error).message });
      return;
    }
    for (const name of names) {
      if (this.running.size >= this.executor.concurrency) return;
      if (this.running.has(name)) continue;
      const dir = join(this.dir, name);
      try {
        // The rename is the claim: of several sidecars on one directory, exactly one wins it.
        renameSync(join(dir, JOB_FILE), join(dir, CLAIM_FILE));
      } catch {
        continue;
      }
      this.running.add(name);
      const work = this.serve(dir).finally(() => {
        this.running.delete(name);
        this.inFlight.delete(work);
      });
      this.inFlight.add(work);
    }
  }

  private async serve(dir: string): Promise<void> {
    let reply: SidecarReply;
    let job: Job | null = null;
    try {
      job = normalizeJob(JSON.parse(readFileSync(join(dir, CLAIM_FILE), 'utf8')));
      this.log.info('job started', { jobId: job.id });
      reply = { outcome: await this.executor.run(job) };
    } catch (err) {
      reply = err instanceof JobRejected ? { outcome: outcomeWithoutRun('rejected', err.message) } : { error: (err as Error).message };
    }
    // Before the result goes out: when the worker has it, nothing of the job runs or remains. A failed cleanup
    // does not change the job's outcome (it was decided); it keeps the next job from starting here.
    await this.reset(`after job ${job?.id ?? dir}`);
    try {
      // Readable by the worker's uid (it is not the sidecar's); the directory around it is the worker's 0700 one.
      writeAtomically(join(dir, RESULT_FILE), JSON.stringify(reply), 0o644);
      this.log.info('job finished', { jobId: job?.id, status: 'outcome' in reply ? reply.outcome.status : null, error: 'error' in reply ? reply.error : undefined });
    } catch (err) {
      // The worker gave up and removed the directory; its job is retried elsewhere.
      this.log.warn('cannot write a result; the worker is gone', { jobId: job?.id, error: (err as Error).message });
    }
  }
}
