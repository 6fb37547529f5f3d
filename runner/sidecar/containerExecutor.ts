// Runs jobs inside the sidecar's own container (ECS/Fargate, a GKE pod), where there is no bubblewrap and no
// cgroup to create: the container is the sandbox, as in the docker transport, except that it lives on and
// serves one job after another. So one job at a time: the container's cgroup then measures that job alone,
// and everything a job can leave behind (/workspace, /tmp, /dev/shm) is wiped before the next starts.
// The runner drops each job to its own uid; the launcher's seccomp filter keeps it off the network the
// sidecar shares with the worker.
import { spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, existsSync, readFileSync } from 'node:fs';
import { readOomKills } from '../cgroupCounters.js';
import { cleanUp, type CleanupReport } from '../cleanup.js';
import { outsideJobContainer } from '../jobContainer.js';
import { closePtyPool } from '../ptyPool.js';
import { measureLanguages, parseInstalledLanguages, RUNNER_LANGUAGES_FILE, type InstalledLanguages } from '../../core/languageVersions.js';
import type { Job } from '../../core/protocol/job.js';
import type { RunOutcome } from '../../core/protocol/result.js';
import { runnerKilledForMemory } from '../../core/verdict.js';
import { collectRunnerOutput, jobDeadlineMs, runnerOutputCapBytes } from '../../core/protocol/runnerOutput.js';
import { TransportError } from '../../core/errors.js';

/** World-writable places a job could leave files in for the next one (the workspace is wiped too). */
const SHARED_SCRATCH = ['/tmp', '/dev/shm'];

/**
 * How long the launcher's --contain gets, once told to stop, to kill and reap every process of the job before its
 * whole process group is killed outright (its own bound is 5 s).
 */
const STOP_GRACE_MS = 10_000;

export class ContainerExecutor {
  readonly name = 'container';
  readonly concurrency = 1;
  private active: ChildProcess | null = null;

  /**
   * `workspace`: a writable volume (a memory-backed emptyDir, a tmpfs) mounted where jobs run. `launcher`: the
   * sandbox-exec program, which runs the runner under --contain and does the cleanup (cleanUp).
   */
  constructor(
    private readonly workspace: string,
    private readonly runnerJs: string,
    private readonly launcher: string,
  ) {
    if (process.getuid?.() !== 0) {
      throw new Error('the sidecar must run as uid 0 with CAP_SETUID, CAP_SETGID, CAP_DAC_OVERRIDE and CAP_FOWNER to give each job its own uid and clean up after it (no other capability, no privileged mode)');
    }
    // Read-only root is what makes /tmp, /dev/shm and the sidecar's volumes the only places a job can write,
    // and what makes wiping /tmp between jobs safe: this executor refuses to run on a host.
    const outside = outsideJobContainer();
    if (outside) throw new Error(`the container sandbox needs a read-only root filesystem (readonlyRootFilesystem: true): ${outside}; on a host use SIDECAR_SANDBOX=bubblewrap`);
    if (!existsSync(workspace)) throw new Error(`the workspace ${workspace} does not exist; mount a writable volume there`);
    // Sticky and world-writable, as in the runner image: compile and run uids write here, neither can
    // remove what the other made.
    chmodSync(workspace, 0o1777);
    // The container runtime mounted a devpts here: no job may draw from the host-wide pty pool (each runner
    // checks again before its job).
    closePtyPool();
  }

  /** The image's list, made when it was built; measured here in a container of another image. */
  async languages(): Promise<InstalledLanguages> {
    return existsSync(RUNNER_LANGUAGES_FILE) ? parseInstalledLanguages(readFileSync(RUNNER_LANGUAGES_FILE, 'utf8')) : measureLanguages();
  }

  async run(job: Job): Promise<RunOutcome> {
    const oomBefore = readOomKills();
    try {
      return await this.runRunner(job, this.workspace);
    } catch (err) {
      const oomAfter = readOomKills();
      if (err instanceof TransportError && oomBefore !== null && oomAfter !== null && oomAfter > oomBefore) return runnerKilledForMemory(job);
      throw err;
    }
  }

  /**
   * The runner runs under the launcher's --contain, a child subreaper: when the deadline or the output cap fires it
   * is told to stop (SIGTERM) and kills every process of a job uid before the runner's group, so the job's forked
   * children (which no parent-death signal reaches) die too, and it reaps them all (this process, the container's
   * init, collects nobody's zombies but its own children's).
   */
  private runRunner(job: Job, workspace: string): Promise<RunOutcome> {
    return new Promise((resolve, reject) => {
      const child = spawn(this.launcher, ['--contain', '--', process.execPath, this.runnerJs, '--workspace', workspace], {
        stdio: ['pipe', 'pipe', 'pipe'],
        detached: true,
        // The runner gets nothing of the sidecar's environment.
        env: { PATH: '/usr/local/bin:/usr/bin:/bin', LANG: 'C.UTF-8' },
      });
      this.active = child;
      let timedOut = false;
      let outright: NodeJS.Timeout | undefined;
      const stop = () => {
        if (outright) return;
        child.kill('SIGTERM');
        // Should --contain itself hang, its group goes; reset() then kills what is left of the job by uid.
        outright = setTimeout(() => {
          try {
            process.kill(-child.pid!, 'SIGKILL');
          } catch {
            // Already gone.
          }
        }, STOP_GRACE_MS);
      };
      const timer = setTimeout(() => {
        timedOut = true;
        stop();
      }, jobDeadlineMs(job));
      const output = collectRunnerOutput(runnerOutputCapBytes(job), stop);
      child.stdout.on('data', output.onStdout);
      child.stderr.on('data', output.onStderr);
      child.stdin.on('error', () => {});
      child.stdin.end(JSON.stringify(job));
      child.on('error', (e) => {
        clearTimeout(timer);
        reject(new TransportError(`cannot start the runner: ${e.message}`));
      });
      child.on('close', (code, signal) => {
        clearTimeout(timer);
        clearTimeout(outright);
        this.active = null;
        if (timedOut) return reject(new TransportError(`runner killed: no result within ${jobDeadlineMs(job)} ms`));
        try {
          resolve(output.parse(`runner exit ${code ?? signal}`));
        } catch (e) {
          reject(e);
        }
      });
    });
  }

  /**
   * No process and no file of an earlier job: every process of a job uid is killed, and the workspace, /tmp and
   * /dev/shm are emptied (the sidecar keeps no files of its own there). Throws CleanupFailed with what is left.
   */
  reset(): Promise<CleanupReport> {
    return cleanUp(this.launcher, { killJobProcesses: true, clear: [this.workspace, ...SHARED_SCRATCH].map((dir) => ({ dir })) });
  }

  async close(): Promise<void> {
    // --contain kills and reaps what is left of the job; the daemon's reset checks that nothing is.
    this.active?.kill('SIGTERM');
  }
}
