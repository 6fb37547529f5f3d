// The runner sidecar (`code-exec sidecar`, or /opt/runner/sidecar.js in the runner image): serves the jobs the
// worker drops into the shared directory (see protocol.ts), one directory per job, and answers each with a
// result file. It never talks to Redis, and nothing in the shared directory is trusted beyond its schema.
import { createHash } from 'node:crypto';
import { chmodSync, existsSync, lstatSync, readdirSync, readFileSync, renameSync, rmSync } from 'node:fs';
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
import { ContainerExecutor } from './containerExecutor.js';
import { CLAIM_FILE, HEARTBEAT_FILE, HEARTBEAT_INTERVAL_MS, JOB_FILE, POLL_INTERVAL_MS, RESULT_FILE, writeAtomically, type SidecarReply } from '../../core/protocol/sidecarExchange.js';

export interface SidecarExecutor {
  readonly name: string;
  /** Jobs run at once. */
  readonly concurrency: number;
  run(job: Job): Promise<RunOutcome>;
  /** The languages its sandboxes run, with versions: told to the worker in the heartbeat. */
  languages(): Promise<InstalledLanguages>;
  close(): Promise<void>;
}

export const SANDBOXES = ['auto', 'bubblewrap', 'container'] as const;
export type SandboxSetting = (typeof SANDBOXES)[number];


/**
 * `bubblewrap` (a historical name): each job in a supervised sandbox of its own on this host (the process
 * transport's: own namespaces and cgroup), several at once. `container`: the sidecar's container is the sandbox
 * (see ContainerExecutor). `auto` picks the first where the sidecar can make such sandboxes (root, writable
 * cgroups, the supervisor built).
 */
export function createExecutor(setting: SandboxSetting, workspace: string, concurrency: number, dir: string): SidecarExecutor {
  const kind = setting === 'auto' ? (supervisedSandboxProblem() === null ? 'bubblewrap' : 'container') : setting;
  if (kind === 'container') return new ContainerExecutor(workspace, join(DIST_DIR, 'runner.js'));
  const sandboxes = new SupervisedSandboxes(sidecarOwner(dir));
  return { name: 'bubblewrap', concurrency, run: (job) => sandboxes.run(job), languages: hostLanguages, close: () => sandboxes.close() };
}

/**
 * The sidecar's bubblewrap sandboxes are a deployment of their own (the directory it serves on this host): no
 * worker's reaper on the same host judges them by its Redis, and the sidecar kills its own when it stops.
 */
function sidecarOwner(dir: string): SandboxOwner {
  const host = hostname().slice(0, 32);
  return { deployment: createHash('sha256').update(JSON.stringify(['sidecar', host, dir])).digest('hex').slice(0, 12), ownerId: `sidecar-${host}` };
}

export class SidecarDaemon {
  private readonly running = new Set<string>();
  private readonly inFlight = new Set<Promise<void>>();
  private readonly timers: NodeJS.Timeout[] = [];
  private stopping = false;
  private languages: InstalledLanguages = {};

  constructor(
    private readonly dir: string,
    private readonly executor: SidecarExecutor,
    private readonly log: Logger,
  ) {}

  async start(): Promise<void> {
    if (!existsSync(this.dir)) throw new Error(`SIDECAR_DIR ${this.dir} does not exist; mount the volume shared with the worker there`);
    // Volumes are often created world-writable (an emptyDir is): only its owner and group (the worker's uid or
    // fsGroup) may create job directories, no job uid; sticky, so nobody removes or replaces another's entries.
    chmodSync(this.dir, 0o1770);
    this.removeStale();
    this.languages = await this.executor.languages();
    this.heartbeat();
    this.timers.push(setInterval(() => this.heartbeat(), HEARTBEAT_INTERVAL_MS));
    this.timers.push(setInterval(() => this.scan(), POLL_INTERVAL_MS));
    this.log.info('sidecar started', { dir: this.dir, sandbox: this.executor.name, concurrency: this.executor.concurrency, languages: this.languages });
  }

  /** Stops taking jobs and lets running ones finish. */
  async stop(): Promise<void> {
    this.stopping = true;
    for (const t of this.timers) clearInterval(t);
    await Promise.all(this.inFlight);
    await this.executor.close();
    rmSync(join(this.dir, HEARTBEAT_FILE), { force: true });
    this.log.info('sidecar stopped', { dir: this.dir });
  }

  private heartbeat(): void {
    try {
      writeAtomically(join(this.dir, HEARTBEAT_FILE), JSON.stringify({ pid: process.pid, at: new Date().toISOString(), languages: this.languages }), 0o644);
    } catch (err) {
      this.log.warn('cannot write the heartbeat', { error: (err as Error).message });
    }
  }

  /** A claimed job without a result was running when an earlier sidecar died: drop it, its worker retries. */
  private removeStale(): void {
    for (const name of this.jobDirs()) {
      const dir = join(this.dir, name);
      if (existsSync(join(dir, CLAIM_FILE)) && !existsSync(join(dir, RESULT_FILE))) {
        rmSync(dir, { recursive: true, force: true });
        this.log.info('removed a job a previous sidecar left unfinished', { job: name });
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

  private sweepJobLeftovers(): void {
    for (const name of readdirSync(this.dir)) {
      try {
        // lstat: a job's link is removed itself, not followed.
        if (lstatSync(join(this.dir, name)).uid >= JOB_UID_MIN) rmSync(join(this.dir, name), { recursive: true, force: true });
      } catch {
        // Removed meanwhile.
      }
    }
  }

  private scan(): void {
    if (this.stopping) return;
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
    } finally {
      this.sweepJobLeftovers();
    }
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
