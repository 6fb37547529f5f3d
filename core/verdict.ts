// The one place a verdict is decided, from what the launcher measured. Order matters: the cause that
// stopped the program wins over its symptoms (a program killed for output also exits by a signal).
import type { Job } from './protocol/job.js';
import { outcomeWithoutRun, type RunOutcome, type Status } from './protocol/result.js';
import type { SandboxedRun } from './protocol/launcherReport.js';

export interface Verdict {
  status: Status;
  message: string | null;
}

/** Equal line by line, ignoring trailing whitespace on each line and trailing blank lines. */
export function outputMatches(actual: string, expected: string): boolean {
  const lines = (s: string) => {
    const l = s.split('\n').map((line) => line.trimEnd());
    while (l.length && l[l.length - 1] === '') l.pop();
    return l;
  };
  const a = lines(actual);
  const e = lines(expected);
  return a.length === e.length && a.every((line, i) => line === e[i]);
}

/** What the runner measured around the run, beyond the launcher's report. */
export interface SandboxMeasures {
  oomKilled: boolean;
  /** CPU of every process of the job, from the cgroup (covers children the kernel reaped on its own). */
  cpuMs: number;
  /** Peak memory of the job: its largest process, or all of it together in the cgroup, whichever is more. */
  memoryKb: number;
}

/**
 * The verdict of one run; `expectedOutput` is the case's (a job may carry several). `ownProgram`: the command is the
 * job's own file (what its compile step made, or its sources), so a program the kernel cannot execute (ENOENT from
 * a missing ELF interpreter, ENOEXEC, EACCES) is the job's fault; an interpreter that cannot start is the platform's.
 */
export function decideVerdict(job: Job, run: SandboxedRun, measured: SandboxMeasures, expectedOutput: string | undefined, ownProgram = false): Verdict {
  const r = run.report;
  const limitKb = job.memoryLimitMb * 1024;
  if (r.execError) {
    const message = `could not start the program: ${r.execError}`;
    return { status: ownProgram ? 'runtime_error' : 'internal_error', message };
  }
  // Truncated means over the cap, even when the program finished before the runner's kill arrived.
  if (r.killedBy === 'request' || run.stdoutTruncated || run.stderrTruncated) {
    return { status: 'output_limit_exceeded', message: `output exceeded ${job.maxOutputBytes} bytes on a stream` };
  }
  // Memory before wall time: a program over its memory limit that then ran out of time failed for memory (the
  // kernel stops it at the sandbox's ceiling, not at the job's limit, so it may well have run on).
  if (measured.oomKilled || measured.memoryKb > limitKb) {
    return { status: 'memory_limit_exceeded', message: `memory limit of ${job.memoryLimitMb} MB exceeded` };
  }
  if (r.killedBy === 'wall') {
    return { status: 'time_limit_exceeded', message: `wall time limit of ${job.wallTimeLimitMs} ms exceeded` };
  }
  if (measured.cpuMs > job.timeLimitMs || r.signal === 'SIGXCPU') {
    return { status: 'time_limit_exceeded', message: `CPU time limit of ${job.timeLimitMs} ms exceeded` };
  }
  if (r.signal === 'SIGXFSZ') return { status: 'output_limit_exceeded', message: 'file size limit exceeded' };
  if (r.signal) return { status: 'runtime_error', message: `killed by ${r.signal}` };
  if (r.exitCode !== 0) return { status: 'runtime_error', message: `exited with code ${r.exitCode}` };
  if (expectedOutput !== undefined && !outputMatches(run.stdout.toString('utf8'), expectedOutput)) {
    return { status: 'wrong_answer', message: 'output differs from expectedOutput' };
  }
  return { status: 'accepted', message: null };
}

/**
 * The verdict when the runner died without a result in a sandbox that saw an OOM kill: the job filled the
 * sandbox with memory its killed processes did not free (kernel objects, tmpfs) or steered the OOM killer
 * at the runner. Either way the job's memory use is the cause. Transports call this, so that verdict too
 * is decided here.
 */
export function runnerKilledForMemory(job: Job): RunOutcome {
  return outcomeWithoutRun(
    'memory_limit_exceeded',
    `the sandbox ran out of memory with the job at its ${job.memoryLimitMb} MB limit (memory held outside the job's processes counts too)`,
  );
}
