// The Node side of the launcher's cleanup mode (`sandbox-exec --kill-job-uids --clear DIR ...`, see
// runner/sandbox/sandbox-exec.c): the runner between cases, the sidecar between jobs and at start. Node's own
// removal (rmSync with `recursive`) recurses on paths: a tree a few thousand levels deep overflows its stack or
// passes PATH_MAX, and a job can make one. The launcher removes any depth through directory descriptors, never
// follows a link, and says what it could not remove.
import { spawn } from 'node:child_process';

export interface ClearDirectory {
  /** An absolute path; a missing directory counts as clear. */
  dir: string;
  /** Names at its top that stay (with what they hold). */
  keep?: Iterable<string>;
  /** Only its top-level entries a job uid owns go (a directory shared with the worker). */
  jobOwned?: boolean;
}

export interface CleanupRequest {
  /**
   * First kill every process of a job uid in sight, until none is left alive. Only where one job runs at a time
   * (the sidecar's container): elsewhere those processes are other jobs'.
   */
  killJobProcesses?: boolean;
  clear: ClearDirectory[];
}

/** What the launcher reports. */
export interface CleanupReport {
  jobProcessesLeft: number;
  /** Dead processes of a job uid nobody reaped (their parent is not the launcher's). */
  zombies: number;
  dirs: { dir: string; left: number }[];
}

/** Something of a job could not be removed: whoever runs the next job must not run it here. */
export class CleanupFailed extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CleanupFailed';
  }
}

/** The whole of it is bounded by the scratch places' sizes: a cleanup this long is stuck, and so is its owner. */
const CLEANUP_TIMEOUT_MS = 120_000;

function cleanupArgs(request: CleanupRequest): string[] {
  const args = request.killJobProcesses ? ['--kill-job-uids'] : [];
  for (const target of request.clear) {
    args.push('--clear', target.dir);
    for (const name of target.keep ?? []) args.push('--keep', name);
    if (target.jobOwned) args.push('--job-owned');
  }
  return args;
}

/** What is left, in words a log reader can act on; empty when nothing is. */
function leftovers(report: CleanupReport): string[] {
  const found = report.dirs.filter((d) => d.left !== 0).map((d) => (d.left < 0 ? `${d.dir} cannot be opened` : `${d.dir} still holds ${d.left} entries`));
  if (report.jobProcessesLeft) found.unshift(`${report.jobProcessesLeft} processes of job uids are still alive`);
  return found;
}

/**
 * Runs the cleanup; resolves with the launcher's report when nothing is left, else throws CleanupFailed saying what
 * is left ("/tmp still holds 1 entries").
 */
export function cleanUp(launcher: string, request: CleanupRequest): Promise<CleanupReport> {
  return new Promise((resolve, reject) => {
    const child = spawn(launcher, cleanupArgs(request), { stdio: ['ignore', 'pipe', 'pipe'], env: {}, timeout: CLEANUP_TIMEOUT_MS, killSignal: 'SIGKILL' });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString('utf8')));
    child.stderr.on('data', (d: Buffer) => {
      if (err.length < 2000) err += d.toString('utf8');
    });
    child.on('error', (e) => reject(new CleanupFailed(`cannot start the cleanup (${launcher}): ${e.message}`)));
    child.on('close', (code, signal) => {
      let report: CleanupReport;
      try {
        report = JSON.parse(out.trim().split('\n').pop() ?? '') as CleanupReport;
      } catch {
        const how = signal === 'SIGKILL' ? `did not finish within ${CLEANUP_TIMEOUT_MS} ms` : `failed (exit ${code ?? signal})`;
        reject(new CleanupFailed(`the cleanup ${how}: ${err.trim().slice(0, 500) || 'no report'}`));
        return;
      }
      const left = leftovers(report);
      if (code === 0 && left.length === 0) resolve(report);
      else reject(new CleanupFailed(left.join('; ') || `the cleanup failed (exit ${code ?? signal})`));
    });
  });
}
