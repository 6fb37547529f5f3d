// What the sandbox reports about one run of a command (runner/sandbox/sandbox.c: measured by the kernel, sent on the
// sandbox's channel the job never sees), and the run with its captured output: the input of the verdict.

export interface LauncherReport {
  exitCode: number | null;
  signal: string | null;
  cpuMs: number;
  wallMs: number;
  maxRssKb: number;
  killedBy: 'wall' | 'request' | null;
  execError: string | null;
  /** CPU the launcher itself used (it shares the sandbox cgroup with the job). */
  selfCpuMs: number;
}

/** The kernel limits one command of a job runs under. */
export interface SandboxLimits {
  cpuMs: number;
  wallMs: number;
  nproc: number;
  fsizeBytes: number;
  stackBytes: number;
  nofile: number;
}

export interface SandboxedRun {
  report: LauncherReport;
  stdout: Buffer;
  stderr: Buffer;
  stdoutTruncated: boolean;
  stderrTruncated: boolean;
  /** Output in arrival order across both streams (compiler diagnostics), capped like each stream. */
  interleaved: Buffer;
}

/**
 * The workspace after a step, as the C sandboxes report it (runner/sandbox/scratch.h: enum workspace_state): after a
 * compile step its output is locked for the cases, or it left too much; a case may be reported not run because what
 * an earlier case left could not be removed.
 */
export const WORKSPACE_STATES = ['ok', 'too_many_entries', 'too_deep', 'lock_failed', 'not_reset'] as const;
export type WorkspaceState = (typeof WORKSPACE_STATES)[number];
