// Runs jobs inside the sidecar's own container (ECS/Fargate, a GKE pod), where there is no bubblewrap and no
// cgroup to create: the container is the sandbox, as in the docker transport, except that it lives on and
// serves one job after another. So one job at a time: the container's cgroup then measures that job alone,
// and everything a job can leave behind (/workspace, /tmp, /dev/shm) is wiped before the next starts.
// The runner drops each job to its own uid; the launcher's seccomp filter keeps it off the network the
// sidecar shares with the worker.
import { spawn } from 'node:child_process';
import { accessSync, chmodSync, constants, existsSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { readOomKills } from '../cgroupCounters.js';
import { closePtyPool } from '../ptyPool.js';
import { measureLanguages, parseInstalledLanguages, RUNNER_LANGUAGES_FILE, type InstalledLanguages } from '../../core/languageVersions.js';
import type { Job } from '../../core/protocol/job.js';
import type { RunOutcome } from '../../core/protocol/result.js';
import { runnerKilledForMemory } from '../../core/verdict.js';
import { collectRunnerOutput, jobDeadlineMs, runnerOutputCapBytes } from '../../core/protocol/runnerOutput.js';
import { TransportError } from '../../core/errors.js';

/** World-writable places a job could leave files in for the next one (the workspace is wiped too). */
const SHARED_SCRATCH = ['/tmp', '/dev/shm'];

export class ContainerExecutor {
  readonly name = 'container';
  readonly concurrency = 1;
  private active: number | null = null;

  /** `workspace`: a writable volume (a memory-backed emptyDir, a tmpfs) mounted where jobs run. */
  constructor(
    private readonly workspace: string,
    private readonly runnerJs: string,
  ) {
    if (process.getuid?.() !== 0) {
      throw new Error('the sidecar must run as uid 0 with CAP_SETUID, CAP_SETGID, CAP_DAC_OVERRIDE and CAP_FOWNER to give each job its own uid and clean up after it (no other capability, no privileged mode)');
    }
    // Read-only root is what makes /tmp, /dev/shm and the sidecar's volumes the only places a job can write,
    // and what makes wiping /tmp between jobs safe: this executor refuses to run on a host.
    let writableRoot = true;
    try {
      accessSync('/', constants.W_OK);
    } catch {
      writableRoot = false;
    }
    if (writableRoot) throw new Error('the container sandbox needs a read-only root filesystem (readonlyRootFilesystem: true); on a host use SIDECAR_SANDBOX=bubblewrap');
    if (!existsSync(workspace)) throw new Error(`the workspace ${workspace} does not exist; mount a writable volume there`);
    // Sticky and world-writable, as in the runner image: compile and run uids write here, neither can
    // remove what the other made.
    chmodSync(workspace, 0o1777);
    // The container runtime mounted a devpts here: no job may draw from the host-wide pty pool (each runner
    // checks again before its job).
    closePtyPool();
    this.wipe();
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
    } finally {
      this.wipe();
    }
  }

  private runRunner(job: Job, workspace: string): Promise<RunOutcome> {
    return new Promise((resolve, reject) => {
      const child = spawn(process.execPath, [this.runnerJs, '--workspace', workspace], {
        stdio: ['pipe', 'pipe', 'pipe'],
        detached: true,
        // The runner gets nothing of the sidecar's environment.
        env: { PATH: '/usr/local/bin:/usr/bin:/bin', LANG: 'C.UTF-8' },
      });
      this.active = child.pid ?? null;
      let timedOut = false;
      const killAll = () => {
        try {
          process.kill(-child.pid!, 'SIGKILL');
        } catch {
          // Already gone.
        }
      };
      const timer = setTimeout(() => {
        timedOut = true;
        killAll();
      }, jobDeadlineMs(job));
      const output = collectRunnerOutput(runnerOutputCapBytes(job), killAll);
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

  /** Removes what the last job left; the sidecar keeps no files of its own in these places. */
  private wipe(): void {
    for (const dir of [this.workspace, ...SHARED_SCRATCH]) {
      if (!existsSync(dir)) continue;
      for (const entry of readdirSync(dir)) rmSync(join(dir, entry), { recursive: true, force: true });
    }
  }

  async close(): Promise<void> {
    if (this.active === null) return;
    try {
      process.kill(-this.active, 'SIGKILL');
    } catch {
      // Already gone.
    }
  }
}
